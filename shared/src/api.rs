//! The wire contract of the edge API: every request and response body, used by both sides so
//! that neither writes JSON by hand.

use crate::errors::ErrorCode;
use crate::validate::{Field, FieldError};
use serde::{Deserialize, Serialize};

/// The service name reported by `GET /api/health`.
pub const SERVICE_NAME: &str = "m365-onboarding";

/// Paths of the edge API, shared so that the browser and the route table cannot drift apart.
pub mod paths {
    /// `GET`: liveness and version.
    pub const HEALTH: &str = "/api/health";
}

/// `GET /api/health` response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always [`SERVICE_NAME`].
    pub service: String,
    /// The edge's crate version (semver).
    pub version: String,
    /// Whether the edge could reach its D1 database when answering.
    pub database: ComponentStatus,
}

/// Health of one component the edge depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Answered as expected.
    Ok,
    /// Did not answer or answered with an error.
    Unavailable,
}

/// The one shape of every error response of the edge API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// Details of an error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// A stable machine-readable code, such as `not_found`.
    pub code: ErrorCode,
    /// The sentence the administrator reads: what happened and what to do.
    pub message: String,
    /// The input field the error is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<Field>,
    /// Microsoft's correlation identifiers, when Microsoft caused the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub microsoft: Option<MicrosoftCorrelation>,
}

/// Identifiers Microsoft support asks for when one of its services failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MicrosoftCorrelation {
    /// `correlation_id` (identity platform) or `client-request-id` (Graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// `trace_id` (identity platform) or `request-id` (Graph).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// When Microsoft reported the error (its `timestamp` or `date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl ErrorBody {
    /// The catalogue's error `code` with its own message.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }

    /// The catalogue's error `code` with a more specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code, message: message.into(), field: None, microsoft: None } }
    }

    /// A refused input field.
    pub fn invalid(err: &FieldError) -> Self {
        let mut body = Self::with_message(ErrorCode::InvalidInput, err.message.clone());
        body.error.field = Some(err.field);
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_omits_absent_field_and_correlation() {
        let body = ErrorBody::with_message(ErrorCode::NotFound, "No such route.");
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json, serde_json::json!({"error": {"code": "not_found", "message": "No such route."}}));
        let invalid = ErrorBody::invalid(&FieldError::new(Field::TenantId, "Bad."));
        let json = serde_json::to_value(&invalid).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "invalid_input", "message": "Bad.", "field": "tenant_id"}})
        );
    }

    #[test]
    fn health_round_trips() {
        let h = HealthResponse { service: SERVICE_NAME.into(), version: "1.2.3".into(), database: ComponentStatus::Ok };
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains("\"database\":\"ok\""));
        assert_eq!(serde_json::from_str::<HealthResponse>(&text).unwrap(), h);
    }
}
