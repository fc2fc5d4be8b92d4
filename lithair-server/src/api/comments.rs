//! `/api/articles/{id}/comments`.

use http::StatusCode;
use hyper::{Request, body::Incoming};
use serde::{Deserialize, Serialize};

use super::{App, articles::article_not_found, require_text, users::user_not_found};
use crate::{
    error::ApiError,
    events::StoreEvent,
    model::Comment,
    request,
    response::{self, HttpResponse},
    store::Store,
};

const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewComment {
    user_id: u64,
    body: String,
}

#[derive(Serialize)]
struct Comments<'a> {
    total: usize,
    items: Vec<&'a Comment>,
}

pub(super) fn list(app: &App, article_id: u64) -> Result<HttpResponse, ApiError> {
    app.engine.with_state(|store| {
        store.articles().get(article_id).ok_or_else(|| article_not_found(article_id))?;
        let items: Vec<_> = store.comments_of(article_id).collect();
        Ok(response::json(StatusCode::OK, &Comments { total: items.len(), items }))
    })
}

pub(super) async fn add(
    app: &App,
    article_id: u64,
    request: Request<Incoming>,
) -> Result<HttpResponse, ApiError> {
    let input: NewComment = request::json_body(request, app.max_body()).await?;
    require_text("body", &input.body, MAX_BODY_CHARS)?;
    let (user_id, body) = (input.user_id, input.body.into());
    let committed = app
        .engine
        .commit_with(move |store: &Store| {
            store.articles().get(article_id).ok_or_else(|| article_not_found(article_id))?;
            store.users().get(user_id).ok_or_else(|| user_not_found(user_id))?;
            Ok(StoreEvent::CommentAdded(Comment {
                id: store.comments().next_id(),
                article_id,
                user_id,
                body,
            }))
        })
        .await
        .map_err(ApiError::from_commit)?;
    let StoreEvent::CommentAdded(comment) = committed.event else {
        return Err(ApiError::internal());
    };
    Ok(response::created(format!("/api/articles/{}/comments", comment.article_id), &comment))
}
