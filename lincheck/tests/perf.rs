//! The checker at the size the cluster scenarios need, and on a history built to defeat it.
//!
//! The 10,000-operation history is produced by simulating a linearizable store: every operation
//! takes effect at a random instant between its invocation and its completion, so the history is
//! linearizable by construction, and a checker that says otherwise is wrong.

use std::time::{Duration, Instant};

use lincheck::{Entry, History, Op, Outcome, Ret, Verdict, ViolationKind, check_linearizable};

/// xorshift64*: a fixed seed, so every run checks the same history.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `ops` operations by `clients` concurrent clients over `articles` articles (created first),
/// with some failed and some unknown writes; linearizable by construction.
/// `unknown_percent` of the writes end unknown (and half of those take effect).
fn simulated_history(
    ops: usize,
    clients: u64,
    articles: u64,
    unknown_percent: u64,
    seed: u64,
) -> History {
    let mut rng = Rng(seed);
    let mut entries: Vec<Entry> = Vec::new();
    // (linearization point, entry, applied?) for everything that may take effect.
    let mut points: Vec<(u64, usize, bool)> = Vec::new();
    let mut clock = vec![0u64; clients as usize];
    let mut client_id: Vec<u64> = (0..clients).collect();
    let mut next_client = clients;
    let mut creates: u64 = 0;
    for n in 0..ops {
        let c = if (n as u64) < articles { 0 } else { rng.below(clients) as usize };
        let invoke = clock[c] + rng.below(200);
        let point = invoke + 1 + rng.below(1_000);
        let complete = point + 1 + rng.below(1_000);
        clock[c] = complete;
        // Target the `articles` newest ids (and now and then the next), so creates and deletes churn
        // the set without leaving the history to dead articles.
        let article = match rng.below(20) {
            0 => creates + 1, // perhaps being created right now
            _ => creates.saturating_sub(articles) + 1 + rng.below(articles),
        };
        let title = format!("t{n}");
        let op = match rng.below(100) {
            _ if (n as u64) < articles => Op::Create { title },
            0 => Op::Create { title },
            // A delete in four hundred: an article lives a while after its create.
            // (None with a single article, or most of the history would be about a dead one.)
            1 if articles > 1 && rng.below(4) == 0 => Op::Delete { article },
            1..=40 => Op::Update { article, title },
            _ => Op::Read { article },
        };
        let outcome = match rng.below(100) {
            _ if !op.is_write() || (n as u64) < articles => Outcome::Ok,
            0 => Outcome::Fail,
            r if r <= unknown_percent => Outcome::Unknown,
            _ => Outcome::Ok,
        };
        if outcome == Outcome::Unknown {
            // Jepsen's rule: a client whose operation is in doubt goes on under a new id.
            client_id[c] = next_client;
            next_client += 1;
        }
        let applied = match outcome {
            Outcome::Ok => true,
            Outcome::Fail => false,
            Outcome::Unknown => rng.below(2) == 0,
        };
        if applied && matches!(op, Op::Create { .. }) {
            // Only a create that takes effect uses up an id.
            creates += 1;
        }
        points.push((point, entries.len(), applied));
        let complete = (outcome != Outcome::Unknown).then_some(complete);
        entries.push(Entry {
            client: client_id[c],
            node: None,
            op,
            invoke,
            complete,
            outcome,
            ret: None,
        });
    }
    // Apply everything in linearization order to a plain map, filling in what clients saw.
    points.sort_unstable();
    let mut store: std::collections::BTreeMap<u64, Option<String>> = Default::default();
    let mut next_id = 1;
    for (_, i, applied) in points {
        if !applied {
            continue;
        }
        let e = &mut entries[i];
        let ret = match &e.op {
            Op::Create { title } => {
                store.insert(next_id, Some(title.clone()));
                next_id += 1;
                Ret::Created(next_id - 1)
            }
            Op::Read { article } => match store.get(article) {
                Some(Some(t)) => Ret::Value(t.clone()),
                _ => Ret::Absent,
            },
            Op::Update { article, title } => match store.get_mut(article) {
                Some(v @ Some(_)) => {
                    *v = Some(title.clone());
                    Ret::Done
                }
                _ => Ret::Absent,
            },
            Op::Delete { article } => match store.get_mut(article) {
                Some(v @ Some(_)) => {
                    *v = None;
                    Ret::Done
                }
                _ => Ret::Absent,
            },
            _ => unreachable!("the simulation issues no comment operations"),
        };
        if e.outcome == Outcome::Ok {
            e.ret = Some(ret);
        }
    }
    // Sort by invocation, as a recorder would hold them.
    entries.sort_by_key(|e| e.invoke);
    // A history of 404s would prove nothing: most reads must see a value.
    let reads = entries.iter().filter(|e| matches!(e.op, Op::Read { .. })).count();
    let seen = entries.iter().filter(|e| matches!(e.ret, Some(Ret::Value(_)))).count();
    assert!(seen * 10 > reads * 6, "only {seen} of {reads} reads see a value");
    History::new(entries).expect("simulated history is well-formed")
}

