//! What the load generator sends to Lithair, and how each answer is judged.
//!
//! Shared by the load steps and the benchmark. Every workload checks what it gets back — a
//! created article must come back with an id, a read article with the checksum of its own
//! text — so a fast wrong answer never counts as a success.

use std::sync::Mutex;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::Deserialize;

use loadgen::{Check, Request, Workload};

use crate::model::{Article, ArticleInput, article_checksum};

/// `POST /api/articles`, one new article per request; the article of request `index` has a
/// title and content derived from `index`, `content_bytes` long.
pub struct CreateArticles {
    content_bytes: usize,
    /// Every creation the server acknowledged: (article id, request index). Kept here as
    /// answers arrive, so that a run aborted by a crash still knows what was acknowledged.
    acknowledged: Mutex<Vec<(u64, u64)>>,
}

impl CreateArticles {
    pub fn new(content_bytes: usize) -> Self {
        CreateArticles { content_bytes, acknowledged: Mutex::new(Vec::new()) }
    }

    pub fn title(index: u64) -> String {
        format!("Load article {index}")
    }

    /// Readable text of exactly `content_bytes` bytes, different for each index.
    pub fn content(&self, index: u64) -> String {
        let pattern = format!("Article {index} says: Lithair keeps it all in memory. ");
        pattern.chars().cycle().take(self.content_bytes.max(1)).collect()
    }

    /// What request `index` sends.
    pub fn input(&self, index: u64) -> ArticleInput {
        ArticleInput::new(Self::title(index), self.content(index))
    }

    /// The acknowledged creations so far: (article id, request index).
    pub fn acknowledged(&self) -> Vec<(u64, u64)> {
        self.acknowledged.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The acknowledged creations so far, each as it was sent, under the id it was given.
    pub fn acknowledged_articles(&self) -> Vec<Article> {
        self.acknowledged().into_iter().map(|(id, index)| self.input(index).with_id(id)).collect()
    }
}

impl Workload for CreateArticles {
    fn request(&self, index: u64) -> Request {
        let body = serde_json::to_vec(&self.input(index)).expect("an article serializes");
        Request::json(Method::POST, "/api/articles", Bytes::from(body))
    }

    fn check(&self, _: &Request, status: StatusCode, body: &[u8]) -> Check {
        if status != StatusCode::CREATED {
            return Check::Failed(format!("expected 201, got {status}"));
        }
        #[derive(Deserialize)]
        struct Created<'a> {
            id: u64,
            title: &'a str,
        }
        let Ok(created) = serde_json::from_slice::<Created>(body) else {
            return Check::Failed("201 without an article".to_owned());
        };
        let Some(index) = created.title.strip_prefix("Load article ").and_then(|i| i.parse().ok())
        else {
            return Check::Failed(format!("the answer is another article: {:?}", created.title));
        };
        self.acknowledged.lock().unwrap_or_else(|p| p.into_inner()).push((created.id, index));
        Check::Acknowledged(created.id)
    }
}

/// `GET /api/articles/{id}` over existing ids, in a scattered order; every body must be the
/// article asked for, with a checksum that matches its text.
pub struct ReadArticles {
    ids: Vec<u64>,
    verify_bodies: bool,
}

impl ReadArticles {
    pub fn new(ids: Vec<u64>) -> Self {
        assert!(!ids.is_empty(), "reading needs existing articles");
        ReadArticles { ids, verify_bodies: true }
    }

    /// Only the status is checked: for the benchmark, where the client's CPU is the server's
    /// competition and the features already prove the bodies right.
    pub fn status_only(ids: Vec<u64>) -> Self {
        ReadArticles { verify_bodies: false, ..Self::new(ids) }
    }
}

impl Workload for ReadArticles {
    fn request(&self, index: u64) -> Request {
        // A multiplicative scramble: every id is visited, not in order.
        let slot = index.wrapping_mul(2_654_435_761) % self.ids.len() as u64;
        Request::get(format!("/api/articles/{}", self.ids[slot as usize]))
    }

    fn check(&self, request: &Request, status: StatusCode, body: &[u8]) -> Check {
        if status != StatusCode::OK {
            return Check::Failed(format!("expected 200, got {status}"));
        }
        if !self.verify_bodies {
            return Check::Ok;
        }
        #[derive(Deserialize)]
        struct Read<'a> {
            id: u64,
            #[serde(borrow)]
            title: std::borrow::Cow<'a, str>,
            #[serde(borrow)]
            content: std::borrow::Cow<'a, str>,
            checksum: &'a str,
        }
        let Ok(article) = serde_json::from_slice::<Read>(body) else {
            return Check::Failed("200 without a readable article".to_owned());
        };
        if request.path.rsplit('/').next() != Some(article.id.to_string().as_str()) {
            return Check::Failed(format!("{} answered article {}", request.path, article.id));
        }
        if article_checksum(&article.title, &article.content) != article.checksum {
            return Check::Failed(format!("article {} fails its checksum", article.id));
        }
        Check::Ok
    }
}

/// `PUT /api/articles/{id}` once for each of `ids`.
pub struct ModifyArticles {
    ids: Vec<u64>,
}

impl ModifyArticles {
    pub fn new(ids: Vec<u64>) -> Self {
        ModifyArticles { ids }
    }

    /// What the request for article `id` sends.
    pub fn input(id: u64) -> ArticleInput {
        ArticleInput::new(format!("Modified article {id}"), format!("New content of {id}"))
    }
}

impl Workload for ModifyArticles {
    fn request(&self, index: u64) -> Request {
        let id = self.ids[index as usize % self.ids.len()];
        let body = serde_json::to_vec(&Self::input(id)).expect("an article serializes");
        Request::json(Method::PUT, format!("/api/articles/{id}"), Bytes::from(body))
    }

    fn check(&self, _: &Request, status: StatusCode, _: &[u8]) -> Check {
        match status {
            StatusCode::OK => Check::Ok,
            other => Check::Failed(format!("expected 200, got {other}")),
        }
    }
}

/// `DELETE /api/articles/{id}` once for each of `ids`.
pub struct DeleteArticles {
    ids: Vec<u64>,
}

impl DeleteArticles {
    pub fn new(ids: Vec<u64>) -> Self {
        DeleteArticles { ids }
    }
}

impl Workload for DeleteArticles {
    fn request(&self, index: u64) -> Request {
        let id = self.ids[index as usize % self.ids.len()];
        Request { method: Method::DELETE, path: format!("/api/articles/{id}"), body: None }
    }

    fn check(&self, _: &Request, status: StatusCode, _: &[u8]) -> Check {
        match status {
            StatusCode::NO_CONTENT => Check::Ok,
            other => Check::Failed(format!("expected 204, got {other}")),
        }
    }
}

/// `GET /health`: the ceiling of the HTTP stack itself, for the benchmark's ratios.
pub struct Health;

impl Workload for Health {
    fn request(&self, _: u64) -> Request {
        Request::get("/health")
    }
}
