//! The `lithair-log` binary, run for real on logs this test writes: a clean one, one with a
//! torn tail, one corrupted in its middle. Each case is the file's bytes and what the tool
//! must answer: its exit code and a line it must print.

use std::process::Command;

use cucumber_tests::raftlog::encode;

/// A record as docs/raftlog.md specifies it, from the harness's one encoder; `data` is JSON text.
fn record(seq: u64, event: &str, data: &str) -> String {
    let data: serde_json::Value = serde_json::from_str(data).expect("test data is JSON");
    let line = encode::record(seq, 1_795_780_800_000_000 + seq, event, &data);
    String::from_utf8(line).expect("records are UTF-8")
}

fn clean_log() -> String {
    let user = r#"{"id":0,"name":"Ada","email":"ada@example.com"}"#;
    let article =
        r#"{"id":0,"title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"}"#;
    [record(1, "UserCreated", user), record(2, "ArticleCreated", article)].concat()
}

/// Runs `lithair-log COMMAND` on `bytes` and returns its exit code and standard output.
fn lithair_log(command: &str, bytes: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("events.raftlog");
    std::fs::write(&path, bytes).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lithair-log"))
        .arg(command)
        .arg(&path)
        .output()
        .expect("run lithair-log");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().expect("an exit code"), stdout)
}

#[test]
fn verify_tells_clean_torn_and_corrupt_logs_apart() {
    let clean = clean_log();
    let torn = format!("{clean}{}", &record(3, "ArticleDeleted", r#"{"id":0}"#)[..40]);
    // One byte of the first record's title flipped: its checksum no longer verifies, and a
    // valid record follows, so this is corruption, not a tear.
    let corrupt = clean.replacen("Ada", "Adb", 1);
    let cases: [(&str, &str, i32, String); 4] = [
        ("clean", &clean, 0, "2 records, clean".to_owned()),
        ("torn tail", &torn, 3, format!("torn tail of 40 bytes at byte offset {}", clean.len())),
        ("corrupt", &corrupt, 1, "corrupt at byte offset 0 (last good seq 0)".to_owned()),
        ("empty", "", 0, "0 records, clean".to_owned()),
    ];
    for (name, bytes, code, expected) in cases {
        let (status, stdout) = lithair_log("verify", bytes.as_bytes());
        assert_eq!(status, code, "{name}: {stdout}");
        assert!(stdout.contains(&expected), "{name}: expected {expected:?} in {stdout}");
    }
    let (_, stdout) = lithair_log("verify", &torn.into_bytes());
    assert!(stdout.contains("after seq 2"), "{stdout}");
}

#[test]
fn dump_prints_one_line_per_record_and_stats_counts_them() {
    let (status, dump) = lithair_log("dump", clean_log().as_bytes());
    assert_eq!(status, 0, "{dump}");
    let lines: Vec<&str> = dump.lines().filter(|line| line.contains(" seq ")).collect();
    assert_eq!(lines.len(), 2, "{dump}");
    assert!(lines[0].trim_start().starts_with("0 seq 1 2026-11-"), "{dump}");
    assert!(lines[1].contains("seq 2") && lines[1].contains("ArticleCreated"), "{dump}");
    assert!(lines[1].contains(r#""title":"Hello""#), "{dump}");

    let (status, stats) = lithair_log("stats", clean_log().as_bytes());
    assert_eq!(status, 0, "{stats}");
    for expected in
        ["records  2", "seq      1 ..= 2", "       1 ArticleCreated", "       1 UserCreated"]
    {
        assert!(stats.contains(expected), "expected {expected:?} in {stats}");
    }
    assert!(stats.contains(&format!("bytes    {}", clean_log().len())), "{stats}");
}

#[test]
fn an_unreadable_file_is_exit_code_2() {
    let output = Command::new(env!("CARGO_BIN_EXE_lithair-log"))
        .args(["verify", "/nonexistent/events.raftlog"])
        .output()
        .expect("run lithair-log");
    assert_eq!(output.status.code(), Some(2));
}

/// A cluster node's log (docs/raftlog.md, version 2): membership, a blank per term, two events.
fn v2_log() -> Vec<u8> {
    let json = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
    let membership = json(
        r#"{"configs":[[1,2,3]],"nodes":{"1":{"peer":"a:1","api":"a:2"},"2":{"peer":"b:1","api":"b:2"},"3":{"peer":"c:1","api":"c:2"}}}"#,
    );
    let user = json(r#"{"id":0,"name":"Ada","email":"ada@example.com"}"#);
    let article = json(
        r#"{"id":0,"title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"}"#,
    );
    let t = 1_795_780_800_000_000;
    [
        encode::record_v2(0, 0, 0, 0, "raft.Membership", Some(&membership)),
        encode::record_v2::<()>(1, 1, 2, 0, "raft.Blank", None),
        encode::record_v2(2, 1, 2, t, "UserCreated", Some(&user)),
        encode::record_v2::<()>(3, 3, 1, 0, "raft.Blank", None),
        encode::record_v2(4, 3, 1, t - 7, "ArticleCreated", Some(&article)),
    ]
    .concat()
}

#[test]
fn a_v2_log_is_dumped_with_its_log_ids_and_its_raft_entries_counted() {
    let (status, dump) = lithair_log("dump", &v2_log());
    assert_eq!(status, 0, "{dump}");
    let lines: Vec<&str> = dump.lines().filter(|line| line.contains(" seq ")).collect();
    assert_eq!(lines.len(), 5, "{dump}");
    assert!(lines[1].trim_start().ends_with("seq 1 term 1 node 2 raft.Blank"), "{dump}");
    assert!(lines[4].contains("seq 4 term 3 node 1 2026-11-"), "{dump}");
    assert!(lines[4].contains(r#"ArticleCreated {"author_id":null"#), "{dump}");

    let (status, stats) = lithair_log("stats", &v2_log());
    assert_eq!(status, 0, "{stats}");
    for expected in [
        "version  2",
        "records  5",
        "seq      0 ..= 4",
        "raft     3 entries, 2 events",
        "terms    0 ..= 3",
        "leader   term 1 node 2 from seq 1",
        "leader   term 3 node 1 from seq 3",
        "       2 raft.Blank",
    ] {
        assert!(stats.contains(expected), "expected {expected:?} in {stats}");
    }
    // The article's ts is 7 µs before the user's (another leader's clock): the range says so.
    let range = "time     2026-11-27T11:59:59.999993Z ..= 2026-11-27T12:00:00.000000Z";
    assert!(stats.contains(range), "{stats}");

    let torn = &v2_log()[..v2_log().len() - 9];
    let (status, verify) = lithair_log("verify", torn);
    assert_eq!(status, 3, "{verify}");
    assert!(verify.contains("after seq 3"), "{verify}");
}
