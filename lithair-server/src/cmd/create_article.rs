//! `POST /api/articles`: a new article, with the next article id.

use super::{Command, article_input::ArticleInput};
use crate::{
    error::ApiError,
    events::StoreEvent,
    model::Article,
    response::{self, HttpResponse},
    store::Store,
};

pub(crate) struct CreateArticle {
    /// The article to create; its id is decided against the state.
    article: Article,
}

impl CreateArticle {
    pub(crate) fn parse(input: ArticleInput) -> Result<Self, ApiError> {
        Ok(CreateArticle { article: input.into_article(0)? })
    }
}

impl Command for CreateArticle {
    fn decide(self, store: &Store) -> Result<StoreEvent, ApiError> {
        let id = store.articles().next_id();
        Ok(StoreEvent::ArticleCreated(Article { id, ..self.article }))
    }

    fn answer(event: StoreEvent) -> Result<HttpResponse, ApiError> {
        let StoreEvent::ArticleCreated(article) = event else { return Err(ApiError::internal()) };
        Ok(response::created(format!("/api/articles/{}", article.id), &article))
    }
}
