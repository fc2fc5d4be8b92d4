//! The HTTP API: each route and method goes to a read or to a command, on top of the engine.
//!
//! Reads (the modules below) go straight to the committed state. Writes are commands (`cmd`):
//! the request's body is parsed into one, and [`App::execute`] commits the event it decides,
//! answering only once the event is as durable as the configured mode promises.

mod articles;
mod comments;
mod health;
mod users;

use std::{panic::AssertUnwindSafe, sync::Arc, time::Instant};

use futures::FutureExt;
use http::Method;
use hyper::{Request, body::Incoming};
use lithair_core::{EngineConfig, StateEngine};
use serde::de::DeserializeOwned;

use crate::{
    cmd::{AddComment, Command, CreateArticle, CreateUser, DeleteArticle, UpdateArticle},
    config::ServerConfig,
    error::ApiError,
    events::StoreEvent,
    request,
    response::HttpResponse,
    router::Route,
    store::Store,
};

pub type Engine = StateEngine<StoreEvent>;

/// What every handler shares: the engine and the configuration.
pub struct App {
    engine: Engine,
    config: ServerConfig,
    started: Instant,
}

impl App {
    /// Open the data directory and replay the log (on a blocking thread: it can take seconds).
    pub async fn open(config: ServerConfig) -> Result<App, lithair_core::OpenError> {
        let engine_config = EngineConfig::new(&config.data_dir)
            .durability(config.durability)
            .snapshots(config.snapshot_every, config.snapshot_keep);
        let engine = tokio::task::spawn_blocking(move || Engine::open(engine_config))
            .await
            .expect("opening the engine does not panic")?;
        let recovery = engine.recovery();
        tracing::info!(
            data_dir = %config.data_dir.display(),
            durability = %config.durability,
            snapshot = recovery.snapshot.as_ref().map(|(seq, _)| *seq),
            events = recovery.events_replayed,
            torn_bytes_cut = recovery.torn_bytes_cut,
            replay_ms = recovery.elapsed.as_millis() as u64,
            "data loaded"
        );
        Ok(App { engine, config, started: Instant::now() })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Answer one request. Never fails: every error becomes a JSON error response, and a
    /// panicking handler becomes a 500 while the server keeps serving.
    pub async fn handle(self: Arc<Self>, request: Request<Incoming>) -> HttpResponse {
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        match AssertUnwindSafe(self.dispatch(request)).catch_unwind().await {
            Ok(Ok(response)) => response,
            Ok(Err(error)) => error.into_response(),
            Err(_) => {
                tracing::error!(%method, %path, "handler panicked; answered 500");
                ApiError::internal().into_response()
            }
        }
    }

    async fn dispatch(&self, request: Request<Incoming>) -> Result<HttpResponse, ApiError> {
        let path = request.uri().path();
        let route =
            Route::parse(path).ok_or_else(|| ApiError::not_found(format!("no route {path}")))?;
        let method = request.method();
        if !route.allows(method) {
            return Err(ApiError::method_not_allowed(method, route.allow()));
        }
        let reads = method == Method::GET || method == Method::HEAD;
        match route {
            Route::Health => Ok(health::get(self)),
            Route::Articles if reads => articles::list(self, request.uri().query()),
            Route::Articles => self.execute(CreateArticle::parse(self.body(request).await?)?).await,
            Route::Article(id) if reads => articles::get(self, id),
            Route::Article(id) if method == Method::PUT => {
                self.execute(UpdateArticle::parse(id, self.body(request).await?)?).await
            }
            Route::Article(id) => self.execute(DeleteArticle { id }).await,
            Route::ArticleComments(id) if reads => comments::list(self, id),
            Route::ArticleComments(id) => {
                self.execute(AddComment::parse(id, self.body(request).await?)?).await
            }
            Route::Users => self.execute(CreateUser::parse(self.body(request).await?)?).await,
            Route::User(id) => users::get(self, id),
        }
    }

    /// Commit the event `command` decides against the state, and answer once it is durable.
    async fn execute<C: Command>(&self, command: C) -> Result<HttpResponse, ApiError> {
        let committed = self
            .engine
            .commit_with(move |store: &Store| command.decide(store))
            .await
            .map_err(ApiError::from_commit)?;
        C::answer(committed.event)
    }

    /// The request's JSON body, as a command's input.
    async fn body<T: DeserializeOwned>(&self, request: Request<Incoming>) -> Result<T, ApiError> {
        request::json_body(request, self.config.max_body_bytes).await
    }
}
