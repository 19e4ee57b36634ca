//! The wire contract of the edge API: every request and response body, used by both sides so
//! that neither writes JSON by hand.
//!
//! Secrets travel only browser → edge, inside request types that opt in field by field
//! ([`crate::secret::serialize_exposed`]); response types cannot carry them, because the secret
//! types do not implement `Serialize`.

use crate::certificate::CertificateInfo;
use crate::cloud::CloudEnvironment;
use crate::errors::ErrorCode;
use crate::method::AddMethod;
use crate::secret::{serialize_exposed, SecretString};
use crate::validate::{Field, FieldError};
use serde::{Deserialize, Serialize};

/// The service name reported by `GET /api/health`.
pub const SERVICE_NAME: &str = "m365-onboarding";

/// The `aud` claim portal session tokens must carry.
pub const SESSION_AUDIENCE: &str = "m365-onboarding";

/// The largest request body the edge reads, in bytes (a base64 .pfx of 64 KB plus the rest).
pub const MAX_BODY_BYTES: usize = 96 * 1024;

// ---------------------------------------------------------------------------------------------
// Health and session

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

// ---------------------------------------------------------------------------------------------
// Sign-in (Step 2)

/// `POST /api/signins`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartSignIn {
    /// The cloud the tenant lives in.
    pub cloud: CloudEnvironment,
    /// How the admin signs in: [`AddMethod::DeviceCode`] (or `Credential` for the pop-up flow).
    pub method: AddMethod,
    /// Repair: the saved organization (of this account) whose applications the sign-in repairs,
    /// instead of registering new ones. Its cloud must be `cloud`; a sign-in in another tenant
    /// changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair_organization_id: Option<String>,
    /// Removal: the saved organization (of this account, in `cloud`) whose applications the
    /// sign-in is to delete from Microsoft 365 when the organization is deleted
    /// (`DeleteOrganization.remove_with_sign_in`). Such a sign-in registers nothing, and no other
    /// sign-in deletes anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_organization_id: Option<String>,
}

impl StartSignIn {
    /// A sign-in in `cloud` by `method` that registers new applications (neither a repair nor a
    /// removal).
    pub fn new(cloud: CloudEnvironment, method: AddMethod) -> Self {
        Self { cloud, method, repair_organization_id: None, remove_organization_id: None }
    }
}

/// `POST /api/signins/{id}/confirm`. Device code: the admin ticked the confirmation (no body
/// needed). Credential: `claim` proves that this browser received Microsoft's answer, either the
/// handle the sign-in window posted to the app or the confirmation code it shows; registration
/// starts only then, so a sign-in completed in a window the app did not open (a phished link)
/// registers nothing.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfirmSignIn {
    /// The handle or the confirmation code (Credential method only).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "crate::secret::serialize_exposed_opt")]
    pub claim: Option<SecretString>,
    /// Credential, a sign-in for creating applications elsewhere (the Manual method's Save,
    /// "Recreate multiple applications"): the claim only proves the answer and registers nothing;
    /// the save that names the sign-in creates the applications.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sign_in_only: bool,
}

/// The `type` of the message the Credential pop-up's last page posts to the app (its opener), on
/// the app's own origin only: `{type, id, ok, error?, message, claim?}` (`claim`: the handle for
/// [`ConfirmSignIn`]). Only a hint to read the status at once; the
/// status stays the truth (a pop-up may lose its opener, e.g. under `Cross-Origin-Opener-Policy`).
pub const SIGNIN_WINDOW_MESSAGE: &str = "m365-onboarding:signin-window";

fn device_code_method() -> AddMethod {
    AddMethod::DeviceCode
}

/// What the browser may know of a sign-in: never the device code or a token.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInStatus {
    /// The sign-in's ID (also the Durable Object's name).
    pub id: String,
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// How the admin signs in: `device_code` or `credential` (the pop-up).
    #[serde(default = "device_code_method")]
    pub method: AddMethod,
    /// Where the sign-in stands.
    pub state: SignInState,
    /// Credential method, while waiting for the sign-in: Microsoft's authorization URL to open in the
    /// pop-up (authorization code flow with PKCE; it carries the `state` and the code challenge, never
    /// the verifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// The one-time code to type at Microsoft (device code method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// The page where the code is typed, exactly as Microsoft returned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri: Option<String>,
    /// When the code expires, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Seconds until the code expires, as of this answer (saves the browser a clock comparison).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// How often the browser should ask again, in seconds.
    pub poll_after: u64,
    /// Registration progress, one entry per step, in order.
    #[serde(default)]
    pub progress: Vec<ProgressStep>,
    /// What failed and what to do, when `state` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
    /// What Step 3 is prefilled with, when `state` is `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RegistrationResult>,
}

