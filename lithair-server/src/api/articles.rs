//! Reads of `/api/articles` and `/api/articles/{id}` (the writes are commands, in `cmd`).

use http::StatusCode;
use serde::Serialize;

use super::App;
use crate::{
    error::ApiError,
    lookup,
    model::Article,
    request::Paging,
    response::{self, HttpResponse},
};

#[derive(Serialize)]
struct Page<'a> {
    total: usize,
    offset: usize,
    limit: usize,
    items: Vec<&'a Article>,
}

pub(super) fn list(app: &App, query: Option<&str>) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(query)?;
    Ok(app.with_state(|store| {
        let articles = store.articles();
        let items = articles.page(paging.offset, paging.limit).collect();
        let page =
            Page { total: articles.live(), offset: paging.offset, limit: paging.limit, items };
        response::json(StatusCode::OK, &page)
    }))
}

pub(super) fn get(app: &App, id: u64) -> Result<HttpResponse, ApiError> {
    app.with_state(|store| Ok(response::json(StatusCode::OK, lookup::article(store, id)?)))
}
