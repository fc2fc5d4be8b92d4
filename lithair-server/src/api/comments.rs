//! Reads of `/api/articles/{id}/comments` (adding one is a command, in `cmd`).

use http::StatusCode;
use serde::Serialize;

use super::App;
use crate::{
    error::ApiError,
    lookup,
    model::Comment,
    response::{self, HttpResponse},
};

#[derive(Serialize)]
struct Comments<'a> {
    total: usize,
    items: Vec<&'a Comment>,
}

pub(super) fn list(app: &App, article_id: u64) -> Result<HttpResponse, ApiError> {
    app.with_state(|store| {
        lookup::article(store, article_id)?;
        let items: Vec<_> = store.comments_of(article_id).collect();
        Ok(response::json(StatusCode::OK, &Comments { total: items.len(), items }))
    })
}