/// The life of a sign-in.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInState {
    /// The code is shown; the admin has not signed in at Microsoft yet.
    WaitingForSignIn,
    /// Microsoft reported the sign-in; waiting for the admin's confirmation checkbox.
    SignedIn,
    /// The admin confirmed before Microsoft reported the sign-in.
    WaitingForMicrosoft,
    /// The backup applications are being registered.
    Registering,
    /// Done; `result` is set.
    Completed,
    /// Failed for good; `error` says why and what to do.
    Failed,
    /// The code expired before the sign-in; a new code can be requested.
    Expired,
    /// Cancelled by the admin.
    Cancelled,
}

impl SignInState {
    /// Whether nothing more will happen without a new request.
    pub fn is_final(self) -> bool {
        matches!(self, SignInState::Completed | SignInState::Failed | SignInState::Expired | SignInState::Cancelled)
    }
}

/// One sign-in under way, as `GET /api/signins` lists it (nothing secret, no tenant detail).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSummary {
    /// Sign-in ID.
    pub id: String,
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// Device code or Credential.
    pub method: AddMethod,
    /// When it was started (RFC 3339, UTC).
    pub started_at: String,
}

/// `GET /api/signins` response body: the account's sign-ins that count against its limit.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInList {
    /// Newest first.
    pub sign_ins: Vec<SignInSummary>,
    /// How many may be under way at once.
    pub limit: u32,
}

/// One step of the registration, as the admin sees it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressStep {
    /// Stable key, e.g. `create_applications`.
    pub key: String,
    /// What the admin reads, e.g. "Creating applications 2/4".
    pub label: String,
    /// Where it stands.
    pub state: StepState,
}

/// The state of one progress step.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    /// Not started.
    Pending,
    /// Under way.
    Running,
    /// Under way, waiting for Microsoft (replication, throttling).
    Waiting,
    /// Done.
    Done,
    /// Failed.
    Failed,
}

/// What automatic registration produced, to prefill Step 3. The secret stays on the server.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationResult {
    /// The tenant ID.
    pub tenant_id: String,
    /// The tenant's display name (prefills the organization name).
    pub tenant_name: String,
    /// The tenant's default verified domain.
    pub default_domain: String,
    /// The main application's ID.
    pub application_id: String,
    /// Always true on success: a client secret was generated and is held, encrypted, by the server.
    pub secret_stored: bool,
    /// How many applications exist for this sign-in so far (1, or 4 after the additional ones).
    pub applications: u8,
    /// Every application's ID, main first (for the administrator's EWS allow list).
    #[serde(default)]
    pub application_ids: Vec<String>,
    /// The certificate the service created for each application, main first (public parts only:
    /// the private keys never leave the server).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<GeneratedCertificateView>,
}

/// A certificate the service created for an application, as Step 3 shows it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratedCertificateView {
    /// The application it is registered on.
    pub application_id: String,
    /// Subject, thumbprints, validity.
    pub info: CertificateInfo,
    /// The public certificate, DER as base64 (the `.cer` the administrator may download).
    pub certificate_base64: String,
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// `POST /api/certificates/inspect`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectCertificate {
    /// The .pfx file, base64.
    #[serde(serialize_with = "serialize_exposed")]
    pub pfx_base64: SecretString,
    /// Its password (may be empty).
    #[serde(serialize_with = "serialize_exposed")]
    pub password: SecretString,
}

/// The answer of `POST /api/certificates/inspect`.
pub type CertificatePreview = CertificateInfo;

// ---------------------------------------------------------------------------------------------
// Organizations (Step 3 and the manage page)

