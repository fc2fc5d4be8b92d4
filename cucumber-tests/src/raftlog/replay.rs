//! The independent replay of Lithair's domain: the events of docs/raftlog.md ("Lithair's
//! events") applied in log order to articles, users and comments, reporting anything a correct
//! server could never have written (a reused id, an update of a deleted article, a comment by
//! nobody, a wrong article checksum, …). In a version-2 log, Raft's own entries (`raft.Blank`,
//! `raft.Membership`) are passed over: they carry no data of Lithair's; a `raft.Batch` is
//! replayed event by event.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::read::{RAFT_BLANK, RAFT_MEMBERSHIP, RaftLog, Record};
use crate::model::{Article, Comment, User, article_checksum};

impl RaftLog {
    /// Rebuilds Lithair's live data from the valid prefix.
    pub fn replay(&self) -> Replay {
        let mut replayer = Replayer::default();
        for record in self.events() {
            replayer.apply(&record);
        }
        replayer.replay
    }
}

/// The live data rebuilt from the events, and what no correct server could have written.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Replay {
    /// Articles created and not deleted, by id.
    pub articles: BTreeMap<u64, Article>,
    pub users: BTreeMap<u64, User>,
    pub comments: BTreeMap<u64, Comment>,
    /// One line per impossible event, naming its seq and byte offset. An event that cannot be
    /// applied (a duplicate id, an update or delete of an article that is not live, a missing
    /// field) is left out of the data; the others are applied, so that the steps can still look
    /// at, say, an article with a wrong checksum or a comment on a deleted article.
    pub problems: Vec<String>,
}

impl Replay {
    /// How the articles a server serves differ from the ones this replay gives, if they do:
    /// the first difference, as a line for a failing scenario.
    pub fn articles_differ_from(&self, served: &BTreeMap<u64, Article>) -> Option<String> {
        if let Some((id, article)) = self.articles.iter().find(|(id, a)| served.get(id) != Some(a))
        {
            return Some(match served.get(id) {
                None => format!("article {id} is in the log but not served"),
                Some(live) => {
                    format!("article {id} differs:\n  served   {live:?}\n  from log {article:?}")
                }
            });
        }
        let extra = served.keys().find(|id| !self.articles.contains_key(id))?;
        Some(format!("article {extra} is served, but a replay of the log does not give it"))
    }
}

/// One of Lithair's events, decoded from a record's `data`.
enum Event {
    ArticleCreated(Article),
    /// Replaces title, content, author and checksum (an HTTP PUT).
    ArticleUpdated(Article),
    ArticleDeleted {
        id: u64,
    },
    UserCreated(User),
    CommentAdded(Comment),
}

impl Event {
    fn decode(record: &Record) -> Result<Event, String> {
        let data = || Payload::of(record);
        Ok(match record.event_type.as_str() {
            "ArticleCreated" => Event::ArticleCreated(article_of(&data()?)?),
            "ArticleUpdated" => Event::ArticleUpdated(article_of(&data()?)?),
            "ArticleDeleted" => Event::ArticleDeleted { id: data()?.integer("id")? },
            "UserCreated" => {
                let data = data()?;
                Event::UserCreated(User {
                    id: data.integer("id")?,
                    name: data.string("name")?,
                    email: data.string("email")?,
                })
            }
            "CommentAdded" => {
                let data = data()?;
                Event::CommentAdded(Comment {
                    id: data.integer("id")?,
                    article_id: data.integer("article_id")?,
                    user_id: data.integer("user_id")?,
                    body: data.string("body")?,
                })
            }
            other => return Err(format!("unknown event type {other:?}")),
        })
    }
}

fn article_of(data: &Payload<'_>) -> Result<Article, String> {
    Ok(Article {
        id: data.integer("id")?,
        title: data.string("title")?,
        content: data.string("content")?,
        author_id: data.nullable_integer("author_id")?,
        checksum: data.string("checksum")?,
    })
}

/// A record's `data` object. Fields it does not ask for are ignored, as the document requires.
struct Payload<'a>(&'a Map<String, Value>);

impl<'a> Payload<'a> {
    fn of(record: &'a Record) -> Result<Payload<'a>, String> {
        match &record.data {
            Value::Object(object) => Ok(Payload(object)),
            Value::Null => Err("no data".to_string()),
            other => Err(format!("data is {other}, not a JSON object")),
        }
    }

    fn field(&self, name: &str) -> Result<&'a Value, String> {
        self.0.get(name).ok_or_else(|| format!("data has no \"{name}\""))
    }

    fn integer(&self, name: &str) -> Result<u64, String> {
        let value = self.field(name)?;
        value.as_u64().ok_or_else(|| format!("data.{name} is {value}, not a non-negative integer"))
    }

