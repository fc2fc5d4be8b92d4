//! Lithair's domain as the harness understands it, written from docs/api.md and docs/raftlog.md:
//! articles (with their checksum), users and comments.
//!
//! The harness never borrows the server's types: a mistake shared by both would hide. These
//! types are what the scenarios expect, what the log replay rebuilds and what the HTTP answers
//! are read into, so all three are compared field by field.

use serde::{Deserialize, Serialize};

/// An article, exactly as the API serves it and as `ArticleCreated`/`ArticleUpdated` carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Article {
    pub id: u64,
    pub title: String,
    pub content: String,
    pub author_id: Option<u64>,
    pub checksum: String,
}

/// What a client sends to create (POST) or replace (PUT) an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArticleInput {
    pub title: String,
    pub content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author_id: Option<u64>,
}

impl ArticleInput {
    pub fn new(title: impl Into<String>, content: impl Into<String>) -> ArticleInput {
        ArticleInput { title: title.into(), content: content.into(), author_id: None }
    }

    /// The article this input describes under the id the server assigned, with the checksum
    /// its text must have: what a correct server stores, whatever it answered.
    pub fn with_id(&self, id: u64) -> Article {
        Article {
            id,
            title: self.title.clone(),
            content: self.content.clone(),
            author_id: self.author_id,
            checksum: article_checksum(&self.title, &self.content),
        }
    }
}

impl Article {
    pub fn checksum_is_valid(&self) -> bool {
        self.checksum == article_checksum(&self.title, &self.content)
    }
}

/// The article checksum: CRC-32 of the title, one line feed, then the content, in lowercase hex.
pub fn article_checksum(title: &str, content: &str) -> String {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(title.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.as_bytes());
    format!("{:08x}", hasher.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub article_id: u64,
    pub user_id: u64,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_article_carries_the_checksum_of_its_text() {
        // The value in docs/raftlog.md's example.
        let article = ArticleInput::new("Hello", "First post").with_id(3);
        assert_eq!(article.checksum, "304ac0d5");
        assert!(article.checksum_is_valid());
        let tampered = Article { content: "First post!".into(), ..article };
        assert!(!tampered.checksum_is_valid());
    }

    #[test]
    fn an_input_without_author_leaves_the_field_out() {
        let input = ArticleInput::new("T", "C");
        assert_eq!(serde_json::to_string(&input).unwrap(), r#"{"title":"T","content":"C"}"#);
    }

    #[test]
    fn an_article_reads_from_the_served_json_and_nothing_more() {
        let served = r#"{"id":0,"title":"Hello","content":"First post","author_id":null,"checksum":"304ac0d5"}"#;
        let article: Article = serde_json::from_str(served).unwrap();
        assert_eq!(article, ArticleInput::new("Hello", "First post").with_id(0));
        let extra = served.replace("\"id\":0", "\"id\":0,\"tags\":[]");
        assert!(serde_json::from_str::<Article>(&extra).is_err());
    }
}
