//! The HTTP API: each route and method goes to a read or to a command, on top of the engine.
//!
//! Reads (the modules below) go straight to the committed state. Writes are commands (`cmd`):
//! the request's body is parsed into one, and `App::execute` commits the event it decides,
//! answering only once the event is as durable as the configured mode promises.

mod articles;
mod comments;
mod health;
mod users;

use std::{panic::AssertUnwindSafe, sync::Arc, time::Instant};

use futures::FutureExt;
use http::{Method, Uri};
use hyper::{Request, body::Incoming};
use lithair_core::{EngineConfig, StateEngine};
use serde::de::DeserializeOwned;

use crate::{
    cluster::{self, ClusterOptions},
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

/// Where the data lives: a single server's engine, or a cluster node's replicated state
/// (`--node-id`, docs/cluster.md).
pub enum Backend {
    Single(Engine),
    Cluster(cluster::Node),
}

/// What every handler shares: the backend and the configuration.
pub struct App {
    backend: Backend,
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
        Ok(App { backend: Backend::Single(engine), config, started: Instant::now() })
    }

    /// Start a cluster node on the data directory (docs/cluster.md), serving its peers on
    /// `peer_listener`.
    pub async fn open_cluster(
        config: ServerConfig,
        options: ClusterOptions,
        peer_listener: tokio::net::TcpListener,
    ) -> Result<App, lithair_cluster::StartError> {
        let node_config = lithair_cluster::NodeConfig {
            id: options.node_id,
            data_dir: config.data_dir.clone(),
            durability: config.durability,
            peer_advertise: options.peer_advertise,
            api_advertise: options.api_advertise,
            secret: options.secret,
            routes: options.routes,
            max_peer_body: lithair_cluster::NodeConfig::DEFAULT_MAX_PEER_BODY,
            snapshot_every: config.snapshot_every,
        };
        let precondition: lithair_cluster::Precondition<StoreEvent> = cluster::precondition;
        let node = cluster::Node::start(node_config, peer_listener, Some(precondition)).await?;
        Ok(App { backend: Backend::Cluster(node), config, started: Instant::now() })
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Run `read` on the state: the engine's, or the node's applied state.
    pub(crate) fn with_state<R>(&self, read: impl FnOnce(&Store) -> R) -> R {
        match &self.backend {
            Backend::Single(engine) => engine.with_state(read),
            Backend::Cluster(node) => node.reader().with_state(read),
        }
    }

    /// Sync and close the engine, or stop the node.
    pub async fn close(&self) -> Result<(), lithair_core::EngineError> {
        match &self.backend {
            Backend::Single(engine) => engine.close().await,
            Backend::Cluster(node) => {
                node.shutdown().await;
                Ok(())
            }
        }
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
        let single = matches!(self.backend, Backend::Single(_));
        let route = Route::parse(path)
            .filter(|route| !(single && route.is_cluster_only()))
            .ok_or_else(|| ApiError::not_found(format!("no route {path}")))?;
        let method = request.method();
        if !route.allows(method) {
            return Err(ApiError::method_not_allowed(method, route.allow()));
        }
        let reads = method == Method::GET || method == Method::HEAD;
        if let Backend::Cluster(node) = &self.backend {
            match route {
                Route::ClusterStatus => return Ok(cluster::status(node)),
                Route::ClusterLeader => return Ok(cluster::leader(node)),
                Route::Health => {}
                _ if reads => return self.cluster_read(node, request).await,
                _ => {}
            }
        }
        self.route(route, request).await
    }

    /// A read on a cluster node: linearizable (through the leader's read barrier) unless the
    /// query says `consistency=local`.
    async fn cluster_read(
        &self,
        node: &cluster::Node,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, ApiError> {
        let uri = request.uri().clone();
        if cluster::wants_local(uri.query())? {
            let applied = node.reader().last_applied().map(|log_id| log_id.index);
            let mut response =
                match self.route(Route::parse(uri.path()).expect("parsed"), request).await {
                    Ok(response) => response,
                    Err(error) => error.into_response(),
                };
            cluster::mark_local(&mut response, applied);
            return Ok(response);
        }
        if let Err(err) = node.read_barrier().wait().await {
            return Ok(cluster::read_failed(err, &uri));
        }
        self.route(Route::parse(uri.path()).expect("parsed"), request).await
    }

    async fn route(
        &self,
        route: Route,
        request: Request<Incoming>,
    ) -> Result<HttpResponse, ApiError> {
        let uri = request.uri().clone();
        let method = request.method();
        let reads = method == Method::GET || method == Method::HEAD;
        match route {
            Route::Health => Ok(health::get(self)),
            Route::ClusterStatus | Route::ClusterLeader => {
                unreachable!(
                    "answered by dispatch on a cluster node, not routed on a single server"
                )
            }
            Route::Articles if reads => articles::list(self, request.uri().query()),
            Route::Articles => {
                self.execute(&uri, CreateArticle::parse(self.body(request).await?)?).await
            }
            Route::Article(id) if reads => articles::get(self, id),
            Route::Article(id) if method == Method::PUT => {
                self.execute(&uri, UpdateArticle::parse(id, self.body(request).await?)?).await
            }
            Route::Article(id) => self.execute(&uri, DeleteArticle { id }).await,
            Route::ArticleComments(id) if reads => comments::list(self, id),
            Route::ArticleComments(id) => {
                self.execute(&uri, AddComment::parse(id, self.body(request).await?)?).await
            }
            Route::Users => self.execute(&uri, CreateUser::parse(self.body(request).await?)?).await,
            Route::User(id) => users::get(self, id),
        }
    }

    /// Commit the event `command` decides against the state, and answer once it is durable
    /// (on a cluster node: committed on a majority and applied here; `uri` is where a follower
    /// redirects to).
    async fn execute<C: Command>(&self, uri: &Uri, command: C) -> Result<HttpResponse, ApiError> {
        match &self.backend {
            Backend::Single(engine) => {
                let committed = engine
                    .commit_with(move |store: &Store| command.decide(store))
                    .await
                    .map_err(ApiError::from_commit)?;
                C::answer(committed.event)
            }
            Backend::Cluster(node) => {
                match node.proposer().write(move |store: &Store| command.decide(store)).await {
                    Ok(written) => C::answer(written.event),
                    Err(err) => Ok(cluster::write_failed(err, uri)),
                }
            }
        }
    }

    /// The request's JSON body, as a command's input.
    async fn body<T: DeserializeOwned>(&self, request: Request<Incoming>) -> Result<T, ApiError> {
        request::json_body(request, self.config.max_body_bytes).await
    }
}
