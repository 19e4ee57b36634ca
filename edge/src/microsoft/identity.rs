//! The identity platform (Entra ID v2.0): device authorization, token polling, client
//! credentials. Builders return `http` requests; readers turn responses into typed outcomes with
//! the catalogue's error codes. Tokens and device codes are [`SecretString`]s from the moment they
//! are read.
//!
//! The OAuth 2.0 vocabulary is the `oauth2` crate's: the `error` values of RFC 6749 and RFC 8628
//! ([`OAuthError`]), the token response (`BasicTokenResponse`) and the device authorization
//! response (`StandardDeviceAuthorizationResponse`). The requests are built here and sent through
//! the product's [`super::HttpClient`] rather than `oauth2`'s exchanges: those drop the HTTP status
//! and headers of a refused token request (`Retry-After` on a 429, the 5xx that makes a failure
//! transient), which the poller and the back-off read.

use super::{form, retry_after, HttpRequest, HttpResponse, MicrosoftError};
use oauth2::basic::BasicTokenResponse;
use oauth2::{StandardDeviceAuthorizationResponse, TokenResponse as _};
use serde::Deserialize;
use shared::api::MicrosoftCorrelation;
use shared::secret::SecretString;
use shared::{CloudEndpoints, ErrorCode};

/// The RFC 8628 grant type.
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The client-assertion type for certificate credentials.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The delegated Graph permissions the admin's sign-in asks for: enough to register applications,
/// grant their application permissions, read the tenant's name, and read the tenant's default app
/// management policy before a credential is added (`Policy.Read.ApplicationConfiguration`, the
/// least one `GET /policies/defaultAppManagementPolicy` takes).
pub const DELEGATED_PERMISSIONS: [&str; 4] = [
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Organization.Read.All",
    "Policy.Read.ApplicationConfiguration",
];

/// The scope string for the admin sign-in in `endpoints`' cloud.
pub fn admin_scopes(endpoints: &CloudEndpoints) -> String {
    DELEGATED_PERMISSIONS.iter().map(|p| endpoints.cloud.graph_delegated_scope(p)).collect::<Vec<_>>().join(" ")
}

fn post_form(url: &str, body: Vec<u8>) -> HttpRequest {
    http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::ACCEPT, "application/json")
        .body(body)
        .expect("a POST with static headers is always valid")
}

/// `POST {authority}/organizations/oauth2/v2.0/devicecode` for the admin's sign-in.
pub fn device_code_request(endpoints: &CloudEndpoints, client_id: &str) -> HttpRequest {
    device_code_request_for(endpoints, client_id, &admin_scopes(endpoints))
}

/// `POST {authority}/organizations/oauth2/v2.0/devicecode` asking for `scope`.
pub fn device_code_request_for(endpoints: &CloudEndpoints, client_id: &str, scope: &str) -> HttpRequest {
    post_form(&endpoints.device_code_url("organizations"), form(&[("client_id", client_id), ("scope", scope)]))
}

/// A device authorization: what Microsoft returned, the device code kept secret.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// Secret: polled with, never sent to the browser.
    pub device_code: SecretString,
    /// The code the admin types.
    pub user_code: String,
    /// Where the admin types it, exactly as Microsoft returned it.
    pub verification_uri: String,
    /// Seconds until the code expires.
    pub expires_in: u64,
    /// Seconds between polls (5 when Microsoft names none, as RFC 8628 says).
    pub interval: u64,
}

/// Reads the device authorization response (RFC 8628 section 3.2). An OAuth error in the body is
/// the answer whatever the status: Microsoft has answered this endpoint's errors with 200 OK, and
/// MSAL.NET reads them so (its `DeviceCodeRequest` sets `expectErrorsOn200OK`), so that a public
/// client that is not set up is named instead of taken for a broken answer.
pub fn read_device_code(resp: &HttpResponse) -> Result<DeviceAuthorization, MicrosoftError> {
    let error_in_body = || serde_json::from_slice::<OAuthErrorBody>(resp.body()).is_ok_and(|b| !b.error.is_empty());
    if !resp.status().is_success() || error_in_body() {
        return Err(read_oauth_error(resp));
    }
    let d: StandardDeviceAuthorizationResponse =
        serde_json::from_slice(resp.body()).map_err(|_| MicrosoftError::unreadable(resp.status().as_u16()))?;
    Ok(DeviceAuthorization {
        device_code: SecretString::new(d.device_code().secret().clone()),
        user_code: d.user_code().secret().clone(),
        verification_uri: d.verification_uri().to_string(),
        expires_in: d.expires_in().as_secs(),
        interval: d.interval().as_secs(),
    })
}

/// `POST {authority}/organizations/oauth2/v2.0/token` with the device code.
pub fn device_token_request(endpoints: &CloudEndpoints, client_id: &str, device_code: &SecretString) -> HttpRequest {
    post_form(
        &endpoints.token_url("organizations"),
        form(&[("grant_type", DEVICE_CODE_GRANT), ("client_id", client_id), ("device_code", device_code.expose())]),
    )
}