#[test]
fn ten_thousand_operations_are_checked_in_time() {
    let history = simulated_history(10_000, 8, 10, 1, 0x5eed);
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_secs(60));
    let took = started.elapsed();
    eprintln!("10,000 operations (8 clients, 10 articles): {verdict} in {took:?}");
    assert_eq!(verdict, Verdict::Pass, "{}", verdict.report(&history));
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn ten_thousand_operations_on_one_article() {
    // Composition does not help when every client hammers the same article.
    let history = simulated_history(10_000, 8, 1, 1, 0x0e5eed);
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_secs(60));
    let took = started.elapsed();
    eprintln!("10,000 operations (8 clients, 1 article): {verdict} in {took:?}");
    assert_eq!(verdict, Verdict::Pass, "{}", verdict.report(&history));
}

#[test]
fn ten_thousand_operations_with_many_unknown_writes() {
    // A long partition can leave dozens of writes per article in doubt, each open forever.
    let history = simulated_history(10_000, 8, 10, 10, 0xbad5eed);
    let unknown = history.entries().iter().filter(|e| e.outcome == Outcome::Unknown).count();
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_secs(60));
    let took = started.elapsed();
    eprintln!("10,000 operations, {unknown} unknown: {verdict} in {took:?}");
    assert_eq!(verdict, Verdict::Pass, "{}", verdict.report(&history));
}

#[test]
fn a_stale_read_in_ten_thousand_operations_is_found_and_shrunk() {
    let history = simulated_history(10_000, 8, 10, 1, 0x5eed);
    let mut entries = history.entries().to_vec();
    // The last read of article 1 that saw a value now sees the title it was created with.
    let created = entries.iter().find(|e| e.is_ok_with(&Ret::Created(1))).unwrap();
    let Op::Create { title: first } = created.op.clone() else { unreachable!() };
    let last_read = entries
        .iter()
        .rposition(|e| {
            matches!(e.op, Op::Read { article: 1 }) && matches!(e.ret, Some(Ret::Value(_)))
        })
        .unwrap();
    entries[last_read].ret = Some(Ret::Value(first));
    let broken = History::new(entries).unwrap();
    let started = Instant::now();
    let verdict = check_linearizable(&broken, Duration::from_secs(60));
    eprintln!("broken 10,000: {verdict} in {:?}\n{}", started.elapsed(), verdict.report(&broken));
    let Verdict::Violation(v) = &verdict else { panic!("{verdict}") };
    assert_eq!(v.kind, ViolationKind::NotLinearizable);
    assert!(v.ops.contains(&last_read), "the witness names the stale read");
    assert!(v.ops.len() < 10, "the witness is small: {} operations", v.ops.len());
    let stale_done = broken.entries()[last_read].complete.unwrap();
    assert!(
        v.ops.iter().all(|&i| broken.entries()[i].invoke <= stale_done),
        "nothing invoked after the stale read is needed"
    );
}

