//! `POST /api/articles/{id}/comments`: a comment by an existing user on a live article, with
//! the next comment id.

use std::sync::Arc;

use serde::Deserialize;

use super::{Command, require_text};
use crate::{
    error::ApiError,
    events::StoreEvent,
    lookup,
    model::Comment,
    response::{self, HttpResponse},
    store::Store,
};

const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewComment {
    user_id: u64,
    body: String,
}

pub(crate) struct AddComment {
    article_id: u64,
    user_id: u64,
    body: Arc<str>,
}

impl AddComment {
    pub(crate) fn parse(article_id: u64, input: NewComment) -> Result<Self, ApiError> {
        require_text("body", &input.body, MAX_BODY_CHARS)?;
        Ok(AddComment { article_id, user_id: input.user_id, body: input.body.into() })
    }
}

impl Command for AddComment {
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError> {
        let AddComment { article_id, user_id, body } = self;
        lookup::article(store, article_id)?;
        lookup::user(store, user_id)?;
        let id = store.comments().next_id();
        Ok(StoreEvent::CommentAdded(Comment { id, article_id, user_id, body }))
    }

    fn answer(event: StoreEvent) -> Result<HttpResponse, ApiError> {
        let StoreEvent::CommentAdded(comment) = event else { return Err(ApiError::internal()) };
        Ok(response::created(format!("/api/articles/{}/comments", comment.article_id), &comment))
    }
}
