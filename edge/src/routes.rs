//! The route table of the edge API: one `match` from method and path to a [`Route`].
//!
//! Pure, so that it is tested natively; the Worker adapter dispatches on the result.

use shared::api::paths;

/// Every endpoint of the edge API, after matching method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/health`.
    Health,
    /// A known path with a method it does not accept; carries the allowed methods.
    MethodNotAllowed(&'static [&'static str]),
    /// No such endpoint.
    NotFound,
}

/// Resolves a request's method and path (without query string) to a [`Route`].
pub fn resolve(method: &str, path: &str) -> Route {
    // A trailing slash names the same resource; anything else must match exactly.
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    match (method, path) {
        ("GET" | "HEAD", p) if p == paths::HEALTH => Route::Health,
        (_, p) if p == paths::HEALTH => Route::MethodNotAllowed(&["GET", "HEAD"]),
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_is_served_on_get_and_head() {
        assert_eq!(resolve("GET", "/api/health"), Route::Health);
        assert_eq!(resolve("HEAD", "/api/health"), Route::Health);
        assert_eq!(resolve("GET", "/api/health/"), Route::Health);
    }

    #[test]
    fn health_refuses_other_methods() {
        assert_eq!(resolve("POST", "/api/health"), Route::MethodNotAllowed(&["GET", "HEAD"]));
    }

    #[test]
    fn unknown_api_paths_are_not_found() {
        for p in ["/api", "/api/", "/api/nope", "/api/healthz", "/api/health/x", "/"] {
            assert_eq!(resolve("GET", p), Route::NotFound, "{p}");
        }
    }
}
