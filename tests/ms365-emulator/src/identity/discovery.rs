//! OpenID Connect discovery (`/{tenant}/v2.0/.well-known/openid-configuration`) and the signing keys
//! (`/{tenant}/discovery/v2.0/keys`), so that Microsoft's libraries find the endpoints of this tenant on
//! the emulator (with authority validation and instance discovery turned off, since the host is not one
//! of Microsoft's).

use std::sync::Arc;

use axum::extract::{Path, State as AxState};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{error_context, resolve_tenant, TenantScope};
use crate::cloud::Cloud;
use crate::state::Emulator;
use crate::util::now_ms;

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
pub async fn openid_configuration(
    AxState(emu): AxState<Arc<Emulator>>,
    Path(segment): Path<String>,
    headers: HeaderMap,
) -> Response {
    let now = now_ms();
    let tenant = resolve_tenant(&emu.lock(), &segment);
    let base = &emu.config.public_base;
    let (issuer_tenant, cloud_instance, cloud) = match tenant {
        Ok(TenantScope::One(t)) => {
            (t.id.clone(), t.cloud.authority_hosts().first().copied().unwrap_or_default(), Some(t.cloud))
        }
        Ok(TenantScope::Any) => ("{tenantid}".to_string(), "https://login.microsoftonline.com", None),
        Err(e) => return e.render(&error_context(&emu, &headers, now)),
    };
    // What Microsoft says about a tenant's cloud: `tenant_region_scope` (`USGov` in the US Government
    // cloud) and its sub-scope (`DODCON` for GCC High, `DOD`); the China value of the region is not
    // documented, and the product reads only `cloud_instance_name` there.
    let (region, sub_region) = match cloud {
        Some(Cloud::UsgovGccHigh) => (serde_json::json!("USGov"), Some("DODCON")),
        Some(Cloud::UsgovDod) => (serde_json::json!("USGov"), Some("DOD")),
        Some(Cloud::China) => (serde_json::json!("AS"), None),
        Some(Cloud::Global) => (serde_json::json!("NA"), None),
        None => (serde_json::Value::Null, None),
    };
    let ep = |p: &str| format!("{base}/{segment}/{p}");
    let mut doc = json!({
        "token_endpoint": ep("oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": ep("discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": ep("oauth2/v2.0/authorize"),
        "device_authorization_endpoint": ep("oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": ep("oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
            "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": ep("kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": cloud_instance.trim_start_matches("https://login."),
        "msgraph_host": cloud.map_or("graph.microsoft.com", |c| c.graph_host().trim_start_matches("https://")),
        "code_challenge_methods_supported": ["plain", "S256"],
    });
    if let Some(sub) = sub_region {
        doc["tenant_region_sub_scope"] = json!(sub);
    }
    Json(doc).into_response()
}

/// `GET /{tenant}/discovery/v2.0/keys`.
pub async fn jwks(AxState(emu): AxState<Arc<Emulator>>, Path(_segment): Path<String>) -> Response {
    Json(emu.signing.jwks()).into_response()
}
