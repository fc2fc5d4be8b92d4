//! The in-memory state behind the API: every live article, user and comment.
//!
//! Ids are dense (0, 1, 2, … per kind, never reused), so each kind lives in an [`IdTable`], a
//! vector indexed by id whose length is the next id; a deleted article leaves a hole that keeps
//! its id taken. The store only changes through `StoreEvent::apply`, which the engine runs in
//! log order.

use serde::{Deserialize, Serialize};

use crate::{
    chunked::ChunkedVec,
    model::{Article, Comment, User},
};

/// Serialised whole into snapshots.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Store {
    articles: IdTable<Article>,
    users: IdTable<User>,
    comments: IdTable<Comment>,
    /// Comment ids of each article, in creation order, indexed by article id.
    comments_by_article: ChunkedVec<Vec<u64>>,
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
        self.comments_by_article.get_or_grow(article, Vec::new).push(comment.id);
        self.comments.insert(comment.id, comment);
    }
}

/// Records of one kind, indexed by their dense id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTable<T> {
    slots: ChunkedVec<Option<T>>,
    live: usize,
}

impl<T> Default for IdTable<T> {
    fn default() -> Self {
        IdTable { slots: ChunkedVec::default(), live: 0 }
    }
}

impl<T: Clone> IdTable<T> {
    /// The id the next record gets: ids are never reused, even after a delete.
    pub fn next_id(&self) -> u64 {
        self.slots.len() as u64
    }

    pub fn live(&self) -> usize {
        self.live
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.slots.get(index(id)?)?.as_ref()
    }

    /// Live records in id order, skipping the first `offset`.
    pub fn page(&self, offset: usize, limit: usize) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten().skip(offset).take(limit)
    }

    fn insert(&mut self, id: u64, record: T) {
        let Some(i) = index(id) else { return };
        if self.slots.get_or_grow(i, || None).replace(record).is_none() {
            self.live += 1;
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(slot) = index(id).and_then(|i| self.slots.get_mut(i))
            && slot.take().is_some()
        {
            self.live -= 1;
        }
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
    fn records_are_found_paged_and_removed_by_id() {
        let n = 10_000;
        let table = numbered(n);
        assert_eq!((table.next_id(), table.live()), (n, (n - n.div_ceil(3)) as usize));
        for id in [1, 4095, 4096, 4097, n - 1] {
            assert_eq!(table.get(id), (id % 3 != 0).then_some(&id), "id {id}");
        }
        assert_eq!(table.get(n), None);
        let page: Vec<u64> = table.page(4096, 3).copied().collect();
        let expected: Vec<u64> = (0..n).filter(|id| id % 3 != 0).skip(4096).take(3).collect();
        assert_eq!(page, expected);
    }

    #[test]
    fn an_id_past_the_end_leaves_holes_before_it() {
        let mut table = IdTable::default();
        table.insert(5000, 7u64);
        assert_eq!((table.next_id(), table.live()), (5001, 1));
        assert_eq!((table.get(5000), table.get(5)), (Some(&7), None));
    }

    /// The shape snapshots have always had (`chunked.rs` pins the sequence's encoding).
    #[test]
    fn a_table_keeps_its_snapshot_shape() {
        let json = serde_json::to_string(&numbered(5)).unwrap();
        assert_eq!(json, r#"{"slots":[null,1,2,null,4],"live":3}"#);
    }
}
