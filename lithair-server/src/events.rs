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