/// The credential entered in Step 3.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CredentialInput {
    /// An application password (client secret).
    Secret {
        /// The secret's value.
        #[serde(serialize_with = "serialize_exposed")]
        client_secret: SecretString,
    },
    /// An application certificate.
    Certificate {
        /// The .pfx file, base64.
        #[serde(serialize_with = "serialize_exposed")]
        pfx_base64: SecretString,
        /// Its password (may be empty).
        #[serde(serialize_with = "serialize_exposed")]
        password: SecretString,
    },
    /// The secret generated by automatic registration, held by the server for this sign-in.
    Generated {
        /// The sign-in that registered the applications.
        sign_in_id: String,
    },
}

/// `POST /api/organizations`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CreateOrganization {
    /// The organization's name in this product.
    pub name: String,
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// The tenant ID (GUID).
    pub tenant_id: String,
    /// The main application's ID (GUID).
    pub application_id: String,
    /// The credential.
    pub credential: CredentialInput,
    /// Create (or use) 3 additional applications. On by default.
    #[serde(default = "default_true")]
    pub create_multiple_applications: bool,
    /// The sign-in to create the additional applications with (automatic registration, or the
    /// Manual method after the admin signed in for this purpose).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_id: Option<String>,
    /// The permissions the administrator saw listed as missing (a `permissions_missing` answer's
    /// values) and chose to save without: the save passes only if nothing else is missing. The
    /// organization is then shown as needing attention until they are granted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged_permissions: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// The credential type stored for an organization.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialType {
    /// Client secret.
    Secret,
    /// Certificate.
    Certificate,
}

/// What an application backs up. The main application has every permission (turning "Create
/// multiple applications" off changes nothing for the backup); each additional application has one
/// workload's, so that the backup's requests are split by workload rather than among clones.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// Every workload (the main application, or one the administrator registered).
    All,
    /// Exchange mailboxes: mail, calendars, contacts.
    Exchange,
    /// OneDrive and SharePoint.
    Files,
    /// Teams, Microsoft 365 groups and Planner.
    Teams,
}

impl Workload {
    /// The workload of the application with `index` (0 is the main application, 1 to 3 the
    /// additional ones).
    pub fn of_index(index: u8) -> Workload {
        match index {
            1 => Workload::Exchange,
            2 => Workload::Files,
            3 => Workload::Teams,
            _ => Workload::All,
        }
    }

    /// The stable wire name (also the serde and database name).
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::All => "all",
            Workload::Exchange => "exchange",
            Workload::Files => "files",
            Workload::Teams => "teams",
        }
    }

    /// Reads a wire name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Workload> {
        [Workload::All, Workload::Exchange, Workload::Files, Workload::Teams].into_iter().find(|w| w.as_str() == s)
    }

    /// What the administrator reads.
    pub fn label(self) -> &'static str {
        match self {
            Workload::All => "All workloads",
            Workload::Exchange => "Exchange mailboxes",
            Workload::Files => "OneDrive and SharePoint",
            Workload::Teams => "Teams, groups and Planner",
        }
    }
}

/// One application of an organization, as the manage and edit pages show it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationApplication {
    /// Application (client) ID.
    pub application_id: String,
    /// The main application.
    pub main: bool,
    /// What it backs up.
    pub workload: Workload,
    /// Counted among the active applications.
    pub active: bool,
    /// Secret or certificate.
    pub credential_type: CredentialType,
    /// When its credential ends, RFC 3339, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_expires_at: Option<String>,
    /// The certificate's SHA-1 thumbprint, for certificate credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<String>,
    /// The Microsoft Graph permissions the current manifest requires for its workload (empty for
    /// an application the administrator registered, whose permissions are the administrator's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_permissions: Vec<String>,
    /// The permissions the service granted it (empty for an application the administrator
    /// registered).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_permissions: Vec<String>,
    /// Its last health check.
    #[serde(default)]
    pub health: HealthStatus,
}

/// Where an organization or an application stands after its health checks.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Not checked yet.
    #[default]
    Unchecked,
    /// Works, with every permission, its credential not near its end.
    Healthy,
    /// Works or failed once: something to look at (a credential near its end, a newer permission
    /// not granted, a first failure).
    NeedsAttention,
    /// Failed twice in a row: backups cannot run.
    Failing,
}

