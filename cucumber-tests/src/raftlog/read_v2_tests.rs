//! The reader against version 2 of the document (a cluster's Raft log): files written out line
//! by line as text, each with the health the document says it has. The lines are spelled by
//! hand, not by the encoder, so that a slip in one cannot hide a slip in the other; only the
//! checksum trailer is computed ([`encode::seal`]).

use serde_json::json;

use super::*;
use crate::raftlog::encode::{self, record};

/// A v2 record from the text before its checksum trailer, e.g.
/// `{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank"`.
fn line(text: &str) -> Vec<u8> {
    encode::seal(text)
}

/// An application event of the v2 form: seq, term, node, ts, and a small payload.
fn event(seq: u64, term: u64, node: u64, ts: u64) -> Vec<u8> {
    line(&format!(
        r#"{{"seq":{seq},"term":{term},"node":{node},"ts":{ts},"type":"Noted","data":{{"n":{seq}}}"#
    ))
}

fn blank(seq: u64, term: u64, node: u64) -> Vec<u8> {
    line(&format!(r#"{{"seq":{seq},"term":{term},"node":{node},"ts":0,"type":"raft.Blank""#))
}

const MEMBERSHIP: &str = r#"{"configs":[[1,2,3]],"nodes":{"1":{"peer":"127.0.1.1:7001","api":"127.0.1.1:8001"},"2":{"peer":"127.0.1.2:7001","api":"127.0.1.2:8001"},"3":{"peer":"127.0.1.3:7001","api":"127.0.1.3:8001"}}}"#;

fn membership(seq: u64, term: u64, node: u64, data: &str) -> Vec<u8> {
    line(&format!(
        r#"{{"seq":{seq},"term":{term},"node":{node},"ts":0,"type":"raft.Membership","data":{data}"#
    ))
}

/// The three examples of the document's "What a v2 record carries", as written there.
fn documented() -> Vec<Vec<u8>> {
    vec![
        membership(0, 0, 0, MEMBERSHIP),
        line(r#"{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank""#),
        line(concat!(
            r#"{"seq":2,"term":1,"node":2,"ts":1795780800000000,"type":"ArticleCreated","#,
            r#""data":{"id":0,"title":"Hello","content":"First post","author_id":null,"#,
            r#""checksum":"304ac0d5"}"#
        )),
    ]
}

/// A `raft.Batch` record of the v2 form at `seq`, its events' text given, its ts `ts`.
fn batch(seq: u64, ts: u64, events: &str) -> Vec<u8> {
    line(&format!(
        r#"{{"seq":{seq},"term":1,"node":2,"ts":{ts},"type":"raft.Batch","data":[{events}]"#
    ))
}

fn flipped(mut line: Vec<u8>, at: usize) -> Vec<u8> {
    line[at] ^= 0x01;
    line
}

#[derive(Debug)]
enum Expect {
    Clean,
    TornTail { line: usize },
    Corrupt { line: usize, last_good_seq: u64, reason: &'static str },
}

fn cases() -> Vec<(String, Vec<Vec<u8>>, Expect)> {
    use Expect::*;
    let doc = documented();
    let then = |mut lines: Vec<Vec<u8>>, more: Vec<u8>| {
        lines.push(more);
        lines
    };
    let mut cases: Vec<(&str, Vec<Vec<u8>>, Expect)> = vec![
        ("the documented examples", doc.clone(), Clean),
        ("a file that starts after a purge", vec![event(41, 3, 1, 5), event(42, 3, 1, 6)], Clean),
        // ts is the leader's clock, a label: it may go back after a leader change.
        ("ts going back", vec![event(5, 1, 1, 900), blank(6, 2, 3), event(7, 2, 3, 100)], Clean),
        ("a new term led by a lower node id", vec![event(1, 1, 3, 1), event(2, 2, 1, 1)], Clean),
        (
            "a joint change with a learner",
            then(
                doc.clone(),
                membership(
                    3,
                    1,
                    2,
                    r#"{"configs":[[1,2,3],[2,3,4]],"nodes":{"1":{"peer":"a:1","api":"a:2"},"2":{"peer":"b:1","api":"b:2"},"3":{"peer":"c:1","api":"c:2"},"4":{"peer":"d:1","api":"d:2"},"5":{"peer":"e:1","api":"e:2"}}}"#,
                ),
            ),
            Clean,
        ),
        // The reader leaves event types to the replay, reserved ones included.
        ("an unknown raft.* type", then(doc.clone(), blank(3, 1, 2)), Clean),
        (
            "the last record's checksum damaged",
            then(doc.clone(), flipped(event(3, 1, 2, 7), 12)),
            TornTail { line: 3 },
        ),
        (
            "a gap in seq",
            then(doc.clone(), event(4, 1, 2, 7)),
            Corrupt { line: 3, last_good_seq: 2, reason: "seq 4 where seq 3 was expected" },
        ),
        (
            "a repeated seq (a truncation that left the old record)",
            then(doc.clone(), event(2, 2, 3, 7)),
            Corrupt { line: 3, last_good_seq: 2, reason: "seq 2 where seq 3 was expected" },
        ),
        (
            "a term going back",
            vec![event(7, 3, 1, 1), event(8, 2, 1, 2)],
            Corrupt { line: 1, last_good_seq: 7, reason: "term 2 node 1 goes back" },
        ),
        (
            "a node going back within a term",
            vec![event(7, 3, 2, 1), event(8, 3, 1, 2)],
            Corrupt { line: 1, last_good_seq: 7, reason: "term 3 node 1 goes back" },
        ),
        (
            "a version-1 record in a version-2 log",
            then(doc.clone(), record(3, 1_795_780_800_000_003, "Noted", &json!({}))),
            Corrupt { line: 3, last_good_seq: 2, reason: "a version-1 record" },
        ),
        (
            "a version-2 record in a version-1 log",
            vec![record(1, 10, "Noted", &json!({})), event(2, 1, 1, 11)],
            Corrupt { line: 1, last_good_seq: 1, reason: "a version-2 record" },
        ),
        (
            "a raft.Blank with data",
            vec![line(r#"{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank","data":{}"#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "a raft.Blank with data" },
        ),
        (
            "a raft.Membership without data",
            vec![line(r#"{"seq":0,"term":0,"node":0,"ts":0,"type":"raft.Membership""#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "a raft.Membership without data" },
        ),
        (
            "a membership with three configs",
            vec![membership(0, 0, 0, r#"{"configs":[[1],[2],[3]],"nodes":{}}"#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "one or two configs" },
        ),
        (
            "a membership whose ids are strings",
            vec![membership(0, 0, 0, r#"{"configs":[["1"]],"nodes":{}}"#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "ids are not all" },
        ),
        (
            "a membership keyed by names",
            vec![membership(0, 0, 0, r#"{"configs":[[1]],"nodes":{"a":{"peer":"x","api":"y"}}}"#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "not a node id" },
        ),
        (
            "a membership node without an api address",
            vec![membership(0, 0, 0, r#"{"configs":[[1]],"nodes":{"1":{"peer":"x"}}}"#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "\"peer\" and \"api\"" },
        ),
        (
            "a raft.Batch of two events",
            then(
                doc.clone(),
                batch(3, 8, r#"{"ts":7,"type":"A","data":1},{"ts":8,"type":"B","data":{}}"#),
            ),
            Clean,
        ),
        (
            "a raft.Batch of one event",
            then(doc.clone(), batch(3, 7, r#"{"ts":7,"type":"A","data":1}"#)),
            Corrupt { line: 3, last_good_seq: 2, reason: "a raft.Batch of 1 event" },
        ),
        (
            "a raft.Batch whose data is an object",
            then(
                doc.clone(),
                line(r#"{"seq":3,"term":1,"node":2,"ts":7,"type":"raft.Batch","data":{}"#),
            ),
            Corrupt { line: 3, last_good_seq: 2, reason: "not a list" },
        ),
        (
            "a raft.Batch holding a Raft entry",
            then(
                doc.clone(),
                batch(
                    3,
                    8,
                    r#"{"ts":7,"type":"raft.Blank","data":1},{"ts":8,"type":"B","data":{}}"#,
                ),
            ),
            Corrupt { line: 3, last_good_seq: 2, reason: "reserved type" },
        ),
        (
            "a raft.Batch event without data",
            then(doc.clone(), batch(3, 8, r#"{"ts":7,"type":"A"},{"ts":8,"type":"B","data":{}}"#)),
            Corrupt { line: 3, last_good_seq: 2, reason: "event 0 has no \"data\"" },
        ),
        (
            "a raft.Batch whose ts go back",
            then(
                doc.clone(),
                batch(3, 8, r#"{"ts":8,"type":"A","data":1},{"ts":8,"type":"B","data":{}}"#),
            ),
            Corrupt { line: 3, last_good_seq: 2, reason: "does not increase" },
        ),
        (
            "a raft.Batch whose ts is not its last event's",
            then(
                doc.clone(),
                batch(3, 9, r#"{"ts":7,"type":"A","data":1},{"ts":8,"type":"B","data":{}}"#),
            ),
            Corrupt { line: 3, last_good_seq: 2, reason: "not its last event's" },
        ),
        (
            "a term that is a string",
            then(doc.clone(), line(r#"{"seq":3,"term":"1","node":2,"ts":0,"type":"raft.Blank""#)),
            Corrupt { line: 3, last_good_seq: 2, reason: "\"term\" is \"1\"" },
        ),
        (
            "no node",
            then(doc.clone(), line(r#"{"seq":3,"term":1,"ts":0,"type":"raft.Blank""#)),
            Corrupt { line: 3, last_good_seq: 2, reason: "no \"node\" field" },
        ),
        (
            "a negative term",
            vec![line(r#"{"seq":3,"term":-1,"node":2,"ts":0,"type":"raft.Blank""#)],
            Corrupt { line: 0, last_good_seq: 0, reason: "\"term\" is -1" },
        ),
    ];
    let mut owned: Vec<(String, Vec<Vec<u8>>, Expect)> =
        cases.drain(..).map(|(name, lines, expect)| (name.to_string(), lines, expect)).collect();
    let last = event(3, 1, 2, 1_795_780_800_000_001);
    for cut in 1..last.len() {
        let lines = then(doc.clone(), last[..cut].to_vec());
        owned.push((format!("the last record cut after {cut} bytes"), lines, TornTail { line: 3 }));
    }
    for at in 0..doc[1].len() {
        let mut lines = then(doc.clone(), last.clone());
        lines[1] = flipped(lines[1].clone(), at);
        let reason = "damaged after it was written";
        owned.push((
            format!("byte {at} of the raft.Blank flipped"),
            lines,
            Corrupt { line: 1, last_good_seq: 0, reason },
        ));
    }
    owned
}

#[test]
fn every_way_a_v2_log_can_end_is_classified_as_the_document_says() {
    for (name, lines, expect) in cases() {
        let bytes = lines.concat();
        let log = RaftLog::parse(&bytes);
        let offset_of = |line: usize| lines[..line].iter().map(Vec::len).sum::<usize>() as u64;
        match expect {
            Expect::Clean => {
                assert_eq!(log.health(), Health::Clean, "{name}");
                assert_eq!(log.records().len(), lines.len(), "{name}");
                assert_eq!(log.version(), Some(Version::V2), "{name}");
            }
            Expect::TornTail { line } => {
                let offset = offset_of(line);
                let torn = Health::TornTail { offset, bytes: bytes.len() as u64 - offset };
                assert_eq!(log.health(), torn, "{name}");
                assert_eq!(log.records().len(), line, "{name}");
            }
            Expect::Corrupt { line, last_good_seq, reason } => {
                let Health::Corrupt { offset, last_good_seq: good, reason: found } = log.health()
                else {
                    panic!("{name}: expected corruption, got {}", log.health());
                };
                assert_eq!((offset, good), (offset_of(line), last_good_seq), "{name}: {found}");
                assert!(found.contains(reason), "{name}: {found:?} lacks {reason:?}");
                assert_eq!(log.records().len(), line, "{name}");
            }
        }
    }
}

#[test]
fn a_v2_record_reads_back_with_its_log_id() {
    let bytes = documented().concat();
    let log = RaftLog::parse(&bytes);
    let records = log.records();
    let ids: Vec<_> = records.iter().map(|r| (r.seq, r.leader, r.is_raft())).collect();
    let leader = |term, node| Some(Leader { term, node });
    assert_eq!(ids, [(0, leader(0, 0), true), (1, leader(1, 2), true), (2, leader(1, 2), false)]);
    assert_eq!(records[1].data, serde_json::Value::Null, "a raft.Blank has no data");
    assert_eq!(records[0].data["configs"], json!([[1, 2, 3]]));
    assert_eq!(
        (records[2].ts, records[2].data["title"].as_str()),
        (1795780800000000, Some("Hello"))
    );
    assert_eq!((log.raft_entries(), log.count("raft.Blank")), (2, 1));
    // The encoder writes what the document shows, byte for byte.
    let data = serde_json::from_str::<serde_json::Value>(MEMBERSHIP).unwrap();
    let encoded = encode::record_v2(0, 0, 0, 0, RAFT_MEMBERSHIP, Some(&data));
    assert_eq!(RaftLog::parse(&encoded).records()[0].data, records[0].data);
    let blank = encode::record_v2::<()>(1, 1, 2, 0, RAFT_BLANK, None);
    assert_eq!(blank, documented()[1]);
}

#[test]
fn the_first_verifying_record_decides_the_version() {
    assert_eq!(RaftLog::parse(b"").version(), None);
    assert_eq!(RaftLog::parse(&event(1, 1, 1, 1)[..20]).version(), None, "only a torn line");
    assert_eq!(RaftLog::parse(&documented().concat()).version(), Some(Version::V2));
    let v1 = record(1, 10, "Noted", &json!({}));
    assert_eq!(RaftLog::parse(&v1).version(), Some(Version::V1));
    assert!(RaftLog::parse(&v1).records()[0].leader.is_none());
    // A v1 record named like a reserved type is no Raft entry: v1 reserves nothing.
    let v1_blank = record(1, 10, RAFT_BLANK, &json!({}));
    assert!(!RaftLog::parse(&v1_blank).records()[0].is_raft());
}

#[test]
fn a_v2_log_continues_from_a_previous_record_as_a_whole_parse_would() {
    let lines = [documented(), vec![event(3, 2, 1, 5), event(4, 2, 1, 6)]].concat();
    let bytes = lines.concat();
    let whole = RaftLog::parse(&bytes);
    let start: usize = lines[..3].iter().map(Vec::len).sum();
    let previous = whole.records()[2].clone();
    let rest = RaftLog::parse_from(&bytes, start, Some(previous.clone()));
    assert_eq!(rest.records(), &whole.records()[3..]);
    assert_eq!(rest.version(), Some(Version::V2));
    // A v1 record after a v2 prefix is still caught when only the rest is parsed.
    // (Its seq and ts would suit a v1 log: only the version can be wrong with it.)
    let v1 = [&bytes[..start], &record(3, 1_795_780_900_000_000, "Noted", &json!({}))[..]].concat();
    let rest = RaftLog::parse_from(&v1, start, Some(previous));
    let Health::Corrupt { last_good_seq: 2, reason, .. } = rest.health() else {
        panic!("{}", rest.health());
    };
    assert!(reason.contains("a version-1 record"), "{reason}");
}

/// Lines the cluster's own writer is pinned to produce (lithair-cluster's golden records),
/// copied here as text: two independent readings of the document must agree on them.
#[test]
fn the_cluster_writers_golden_lines_read_clean() {
    let lines = [
        r#"{"seq":0,"term":0,"node":0,"ts":0,"type":"raft.Membership","data":{"configs":[[1,2]],"nodes":{"1":{"peer":"127.0.1.1:7001","api":"127.0.1.1:8001"},"2":{"peer":"127.0.1.2:7001","api":"127.0.1.2:8001"}}},"crc":"5eeddf0d"}"#,
        r#"{"seq":1,"term":1,"node":2,"ts":0,"type":"raft.Blank","crc":"c47734fd"}"#,
        r#"{"seq":2,"term":1,"node":2,"ts":1795780800000000,"type":"ArticleCreated","data":{"id":0,"title":"Hello \"you\"","content":"é\n✓","author_id":null,"checksum":"304ac0d5"},"crc":"5160cbd0"}"#,
        r#"{"seq":3,"term":1,"node":2,"ts":1795780800000002,"type":"raft.Batch","data":[{"ts":1795780800000001,"type":"ArticleDeleted","data":{"id":0}},{"ts":1795780800000002,"type":"UserCreated","data":{"id":0,"name":"Ada"}}],"crc":"14bbab16"}"#,
    ];
    let bytes: String = lines.iter().map(|line| format!("{line}\n")).collect();
    let log = RaftLog::parse(bytes.as_bytes());
    assert_eq!(log.health(), Health::Clean);
    let ids: Vec<_> =
        log.records().iter().map(|r| (r.seq, r.leader.map(|l| (l.term, l.node)))).collect();
    assert_eq!(ids, [(0, Some((0, 0))), (1, Some((1, 2))), (2, Some((1, 2))), (3, Some((1, 2)))]);
    assert_eq!(log.records()[2].data["content"], "é\n✓");
    let events: Vec<_> = log.events()[2..]
        .iter()
        .map(|r| (r.seq, r.ts, r.event_type.clone(), r.data.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (2, 1_795_780_800_000_000, "ArticleCreated".into(), log.records()[2].data.clone()),
            (3, 1_795_780_800_000_001, "ArticleDeleted".into(), json!({"id": 0})),
            (3, 1_795_780_800_000_002, "UserCreated".into(), json!({"id": 0, "name": "Ada"})),
        ]
    );
    assert_eq!(log.count("ArticleDeleted"), 1, "a batch's events are counted");
}
