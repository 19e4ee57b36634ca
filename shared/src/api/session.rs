//! Health and session.

use super::*;

/// `GET /api/health` response body.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always [`SERVICE_NAME`].
    pub service: String,
    /// The edge's crate version (semver).
    pub version: String,
    /// Whether the edge could reach its D1 database when answering.
    pub database: ComponentStatus,
    /// The portal origins allowed to embed the app and to send it a session by `postMessage`
    /// (public: they are in the `frame-ancestors` header anyway).
    #[serde(default)]
    pub portal_origins: Vec<String>,
    /// Local development only: the app may take its session from the address bar's fragment
    /// (`#token=`). Never true in a deployed Worker (the edge sets it only for a loopback request
    /// with `DEV_SESSION_IN_URL` on); otherwise the session comes only from an allowed portal.
    #[serde(default)]
    pub dev_session_in_url: bool,
    /// The clouds besides Global where the operator set up the Credential method
    /// (`CREDENTIAL_CLOUDS`): the app offers it there too.
    #[serde(default)]
    pub credential_clouds: Vec<CloudEnvironment>,
}

/// Health of one component the edge depends on.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Answered as expected.
    Ok,
    /// Did not answer or answered with an error.
    Unavailable,
}

/// `GET /api/session`: what the edge read from the portal's session token.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The portal account the admin acts for (`acct`).
    pub account: String,
    /// The admin's ID in the portal (`sub`).
    pub admin: String,
    /// When the session ends, RFC 3339.
    pub expires_at: String,
}