impl Health {
    /// Worse is greater.
    pub fn rank(self) -> u8 {
        match self {
            Health::Unchecked => 0,
            Health::Healthy => 1,
            Health::NeedsAttention => 2,
            Health::Failing => 3,
        }
    }
}

/// Why a health check did not find an application healthy.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthReason {
    /// The credential has expired.
    CredentialExpired,
    /// The credential ends within 30 days.
    CredentialExpiring,
    /// Microsoft refuses the credential (removed or replaced).
    CredentialWrong,
    /// The application no longer exists in the tenant.
    ApplicationDeleted,
    /// The application's service principal is disabled.
    ServicePrincipalDisabled,
    /// Permissions the application was granted are gone (consent removed), or it never had them.
    PermissionsMissing,
    /// The current permission manifest has permissions the application was never granted.
    ManifestOutdated,
    /// The tenant cannot be reached in its cloud (deleted, or moved).
    TenantUnreachable,
    /// Microsoft refused for another reason.
    CheckFailed,
    /// The certificate the service created nears its end and replacing it failed (the current one
    /// stays in place and still works).
    RotationFailed,
}

impl HealthReason {
    /// What the administrator reads, with what to do.
    pub fn sentence(self) -> &'static str {
        match self {
            HealthReason::CredentialExpired => "The application's credential has expired. Choose Repair on the organization's edit page: one sign-in gives it a new certificate.",
            HealthReason::CredentialExpiring => "The application's credential ends within 30 days. Replace it before then: enter a new one on the edit page, or choose Repair for a certificate made by the service.",
            HealthReason::CredentialWrong => "Microsoft refuses the stored credential: it was removed or replaced in the tenant. Choose Repair on the organization's edit page (one sign-in gives it a new certificate), or enter the current credential there.",
            HealthReason::ApplicationDeleted => "The application no longer exists in the tenant. Choose Repair on the organization's edit page: one sign-in creates it again.",
            HealthReason::ServicePrincipalDisabled => "The application is disabled in the tenant. Choose Repair on the organization's edit page, or enable it again in Enterprise applications.",
            HealthReason::PermissionsMissing => "The application lacks permissions the backup needs (admin consent removed). Choose Repair on the organization's edit page: one sign-in grants them again.",
            HealthReason::ManifestOutdated => "The backup now uses permissions this application was not granted. Choose Repair on the organization's edit page: one sign-in grants them.",
            HealthReason::TenantUnreachable => "Microsoft no longer knows this tenant in its cloud. Check that the tenant still exists.",
            HealthReason::CheckFailed => "Microsoft refused the health check. Check the application in the Azure portal.",
            HealthReason::RotationFailed => "The service could not replace the application's certificate, which ends soon; the current one still works. It tries again at the next check; if it keeps failing, repair the organization.",
        }
    }
}

/// The result of the health checks of an organization or an application.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    /// Where it stands.
    pub state: Health,
    /// Why, when not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<HealthReason>,
    /// The permissions the reason is about (missing, or not granted yet).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub permissions: Vec<String>,
    /// When it was last checked, RFC 3339 (absent before the first check).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<String>,
    /// An administrator saved the application knowing that these permissions were missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub acknowledged: bool,
    /// What needs an administrator's eye without changing `state`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<HealthWarning>,
}

/// Something about an organization that needs an administrator's eye without making it unhealthy.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthWarning {
    /// The account's audit of the backup engine's token requests reached its limit: new requests
    /// are served but no longer recorded until the oldest entries pass their retention.
    EngineAuditFull,
}

impl HealthWarning {
    /// What the administrator reads, with what to do.
    pub fn sentence(self) -> &'static str {
        match self {
            HealthWarning::EngineAuditFull => "The record of the backup engine's token requests for this account is full: tokens are still handed out, but new requests are not recorded until the oldest entries pass their retention. Ask the operator to raise ENGINE_AUDIT_MAX_ROWS or shorten ENGINE_AUDIT_DAYS.",
        }
    }
}

/// How close a credential is to its end.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpiryState {
    /// More than 30 days left, or no known end.
    Ok,
    /// 30 days or fewer left.
    ExpiresSoon,
    /// Expired.
    Expired,
}

/// Days before expiry from which the manage page warns.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

