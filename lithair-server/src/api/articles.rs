//! `/api/articles` and `/api/articles/{id}`.

use http::StatusCode;
use hyper::{Request, body::Incoming};
use serde::{Deserialize, Serialize};

use super::{App, require_text};
use crate::{
    error::ApiError,
    events::StoreEvent,
    model::{Article, Checksum},
    request::{self, Paging},
    response::{self, HttpResponse},
    store::Store,
};

const MAX_TITLE_CHARS: usize = 1000;

/// The body of a POST (create) or PUT (replace): an article's full representation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ArticleInput {
    title: String,
    content: String,
    #[serde(default)]
    author_id: Option<u64>,
}

impl ArticleInput {
    /// Validate, and build the article this input describes.
    fn into_article(self, id: u64) -> Result<Article, ApiError> {
        require_text("title", &self.title, MAX_TITLE_CHARS)?;
        Ok(Article {
            id,
            checksum: Checksum::of_article(&self.title, &self.content),
            title: self.title.into(),
            content: self.content.into(),
            author_id: self.author_id,
        })
    }
}

#[derive(Serialize)]
struct Page<'a> {
    total: usize,
    offset: usize,
    limit: usize,
    items: Vec<&'a Article>,
}

pub(super) fn list(app: &App, query: Option<&str>) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from_query(query)?;
    Ok(app.engine.with_state(|store| {
        let articles = store.articles();
        let items = articles.page(paging.offset, paging.limit).collect();
        let page =
            Page { total: articles.live(), offset: paging.offset, limit: paging.limit, items };
        response::json(StatusCode::OK, &page)
    }))
}

pub(super) fn get(app: &App, id: u64) -> Result<HttpResponse, ApiError> {
    app.engine.with_state(|store| match store.articles().get(id) {
        Some(article) => Ok(response::json(StatusCode::OK, article)),
        None => Err(article_not_found(id)),
    })
}

pub(super) async fn create(
    app: &App,
    request: Request<Incoming>,
) -> Result<HttpResponse, ApiError> {
    let input: ArticleInput = request::json_body(request, app.max_body()).await?;
    let article = input.into_article(0)?;
    let committed = app
        .engine
        .commit_with(move |store: &Store| {
            Ok(StoreEvent::ArticleCreated(Article { id: store.articles().next_id(), ..article }))
        })
        .await
        .map_err(ApiError::from_commit)?;
    let StoreEvent::ArticleCreated(article) = committed.event else {
        return Err(ApiError::internal());
    };
    Ok(response::created(format!("/api/articles/{}", article.id), &article))
}

pub(super) async fn update(
    app: &App,
    id: u64,
    request: Request<Incoming>,
) -> Result<HttpResponse, ApiError> {
    let input: ArticleInput = request::json_body(request, app.max_body()).await?;
    let article = input.into_article(id)?;
    let committed = app
        .engine
        .commit_with(move |store: &Store| match store.articles().get(id) {
            Some(_) => Ok(StoreEvent::ArticleUpdated(article)),
            None => Err(article_not_found(id)),
        })
        .await
        .map_err(ApiError::from_commit)?;
    let StoreEvent::ArticleUpdated(article) = committed.event else {
        return Err(ApiError::internal());
    };
    Ok(response::json(StatusCode::OK, &article))
}

pub(super) async fn delete(app: &App, id: u64) -> Result<HttpResponse, ApiError> {
    app.engine
        .commit_with(move |store: &Store| match store.articles().get(id) {
            Some(_) => Ok(StoreEvent::ArticleDeleted { id }),
            None => Err(article_not_found(id)),
        })
        .await
        .map_err(ApiError::from_commit)?;
    Ok(response::no_content())
}

pub(super) fn article_not_found(id: u64) -> ApiError {
    ApiError::not_found(format!("there is no article {id}"))
}
