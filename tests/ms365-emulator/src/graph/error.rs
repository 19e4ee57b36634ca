//! Graph's error shape: `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::util::{iso8601, new_guid};

/// A Graph error before rendering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphError {
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
}

impl GraphError {
    /// An error.
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> GraphError {
        GraphError { status, code: code.into(), message: message.into() }
    }

    /// 400 `Request_BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> GraphError {
        GraphError::new(400, "Request_BadRequest", message)
    }

    /// 405 `Request_BadRequest`: the path exists, the method does not.
    pub fn method_not_allowed() -> GraphError {
        GraphError::new(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
    }

    /// 403 `Authorization_RequestDenied`.
    pub fn denied() -> GraphError {
        GraphError::new(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    }

    /// 404 `Request_ResourceNotFound`.
    pub fn not_found(id: &str) -> GraphError {
        GraphError::new(
            404,
            "Request_ResourceNotFound",
            format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        )
    }

    /// 401 `InvalidAuthenticationToken`.
    pub fn unauthenticated(message: impl Into<String>) -> GraphError {
        GraphError::new(401, "InvalidAuthenticationToken", message)
    }

    /// The JSON body.
    pub fn body(&self, now_ms: u64, client_request_id: Option<&str>) -> Value {
        let request_id = new_guid();
        json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": iso8601(now_ms),
                    "request-id": request_id,
                    "client-request-id": client_request_id.map(str::to_string).unwrap_or_else(|| request_id.clone()),
                }
            }
        })
    }

    /// A whole HTTP response (used by the throttling middleware).
    pub fn into_response_at(self, now_ms: u64) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut r = (status, axum::Json(self.body(now_ms, None))).into_response();
        r.headers_mut().insert("request-id", HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
        r
    }
}

impl GraphError {
    /// The same error with another `code`.
    pub fn with_code(mut self, code: &str) -> GraphError {
        self.code = code.to_string();
        self
    }
}
