//! The replay against Lithair's events: a clean log gives the live data, and each thing a
//! correct server could never have written is reported.

use serde_json::{Value, json};

use super::*;
use crate::raftlog::{
    encode::record,
    sample::{T0, crc32_by_the_book, sample_lines},
};

fn checksum_by_the_book(title: &str, content: &str) -> String {
    format!("{:08x}", crc32_by_the_book(format!("{title}\n{content}").as_bytes()))
}

fn article_created(id: u64, title: &str, content: &str, author_id: Option<u64>) -> Value {
    let checksum = checksum_by_the_book(title, content);
    json!({"id": id, "title": title, "content": content, "author_id": author_id,
           "checksum": checksum})
}

fn article_updated(id: u64, title: &str, content: &str) -> Value {
    article_created(id, title, content, Some(0))
}

fn user_created(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name, "email": format!("{name}@example.org")})
}

fn comment_added(id: u64, article_id: u64, user_id: u64, body: &str) -> Value {
    json!({"id": id, "article_id": article_id, "user_id": user_id, "body": body})
}

/// Numbers the events from seq 1, one microsecond apart.
fn log_of_events(events: &[(&str, Value)]) -> Vec<u8> {
    (1..).zip(events).flat_map(|(seq, (kind, data))| record(seq, T0 + seq, kind, data)).collect()
}

#[test]
fn an_empty_log_replays_to_nothing() {
    assert_eq!(RaftLog::parse(b"").replay(), Replay::default());
}

#[test]
fn the_documented_example_replays_with_a_valid_checksum() {
    let example = record(1, T0, "ArticleCreated", &article_created(0, "Hello", "First post", None));
    let replay = RaftLog::parse(&example).replay();
    assert_eq!(replay.problems, Vec::<String>::new());
    assert!(replay.articles[&0].checksum_is_valid());
}

#[test]
fn a_clean_log_replays_into_the_live_data() {
    let replay = RaftLog::parse(&sample_lines().concat()).replay();
    assert_eq!(replay.problems, Vec::<String>::new());
    assert_eq!(
        replay.articles.into_values().collect::<Vec<_>>(),
        [Article {
            id: 0,
            title: "Hello again".into(),
            content: "Second post".into(),
            author_id: Some(0),
            checksum: checksum_by_the_book("Hello again", "Second post"),
        }]
    );
    assert_eq!(replay.users.keys().copied().collect::<Vec<_>>(), [0, 1]);
    assert_eq!(replay.users[&1].email, "bob@example.org");
    assert_eq!(
        replay.comments[&0],
        Comment { id: 0, article_id: 0, user_id: 0, body: "Nice".into() }
    );
}

fn replay_problems(events: &[(&str, Value)]) -> (Replay, String) {
    let replay = RaftLog::parse(&log_of_events(events)).replay();
    let problems = replay.problems.join("\n");
    (replay, problems)
}

#[test]
fn replay_reports_a_wrong_article_checksum_and_keeps_the_article() {
    let mut created = article_created(0, "Hello", "First post", None);
    created["checksum"] = json!("00000000");
    let (replay, problems) = replay_problems(&[("ArticleCreated", created)]);
    assert_eq!(replay.problems.len(), 1, "{problems}");
    assert!(problems.contains("article 0 has checksum 00000000"), "{problems}");
    assert!(!replay.articles[&0].checksum_is_valid());
}

#[test]
fn replay_reports_an_update_of_a_deleted_article() {
    let (replay, problems) = replay_problems(&[
        ("ArticleCreated", article_created(0, "Hello", "First post", None)),
        ("ArticleDeleted", json!({"id": 0})),
        ("ArticleUpdated", article_updated(0, "Back", "From the dead")),
        ("ArticleDeleted", json!({"id": 0})),
    ]);
    assert_eq!(replay.problems.len(), 2, "{problems}");
    assert!(replay.problems[0].starts_with("seq 3 at byte "), "{problems}");
    assert!(problems.contains("article 0 was deleted at seq 2"), "{problems}");
    assert!(replay.articles.is_empty());
}