impl ExpiryState {
    /// The state of a credential ending at `expires_at` (Unix seconds) as of `now`.
    pub fn at(expires_at: Option<i64>, now: i64) -> ExpiryState {
        match expires_at {
            None => ExpiryState::Ok,
            Some(end) if end <= now => ExpiryState::Expired,
            Some(end) if end - now <= EXPIRY_WARNING_DAYS * 86_400 => ExpiryState::ExpiresSoon,
            Some(_) => ExpiryState::Ok,
        }
    }
}

/// An organization as the manage page and the edit page show it. Never carries a secret.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// The organization's ID in this product.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// The tenant ID.
    pub tenant_id: String,
    /// The main application's ID.
    pub application_id: String,
    /// Secret or certificate.
    pub credential_type: CredentialType,
    /// When the main credential ends, RFC 3339, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_expires_at: Option<String>,
    /// Expiry warning state.
    pub expiry: ExpiryState,
    /// The certificate's SHA-1 thumbprint, for certificate credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_thumbprint: Option<String>,
    /// Whether the additional applications are in use.
    pub multiple_applications: bool,
    /// How many applications are active (1 or 4).
    pub active_applications: u8,
    /// Every application, main first, with its workload.
    #[serde(default)]
    pub applications: Vec<OrganizationApplication>,
    /// The version of the permission manifest the service granted the main application from;
    /// absent when the administrator registered the application (Manual, or a typed credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_version: Option<u32>,
    /// Its health: the worst of its active applications'.
    #[serde(default)]
    pub health: HealthStatus,
    /// Created, RFC 3339.
    pub created_at: String,
    /// Last changed, RFC 3339.
    pub updated_at: String,
    /// Optimistic-concurrency version; send it back when editing.
    pub version: i64,
}

/// `GET /api/organizations`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationList {
    /// The account's organizations, by name.
    pub organizations: Vec<Organization>,
}

/// How to turn multiple applications back on.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReenableChoice {
    /// "Use existing applications": check the stored additional applications again.
    UseExisting,
    /// "Recreate multiple applications": create 3 new ones with a new sign-in.
    Recreate,
}

/// `PATCH /api/organizations/{id}`. Absent fields stay as they are.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpdateOrganization {
    /// The version the admin loaded; a mismatch is a 409 `edit_conflict`.
    pub version: i64,
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Turn the additional applications on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiple_applications: Option<bool>,
    /// When turning them back on: how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reenable: Option<ReenableChoice>,
    /// The sign-in that recreates them (with [`ReenableChoice::Recreate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_id: Option<String>,
    /// New application ID (checked against Microsoft before saving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    /// New credential (checked against Microsoft before saving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<CredentialInput>,
    /// With a new application ID: the missing permissions the administrator saves without (as in
    /// `POST /api/organizations`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledged_permissions: Vec<String>,
}

/// `POST /api/organizations/{id}/repair`: store what a repair sign-in did (started with
/// `repair_organization_id`, completed). The organization keeps its ID and name.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairOrganization {
    /// The version the admin loaded; a mismatch is a 409 `edit_conflict`.
    pub version: i64,
    /// The repair sign-in.
    pub sign_in_id: String,
}

/// `POST /api/tenant-lookup`: which tenant and cloud a domain belongs to (Microsoft answers this
/// publicly; nothing is signed in).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantLookupRequest {
    /// A domain of the organization, e.g. `contoso.com` or `contoso.onmicrosoft.com`.
    pub domain: String,
}

/// What Microsoft says about a domain.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLookup {
    /// The domain asked about, lower case.
    pub domain: String,
    /// The tenant it belongs to.
    pub tenant_id: String,
    /// The cloud to choose.
    pub cloud: CloudEnvironment,
    /// The sentence the wizard shows, e.g. "contoso.com belongs to tenant … in US Government GCC High."
    pub message: String,
}

// ---------------------------------------------------------------------------------------------
// The backup engine (`/api/engine/*`, engine tokens only)

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

// ---------------------------------------------------------------------------------------------
// Errors

/// The one shape of every error response of the edge API.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// Details of an error response.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    /// The permissions an application the administrator registered lacks (`permissions_missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_permissions: Vec<RequiredPermission>,
}

