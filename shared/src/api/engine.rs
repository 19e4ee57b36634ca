//! The backup engine (`/api/engine/*`, engine tokens only).

use super::*;

/// The Microsoft resource an engine token is for.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineResource {
    /// Microsoft Graph of the organization's cloud (`https://graph.microsoft.us/.default` etc.).
    Graph,
    /// The organization's SharePoint Online (`https://{tenant}.sharepoint.com/.default` etc.).
    Sharepoint,
    /// Exchange Online of the cloud (`https://outlook.office365.com/.default` etc.).
    Exchange,
}

impl EngineResource {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineResource::Graph => "graph",
            EngineResource::Sharepoint => "sharepoint",
            EngineResource::Exchange => "exchange",
        }
    }

    /// Reads a wire name.
    pub fn parse(s: &str) -> Option<EngineResource> {
        [EngineResource::Graph, EngineResource::Sharepoint, EngineResource::Exchange]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// `POST /api/engine/organizations/{id}/token`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineTokenRequest {
    /// Which Microsoft service the token is for.
    pub resource: EngineResource,
    /// The workload the token is used for: its own application where the organization has
    /// workload-scoped applications, else the main one (which has every workload's permissions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
}

/// An access token for the backup engine. The credential that obtained it never leaves the edge.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineToken {
    /// The bearer token for the resource.
    pub access_token: String,
    /// When it expires, RFC 3339 (the edge hands out a cached token until 5 minutes before).
    pub expires_at: String,
    /// The application (client) ID the token was issued to.
    pub application_id: String,
    /// The resource.
    pub resource: EngineResource,
    /// The scope it was requested with (its audience).
    pub scope: String,
}

impl std::fmt::Debug for EngineToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineToken")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("application_id", &self.application_id)
            .field("resource", &self.resource)
            .finish()
    }
}

/// One token request of the backup engine, as audited (never the token).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEntry {
    /// When, RFC 3339.
    pub at: String,
    /// The engine key's ID that signed the request.
    pub key_id: String,
    /// The application used (empty when none could be chosen).
    pub application_id: String,
    /// The resource.
    pub resource: EngineResource,
    /// `issued` (from Microsoft), `cached`, or the error code of a refusal.
    pub outcome: String,
    /// How many requests this entry stands for: 1, except for `cached`, whose requests are counted
    /// per engine key, application, resource and minute (`at` is the minute's start).
    #[serde(default = "one")]
    pub count: u64,
}

fn one() -> u64 {
    1
}

/// `GET /api/organizations/{id}/usage`: the backup engine's recent token requests, newest first.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageList {
    /// At most 50.
    pub entries: Vec<UsageEntry>,
}

/// `DELETE /api/organizations/{id}` body: deleting needs an explicit confirmation.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteOrganization {
    /// Must be `true`.
    #[cfg_attr(feature = "schema", schemars(extend("enum" = [true])))]
    pub confirm: bool,
    /// The organization's `version` as the admin saw it when deciding to delete. When another
    /// change was saved since (a rename, "Recreate multiple applications", a repair), nothing is
    /// deleted from the service and the answer is 409 `edit_conflict`: look again, then decide.
    pub version: i64,
    /// Also delete the organization's applications from Microsoft 365, with this sign-in: one
    /// started for this organization (`StartSignIn.remove_organization_id`), signed in (a window's
    /// answer claimed), in the organization's tenant and cloud. No other sign-in deletes anything.
    /// The applications are the organization's own as stored, never named by the caller. The
    /// organization is deleted only once every one of them is gone from the tenant
    /// (`applications_not_removed` otherwise: it stays, and the request may be sent again).
    /// Without it the applications stay registered in the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_with_sign_in: Option<String>,
}
