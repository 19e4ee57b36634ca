//! The route table of the edge API: one `match` from method and path to a [`Route`].
//!
//! Pure, so that it is tested natively; the Worker adapter dispatches on the result.

use crate::ids::is_id;
use shared::endpoints::{Described, HEALTH, SIGN_IN_CALLBACK};

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
    /// `POST /api/organizations/{id}/check`.
    CheckOrganization(String),
    /// `POST /api/organizations/{id}/repair`.
    RepairOrganization(String),
    /// `GET /api/organizations/{id}/usage`.
    OrganizationUsage(String),
    /// `POST /api/tenant-lookup`.
    TenantLookup,
    /// `GET /api/clouds/{cloud}/permissions` (`None`: no such cloud).
    CloudPermissions(Option<shared::CloudEnvironment>),
    /// `GET /api/engine/organizations` (engine tokens only).
    EngineOrganizations,
    /// `POST /api/engine/organizations/{id}/token` (engine tokens only).
    EngineToken(String),
    /// `POST /api/certificates/inspect`.
    InspectCertificate,
    /// `GET /api/openapi.json`.
    OpenApi,
    /// A known path with a method it does not accept; carries the allowed methods.
    MethodNotAllowed(&'static [&'static str]),
    /// No such endpoint.
    NotFound,
}

impl Route {
    /// The endpoint this route is, as `shared::endpoints` describes it (its method, path, body
    /// types, statuses and summary). Exhaustive on purpose: a new route does not compile until it
    /// names its endpoint, and a test resolves every described endpoint back to its route.
    pub fn endpoint(&self) -> Option<&'static Described> {
        use shared::endpoints as e;
        Some(match self {
            Route::Health => &e::HEALTH.about,
            Route::Session => &e::SESSION.about,
            Route::OpenApi => &e::OPENAPI.about,
            Route::StartSignIn => &e::START_SIGN_IN.about,
            Route::ListSignIns => &e::LIST_SIGN_INS.about,
            Route::SignInStatus(_) => &e::SIGN_IN.about,
            Route::CancelSignIn(_) => &e::CANCEL_SIGN_IN.about,
            Route::ConfirmSignIn(_) => &e::CONFIRM_SIGN_IN.about,
            Route::RenewSignIn(_) => &e::RENEW_SIGN_IN.about,
            Route::AdditionalApplications(_) => &e::ADDITIONAL_APPLICATIONS.about,
            Route::SignInCallback => &e::SIGN_IN_CALLBACK.about,
            Route::InspectCertificate => &e::INSPECT_CERTIFICATE.about,
            Route::ListOrganizations => &e::LIST_ORGANIZATIONS.about,
            Route::CreateOrganization => &e::CREATE_ORGANIZATION.about,
            Route::GetOrganization(_) => &e::GET_ORGANIZATION.about,
            Route::UpdateOrganization(_) => &e::UPDATE_ORGANIZATION.about,
            Route::DeleteOrganization(_) => &e::DELETE_ORGANIZATION.about,
            Route::CheckOrganization(_) => &e::CHECK_ORGANIZATION.about,
            Route::RepairOrganization(_) => &e::REPAIR_ORGANIZATION.about,
            Route::OrganizationUsage(_) => &e::ORGANIZATION_USAGE.about,
            Route::TenantLookup => &e::TENANT_LOOKUP.about,
            Route::CloudPermissions(_) => &e::CLOUD_PERMISSIONS.about,
            Route::EngineOrganizations => &e::ENGINE_ORGANIZATIONS.about,
            Route::EngineToken(_) => &e::ENGINE_TOKEN.about,
            Route::AppPage | Route::MethodNotAllowed(_) | Route::NotFound => return None,
        })
    }
}

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
        ("GET" | "HEAD", _) if path == HEALTH.path() => Route::Health,
        (_, _) if path == HEALTH.path() => Route::MethodNotAllowed(&["GET", "HEAD"]),
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
        ("POST", ["api", "organizations", id, "check"]) if is_id(id) => Route::CheckOrganization((*id).to_owned()),
        (_, ["api", "organizations", id]) if is_id(id) => Route::MethodNotAllowed(&["GET", "PATCH", "DELETE"]),
        (_, ["api", "organizations", id, "check"]) if is_id(id) => Route::MethodNotAllowed(&["POST"]),
        ("POST", ["api", "organizations", id, "repair"]) if is_id(id) => Route::RepairOrganization((*id).to_owned()),
        (_, ["api", "organizations", id, "repair"]) if is_id(id) => Route::MethodNotAllowed(&["POST"]),
        ("GET", ["api", "organizations", id, "usage"]) if is_id(id) => Route::OrganizationUsage((*id).to_owned()),
        (_, ["api", "organizations", id, "usage"]) if is_id(id) => Route::MethodNotAllowed(&["GET"]),
        ("GET", ["api", "clouds", cloud, "permissions"]) => Route::CloudPermissions(cloud.parse().ok()),
        (_, ["api", "clouds", _, "permissions"]) => Route::MethodNotAllowed(&["GET"]),
        ("POST", ["api", "tenant-lookup"]) => Route::TenantLookup,
        (_, ["api", "tenant-lookup"]) => Route::MethodNotAllowed(&["POST"]),
        ("GET", ["api", "engine", "organizations"]) => Route::EngineOrganizations,
        (_, ["api", "engine", "organizations"]) => Route::MethodNotAllowed(&["GET"]),
        ("POST", ["api", "engine", "organizations", id, "token"]) if is_id(id) => Route::EngineToken((*id).to_owned()),
        (_, ["api", "engine", "organizations", id, "token"]) if is_id(id) => Route::MethodNotAllowed(&["POST"]),
        ("POST", ["api", "certificates", "inspect"]) => Route::InspectCertificate,
        (_, ["api", "certificates", "inspect"]) => Route::MethodNotAllowed(&["POST"]),
        ("GET", _) if path == SIGN_IN_CALLBACK.path() => Route::SignInCallback,
        (_, _) if path == SIGN_IN_CALLBACK.path() => Route::MethodNotAllowed(&["GET"]),
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

    #[test]
    fn every_described_endpoint_resolves_to_itself() {
        for e in shared::endpoints::ALL {
            let path = e.path.replace("{id}", "0f8fad5b-d9cb-469f-a165-70867728950e");
            let route = resolve(e.method.as_str(), &path);
            assert_eq!(route.endpoint(), Some(e), "{} {path} resolved to {route:?}", e.method.as_str());
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

    #[test]
    fn the_permission_list_names_a_cloud() {
        use shared::CloudEnvironment;
        assert_eq!(
            resolve("GET", "/api/clouds/usgov_dod/permissions"),
            Route::CloudPermissions(Some(CloudEnvironment::UsGovDod))
        );
        assert_eq!(resolve("GET", "/api/clouds/azure/permissions"), Route::CloudPermissions(None));
        assert_eq!(resolve("POST", "/api/clouds/global/permissions"), Route::MethodNotAllowed(&["GET"]));
    }
}
