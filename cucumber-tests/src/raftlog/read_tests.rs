//! The reader against the document: a clean log read back whole, then every way a log can end
//! badly, as a table of cases — each a file, given as its lines, and the health the document
//! says it has.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::raftlog::{
    encode::{self, record},
    sample::{T0, sample_lines},
};

/// The record of seq `seq`, at `T0 + ts`, with empty data.
fn plain(seq: u64, ts: u64) -> Vec<u8> {
    record(seq, T0 + ts, "A", &json!({}))
}

#[test]
fn an_empty_file_is_a_clean_empty_log() {
    let log = RaftLog::parse(b"");
    assert_eq!(log.health(), Health::Clean);
    assert_eq!(log.verify(), Ok(()));
    assert!(log.records().is_empty());
    assert_eq!(log.file_len(), 0);
}

#[test]
fn a_clean_log_reads_back_whole() {
    let bytes = sample_lines().concat();
    let log = RaftLog::parse(&bytes);
    assert_eq!(log.health(), Health::Clean);
    assert_eq!(log.verify(), Ok(()));
    assert_eq!(log.file_len(), bytes.len() as u64);

    let records = log.records();
    assert_eq!(records.len(), 7);
    let mut offset = 0;
    for (seq, record) in (1..).zip(records) {
        assert_eq!((record.seq, record.ts, record.offset), (seq, T0 + seq, offset));
        assert_eq!(bytes[(offset + record.len - 1) as usize], b'\n');
        offset += record.len;
    }
    assert_eq!(offset, log.file_len());
    assert_eq!(records[5].data, json!({"id": 1}));

    assert_eq!(log.count("ArticleCreated"), 2);
    assert_eq!(log.count("Nothing"), 0);
    let expected = [
        ("ArticleCreated", 2),
        ("ArticleDeleted", 1),
        ("ArticleUpdated", 1),
        ("CommentAdded", 1),
        ("UserCreated", 2),
    ];
    assert_eq!(log.counts_by_type(), BTreeMap::from(expected.map(|(name, n)| (name.into(), n))));
}

#[test]
fn the_reader_relies_on_the_fields_not_on_their_layout() {
    let log = RaftLog::parse(&encode::seal(
        r#"{"type":"Tick","ts":1795780800000001, "seq":1,"extra":[1,2]"#,
    ));
    assert_eq!(log.health(), Health::Clean);
    let record = &log.records()[0];
    assert_eq!((record.seq, record.event_type.as_str()), (1, "Tick"));
    assert_eq!(record.data, Value::Null);
}

#[test]
fn read_gives_what_parse_gives() -> std::io::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("events.raftlog");
    std::fs::write(&path, sample_lines().concat())?;
    assert_eq!(RaftLog::read(&path)?, RaftLog::parse(&sample_lines().concat()));
    assert!(RaftLog::read(&dir.path().join("missing.raftlog")).is_err());
    Ok(())
}

