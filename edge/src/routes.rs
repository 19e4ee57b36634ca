//! The route table of the edge API: one `match` from method and path to a [`Route`].
//!
//! Pure, so that it is tested natively; the Worker adapter dispatches on the result.

use crate::ids::is_id;
use shared::api::paths;

/// Every endpoint of the edge API, after matching method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /api/health`.
    Health,
    /// `GET /`: the app's page (from the assets), served with its `frame-ancestors` policy.
    AppPage,
    /// `GET /api/session`.
    Session,
    /// `POST /api/signins`.
    StartSignIn,
    /// `GET /api/signins`: the account's sign-ins under way.
    ListSignIns,
    /// `GET /api/signins/{id}`.
    SignInStatus(String),
    /// `POST /api/signins/{id}/confirm`.
    ConfirmSignIn(String),
    /// `POST /api/signins/{id}/renew`.
    RenewSignIn(String),
    /// `DELETE /api/signins/{id}`.
    CancelSignIn(String),
    /// `POST /api/signins/{id}/applications`: create the 3 additional applications.
    AdditionalApplications(String),
    /// `GET /api/signin/callback`: Microsoft sends the Credential pop-up back (no session).
    SignInCallback,
    /// `GET /api/organizations`.
    ListOrganizations,
    /// `POST /api/organizations`.
    CreateOrganization,
    /// `GET /api/organizations/{id}`.
    GetOrganization(String),
    /// `PATCH /api/organizations/{id}`.
    UpdateOrganization(String),
    /// `DELETE /api/organizations/{id}`.
    DeleteOrganization(String),
    /// `POST /api/certificates/inspect`.
    InspectCertificate,
    /// `GET /api/openapi.json`.
    OpenApi,
    /// A known path with a method it does not accept; carries the allowed methods.
    MethodNotAllowed(&'static [&'static str]),
    /// No such endpoint.
    NotFound,
}

/// Every endpoint: method and path template (`{id}` stands for an object ID). The OpenAPI
/// document is built from this list, and a test keeps it and [`resolve`] in step.
pub const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/api/health"),
    ("GET", "/api/session"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/signins"),
    ("POST", "/api/signins"),
    ("GET", "/api/signins/{id}"),
    ("DELETE", "/api/signins/{id}"),
    ("POST", "/api/signins/{id}/confirm"),
    ("POST", "/api/signins/{id}/renew"),
    ("POST", "/api/signins/{id}/applications"),
    ("GET", "/api/signin/callback"),
    ("POST", "/api/certificates/inspect"),
    ("GET", "/api/organizations"),
    ("POST", "/api/organizations"),
    ("GET", "/api/organizations/{id}"),
    ("PATCH", "/api/organizations/{id}"),
    ("DELETE", "/api/organizations/{id}"),
];

