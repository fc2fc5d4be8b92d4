//! The events Lithair writes to `events.raftlog`, and how each one changes the store.
//!
//! Their names and payloads are part of the on-disk format (docs/raftlog.md, "Lithair's events"): a
//! name, once written, keeps its meaning forever. Ids are carried in the events, decided in the
//! engine's writer against the current state by each command's `decide` (`cmd/`), so that a reader
//! of the file sees every reference explicitly.

use lithair_core::Event;
use serde::{Deserialize, Serialize};

use crate::{
    model::{Article, Comment, User},
    store::Store,
};

/// Each variant carries the record it writes, whole: its fields are the event's `data`, in the
/// record's field order, so the model types define the payloads documented in docs/raftlog.md
/// (pinned by the golden lines below).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum StoreEvent {
    ArticleCreated(Article),
    /// Replaces the article's title, content and author (PUT semantics).
    ArticleUpdated(Article),
    ArticleDeleted {
        id: u64,
    },
    UserCreated(User),
    CommentAdded(Comment),
}

impl Event for StoreEvent {
    type State = Store;

    fn event_type(&self) -> &'static str {
        match self {
            StoreEvent::ArticleCreated(_) => "ArticleCreated",
            StoreEvent::ArticleUpdated(_) => "ArticleUpdated",
            StoreEvent::ArticleDeleted { .. } => "ArticleDeleted",
            StoreEvent::UserCreated(_) => "UserCreated",
            StoreEvent::CommentAdded(_) => "CommentAdded",
        }
    }

    fn apply(&self, store: &mut Store) {
        match self {
            StoreEvent::ArticleCreated(article) => store.put_article(article.clone()),
            // The writer only decides an update for a live article; replay agrees.
            StoreEvent::ArticleUpdated(article) if store.articles().get(article.id).is_some() => {
                store.put_article(article.clone());
            }
            StoreEvent::ArticleUpdated(_) => {}
            StoreEvent::ArticleDeleted { id } => store.delete_article(*id),
            StoreEvent::UserCreated(user) => store.put_user(user.clone()),
            StoreEvent::CommentAdded(comment) => store.put_comment(comment.clone()),
        }
    }
}

/// The on-disk form of every event, pinned byte for byte: these payloads are what
/// `events.raftlog` holds after `"type":` (docs/raftlog.md, "Lithair's events"), and the
/// harness reads them with its own parser. A change here is a format change.
#[cfg(test)]
mod golden {
    use super::*;
    use crate::model::Checksum;

    fn article(id: u64, title: &str, content: &str, author_id: Option<u64>) -> Article {
        let checksum = Checksum::of_article(title, content);
        Article { id, title: title.into(), content: content.into(), author_id, checksum }
    }

    /// Each event, and the exact JSON it is written as.
    fn cases() -> Vec<(StoreEvent, &'static str)> {
        vec![
            (
                StoreEvent::ArticleCreated(article(0, "Hello", "First post", None)),
                r#"{"type":"ArticleCreated","data":{"id":0,"title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"}}"#,
            ),
            (
                StoreEvent::ArticleUpdated(article(7, "Ça \"va\"", "line\nbreak ✓", Some(3))),
                r#"{"type":"ArticleUpdated","data":{"id":7,"title":"Ça \"va\"","content":"line\nbreak ✓","author_id":3,"checksum":"5ed9a456"}}"#,
            ),
            (StoreEvent::ArticleDeleted { id: 7 }, r#"{"type":"ArticleDeleted","data":{"id":7}}"#),
            (
                StoreEvent::UserCreated(User {
                    id: 2,
                    name: "Ada".into(),
                    email: "ada@example.org".into(),
                }),
                r#"{"type":"UserCreated","data":{"id":2,"name":"Ada","email":"ada@example.org"}}"#,
            ),
            (
                StoreEvent::CommentAdded(Comment {
                    id: 5,
                    article_id: 0,
                    user_id: 2,
                    body: "Nice".into(),
                }),
                r#"{"type":"CommentAdded","data":{"id":5,"article_id":0,"user_id":2,"body":"Nice"}}"#,
            ),
        ]
    }

    #[test]
    fn every_event_is_written_exactly_as_documented() {
        for (event, golden) in cases() {
            assert_eq!(serde_json::to_string(&event).unwrap(), golden, "{}", event.event_type());
        }
    }

    #[test]
    fn every_documented_event_reads_back() {
        for (event, golden) in cases() {
            assert_eq!(serde_json::from_str::<StoreEvent>(golden).unwrap(), event, "{golden}");
        }
    }

    #[test]
    fn the_golden_lines_cover_every_event_type() {
        let mut names: Vec<_> = cases().iter().map(|(event, _)| event.event_type()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 5, "add a golden line for each new event type");
    }
}