/// `POST {authority}/organizations/oauth2/v2.0/token`: redeems the Credential pop-up's authorization
/// code with the PKCE verifier (a public client: no client secret).
pub fn authorization_code_request(
    endpoints: &CloudEndpoints,
    client_id: &str,
    code: &SecretString,
    redirect_uri: &str,
    verifier: &SecretString,
    scope: &str,
) -> HttpRequest {
    post_form(
        &endpoints.token_url("organizations"),
        form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code.expose()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.expose()),
            ("scope", scope),
        ]),
    )
}

/// The credential of a confidential client.
pub enum ClientCredential<'a> {
    /// A client secret.
    Secret(&'a SecretString),
    /// A signed client assertion (JWT).
    Assertion(&'a str),
}

/// `POST {authority}/{tenant}/oauth2/v2.0/token`, client credentials for the cloud's Graph.
pub fn client_credentials_request(
    endpoints: &CloudEndpoints,
    tenant: &str,
    client_id: &str,
    credential: ClientCredential<'_>,
) -> HttpRequest {
    client_credentials_request_for(endpoints, tenant, client_id, credential, &endpoints.cloud.graph_default_scope())
}

/// Like [`client_credentials_request`], for `scope` (`{resource}/.default`).
pub fn client_credentials_request_for(
    endpoints: &CloudEndpoints,
    tenant: &str,
    client_id: &str,
    credential: ClientCredential<'_>,
    scope: &str,
) -> HttpRequest {
    let mut pairs = vec![("grant_type", "client_credentials"), ("client_id", client_id), ("scope", scope)];
    match credential {
        ClientCredential::Secret(s) => pairs.push(("client_secret", s.expose())),
        ClientCredential::Assertion(jwt) => {
            pairs.push(("client_assertion_type", JWT_BEARER));
            pairs.push(("client_assertion", jwt));
        }
    }
    post_form(&endpoints.token_url(tenant), form(&pairs))
}

/// An access token, kept secret.
#[derive(Debug, Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub access_token: SecretString,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The refresh token, when `offline_access` was asked for (a partner's sign-in only).
    pub refresh_token: Option<SecretString>,
}

impl AccessToken {
    /// The template IDs of the signed-in user's active directory roles, from the token's `wids`
    /// claim (Learn: "Access token claims reference"); `None` when the token does not say (not a
    /// JWT, or no such claim), so the caller cannot decide from it.
    pub fn directory_role_ids(&self) -> Option<Vec<String>> {
        use base64::Engine as _;
        let payload = self.access_token.expose().split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
        #[derive(Deserialize)]
        struct Claims {
            wids: Option<Vec<String>>,
        }
        serde_json::from_slice::<Claims>(&bytes).ok()?.wids
    }
}

/// What a token request produced.
#[derive(Debug, Clone)]
pub enum TokenOutcome {
    /// A token.
    Token(AccessToken),
    /// An OAuth error (HTTP 400/401) or a transient failure.
    Error(OAuthFailure),
}

pub use oauth2::basic::BasicErrorResponseType;
/// The RFC 6749 / RFC 8628 `error` of a token response (`authorization_pending`, `slow_down`,
/// `expired_token`, `access_denied`, and RFC 6749's `invalid_grant`, `invalid_client`, …), read
/// once here: the code after this matches the enum, never the text.
pub use oauth2::DeviceCodeErrorResponseType as OAuthError;

/// An OAuth error response, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthFailure {
    /// The `error` value (`None`: no OAuth error body, as after a server error or no answer).
    pub error: Option<OAuthError>,
    /// The mapped failure.
    pub microsoft: MicrosoftError,
}

#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_codes: Vec<u32>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
}

/// Reads a refused token response (for readers of other token shapes).
pub(crate) fn read_oauth_failure_of(resp: &HttpResponse) -> OAuthFailure {
    read_oauth_failure(resp)
}

fn read_oauth_failure(resp: &HttpResponse) -> OAuthFailure {
    let status = resp.status().as_u16();
    let body: OAuthErrorBody = serde_json::from_slice(resp.body()).unwrap_or_default();
    let code = if status == 429 {
        ErrorCode::Throttled
    } else if status >= 500 || body.error.is_empty() {
        ErrorCode::MicrosoftUnavailable
    } else {
        ErrorCode::from_oauth_error(&body.error, &body.error_codes)
    };
    OAuthFailure {
        error: (!body.error.is_empty())
            .then(|| serde_json::from_value(serde_json::Value::String(body.error.clone())).ok())
            .flatten(),
        microsoft: MicrosoftError {
            code,
            status,
            correlation: MicrosoftCorrelation {
                correlation_id: body.correlation_id,
                trace_id: body.trace_id,
                timestamp: body.timestamp,
                code: body.error_codes.first().map(|c| format!("AADSTS{c}")),
            },
            retry_after: retry_after(resp),
        },
    }
}

fn read_oauth_error(resp: &HttpResponse) -> MicrosoftError {
    read_oauth_failure(resp).microsoft
}