/// Resolves a request's method and path (without query string) to a [`Route`].
pub fn resolve(method: &str, path: &str) -> Route {
    // A trailing slash names the same resource; anything else must match exactly.
    let path = match path.strip_suffix('/') {
        Some(p) if !p.is_empty() => p,
        _ => path,
    };
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match (method, segments.as_slice()) {
        ("GET" | "HEAD", _) if path == "/" || path == "/index.html" => Route::AppPage,
        ("GET" | "HEAD", _) if path == paths::HEALTH => Route::Health,
        (_, _) if path == paths::HEALTH => Route::MethodNotAllowed(&["GET", "HEAD"]),
        ("GET", ["api", "session"]) => Route::Session,
        ("GET", ["api", "openapi.json"]) => Route::OpenApi,
        (_, ["api", "openapi.json"]) => Route::MethodNotAllowed(&["GET"]),
        (_, ["api", "session"]) => Route::MethodNotAllowed(&["GET"]),
        ("GET", ["api", "organizations"]) => Route::ListOrganizations,
        ("POST", ["api", "organizations"]) => Route::CreateOrganization,
        (_, ["api", "organizations"]) => Route::MethodNotAllowed(&["GET", "POST"]),
        ("GET", ["api", "organizations", id]) if is_id(id) => Route::GetOrganization((*id).to_owned()),
        ("PATCH", ["api", "organizations", id]) if is_id(id) => Route::UpdateOrganization((*id).to_owned()),
        ("DELETE", ["api", "organizations", id]) if is_id(id) => Route::DeleteOrganization((*id).to_owned()),
        (_, ["api", "organizations", id]) if is_id(id) => Route::MethodNotAllowed(&["GET", "PATCH", "DELETE"]),
        ("POST", ["api", "certificates", "inspect"]) => Route::InspectCertificate,
        (_, ["api", "certificates", "inspect"]) => Route::MethodNotAllowed(&["POST"]),
        ("GET", _) if path == paths::SIGNIN_CALLBACK => Route::SignInCallback,
        (_, _) if path == paths::SIGNIN_CALLBACK => Route::MethodNotAllowed(&["GET"]),
        ("POST", ["api", "signins"]) => Route::StartSignIn,
        ("GET", ["api", "signins"]) => Route::ListSignIns,
        (_, ["api", "signins"]) => Route::MethodNotAllowed(&["GET", "POST"]),
        ("GET", ["api", "signins", id]) if is_id(id) => Route::SignInStatus((*id).to_owned()),
        ("DELETE", ["api", "signins", id]) if is_id(id) => Route::CancelSignIn((*id).to_owned()),
        (_, ["api", "signins", id]) if is_id(id) => Route::MethodNotAllowed(&["GET", "DELETE"]),
        ("POST", ["api", "signins", id, "confirm"]) if is_id(id) => Route::ConfirmSignIn((*id).to_owned()),
        ("POST", ["api", "signins", id, "renew"]) if is_id(id) => Route::RenewSignIn((*id).to_owned()),
        ("POST", ["api", "signins", id, "applications"]) if is_id(id) => {
            Route::AdditionalApplications((*id).to_owned())
        }
        (_, ["api", "signins", id, "confirm" | "renew" | "applications"]) if is_id(id) => {
            Route::MethodNotAllowed(&["POST"])
        }
        _ => Route::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which entry of [`ENDPOINTS`] a route is. Exhaustive on purpose: a new route does not
    /// compile until it is listed (and so documented).
    fn endpoint_of(r: &Route) -> Option<(&'static str, &'static str)> {
        Some(match r {
            Route::Health => ("GET", "/api/health"),
            Route::Session => ("GET", "/api/session"),
            Route::OpenApi => ("GET", "/api/openapi.json"),
            Route::StartSignIn => ("POST", "/api/signins"),
            Route::ListSignIns => ("GET", "/api/signins"),
            Route::SignInStatus(_) => ("GET", "/api/signins/{id}"),
            Route::CancelSignIn(_) => ("DELETE", "/api/signins/{id}"),
            Route::ConfirmSignIn(_) => ("POST", "/api/signins/{id}/confirm"),
            Route::RenewSignIn(_) => ("POST", "/api/signins/{id}/renew"),
            Route::AdditionalApplications(_) => ("POST", "/api/signins/{id}/applications"),
            Route::SignInCallback => ("GET", "/api/signin/callback"),
            Route::InspectCertificate => ("POST", "/api/certificates/inspect"),
            Route::ListOrganizations => ("GET", "/api/organizations"),
            Route::CreateOrganization => ("POST", "/api/organizations"),
            Route::GetOrganization(_) => ("GET", "/api/organizations/{id}"),
            Route::UpdateOrganization(_) => ("PATCH", "/api/organizations/{id}"),
            Route::DeleteOrganization(_) => ("DELETE", "/api/organizations/{id}"),
            Route::AppPage | Route::MethodNotAllowed(_) | Route::NotFound => return None,
        })
    }

    #[test]
    fn every_listed_endpoint_resolves_to_itself() {
        for (method, template) in ENDPOINTS {
            let path = template.replace("{id}", "0f8fad5b-d9cb-469f-a165-70867728950e");
            let route = resolve(method, &path);
            assert_eq!(endpoint_of(&route), Some((*method, *template)), "{method} {path} resolved to {route:?}");
        }
    }

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
        assert_eq!(resolve("POST", "/api/signins"), Route::StartSignIn);
        assert_eq!(resolve("GET", &format!("/api/signins/{id}")), Route::SignInStatus(id.into()));
        assert_eq!(resolve("DELETE", &format!("/api/signins/{id}")), Route::CancelSignIn(id.into()));
        assert_eq!(resolve("POST", &format!("/api/signins/{id}/confirm")), Route::ConfirmSignIn(id.into()));
        assert_eq!(resolve("POST", &format!("/api/signins/{id}/renew")), Route::RenewSignIn(id.into()));
        assert_eq!(resolve("GET", &format!("/api/signins/{id}/renew")), Route::MethodNotAllowed(&["POST"]));
        assert_eq!(resolve("GET", "/api/signins"), Route::ListSignIns);
        assert_eq!(resolve("PUT", "/api/signins"), Route::MethodNotAllowed(&["GET", "POST"]));
        assert_eq!(resolve("QUERY", "/api/signins"), Route::MethodNotAllowed(&["GET", "POST"]));
        assert_eq!(resolve("GET", "/api/session"), Route::Session);
        assert_eq!(resolve("GET", "/api/signin/callback"), Route::SignInCallback);
        assert_eq!(resolve("POST", "/api/signin/callback"), Route::MethodNotAllowed(&["GET"]));
        assert_eq!(resolve("GET", "/api/signin/callback/x"), Route::NotFound);
    }

    #[test]
    fn organization_routes() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assert_eq!(resolve("GET", "/api/organizations"), Route::ListOrganizations);
        assert_eq!(resolve("POST", "/api/organizations/"), Route::CreateOrganization);
        assert_eq!(resolve("PUT", "/api/organizations"), Route::MethodNotAllowed(&["GET", "POST"]));
        assert_eq!(resolve("QUERY", "/api/organizations"), Route::MethodNotAllowed(&["GET", "POST"]));
        assert_eq!(
            resolve("get", "/api/organizations"),
            Route::MethodNotAllowed(&["GET", "POST"]),
            "methods are case-sensitive"
        );
        assert_eq!(resolve("GET", &format!("/api/organizations/{id}")), Route::GetOrganization(id.into()));
        assert_eq!(resolve("PATCH", &format!("/api/organizations/{id}")), Route::UpdateOrganization(id.into()));
        assert_eq!(resolve("DELETE", &format!("/api/organizations/{id}")), Route::DeleteOrganization(id.into()));
        assert_eq!(resolve("GET", "/api/organizations/'; DROP TABLE x"), Route::NotFound);
    }
}
