//! The events Lithair writes to `events.raftlog`, and how each one changes the store.
//!
//! Their names and payloads are part of the on-disk format (docs/raftlog.md, "Lithair's
//! events"): a name, once written, keeps its meaning forever. Ids are carried in the events,
//! decided by the writer against the current state (see `api`), so that a reader of the file
//! sees every reference explicitly.

use std::sync::Arc;

use lithair_core::Event;
use serde::{Deserialize, Serialize};

use crate::{
    model::{Article, Checksum, Comment, User},
    store::Store,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum StoreEvent {
    ArticleCreated {
        id: u64,
        title: Arc<str>,
        content: Arc<str>,
        author_id: Option<u64>,
        checksum: Checksum,
    },
    /// Replaces the article's title, content and author (PUT semantics).
    ArticleUpdated {
        id: u64,
        title: Arc<str>,
        content: Arc<str>,
        author_id: Option<u64>,
        checksum: Checksum,
    },
    ArticleDeleted {
        id: u64,
    },
    UserCreated {
        id: u64,
        name: Arc<str>,
        email: Arc<str>,
    },
    CommentAdded {
        id: u64,
        article_id: u64,
        user_id: u64,
        body: Arc<str>,
    },
}

impl StoreEvent {
    pub fn created(article: Article) -> Self {
        let Article { id, title, content, author_id, checksum } = article;
        StoreEvent::ArticleCreated { id, title, content, author_id, checksum }
    }

    pub fn updated(article: Article) -> Self {
        let Article { id, title, content, author_id, checksum } = article;
        StoreEvent::ArticleUpdated { id, title, content, author_id, checksum }
    }

    /// The article an `ArticleCreated` or `ArticleUpdated` event writes.
    pub fn article(&self) -> Option<Article> {
        match self {
            StoreEvent::ArticleCreated { id, title, content, author_id, checksum }
            | StoreEvent::ArticleUpdated { id, title, content, author_id, checksum } => {
                Some(Article {
                    id: *id,
                    title: title.clone(),
                    content: content.clone(),
                    author_id: *author_id,
                    checksum: *checksum,
                })
            }
            _ => None,
        }
    }
}

impl Event for StoreEvent {
    type State = Store;

    fn event_type(&self) -> &'static str {
        match self {
            StoreEvent::ArticleCreated { .. } => "ArticleCreated",
            StoreEvent::ArticleUpdated { .. } => "ArticleUpdated",
            StoreEvent::ArticleDeleted { .. } => "ArticleDeleted",
            StoreEvent::UserCreated { .. } => "UserCreated",
            StoreEvent::CommentAdded { .. } => "CommentAdded",
        }
    }

    fn apply(&self, store: &mut Store) {
        match self {
            StoreEvent::ArticleCreated { .. } => store.put_article(self.article()),
            // The writer only decides an update for a live article; replay agrees.
            StoreEvent::ArticleUpdated { id, .. } if store.articles().get(*id).is_some() => {
                store.put_article(self.article());
            }
            StoreEvent::ArticleUpdated { .. } => {}
            StoreEvent::ArticleDeleted { id } => store.delete_article(*id),
            StoreEvent::UserCreated { id, name, email } => {
                store.put_user(User { id: *id, name: name.clone(), email: email.clone() });
            }
            StoreEvent::CommentAdded { id, article_id, user_id, body } => {
                store.put_comment(Comment {
                    id: *id,
                    article_id: *article_id,
                    user_id: *user_id,
                    body: body.clone(),
                });
            }
        }
    }
}

/// The on-disk form of every event, pinned byte for byte: these payloads are what
/// `events.raftlog` holds after `"type":` (docs/raftlog.md, "Lithair's events"), and the
/// harness reads them with its own parser. A change here is a format change.
#[cfg(test)]
mod golden {
    use super::*;

    fn article(id: u64, title: &str, content: &str, author_id: Option<u64>) -> Article {
        let checksum = Checksum::of_article(title, content);
        Article { id, title: title.into(), content: content.into(), author_id, checksum }
    }

    /// Each event, and the exact JSON it is written as.
    fn cases() -> Vec<(StoreEvent, &'static str)> {
        vec![
            (
                StoreEvent::created(article(0, "Hello", "First post", None)),
                r#"{"type":"ArticleCreated","data":{"id":0,"title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"}}"#,
            ),
            (
                StoreEvent::updated(article(7, "Ça \"va\"", "line\nbreak ✓", Some(3))),
                r#"{"type":"ArticleUpdated","data":{"id":7,"title":"Ça \"va\"","content":"line\nbreak ✓","author_id":3,"checksum":"5ed9a456"}}"#,
            ),
            (StoreEvent::ArticleDeleted { id: 7 }, r#"{"type":"ArticleDeleted","data":{"id":7}}"#),
            (
                StoreEvent::UserCreated {
                    id: 2,
                    name: "Ada".into(),
                    email: "ada@example.org".into(),
                },
                r#"{"type":"UserCreated","data":{"id":2,"name":"Ada","email":"ada@example.org"}}"#,
            ),
            (
                StoreEvent::CommentAdded { id: 5, article_id: 0, user_id: 2, body: "Nice".into() },
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
