//! The route table of the edge API, generated from the one endpoint table in
//! [`shared::endpoints`]: a method and path resolve to the endpoint of its access group (public,
//! engine, session) with its path parameter, to the methods the path does accept, or to nothing.
//!
//! Pure, so that it is tested natively; the Worker adapter dispatches on the result with one
//! exhaustive `match` per group, so that a new line of the table does not compile until it has a
//! handler.

use crate::ids::is_id;
use shared::endpoints::{Described, EngineEndpoint, Parameter, PublicEndpoint, SessionEndpoint, Which, ALL};

/// What a request is, after matching its method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /`: the app's page (from the assets), served with its `frame-ancestors` policy.
    AppPage,
    /// An endpoint anyone may call.
    Public(PublicEndpoint),
    /// An endpoint of the backup engine, with its path parameter (an organization's ID) if any.
    Engine(EngineEndpoint, Option<String>),
    /// An endpoint of the portal's app, with its path parameter (an ID or a cloud's name) if any.
    Session(SessionEndpoint, Option<String>),
    /// A known path with a method it does not accept; carries the methods it does.
    MethodNotAllowed(Vec<&'static str>),
    /// No such endpoint.
    NotFound,
}

impl Route {
    /// The endpoint this route is, as [`shared::endpoints`] describes it.
    pub fn endpoint(&self) -> Option<&'static Described> {
        match self {
            Route::Public(e) => Some(e.about()),
            Route::Engine(e, _) => Some(e.about()),
            Route::Session(e, _) => Some(e.about()),
            Route::AppPage | Route::MethodNotAllowed(_) | Route::NotFound => None,
        }
    }
}

/// Whether `segment` may stand for `parameter`: an object's ID has the shape the edge issues
/// (anything else names nothing, and is never looked up); a cloud's name is read by its handler.
fn accepts(parameter: Parameter, segment: &str) -> bool {
    match parameter {
        Parameter::Id => is_id(segment),
        Parameter::Cloud => !segment.is_empty(),
    }
}

/// Matches `path` against the template of `e`: `None` when it does not match, `Some(parameter)`
/// (the parameter's segment, if the template has one) when it does.
fn matches<'p>(e: &Described, path: &'p str) -> Option<Option<&'p str>> {
    let mut found = None;
    let (mut template, mut given) = (e.path.split('/'), path.split('/'));
    loop {
        match (template.next(), given.next()) {
            (None, None) => return Some(found),
            (Some(t), Some(g)) if t.starts_with('{') => {
                let parameter = e.parameter()?;
                if !accepts(parameter, g) {
                    return None;
                }
                found = Some(g);
            }
            (Some(t), Some(g)) if t == g => {}
            _ => return None,
        }
    }
}

/// Whether endpoint `e` answers `method`: its own, and `HEAD` for the health check (which load
/// balancers probe with it).
fn answers(e: &Described, method: &str) -> bool {
    method == e.method.as_str() || (method == "HEAD" && e.which == Which::Public(PublicEndpoint::Health))
}

