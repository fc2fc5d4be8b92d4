//! `PUT /api/articles/{id}`: replace a live article's title, content and author.

use http::StatusCode;

use super::{Command, article_input::ArticleInput};
use crate::{
    error::ApiError,
    events::StoreEvent,
    lookup,
    model::Article,
    response::{self, HttpResponse},
    store::Store,
};

pub(crate) struct UpdateArticle {
    article: Article,
}

impl UpdateArticle {
    pub(crate) fn parse(id: u64, input: ArticleInput) -> Result<Self, ApiError> {
        Ok(UpdateArticle { article: input.into_article(id)? })
    }
}

impl Command for UpdateArticle {
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError> {
        lookup::article(store, self.article.id)?;
        Ok(StoreEvent::ArticleUpdated(self.article))
    }

    fn answer(event: StoreEvent) -> Result<HttpResponse, ApiError> {
        let StoreEvent::ArticleUpdated(article) = event else { return Err(ApiError::internal()) };
        Ok(response::json(StatusCode::OK, &article))
    }
}