/// How a case's file must end, naming the line (0-based) where the valid prefix stops.
#[derive(Debug)]
enum Expect {
    Clean,
    TornTail { line: usize },
    Corrupt { line: usize, last_good_seq: u64, reason: &'static str },
}

/// A file, given as its pieces (each a record, or whatever damage stands in its place), and
/// what the reader must make of it.
struct Case {
    name: String,
    lines: Vec<Vec<u8>>,
    expect: Expect,
}

fn case(name: impl Into<String>, lines: Vec<Vec<u8>>, expect: Expect) -> Case {
    Case { name: name.into(), lines, expect }
}

/// `body` sealed after a valid first record: it verifies, so whatever is wrong is corruption.
fn after_first(body: &str) -> Vec<Vec<u8>> {
    vec![plain(1, 1), encode::seal(body)]
}

fn flipped(mut line: Vec<u8>, at: usize) -> Vec<u8> {
    line[at] ^= 0x01;
    line
}

/// The cases written out one by one.
fn named_cases() -> Vec<Case> {
    use Expect::*;
    let sample = sample_lines();
    let shouted = {
        let text = String::from_utf8(plain(1, 1)).unwrap();
        text.replace(&text[text.len() - 11..text.len() - 3], "ABCDEF01")
    };
    let mut last_damaged = sample[..6].to_vec();
    last_damaged.push(flipped(sample[6].clone(), 3));
    // An incomplete line after a damaged last line is no verifying complete line.
    let fragment = encode::seal(r#"{"seq":8,"ts":1"#);
    last_damaged.push(fragment[..fragment.len() - 1].to_vec());
    // docs/raftlog.md's example, with the checksum Python's zlib.crc32 gives (the document's
    // own does not verify).
    let example = concat!(
        r#"{"seq":1,"ts":1795780800000000,"type":"ArticleCreated","data":{"id":0,"#,
        r#""title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"},"#,
        r#""crc":"051f6b4c"}"#,
        "\n"
    );
    vec![
        case("the documented example", vec![example.as_bytes().to_vec()], Clean),
        case("the sample log", sample.clone(), Clean),
        case("the sample log without its last record", sample[..6].to_vec(), Clean),
        case("a damaged last line, then a fragment", last_damaged, TornTail { line: 6 }),
        case("a checksum in upper case", vec![shouted.into_bytes()], TornTail { line: 0 }),
        case(
            "a blank line between records",
            vec![plain(1, 1), b"\n".to_vec(), plain(2, 2)],
            Corrupt { line: 1, last_good_seq: 1, reason: "too short" },
        ),
        case(
            "a gap in seq",
            vec![plain(1, 1), plain(2, 2), plain(4, 3)],
            Corrupt { line: 2, last_good_seq: 2, reason: "seq 4 where seq 3" },
        ),
        case(
            "a repeated seq",
            vec![plain(1, 1), plain(2, 2), plain(2, 3)],
            Corrupt { line: 2, last_good_seq: 2, reason: "seq 2 where seq 3" },
        ),
        case(
            "a log starting at seq 0",
            vec![plain(0, 1), plain(1, 2), plain(2, 3)],
            Corrupt { line: 0, last_good_seq: 0, reason: "seq 0 where seq 1" },
        ),
        case(
            "a log starting at seq 2",
            vec![plain(2, 1), plain(3, 2), plain(4, 3)],
            Corrupt { line: 0, last_good_seq: 0, reason: "seq 2 where seq 1" },
        ),
        case(
            "a repeated ts",
            vec![plain(1, 1), plain(2, 2), plain(3, 2)],
            Corrupt { line: 2, last_good_seq: 2, reason: "ts" },
        ),
        case(
            "a ts going back",
            vec![plain(1, 1), plain(2, 2), plain(3, 1)],
            Corrupt { line: 2, last_good_seq: 2, reason: "ts" },
        ),
        case(
            "seq as a string",
            after_first(r#"{"seq":"2","ts":2795780800000000,"type":"A""#),
            Corrupt { line: 1, last_good_seq: 1, reason: "\"seq\" is \"2\"" },
        ),
        case(
            "a negative ts",
            after_first(r#"{"seq":2,"ts":-1,"type":"A""#),
            Corrupt { line: 1, last_good_seq: 1, reason: "\"ts\" is -1" },
        ),
        case(
            "a fractional ts",
            after_first(r#"{"seq":2,"ts":2795780800000000.5,"type":"A""#),
            Corrupt { line: 1, last_good_seq: 1, reason: "\"ts\" is" },
        ),
        case(
            "no type",
            after_first(r#"{"seq":2,"ts":2795780800000000"#),
            Corrupt { line: 1, last_good_seq: 1, reason: "no \"type\" field" },
        ),
        case(
            "a type that is a number",
            after_first(r#"{"seq":2,"ts":2795780800000000,"type":7"#),
            Corrupt { line: 1, last_good_seq: 1, reason: "\"type\" is 7" },
        ),
        case(
            "a verifying line that is not JSON",
            after_first(r#"{"seq":2 "ts":2795780800000000,"type":"A""#),
            Corrupt { line: 1, last_good_seq: 1, reason: "not valid JSON" },
        ),
    ]
}

/// The last record of the sample cut after each of its bytes: always a torn tail.
fn every_cut_of_the_last_record() -> Vec<Case> {
    let sample = sample_lines();
    let last = &sample[6];
    (1..last.len())
        .map(|cut| {
            let mut lines = sample[..6].to_vec();
            lines.push(last[..cut].to_vec());
            case(
                format!("the last record cut after {cut} bytes"),
                lines,
                Expect::TornTail { line: 6 },
            )
        })
        .collect()
}

/// Each byte of the third record flipped in turn: the records after it still verify, so this
/// is damage after the fact, never a torn tail.
fn every_flip_in_a_middle_record() -> Vec<Case> {
    let sample = sample_lines();
    (0..sample[2].len())
        .map(|at| {
            let mut lines = sample.clone();
            lines[2] = flipped(lines[2].clone(), at);
            case(
                format!("byte {at} of the third record flipped"),
                lines,
                Expect::Corrupt {
                    line: 2,
                    last_good_seq: 2,
                    reason: "damaged after it was written",
                },
            )
        })
        .collect()
}

#[test]
fn every_way_a_log_can_end_is_classified_as_the_document_says() {
    let cases = named_cases()
        .into_iter()
        .chain(every_cut_of_the_last_record())
        .chain(every_flip_in_a_middle_record());
    for Case { name, lines, expect } in cases {
        let bytes = lines.concat();
        let log = RaftLog::parse(&bytes);
        let offset_of = |line: usize| lines[..line].iter().map(Vec::len).sum::<usize>() as u64;
        let file_len = bytes.len() as u64;
        match expect {
            Expect::Clean => {
                assert_eq!(log.health(), Health::Clean, "{name}");
                assert_eq!(log.records().len(), lines.len(), "{name}");
            }
            Expect::TornTail { line } => {
                let offset = offset_of(line);
                let bytes = file_len - offset;
                assert_eq!(log.health(), Health::TornTail { offset, bytes }, "{name}");
                assert_eq!(log.records().len(), line, "{name}");
                let message = log.verify().expect_err("a torn log does not verify");
                assert!(message.starts_with("torn tail"), "{name}: {message}");
                assert!(message.contains(&format!("byte offset {offset} ")), "{name}: {message}");
            }
            Expect::Corrupt { line, last_good_seq, reason } => {
                let Health::Corrupt { offset, last_good_seq: good, reason: found } = log.health()
                else {
                    panic!("{name}: expected corruption, got {}", log.health());
                };
                assert_eq!((offset, good), (offset_of(line), last_good_seq), "{name}: {found}");
                assert!(found.contains(reason), "{name}: {found:?} lacks {reason:?}");
                assert_eq!(log.records().len(), line, "{name}");
                let message = log.verify().expect_err("a corrupt log does not verify");
                for part in [
                    format!("byte offset {offset} "),
                    format!("last good seq {last_good_seq})"),
                    found.clone(),
                ] {
                    assert!(message.contains(&part), "{name}: {message:?} lacks {part:?}");
                }
            }
        }
    }
}
