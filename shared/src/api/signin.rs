//! Sign-in (Step 2).

use super::*;

/// `POST /api/signins`. Unknown fields are refused: a client that names what the sign-in is for in
/// another way (say, an older app's `remove_organization_id`) gets a 400, never a sign-in that
/// registers.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSignIn {
    /// The cloud the tenant lives in.
    pub cloud: CloudEnvironment,
    /// How the admin signs in.
    pub method: SignInMethod,
    /// What the sign-in is for (absent: [`SignInPurpose::Register`]).
    #[serde(default, skip_serializing_if = "SignInPurpose::is_register")]
    pub purpose: SignInPurpose,
}

impl StartSignIn {
    /// A sign-in in `cloud` by `method` that registers new applications.
    pub fn new(cloud: CloudEnvironment, method: SignInMethod) -> Self {
        Self { cloud, method, purpose: SignInPurpose::Register }
    }
}

/// How the administrator signs in to Microsoft (the add methods that sign in: the Manual method
/// needs no sign-in).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// Microsoft's sign-in page in a pop-up.
    Credential,
    /// A one-time code typed on Microsoft's device login page.
    DeviceCode,
}

impl From<SignInMethod> for AddMethod {
    fn from(m: SignInMethod) -> AddMethod {
        match m {
            SignInMethod::Credential => AddMethod::Credential,
            SignInMethod::DeviceCode => AddMethod::DeviceCode,
        }
    }
}

impl SignInMethod {
    /// The add method's sign-in, if it has one.
    pub fn of(method: AddMethod) -> Option<SignInMethod> {
        match method {
            AddMethod::Credential => Some(SignInMethod::Credential),
            AddMethod::DeviceCode => Some(SignInMethod::DeviceCode),
            AddMethod::Manual => None,
        }
    }
}

/// What a sign-in is for: exactly one thing, chosen when it starts.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "organization_id", rename_all = "snake_case")]
pub enum SignInPurpose {
    /// The wizard: sign in, then register the backup applications.
    #[default]
    Register,
    /// Only the sign-in, for creating applications elsewhere (the Manual method's Save, "Recreate
    /// multiple applications"): its answer is claimed but registers nothing; the save that names
    /// the sign-in creates the applications.
    SignInOnly,
    /// Repair the saved organization (of this account, in this cloud): its registration does only
    /// what the organization is missing, and a sign-in in another tenant changes nothing.
    Repair(OrganizationId),
    /// Delete the saved organization's applications from Microsoft 365 when the organization is
    /// deleted (`DeleteOrganization.remove_with_sign_in`). It registers nothing, and no other
    /// sign-in deletes anything.
    Remove(OrganizationId),
    /// A partner's administrator signs in to the partner's own tenant (Global cloud only) to list
    /// the customers with GDAP relationships and onboard some of them in a batch
    /// (`POST /api/partner-batches`). It registers nothing in the partner's tenant.
    Partner,
}

impl SignInPurpose {
    /// Whether it is [`SignInPurpose::Register`].
    pub fn is_register(&self) -> bool {
        *self == SignInPurpose::Register
    }

    /// Whether confirming the sign-in starts a registration (a new one, or a repair's).
    pub fn registers(&self) -> bool {
        matches!(self, SignInPurpose::Register | SignInPurpose::Repair(_))
    }
}

/// `POST /api/signins/{id}/confirm`. Device code: the admin ticked the confirmation (no body
/// needed). Credential: `claim` proves that this browser received Microsoft's answer, either the
/// handle the sign-in window posted to the app or the confirmation code it shows; registration
/// starts only then, so a sign-in completed in a window the app did not open (a phished link)
/// registers nothing.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmSignIn {
    /// The handle or the confirmation code (Credential method only).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "crate::secret::serialize_exposed_opt")]
    pub claim: Option<SecretString>,
}

/// The `type` of the message the Credential pop-up's last page posts to the app (its opener), on
/// the app's own origin only: `{type, id, ok, error?, message, claim?}` (`claim`: the handle for
/// [`ConfirmSignIn`]). Only a hint to read the status at once; the
/// status stays the truth (a pop-up may lose its opener, e.g. under `Cross-Origin-Opener-Policy`).
pub const SIGNIN_WINDOW_MESSAGE: &str = "m365-onboarding:signin-window";

/// The `sessionStorage` key under which the app leaves, in the Credential sign-in window it opened
/// and before sending it to Microsoft, the `state` of the authorization URL. The storage of a tab
/// survives the trip to Microsoft and back even when `Cross-Origin-Opener-Policy` cuts the window
/// off from the app, so the callback page can prove with it ([`SignInWindowClaim`]) that it is the
/// window the app opened. A window opened from a link has no such value and shows its code.
pub const SIGNIN_WINDOW_STORAGE_KEY: &str = "m365-onboarding:signin-window-state";

/// What the Credential callback page sends when it cannot reach the app: the claim handle it was
/// given and the `state` the app left in the window's `sessionStorage`
/// ([`SIGNIN_WINDOW_STORAGE_KEY`]). Together they prove that the window the app opened received
/// Microsoft's answer, which claims it as the app would.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInWindowClaim {
    /// The sign-in's ID.
    pub id: String,
    /// The claim handle the callback page received.
    #[serde(serialize_with = "crate::secret::serialize_exposed")]
    pub handle: SecretString,
    /// The `state` the app left in the window.
    #[serde(serialize_with = "crate::secret::serialize_exposed")]
    pub proof: SecretString,
}

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
    /// Credential method: Microsoft's answer was claimed (by the app with the window's handle or
    /// code, or by the window the app opened), so a save or the additional applications may use it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claimed: bool,
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
