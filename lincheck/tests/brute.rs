//! The search against brute force, on thousands of small random histories of one article.
//!
//! The brute force tries every order of every subset of the operations in doubt, with its own
//! model of an article, so it shares nothing with the checker but the history format: a
//! disagreement is a bug in the checker's search, its split by article, or the shortcuts it
//! takes with operations in doubt.

use std::time::Duration;

use lincheck::{Entry, History, Op, Outcome, Ret, Verdict, check_linearizable};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[derive(Clone, PartialEq)]
enum Article {
    Never,
    Is(String),
    Deleted,
}

/// Applies `e` to `s` as if it took effect now; `None` if what the client saw rules that out.
fn apply(s: &Article, e: &Entry) -> Option<Article> {
    let exists = matches!(s, Article::Is(_));
    let known = e.outcome == Outcome::Ok;
    match (&e.op, &e.ret) {
        (Op::Create { title }, _) => (*s == Article::Never).then(|| Article::Is(title.clone())),
        (Op::Read { .. }, Some(Ret::Value(t))) => (*s == Article::Is(t.clone())).then(|| s.clone()),
        (Op::Read { .. }, _) => (!exists).then(|| s.clone()),
        (_, Some(Ret::Absent)) => (!exists).then(|| s.clone()),
        (Op::Update { title, .. }, _) if exists => Some(Article::Is(title.clone())),
        (Op::Delete { .. }, _) if exists => Some(Article::Deleted),
        (Op::Update { .. } | Op::Delete { .. }, _) if !known => Some(s.clone()),
        _ => None,
    }
}

/// Some order of all acknowledged operations and any of those in doubt, respecting real time?
fn brute_force(entries: &[Entry]) -> bool {
    fn go(entries: &[Entry], used: &mut Vec<bool>, s: &Article) -> bool {
        let pending_ok =
            entries.iter().zip(used.iter()).any(|(e, &u)| !u && e.outcome == Outcome::Ok);
        if !pending_ok {
            return true;
        }
        for i in 0..entries.len() {
            if used[i] || entries[i].outcome == Outcome::Fail {
                continue;
            }
            // `i` may go next only if no unused acknowledged operation finished before it began.
            let blocked = (0..entries.len()).any(|j| {
                !used[j]
                    && j != i
                    && entries[j].outcome == Outcome::Ok
                    && entries[j].end() < entries[i].invoke
            });
            if blocked {
                continue;
            }
            if let Some(next) = apply(s, &entries[i]) {
                used[i] = true;
                let found = go(entries, used, &next);
                used[i] = false;
                if found {
                    return true;
                }
            }
        }
        false
    }
    go(entries, &mut vec![false; entries.len()], &Article::Never)
}

fn random_history(rng: &mut Rng) -> Vec<Entry> {
    let n = 3 + rng.below(5) as usize;
    let mut titles = vec!["t0".to_string()];
    let mut entries = Vec::new();
    let create_known = rng.below(4) != 0;
    entries.push(Entry {
        client: 0,
        node: None,
        op: Op::Create { title: "t0".into() },
        invoke: rng.below(20),
        complete: None,
        outcome: Outcome::Unknown,
        ret: None,
    });
    if create_known {
        let e = &mut entries[0];
        e.complete = Some(e.invoke + 1 + rng.below(30));
        e.outcome = Outcome::Ok;
        e.ret = Some(Ret::Created(1));
    }
    for k in 1..n {
        let invoke = rng.below(100);
        let complete = invoke + rng.below(40);
        let (op, is_write) = match rng.below(10) {
            0..=3 => (Op::Read { article: 1 }, false),
            4..=7 => {
                titles.push(format!("t{k}"));
                (Op::Update { article: 1, title: format!("t{k}") }, true)
            }
            _ => (Op::Delete { article: 1 }, true),
        };
        let outcome = match rng.below(10) {
            0 if is_write => Outcome::Fail,
            1 | 2 if is_write => Outcome::Unknown,
            _ => Outcome::Ok,
        };
        let ret = (outcome == Outcome::Ok).then(|| match op {
            Op::Read { .. } if rng.below(4) == 0 => Ret::Absent,
            Op::Read { .. } => Ret::Value(titles[rng.below(titles.len() as u64) as usize].clone()),
            _ if rng.below(4) == 0 => Ret::Absent,
            _ => Ret::Done,
        });
        let complete = (outcome != Outcome::Unknown).then_some(complete);
        entries.push(Entry { client: k as u64, node: None, op, invoke, complete, outcome, ret });
    }
    // A read may name a title written later in the list: fine, titles are all known up front.
    for e in &mut entries {
        if let Some(Ret::Value(t)) = &e.ret
            && !titles.contains(t)
        {
            e.ret = Some(Ret::Absent);
        }
    }
    entries.sort_by_key(|e| e.invoke);
    entries
}

#[test]
fn the_search_agrees_with_brute_force() {
    let mut rng = Rng(0x0dd_ba11);
    let (mut agree_pass, mut agree_fail) = (0, 0);
    for round in 0..20_000 {
        let entries = random_history(&mut rng);
        let expected = brute_force(&entries);
        let history = History::new(entries).unwrap();
        let verdict = check_linearizable(&history, Duration::from_secs(5));
        assert!(!matches!(verdict, Verdict::Inconclusive(_)), "round {round}: {verdict}");
        assert_eq!(
            verdict.is_pass(),
            expected,
            "round {round}: brute force says {expected}, checker says {}\n{}",
            verdict.report(&history),
            history.to_jsonl()
        );
        if expected { agree_pass += 1 } else { agree_fail += 1 }
    }
    eprintln!("agreed on {agree_pass} linearizable and {agree_fail} non-linearizable histories");
    assert!(
        agree_pass > 2_000 && agree_fail > 2_000,
        "{agree_pass} / {agree_fail}: too lopsided to mean much"
    );
}