/// Resolves a request's method and path (without query string) to a [`Route`].
pub fn resolve(method: &str, path: &str) -> Route {
    // A trailing slash names the same resource; anything else must match exactly.
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    if path == "/" || path == "/index.html" {
        return if matches!(method, "GET" | "HEAD") { Route::AppPage } else { Route::NotFound };
    }
    let mut allowed = vec![];
    for e in ALL {
        let Some(parameter) = matches(e, path) else { continue };
        if answers(e, method) {
            let parameter = parameter.map(str::to_owned);
            return match e.which {
                Which::Public(p) => Route::Public(p),
                Which::Engine(p) => Route::Engine(p, parameter),
                Which::Session(p) => Route::Session(p, parameter),
            };
        }
        allowed.push(e.method.as_str());
        if answers(e, "HEAD") {
            allowed.push("HEAD");
        }
    }
    if allowed.is_empty() {
        Route::NotFound
    } else {
        Route::MethodNotAllowed(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_described_endpoint_resolves_to_itself() {
        for e in shared::endpoints::ALL {
            let path = e.path.replace("{id}", "0f8fad5b-d9cb-469f-a165-70867728950e").replace("{cloud}", "global");
            let route = resolve(e.method.as_str(), &path);
            assert_eq!(route.endpoint(), Some(e), "{} {path} resolved to {route:?}", e.method.as_str());
        }
    }

    #[test]
    fn health_is_served_on_get_and_head() {
        assert_eq!(resolve("GET", "/api/health"), Route::Public(PublicEndpoint::Health));
        assert_eq!(resolve("HEAD", "/api/health"), Route::Public(PublicEndpoint::Health));
        assert_eq!(resolve("GET", "/api/health/"), Route::Public(PublicEndpoint::Health));
    }

    #[test]
    fn the_engine_group_carries_the_organization() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let token = format!("/api/engine/organizations/{id}/token");
        assert_eq!(resolve("POST", &token), Route::Engine(EngineEndpoint::Token, Some(id.into())));
        assert_eq!(resolve("GET", &token), Route::MethodNotAllowed(vec!["POST"]));
        assert_eq!(resolve("POST", "/api/engine/organizations/not-an-id/token"), Route::NotFound);
        assert_eq!(resolve("GET", "/api/engine/organizations"), Route::Engine(EngineEndpoint::Organizations, None));
    }

    #[test]
    fn health_refuses_other_methods() {
        assert_eq!(resolve("POST", "/api/health"), Route::MethodNotAllowed(vec!["GET", "HEAD"]));
    }

    #[test]
    fn unknown_api_paths_are_not_found() {
        for p in
            ["/api", "/api/", "/api/nope", "/api/healthz", "/api/health/x", "/api/signins/x y", "/api/signins/<script>"]
        {
            assert_eq!(resolve("GET", p), Route::NotFound, "{p}");
        }
    }

    #[test]
    fn the_root_is_the_app_page() {
        assert_eq!(resolve("GET", "/"), Route::AppPage);
        assert_eq!(resolve("HEAD", "/index.html"), Route::AppPage);
        assert_eq!(resolve("POST", "/"), Route::NotFound);
    }

    #[test]
    fn sign_in_routes() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(resolve("POST", "/api/signins"), Route::Session(SessionEndpoint::StartSignIn, None));
        assert_eq!(
            resolve("GET", &format!("/api/signins/{id}")),
            Route::Session(SessionEndpoint::SignIn, Some(id.into()))
        );
        assert_eq!(
            resolve("DELETE", &format!("/api/signins/{id}")),
            Route::Session(SessionEndpoint::CancelSignIn, Some(id.into()))
        );
        assert_eq!(
            resolve("POST", &format!("/api/signins/{id}/confirm")),
            Route::Session(SessionEndpoint::ConfirmSignIn, Some(id.into()))
        );
        assert_eq!(
            resolve("POST", &format!("/api/signins/{id}/renew")),
            Route::Session(SessionEndpoint::RenewSignIn, Some(id.into()))
        );
        assert_eq!(resolve("GET", &format!("/api/signins/{id}/renew")), Route::MethodNotAllowed(vec!["POST"]));
        assert_eq!(resolve("GET", "/api/signins"), Route::Session(SessionEndpoint::ListSignIns, None));
        assert_eq!(resolve("PUT", "/api/signins"), Route::MethodNotAllowed(vec!["GET", "POST"]));
        assert_eq!(resolve("QUERY", "/api/signins"), Route::MethodNotAllowed(vec!["GET", "POST"]));
        assert_eq!(resolve("GET", "/api/session"), Route::Session(SessionEndpoint::Session, None));
        assert_eq!(resolve("GET", "/api/signin/callback"), Route::Public(PublicEndpoint::SignInCallback));
        assert_eq!(resolve("POST", "/api/signin/callback"), Route::MethodNotAllowed(vec!["GET"]));
        assert_eq!(resolve("GET", "/api/signin/callback/x"), Route::NotFound);
    }

    #[test]
    fn organization_routes() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(resolve("GET", "/api/organizations"), Route::Session(SessionEndpoint::ListOrganizations, None));
        assert_eq!(resolve("POST", "/api/organizations/"), Route::Session(SessionEndpoint::CreateOrganization, None));
        assert_eq!(resolve("PUT", "/api/organizations"), Route::MethodNotAllowed(vec!["GET", "POST"]));
        assert_eq!(resolve("QUERY", "/api/organizations"), Route::MethodNotAllowed(vec!["GET", "POST"]));
        assert_eq!(
            resolve("get", "/api/organizations"),
            Route::MethodNotAllowed(vec!["GET", "POST"]),
            "methods are case-sensitive"
        );
        assert_eq!(
            resolve("GET", &format!("/api/organizations/{id}")),
            Route::Session(SessionEndpoint::GetOrganization, Some(id.into()))
        );
        assert_eq!(
            resolve("PATCH", &format!("/api/organizations/{id}")),
            Route::Session(SessionEndpoint::UpdateOrganization, Some(id.into()))
        );
        assert_eq!(
            resolve("DELETE", &format!("/api/organizations/{id}")),
            Route::Session(SessionEndpoint::DeleteOrganization, Some(id.into()))
        );
        assert_eq!(resolve("GET", "/api/organizations/'; DROP TABLE x"), Route::NotFound);
    }

    #[test]
    fn the_permission_list_names_a_cloud() {
        use shared::CloudEnvironment;
        let cloud = |c: &str| Route::Session(SessionEndpoint::CloudPermissions, Some(c.into()));
        assert_eq!(resolve("GET", "/api/clouds/usgov_dod/permissions"), cloud(CloudEnvironment::UsGovDod.as_str()));
        assert_eq!(resolve("GET", "/api/clouds/azure/permissions"), cloud("azure"), "refused by its handler");
        assert_eq!(resolve("POST", "/api/clouds/global/permissions"), Route::MethodNotAllowed(vec!["GET"]));
    }
}
