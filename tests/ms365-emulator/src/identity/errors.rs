//! OAuth error responses in Microsoft's shape: `error`, `error_description` starting `AADSTSnnnnn:` and
//! ending with the trace and correlation IDs and timestamp, `error_codes`, `timestamp`, `trace_id`,
//! `correlation_id`, `error_uri`. The status is 400, or 401 for `invalid_client`, as at Microsoft.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::util::{aad_timestamp, new_guid};

/// An identity-platform error, before it is rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// HTTP status.
    pub status: u16,
    /// The OAuth `error` value.
    pub error: &'static str,
    /// The AADSTS number.
    pub code: u32,
    /// The text after `AADSTSnnnnn: `.
    pub message: String,
}

/// Request facts every error body repeats.
#[derive(Clone, Debug)]
pub struct ErrorContext {
    /// The emulator's public base URL (for `error_uri`).
    pub base: String,
    /// The client's `client-request-id`, echoed as the correlation ID as Microsoft does.
    pub correlation_id: Option<String>,
    /// Now, ms since the epoch.
    pub now_ms: u64,
}

impl OAuthError {
    /// An error with HTTP 400 (401 for `invalid_client`).
    pub fn new(error: &'static str, code: u32, message: impl Into<String>) -> OAuthError {
        let status = if error == "invalid_client" { 401 } else { 400 };
        OAuthError { status, error, code, message: message.into() }
    }

    /// A required form parameter is missing (AADSTS900144).
    pub fn missing(param: &str) -> OAuthError {
        OAuthError::new(
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    /// The client is not registered in this tenant or cloud (AADSTS700016).
    pub fn unknown_client(client_id: &str, directory: &str) -> OAuthError {
        OAuthError::new(
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{directory}'. This can \
                 happen if the application has not been installed by the administrator of the tenant or consented \
                 to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        )
    }

    /// The tenant lives in another cloud (AADSTS90038).
    pub fn wrong_cloud(tenant_id: &str, tenant_cloud: crate::cloud::Cloud, cloud: crate::cloud::Cloud) -> OAuthError {
        OAuthError::new(
            "invalid_request",
            90_038,
            format!(
                "NationalCloudTenantRedirection: The specified tenant '{tenant_id}' belongs to the National Cloud \
                 '{}'. Current cloud instance '{}' does not federate with '{}'.",
                tenant_cloud.instance_name(),
                cloud.instance_name(),
                tenant_cloud.instance_name()
            ),
        )
    }

    /// The whole `error_description` line, with trace and correlation IDs.
    pub fn description(&self, trace_id: &str, correlation_id: &str, timestamp: &str) -> String {
        format!(
            "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
            self.code, self.message
        )
    }

    /// The JSON response.
    pub fn render(&self, ctx: &ErrorContext) -> Response {
        let trace_id = new_guid();
        let correlation_id = ctx.correlation_id.clone().unwrap_or_else(new_guid);
        let timestamp = aad_timestamp(ctx.now_ms);
        let body = json!({
            "error": self.error,
            "error_description": self.description(&trace_id, &correlation_id, &timestamp),
            "error_codes": [self.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("{}/error?code={}", ctx.base, self.code),
        });
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(body)).into_response();
        if let Ok(v) = HeaderValue::from_str(&correlation_id) {
            resp.headers_mut().insert("client-request-id", v);
        }
        resp
    }
}
