//! The in-memory state behind the API: every live article, user and comment.
//!
//! Ids are dense (0, 1, 2, … per kind, never reused), so each kind lives in an [`IdTable`], a
//! vector indexed by id whose length is the next id; a deleted article leaves a hole that keeps
//! its id taken. The store only changes through `StoreEvent::apply`, which the engine runs in
//! log order.

use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::SerializeSeq};

use crate::model::{Article, Comment, User};

/// Serialised whole into snapshots.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    articles: IdTable<Article>,
    users: IdTable<User>,
    comments: IdTable<Comment>,
    /// Comment ids of each article, in creation order, indexed by article id.
    comments_by_article: Vec<Vec<u64>>,
}

impl Store {
    pub fn articles(&self) -> &IdTable<Article> {
        &self.articles
    }

    pub fn users(&self) -> &IdTable<User> {
        &self.users
    }

    pub fn comments(&self) -> &IdTable<Comment> {
        &self.comments
    }

    pub fn comments_of(&self, article_id: u64) -> impl Iterator<Item = &Comment> {
        let ids = index(article_id).and_then(|i| self.comments_by_article.get(i));
        ids.into_iter().flatten().filter_map(|&id| self.comments.get(id))
    }

    pub(crate) fn put_article(&mut self, article: Article) {
        self.articles.insert(article.id, article);
    }

    pub(crate) fn delete_article(&mut self, id: u64) {
        self.articles.remove(id);
    }

    pub(crate) fn put_user(&mut self, user: User) {
        self.users.insert(user.id, user);
    }

    pub(crate) fn put_comment(&mut self, comment: Comment) {
        let Some(article) = index(comment.article_id) else { return };
        if self.comments_by_article.len() <= article {
            self.comments_by_article.resize(article + 1, Vec::new());
        }
        self.comments_by_article[article].push(comment.id);
        self.comments.insert(comment.id, comment);
    }
}

/// Records of one kind, indexed by their dense id.
///
/// The slots live in chunks of [`CHUNK`] rather than in one vector: a vector that doubles
/// copies every record it holds, and with a million articles that copy, made twice (the
/// writer's state and the readers'), held every write for tens of milliseconds. A new chunk
/// copies nothing but the short list of chunks. Snapshots still see one list of slots.
#[derive(Debug, Clone)]
pub struct IdTable<T> {
    /// Every chunk but the last is full.
    chunks: Vec<Vec<Option<T>>>,
    /// Slots in all chunks: the next id.
    len: usize,
    live: usize,
}

/// Slots per chunk: 4096 articles are about 256 KiB of slots.
const CHUNK: usize = 4096;

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable { chunks: Vec::new(), len: 0, live: 0 }
    }
}

impl<T: Clone> IdTable<T> {
    /// The id the next record gets: ids are never reused, even after a delete.
    pub fn next_id(&self) -> u64 {
        self.len as u64
    }

    pub fn live(&self) -> usize {
        self.live
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        let i = index(id)?;
        self.chunks.get(i / CHUNK)?.get(i % CHUNK)?.as_ref()
    }

    /// Live records in id order, skipping the first `offset`.
    pub fn page(&self, offset: usize, limit: usize) -> impl Iterator<Item = &T> {
        self.slots().flatten().skip(offset).take(limit)
    }

    fn slots(&self) -> impl Iterator<Item = &Option<T>> {
        self.chunks.iter().flatten()
    }

    fn insert(&mut self, id: u64, record: T) {
        let Some(i) = index(id) else { return };
        while self.len <= i {
            self.push(None);
        }
        if self.chunks[i / CHUNK][i % CHUNK].replace(record).is_none() {
            self.live += 1;
        }
    }

    fn push(&mut self, slot: Option<T>) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let last = self.chunks.len() - 1;
        self.chunks[last].push(slot);
        self.len += 1;
    }

    fn remove(&mut self, id: u64) {
        let Some(i) = index(id) else { return };
        let slot = self.chunks.get_mut(i / CHUNK).and_then(|chunk| chunk.get_mut(i % CHUNK));
        if slot.is_some_and(|slot| slot.take().is_some()) {
            self.live -= 1;
        }
    }
}

/// The snapshot's shape of a table, from before it was chunked: `slots` as one sequence.
#[derive(Serialize, Deserialize)]
#[serde(rename = "IdTable")]
struct FlatTable<S> {
    slots: S,
    live: usize,
}

/// The slots of all chunks as one sequence of known length (the snapshot encoding needs it).
struct FlatSlots<'a, T>(&'a IdTable<T>);

impl<T: Clone + Serialize> Serialize for FlatSlots<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len))?;
        for slot in self.0.slots() {
            seq.serialize_element(slot)?;
        }
        seq.end()
    }
}

impl<T: Clone + Serialize> Serialize for IdTable<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FlatTable { slots: FlatSlots(self), live: self.live }.serialize(serializer)
    }
}

impl<'de, T: Clone + Deserialize<'de>> Deserialize<'de> for IdTable<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let flat = FlatTable::<Vec<Option<T>>>::deserialize(deserializer)?;
        let mut table = IdTable::default();
        for slot in flat.slots {
            table.push(slot);
        }
        table.live = flat.live;
        Ok(table)
    }
}

fn index(id: u64) -> Option<usize> {
    usize::try_from(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids 0..n with every third one deleted.
    fn numbered(n: u64) -> IdTable<u64> {
        let mut table = IdTable::default();
        for id in 0..n {
            table.insert(id, id);
        }
        for id in (0..n).step_by(3) {
            table.remove(id);
        }
        table
    }

    #[test]
    fn ids_across_chunks_are_found_paged_and_removed() {
        let n = 2 * CHUNK as u64 + 10;
        let table = numbered(n);
        assert_eq!(table.next_id(), n);
        assert_eq!(table.live(), (n - n.div_ceil(3)) as usize);
        for id in [1, CHUNK as u64 - 1, CHUNK as u64 + 1, n - 1] {
            assert_eq!(table.get(id), (id % 3 != 0).then_some(&id), "id {id}");
        }
        assert_eq!(table.get(n), None);
        let page: Vec<u64> = table.page(CHUNK, 3).copied().collect();
        let expected: Vec<u64> = (0..n).filter(|id| id % 3 != 0).skip(CHUNK).take(3).collect();
        assert_eq!(page, expected);
    }

    #[test]
    fn a_table_far_past_its_end_fills_the_gap_with_holes() {
        let mut table = IdTable::default();
        table.insert(CHUNK as u64 + 5, 7u64);
        assert_eq!(table.next_id(), CHUNK as u64 + 6);
        assert_eq!((table.live(), table.get(CHUNK as u64 + 5), table.get(5)), (1, Some(&7), None));
    }

    /// Snapshots written before the table was chunked must still load, and the other way round:
    /// the table is encoded as the derived `{ slots: Vec<Option<T>>, live }` it replaced.
    #[test]
    fn a_table_keeps_its_snapshot_shape() {
        let table = numbered(5);
        assert_eq!(
            serde_json::to_string(&table).unwrap(),
            r#"{"slots":[null,1,2,null,4],"live":3}"#
        );

        let table = numbered(CHUNK as u64 + 10);
        let slots: Vec<Option<u64>> = table.slots().copied().collect();
        let flat = FlatTable { slots, live: table.live() };
        let bytes = postcard::to_allocvec(&table).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&flat).unwrap());
        let back: IdTable<u64> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.slots().collect::<Vec<_>>(), table.slots().collect::<Vec<_>>());
        assert_eq!((back.next_id(), back.live()), (table.next_id(), table.live()));
    }
}