/// Reads a token endpoint response.
pub fn read_token(resp: &HttpResponse) -> TokenOutcome {
    if resp.status().is_success() {
        match serde_json::from_slice::<BasicTokenResponse>(resp.body()) {
            Ok(t) => TokenOutcome::Token(AccessToken {
                access_token: SecretString::new(t.access_token().secret().clone()),
                expires_in: t.expires_in().map_or(0, |d| d.as_secs()),
                refresh_token: t.refresh_token().map(|r| SecretString::new(r.secret().clone())),
            }),
            Err(_) => TokenOutcome::Error(OAuthFailure { error: None, microsoft: MicrosoftError::transport() }),
        }
    } else {
        TokenOutcome::Error(read_oauth_failure(resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CloudEnvironment;

    fn endpoints() -> CloudEndpoints {
        CloudEndpoints::with_bases(CloudEnvironment::UsGovGccHigh, "http://127.0.0.1:1", "http://127.0.0.1:1")
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn device_code_request_asks_for_the_clouds_delegated_scopes() {
        let req = device_code_request(&endpoints(), "client-1");
        assert_eq!(req.uri(), "http://127.0.0.1:1/organizations/oauth2/v2.0/devicecode");
        let body = String::from_utf8(req.body().clone()).unwrap();
        assert!(body.starts_with("client_id=client-1&scope="));
        assert!(body.contains("https%3A%2F%2Fgraph.microsoft.us%2FApplication.ReadWrite.All"));
        assert!(body.contains("AppRoleAssignment.ReadWrite.All"));
    }

    #[test]
    fn device_code_response_keeps_the_code_secret() {
        let r = response(
            200,
            r#"{"device_code":"DAQABAAEAAAD--secret","user_code":"GKQ8VZ2TL","verification_uri":"https://microsoft.com/devicelogin","expires_in":900,"interval":5,"message":"To sign in..."}"#,
        );
        let d = read_device_code(&r).unwrap();
        assert_eq!(d.user_code, "GKQ8VZ2TL");
        assert_eq!(d.device_code.expose(), "DAQABAAEAAAD--secret");
        assert!(!format!("{d:?}").contains("DAQAB"));
    }

    #[test]
    fn a_device_code_error_is_read_from_the_body_even_on_200() {
        let r = response(
            200,
            r#"{"error":"unauthorized_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.","error_codes":[7000218],"correlation_id":"c-2"}"#,
        );
        let e = read_device_code(&r).unwrap_err();
        assert_eq!(e.code, ErrorCode::ClientMisconfigured, "{e:?}");
        assert_eq!(e.correlation.code.as_deref(), Some("AADSTS7000218"));
        let e = read_device_code(&response(400, r#"{"error":"invalid_client","error_codes":[700016]}"#)).unwrap_err();
        assert_ne!(e.code, ErrorCode::MicrosoftUnavailable);
    }

    #[test]
    fn oauth_errors_are_mapped_with_correlation() {
        let r = response(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS53003: Access has been blocked by Conditional Access policies.","error_codes":[53003],"timestamp":"2026-11-26 12:00:00Z","trace_id":"t-1","correlation_id":"c-1"}"#,
        );
        let TokenOutcome::Error(f) = read_token(&r) else { panic!() };
        assert_eq!(f.error, Some(OAuthError::Basic(BasicErrorResponseType::InvalidGrant)));
        assert_eq!(f.microsoft.code, ErrorCode::BlockedByConditionalAccess);
        assert_eq!(f.microsoft.correlation.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(f.microsoft.correlation.code.as_deref(), Some("AADSTS53003"));
    }

    #[test]
    fn server_errors_and_throttling_are_transient() {
        let mut r = response(503, "<html>busy</html>");
        r.headers_mut().insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        let TokenOutcome::Error(f) = read_token(&r) else { panic!() };
        assert!(f.microsoft.is_transient());
        assert_eq!(f.microsoft.retry_after, Some(7));
        let TokenOutcome::Error(f) = read_token(&response(429, "{}")) else { panic!() };
        assert_eq!(f.microsoft.code, ErrorCode::Throttled);
    }

    #[test]
    fn client_credentials_with_a_secret_and_with_an_assertion() {
        let secret = SecretString::new("s~1".into());
        let req = client_credentials_request(&endpoints(), "tid", "app", ClientCredential::Secret(&secret));
        let body = String::from_utf8(req.body().clone()).unwrap();
        assert!(body.contains("client_secret=s~1"));
        assert!(body.contains("scope=https%3A%2F%2Fgraph.microsoft.us%2F.default"));
        let req = client_credentials_request(&endpoints(), "tid", "app", ClientCredential::Assertion("a.b.c"));
        let body = String::from_utf8(req.body().clone()).unwrap();
        assert!(body.contains("client_assertion=a.b.c"));
        assert!(!body.contains("client_secret"));
        assert_eq!(req.uri(), "http://127.0.0.1:1/tid/oauth2/v2.0/token");
    }
}