/// One application permission the backup needs, as an administrator grants it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredPermission {
    /// The permission's name (its app role value), e.g. `User.Read.All`.
    pub value: String,
    /// The API it belongs to, as the Azure portal names it (`Microsoft Graph`).
    pub api: String,
    /// Its type: always `Application` (the backup runs without a signed-in user).
    #[serde(rename = "type")]
    pub kind: String,
    /// Why the backup needs it.
    pub reason: String,
}

/// The answer of `GET /api/clouds/{id}/permissions`: what an application registered by hand needs
/// in that cloud.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PermissionList {
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// The manifest's version.
    pub manifest_version: u32,
    /// Every permission the main application needs, grouped by API in the order they are granted.
    pub permissions: Vec<RequiredPermission>,
}

/// Identifiers Microsoft support asks for when one of its services failed.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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
    /// The `AADSTSnnnnn` number or Graph error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl ErrorDetail {
    /// The catalogue's error `code` with its own message.
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.message().to_owned(), field: None, microsoft: None, missing_permissions: vec![] }
    }
}

impl ErrorBody {
    /// The catalogue's error `code` with its own message.
    pub fn new(code: ErrorCode) -> Self {
        Self::with_message(code, code.message())
    }

    /// The catalogue's error `code` with a more specific message.
    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { message: message.into(), ..ErrorDetail::new(code) } }
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
        let h = HealthResponse {
            service: SERVICE_NAME.into(),
            version: "1.2.3".into(),
            database: ComponentStatus::Ok,
            portal_origins: vec!["https://portal.example".into()],
            dev_session_in_url: false,
            credential_clouds: vec![CloudEnvironment::China],
        };
        let text = serde_json::to_string(&h).unwrap();
        assert!(text.contains("\"database\":\"ok\""));
        assert_eq!(serde_json::from_str::<HealthResponse>(&text).unwrap(), h);
    }

    #[test]
    fn credential_input_is_tagged_and_secrets_go_out_only_in_requests() {
        let c = CredentialInput::Secret { client_secret: SecretString::new("s3cr3t~value".into()) };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json, serde_json::json!({"type": "secret", "client_secret": "s3cr3t~value"}));
        assert!(!format!("{c:?}").contains("s3cr3t"), "Debug of a request never shows the secret");
        let back: CredentialInput = serde_json::from_value(json).unwrap();
        assert!(matches!(back, CredentialInput::Secret { .. }));
        let generated: CredentialInput = serde_json::from_str(r#"{"type":"generated","sign_in_id":"abc"}"#).unwrap();
        assert!(matches!(generated, CredentialInput::Generated { .. }));
    }

    #[test]
    fn create_organization_defaults_to_multiple_applications() {
        let body = r#"{"name":"Contoso","cloud":"global","tenant_id":"t","application_id":"a",
            "credential":{"type":"secret","client_secret":"x"}}"#;
        let req: CreateOrganization = serde_json::from_str(body).unwrap();
        assert!(req.create_multiple_applications);
    }

    #[test]
    fn expiry_states() {
        let now = 1_000_000_000;
        assert_eq!(ExpiryState::at(None, now), ExpiryState::Ok);
        assert_eq!(ExpiryState::at(Some(now - 1), now), ExpiryState::Expired);
        assert_eq!(ExpiryState::at(Some(now), now), ExpiryState::Expired);
        assert_eq!(ExpiryState::at(Some(now + 30 * 86_400), now), ExpiryState::ExpiresSoon);
        assert_eq!(ExpiryState::at(Some(now + 31 * 86_400), now), ExpiryState::Ok);
    }

    #[test]
    fn sign_in_status_never_has_a_device_code_field() {
        let s = SignInStatus {
            id: "x".into(),
            cloud: CloudEnvironment::Global,
            method: AddMethod::DeviceCode,
            state: SignInState::WaitingForSignIn,
            authorize_url: None,
            user_code: Some("ABCD12345".into()),
            verification_uri: Some("https://microsoft.com/devicelogin".into()),
            expires_at: None,
            expires_in: Some(900),
            poll_after: 2,
            progress: vec![],
            error: None,
            result: None,
        };
        let json = serde_json::to_value(&s).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert!(!keys.iter().any(|k| k.contains("device_code") || k.contains("verifier")), "{keys:?}");
        assert!(!SignInState::Registering.is_final());
        assert!(SignInState::Expired.is_final());
    }
}
