//! The body of a POST (create) or PUT (replace) on articles: an article's full representation.

use serde::Deserialize;

use super::require_text;
use crate::{
    error::ApiError,
    model::{Article, Checksum},
};

const MAX_TITLE_CHARS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArticleInput {
    title: String,
    content: String,
    #[serde(default)]
    author_id: Option<u64>,
}

impl ArticleInput {
    /// Validate, and build the article this input describes, with the id `id`.
    pub(super) fn into_article(self, id: u64) -> Result<Article, ApiError> {
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
