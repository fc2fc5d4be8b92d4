//! Which resource a path names, and which methods it accepts.
//!
//! Matching the path and the method separately is what lets the server tell an unknown route
//! (404) from a known route used with the wrong method (405 with `Allow`).

use http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    Articles,
    Article(u64),
    ArticleComments(u64),
    Users,
    User(u64),
    /// `GET /cluster/status` and `GET /cluster/leader`: cluster nodes only (docs/cluster.md).
    ClusterStatus,
    ClusterLeader,
}

impl Route {
    pub fn parse(path: &str) -> Option<Route> {
        let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path);
        let mut segments = path.strip_prefix('/')?.split('/');
        let route = match (segments.next()?, segments.next(), segments.next(), segments.next()) {
            ("health", None, None, None) => Route::Health,
            ("api", Some("articles"), None, None) => Route::Articles,
            ("api", Some("articles"), Some(id), None) => Route::Article(parse_id(id)?),
            ("api", Some("articles"), Some(id), Some("comments")) => {
                Route::ArticleComments(parse_id(id)?)
            }
            ("api", Some("users"), None, None) => Route::Users,
            ("api", Some("users"), Some(id), None) => Route::User(parse_id(id)?),
            ("cluster", Some("status"), None, None) => Route::ClusterStatus,
            ("cluster", Some("leader"), None, None) => Route::ClusterLeader,
            _ => return None,
        };
        segments.next().is_none().then_some(route)
    }

    /// The `Allow` header for this route.
    pub fn allow(self) -> &'static str {
        match self {
            Route::Health | Route::User(_) | Route::ClusterStatus | Route::ClusterLeader => {
                "GET, HEAD"
            }
            Route::Articles | Route::ArticleComments(_) => "GET, HEAD, POST",
            Route::Article(_) => "GET, HEAD, PUT, DELETE",
            Route::Users => "POST",
        }
    }

    /// Routes only a cluster node serves; a single server answers 404 as for any unknown path.
    pub fn is_cluster_only(self) -> bool {
        matches!(self, Route::ClusterStatus | Route::ClusterLeader)
    }

    pub fn allows(self, method: &Method) -> bool {
        self.allow().split(", ").any(|allowed| allowed == method.as_str())
    }
}

/// Ids are plain decimal integers; anything else names no resource.
fn parse_id(segment: &str) -> Option<u64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    segment.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_route() {
        assert_eq!(Route::parse("/health"), Some(Route::Health));
        assert_eq!(Route::parse("/api/articles"), Some(Route::Articles));
        assert_eq!(Route::parse("/api/articles/"), Some(Route::Articles));
        assert_eq!(Route::parse("/api/articles/42"), Some(Route::Article(42)));
        assert_eq!(Route::parse("/api/articles/7/comments"), Some(Route::ArticleComments(7)));
        assert_eq!(Route::parse("/api/users"), Some(Route::Users));
        assert_eq!(Route::parse("/api/users/3"), Some(Route::User(3)));
    }

    #[test]
    fn unknown_paths_and_ids_name_nothing() {
        for path in [
            "/",
            "",
            "/api",
            "/api/articles/abc",
            "/api/articles/-1",
            "/api/articles/+1",
            "/api/articles/99999999999999999999999",
            "/api/articles/1/comments/2",
            "/api/articles//comments",
            "/healthz",
        ] {
            assert_eq!(Route::parse(path), None, "{path}");
        }
    }

    #[test]
    fn allow_lists_the_methods() {
        assert!(Route::Article(1).allows(&Method::DELETE));
        assert!(!Route::Articles.allows(&Method::DELETE));
        assert!(!Route::Users.allows(&Method::GET));
    }
}