    fn nullable_integer(&self, name: &str) -> Result<Option<u64>, String> {
        match self.field(name)? {
            Value::Null => Ok(None),
            _ => self.integer(name).map(Some),
        }
    }

    fn string(&self, name: &str) -> Result<String, String> {
        match self.field(name)? {
            Value::String(text) => Ok(text.clone()),
            other => Err(format!("data.{name} is {other}, not a string")),
        }
    }
}

/// Ids of one kind are handed out from 0 in creation order; this tracks the next one due.
#[derive(Default)]
struct IdOrder {
    next: u64,
}

impl IdOrder {
    fn claim(&mut self, id: u64) -> Result<(), String> {
        let expected = self.next;
        // Continue from this id even if it is out of order, so one slip is reported once.
        self.next = id.saturating_add(1);
        if id == expected {
            Ok(())
        } else {
            Err(format!("id {id} is out of creation order: id {expected} was due"))
        }
    }
}

#[derive(Default)]
struct Replayer {
    replay: Replay,
    /// Deleted article ids, with the seq that deleted them: their ids stay taken.
    deleted_articles: BTreeMap<u64, u64>,
    article_ids: IdOrder,
    user_ids: IdOrder,
    comment_ids: IdOrder,
}

impl Replayer {
    fn apply(&mut self, record: &Record) {
        // Raft's own entries of a version-2 log are not Lithair's events; any other `raft.*`
        // name is an unknown type and reported as such.
        if record.is_raft() && [RAFT_BLANK, RAFT_MEMBERSHIP].contains(&record.event_type.as_str()) {
            return;
        }
        let problems = match Event::decode(record) {
            Ok(event) => self.apply_event(record.seq, event),
            Err(problem) => vec![problem],
        };
        for problem in problems {
            self.replay.problems.push(format!(
                "seq {} at byte {} ({}): {problem}",
                record.seq, record.offset, record.event_type
            ));
        }
    }

    /// Applies the event of record `seq` as far as it can be, and returns what is wrong with it.
    fn apply_event(&mut self, seq: u64, event: Event) -> Vec<String> {
        let mut problems = Vec::new();
        match event {
            Event::ArticleCreated(article) => {
                if self.article_id_taken(article.id) {
                    problems.push(format!("article id {} was already created", article.id));
                } else {
                    problems.extend(self.article_ids.claim(article.id).err());
                    problems.extend(wrong_checksum(&article));
                    self.replay.articles.insert(article.id, article);
                }
            }
            Event::ArticleUpdated(update) => match self.live_article(update.id) {
                Ok(article) => {
                    *article = update;
                    problems.extend(wrong_checksum(article));
                }
                Err(problem) => problems.push(problem),
            },
            Event::ArticleDeleted { id } => match self.live_article(id) {
                Ok(_) => {
                    self.replay.articles.remove(&id);
                    self.deleted_articles.insert(id, seq);
                }
                Err(problem) => problems.push(problem),
            },
            Event::UserCreated(user) => {
                if self.replay.users.contains_key(&user.id) {
                    problems.push(format!("user id {} was already created", user.id));
                } else {
                    problems.extend(self.user_ids.claim(user.id).err());
                    self.replay.users.insert(user.id, user);
                }
            }
            Event::CommentAdded(comment) => {
                problems.extend(self.live_article(comment.article_id).err());
                if !self.replay.users.contains_key(&comment.user_id) {
                    problems.push(format!("user {} does not exist", comment.user_id));
                }
                if self.replay.comments.contains_key(&comment.id) {
                    problems.push(format!("comment id {} was already created", comment.id));
                } else {
                    problems.extend(self.comment_ids.claim(comment.id).err());
                    self.replay.comments.insert(comment.id, comment);
                }
            }
        }
        problems
    }

    fn article_id_taken(&self, id: u64) -> bool {
        self.replay.articles.contains_key(&id) || self.deleted_articles.contains_key(&id)
    }

    /// The article `id` if it exists now, or why an event may not refer to it.
    fn live_article(&mut self, id: u64) -> Result<&mut Article, String> {
        if let Some(deleted_at) = self.deleted_articles.get(&id) {
            return Err(format!("article {id} was deleted at seq {deleted_at}"));
        }
        self.replay.articles.get_mut(&id).ok_or_else(|| format!("article {id} does not exist"))
    }
}

fn wrong_checksum(article: &Article) -> Option<String> {
    (!article.checksum_is_valid()).then(|| {
        format!(
            "article {} has checksum {} but its title and content give {}",
            article.id,
            article.checksum,
            article_checksum(&article.title, &article.content)
        )
    })
}

#[cfg(test)]
#[path = "replay_tests.rs"]
mod tests;