#[test]
fn a_pathological_history_is_inconclusive_not_a_hang() {
    // 40 updates all concurrent, then a 404 that nothing explains: to prove that, the search
    // must try every subset of the updates (40 * 2^40 states).
    let mut entries = vec![Entry {
        client: 0,
        node: None,
        op: Op::Create { title: "a".into() },
        invoke: 0,
        complete: Some(10),
        outcome: Outcome::Ok,
        ret: Some(Ret::Created(1)),
    }];
    for c in 1..=40 {
        entries.push(Entry {
            client: c,
            node: None,
            op: Op::Update { article: 1, title: format!("u{c}") },
            invoke: 20 + c,
            complete: Some(1_000 + c),
            outcome: Outcome::Ok,
            ret: Some(Ret::Done),
        });
    }
    entries.push(Entry {
        client: 99,
        node: None,
        op: Op::Read { article: 1 },
        invoke: 500,
        complete: Some(2_000),
        outcome: Outcome::Ok,
        ret: Some(Ret::Absent),
    });
    let history = History::new(entries).unwrap();
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_millis(500));
    let took = started.elapsed();
    eprintln!("pathological: {verdict} in {took:?}");
    assert!(matches!(verdict, Verdict::Inconclusive(_)), "{verdict}");
    assert!(took < Duration::from_secs(5), "gave up late: {took:?}");
}

#[test]
fn writes_in_doubt_do_not_hide_a_violation() {
    // Forty updates in doubt (a partition's worth), never seen by anyone, then a stale read:
    // proving the violation must not mean trying every subset of the forty.
    let ok = |client, op, invoke, complete, ret| Entry {
        client,
        node: None,
        op,
        invoke,
        complete: Some(complete),
        outcome: Outcome::Ok,
        ret: Some(ret),
    };
    let mut entries = vec![
        ok(0, Op::Create { title: "a".into() }, 0, 10, Ret::Created(1)),
        ok(0, Op::Update { article: 1, title: "b".into() }, 20, 30, Ret::Done),
    ];
    for c in 1..=40 {
        entries.push(Entry {
            client: c,
            node: None,
            op: Op::Update { article: 1, title: format!("lost{c}") },
            invoke: 40 + c,
            complete: None,
            outcome: Outcome::Unknown,
            ret: None,
        });
    }
    entries.push(ok(99, Op::Read { article: 1 }, 100, 110, Ret::Value("b".into())));
    entries.push(ok(99, Op::Read { article: 1 }, 120, 130, Ret::Value("a".into())));
    let history = History::new(entries).unwrap();
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_secs(5));
    eprintln!("40 writes in doubt, then a stale read: {verdict} in {:?}", started.elapsed());
    assert_eq!(verdict.kind(), Some(ViolationKind::NotLinearizable), "{verdict}");
}

#[test]
fn deletes_in_doubt_do_not_hide_a_violation() {
    let ok = |client, op, invoke, complete, ret| Entry {
        client,
        node: None,
        op,
        invoke,
        complete: Some(complete),
        outcome: Outcome::Ok,
        ret: Some(ret),
    };
    let mut entries = vec![ok(0, Op::Create { title: "a".into() }, 0, 10, Ret::Created(1))];
    for c in 1..=40 {
        entries.push(Entry {
            client: c,
            node: None,
            op: Op::Delete { article: 1 },
            invoke: 40 + c,
            complete: None,
            outcome: Outcome::Unknown,
            ret: None,
        });
    }
    entries.push(ok(99, Op::Read { article: 1 }, 100, 110, Ret::Absent));
    entries.push(ok(99, Op::Read { article: 1 }, 120, 130, Ret::Value("a".into())));
    let history = History::new(entries).unwrap();
    let started = Instant::now();
    let verdict = check_linearizable(&history, Duration::from_secs(5));
    eprintln!("40 deletes in doubt, then a resurrection: {verdict} in {:?}", started.elapsed());
    assert_eq!(verdict.kind(), Some(ViolationKind::NotLinearizable), "{verdict}");
}