#[test]
fn replay_reports_references_to_what_does_not_exist() {
    let (replay, problems) = replay_problems(&[
        ("UserCreated", user_created(0, "ada")),
        ("ArticleCreated", article_created(0, "Hello", "First post", Some(0))),
        ("ArticleUpdated", article_updated(5, "Nope", "Never created")),
        ("ArticleDeleted", json!({"id": 0})),
        ("CommentAdded", comment_added(0, 0, 9, "On a deleted article, by nobody")),
    ]);
    for part in
        ["article 5 does not exist", "article 0 was deleted at seq 4", "user 9 does not exist"]
    {
        assert!(problems.contains(part), "{problems}\nlacks {part:?}");
    }
    assert_eq!(replay.problems.len(), 3, "{problems}");
}

#[test]
fn replay_reports_reused_and_out_of_order_ids() {
    let (replay, problems) = replay_problems(&[
        ("ArticleCreated", article_created(0, "A", "a", None)),
        ("ArticleDeleted", json!({"id": 0})),
        ("ArticleCreated", article_created(0, "B", "b", None)),
        ("UserCreated", user_created(1, "bob")),
        ("UserCreated", user_created(1, "bob again")),
    ]);
    for part in [
        "article id 0 was already created",
        "id 1 is out of creation order: id 0 was due",
        "user id 1 was already created",
    ] {
        assert!(problems.contains(part), "{problems}\nlacks {part:?}");
    }
    assert_eq!(replay.problems.len(), 3, "{problems}");
    assert_eq!(replay.users[&1].name, "bob");
    assert!(replay.articles.is_empty());
}

#[test]
fn replay_reports_missing_fields_and_unknown_events_but_ignores_unknown_fields() {
    let mut with_extra = article_created(0, "Hello", "First post", None);
    with_extra["tags"] = json!(["new"]);
    let (replay, problems) = replay_problems(&[
        ("ArticleCreated", with_extra),
        ("UserCreated", json!({"id": 0, "name": "ada"})),
        ("ArticleUpdated", json!({"id": 0, "title": 3, "content": "", "checksum": ""})),
        ("Mystery", json!({})),
    ]);
    for part in ["data has no \"email\"", "data.title is 3, not a string", "unknown event type"] {
        assert!(problems.contains(part), "{problems}\nlacks {part:?}");
    }
    assert_eq!(replay.problems.len(), 3, "{problems}");
    assert_eq!(replay.articles[&0].title, "Hello");
}

#[test]
fn a_v2_log_replays_its_events_and_passes_over_raft_entries() {
    use crate::raftlog::encode::record_v2;
    let membership = json!({"configs": [[1]], "nodes": {"1": {"peer": "a:1", "api": "a:2"}}});
    let bytes = [
        record_v2(0, 0, 0, 0, "raft.Membership", Some(&membership)),
        record_v2::<()>(1, 1, 1, 0, "raft.Blank", None),
        record_v2(2, 1, 1, T0, "UserCreated", Some(&user_created(0, "ada"))),
        record_v2::<()>(3, 2, 1, 0, "raft.Blank", None),
        // The leader's clock went back at the change of term: a label, not an order.
        record_v2(4, 2, 1, T0 - 5, "ArticleCreated", Some(&article_created(0, "Hi", "x", Some(0)))),
        record_v2(5, 2, 1, 0, "raft.Unheard", Some(&json!({}))),
        // Two events in one entry, applied in their order: the second relies on the first.
        record_v2(
            6,
            2,
            1,
            T0 + 2,
            "raft.Batch",
            Some(&json!([
                {"ts": T0 + 1, "type": "UserCreated", "data": user_created(1, "bob")},
                {"ts": T0 + 2, "type": "ArticleCreated", "data": article_created(1, "Yo", "y", Some(1))},
            ])),
        ),
    ]
    .concat();
    let log = RaftLog::parse(&bytes);
    assert_eq!(log.verify(), Ok(()));
    let replay = log.replay();
    assert_eq!((replay.users[&0].name.as_str(), replay.articles[&0].title.as_str()), ("ada", "Hi"));
    assert_eq!((replay.users[&1].name.as_str(), replay.articles[&1].title.as_str()), ("bob", "Yo"));
    // Only the reserved type nobody defined is a problem.
    assert_eq!(replay.problems.len(), 1, "{:?}", replay.problems);
    assert!(replay.problems[0].contains("unknown event type \"raft.Unheard\""));
}
