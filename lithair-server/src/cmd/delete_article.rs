//! `DELETE /api/articles/{id}`: remove a live article. Its id stays taken, and its comments
//! stay in the log.

use super::Command;
use crate::{
    error::ApiError,
    events::StoreEvent,
    lookup,
    response::{self, HttpResponse},
    store::Store,
};

pub(crate) struct DeleteArticle {
    pub(crate) id: u64,
}

impl Command for DeleteArticle {
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError> {
        lookup::article(store, self.id)?;
        Ok(StoreEvent::ArticleDeleted { id: self.id })
    }

    fn answer(_: StoreEvent) -> Result<HttpResponse, ApiError> {
        Ok(response::no_content())
    }
}
