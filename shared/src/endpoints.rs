//! Every endpoint of the edge API, described once: who may call it (the public, the backup engine,
//! a portal session), its method, its path (`{id}` stands for an object's ID, `{cloud}` for a
//! cloud's wire name), the type of its request body and of its answer. The app's calls, the edge's
//! route table and its dispatch, and the OpenAPI document are built from this one table: a call
//! with the wrong body or a wrong reading of the answer does not compile, and neither does a new
//! line of the table until the edge dispatches it (its dispatch matches each group's enum
//! exhaustively).

use crate::api::*;
use crate::certificate::CertificateInfo;
use std::marker::PhantomData;

/// An HTTP method of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET` (and `HEAD` where the route table says so).
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// As on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// No body: a request without one, or an answer that is not JSON (`204`, a page). Reading it
/// ignores whatever came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct NoBody;

impl<'de> serde::Deserialize<'de> for NoBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| NoBody)
    }
}

/// One endpoint: `Req` is what it reads, `Resp` what it answers on success.
pub struct Endpoint<Req, Resp> {
    /// What it is.
    pub about: Described,
    types: PhantomData<fn(Req) -> Resp>,
}

impl<Req, Resp> Endpoint<Req, Resp> {
    /// Its method.
    pub const fn method(&self) -> Method {
        self.about.method
    }

    /// Its path template.
    pub const fn path(&self) -> &'static str {
        self.about.path
    }

    /// The path for object (or cloud) `id` (the path itself when it names none).
    pub fn path_for(&self, id: &str) -> String {
        match self.about.parameter() {
            Some(p) => self.about.path.replace(p.placeholder(), id),
            None => self.about.path.to_owned(),
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: no credential (health, Microsoft's redirect back to the Credential pop-up).
    Public,
    /// The backup engine, with an ES256 token signed by one of the account's engine keys.
    Engine,
    /// The portal's app, with a portal session.
    Session,
}

/// What a path's one parameter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parameter {
    /// `{id}`: an object's ID as the edge issues them (a UUID).
    Id,
    /// `{cloud}`: a cloud's wire name (`global`, `usgov_gcc_high`, `usgov_dod`, `china`).
    Cloud,
}

impl Parameter {
    /// Its name in the path template.
    pub const fn name(self) -> &'static str {
        match self {
            Parameter::Id => "id",
            Parameter::Cloud => "cloud",
        }
    }

    /// How the path template writes it: `{id}`, `{cloud}`.
    pub const fn placeholder(self) -> &'static str {
        match self {
            Parameter::Id => "{id}",
            Parameter::Cloud => "{cloud}",
        }
    }
}

/// An endpoint without its types: what the route table and the OpenAPI document read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Described {
    /// Its name in code.
    pub name: &'static str,
    /// Which endpoint it is, in the enum of its access group.
    pub which: Which,
    /// Its method.
    pub method: Method,
    /// Its path template; `{id}` stands for an object's ID.
    pub path: &'static str,
    /// The status of a success.
    pub ok: u16,
    /// The statuses of its refusals (each with the common error body).
    pub errors: &'static [u16],
    /// One sentence for the OpenAPI document.
    pub summary: &'static str,
}

impl Described {
    /// Whether the path names an object (or a cloud).
    pub fn takes_id(&self) -> bool {
        self.parameter().is_some()
    }

    /// The path's parameter, if it has one.
    pub fn parameter(&self) -> Option<Parameter> {
        [Parameter::Id, Parameter::Cloud].into_iter().find(|p| self.path.contains(p.placeholder()))
    }

    /// Who may call it.
    pub const fn access(&self) -> Access {
        match self.which {
            Which::Public(_) => Access::Public,
            Which::Engine(_) => Access::Engine,
            Which::Session(_) => Access::Session,
        }
    }
}

/// The JSON Schema of a body type (`None` for [`NoBody`]), for the OpenAPI document.
#[cfg(feature = "schema")]
pub trait BodySchema {
    /// The schema, registered in `g`.
    fn schema(g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema>;
}

#[cfg(feature = "schema")]
impl BodySchema for NoBody {
    fn schema(_: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
        None
    }
}

#[cfg(feature = "schema")]
macro_rules! body_schemas {
    ($($t:ty),*) => {$(
        impl BodySchema for $t {
            fn schema(g: &mut schemars::SchemaGenerator) -> Option<schemars::Schema> {
                Some(g.subschema_for::<$t>())
            }
        }
    )*};
}

#[cfg(feature = "schema")]
body_schemas!(
    HealthResponse,
    PartnerCustomerList,
    StartPartnerBatch,
    RetryPartnerBatch,
    PartnerBatchStatus,
    PartnerBatchList,
    SessionInfo,
    SignInList,
    StartSignIn,
    SignInStatus,
    ConfirmSignIn,
    SignInWindowClaim,
    InspectCertificate,
    CertificateInfo,
    OrganizationList,
    CreateOrganization,
    Organization,
    UpdateOrganization,
    RepairOrganization,
    DeleteOrganization,
    EngineTokenRequest,
    PermissionList,
    EngineToken,
    UsageList,
    TenantLookupRequest,
    TenantLookup
);

macro_rules! endpoints {
    ($(
        $access:ident $group:ident {$(
            #[doc = $summary:literal]
            $name:ident = $variant:ident: $method:ident $path:literal, $req:ty => $ok:literal $resp:ty, errors $errors:expr;
        )*}
    )*) => {
        $(
            #[doc = concat!("The endpoints of access group `", stringify!($access), "`.")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            pub enum $group {
                $( #[doc = $summary] $variant, )*
            }

            impl $group {
                /// The endpoint's description.
                pub const fn about(self) -> &'static Described {
                    match self { $( $group::$variant => &$name.about, )* }
                }
            }

            $(
                #[doc = $summary]
                pub const $name: Endpoint<$req, $resp> = Endpoint {
                    about: Described {
                        name: stringify!($name),
                        which: Which::$access($group::$variant),
                        method: Method::$method,
                        path: $path,
                        ok: $ok,
                        errors: $errors,
                        summary: $summary.trim_ascii(),
                    },
                    types: PhantomData,
                };
            )*
        )*

        /// Which endpoint, by access group.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Which {
            $( #[doc = concat!("One of [`", stringify!($group), "`].")] $access($group), )*
        }

        /// Every endpoint, in the order of the OpenAPI document.
        pub const ALL: &[Described] = &[$($( $name.about, )*)*];

        /// The schemas of endpoint `name`'s request and success bodies.
        #[cfg(feature = "schema")]
        pub fn schemas(
            name: &str,
            g: &mut schemars::SchemaGenerator,
        ) -> (Option<schemars::Schema>, Option<schemars::Schema>) {
            match name {
                $($( stringify!($name) => (<$req as BodySchema>::schema(g), <$resp as BodySchema>::schema(g)), )*)*
                other => panic!("no endpoint {other}"),
            }
        }
    };
}

endpoints! {
    Public PublicEndpoint {
        /// Liveness and version (no session needed)
        HEALTH = Health: Get "/api/health", NoBody => 200 HealthResponse, errors &[];
        /// Microsoft sends the Credential pop-up back here (no session; the state names the sign-in). Answers an HTML page that tells the app and closes itself
        SIGN_IN_CALLBACK = SignInCallback: Get "/api/signin/callback", NoBody => 200 NoBody, errors &[];
        /// The Credential callback page claims Microsoft's answer itself when it cannot hand it to the app (no session; the claim handle and the state the app left in the window it opened are the proof)
        SIGN_IN_WINDOW = SignInWindow: Post "/api/signin/window", SignInWindowClaim => 204 NoBody, errors &[400, 404, 413, 415];
    }
    Engine EngineEndpoint {
        /// Backup engine: the account's organizations, their applications, workloads, health and credential expiry (never a secret)
        ENGINE_ORGANIZATIONS = Organizations: Get "/api/engine/organizations", NoBody => 200 OrganizationList, errors &[401, 429];
        /// Backup engine: an access token for the organization and a Microsoft resource, minted with its stored credential (cached until 5 minutes before expiry)
        ENGINE_TOKEN = Token: Post "/api/engine/organizations/{id}/token", EngineTokenRequest => 200 EngineToken, errors &[400, 401, 404, 409, 413, 415, 422, 429, 502, 503];
    }
    Session SessionEndpoint {
        /// The portal session as the edge read it
        SESSION = Session: Get "/api/session", NoBody => 200 SessionInfo, errors &[401];
        /// This document
        OPENAPI = OpenApi: Get "/api/openapi.json", NoBody => 200 NoBody, errors &[401];
        /// The account's sign-ins under way (each counts against the limit of 3 until it ends or is cancelled)
        LIST_SIGN_INS = ListSignIns: Get "/api/signins", NoBody => 200 SignInList, errors &[401];
        /// Start a sign-in: device code, or the Credential pop-up (at most 3 under way per account)
        START_SIGN_IN = StartSignIn: Post "/api/signins", StartSignIn => 201 SignInStatus, errors &[400, 401, 404, 415, 422, 429, 502];
        /// Sign-in status and registration progress
        SIGN_IN = SignIn: Get "/api/signins/{id}", NoBody => 200 SignInStatus, errors &[401, 404];
        /// Cancel a sign-in: its last status; afterwards it is gone for the API (404)
        CANCEL_SIGN_IN = CancelSignIn: Delete "/api/signins/{id}", NoBody => 200 SignInStatus, errors &[401, 404];
        /// Start registration: the admin ticked the confirmation (device code), or the browser presents the sign-in window's claim or confirmation code (Credential)
        CONFIRM_SIGN_IN = ConfirmSignIn: Post "/api/signins/{id}/confirm", ConfirmSignIn => 200 SignInStatus, errors &[400, 401, 404, 409, 410, 413, 415, 422];
        /// A new one-time code after the previous one expired
        RENEW_SIGN_IN = RenewSignIn: Post "/api/signins/{id}/renew", NoBody => 200 SignInStatus, errors &[401, 404, 409, 410, 429, 502];
        /// Create the 3 additional applications with this sign-in (409 until a Credential sign-in's answer is claimed)
        ADDITIONAL_APPLICATIONS = AdditionalApplications: Post "/api/signins/{id}/applications", NoBody => 200 SignInStatus, errors &[401, 404, 409, 410, 422];
        /// The customers of a partner sign-in (purpose partner): each one with a GDAP relationship in force, its roles, whether they are enough for the registration, and whether this account holds it already
        PARTNER_CUSTOMERS = PartnerCustomers: Get "/api/signins/{id}/customers", NoBody => 200 PartnerCustomerList, errors &[401, 404, 409, 429, 502, 503];
        /// Onboard the chosen customers with the partner sign-in, which ends: Partner Center's consent, the registration and the save for each, at most 5 at once
        START_PARTNER_BATCH = StartPartnerBatch: Post "/api/partner-batches", StartPartnerBatch => 201 PartnerBatchStatus, errors &[400, 401, 404, 409, 413, 415, 422, 502, 503];
        /// The account's partner batches, newest first
        LIST_PARTNER_BATCHES = ListPartnerBatches: Get "/api/partner-batches", NoBody => 200 PartnerBatchList, errors &[401];
        /// A partner batch and each customer's state
        PARTNER_BATCH = PartnerBatch: Get "/api/partner-batches/{id}", NoBody => 200 PartnerBatchStatus, errors &[401, 404];
        /// Run a finished batch's failed customers again, with a new partner sign-in
        RETRY_PARTNER_BATCH = RetryPartnerBatch: Post "/api/partner-batches/{id}/retry", RetryPartnerBatch => 200 PartnerBatchStatus, errors &[400, 401, 404, 409, 413, 415, 422, 502, 503];
        /// Describe a .pfx before saving (nothing is stored)
        INSPECT_CERTIFICATE = InspectCertificate: Post "/api/certificates/inspect", InspectCertificate => 200 CertificateInfo, errors &[400, 401, 413, 415, 422];
        /// The account's organizations
        LIST_ORGANIZATIONS = ListOrganizations: Get "/api/organizations", NoBody => 200 OrganizationList, errors &[401];
        /// Add an organization after checking its credential against Microsoft
        CREATE_ORGANIZATION = CreateOrganization: Post "/api/organizations", CreateOrganization => 201 Organization, errors &[400, 401, 404, 409, 410, 413, 415, 422, 502, 503];
        /// One organization
        GET_ORGANIZATION = GetOrganization: Get "/api/organizations/{id}", NoBody => 200 Organization, errors &[401, 404];
        /// Edit; application ID and credential changes are checked against Microsoft first
        UPDATE_ORGANIZATION = UpdateOrganization: Patch "/api/organizations/{id}", UpdateOrganization => 200 Organization, errors &[400, 401, 404, 409, 410, 413, 415, 422, 502, 503];
        /// Check the organization's health now: a token for each active application with its stored credential (nothing in the tenant changes)
        CHECK_ORGANIZATION = CheckOrganization: Post "/api/organizations/{id}/check", NoBody => 200 Organization, errors &[401, 404, 429];
        /// Store what a repair sign-in did (missing permissions granted, deleted applications created again, disabled ones enabled, failing credentials replaced by certificates); the organization keeps its ID and name, and is checked again
        REPAIR_ORGANIZATION = RepairOrganization: Post "/api/organizations/{id}/repair", RepairOrganization => 200 Organization, errors &[400, 401, 404, 409, 410, 413, 415, 422, 502, 503];
        /// Which tenant and cloud a domain belongs to, from Microsoft's public OpenID configuration (cached briefly)
        TENANT_LOOKUP = TenantLookup: Post "/api/tenant-lookup", TenantLookupRequest => 200 TenantLookup, errors &[400, 401, 413, 415, 422, 429, 502];
        /// The application permissions an application registered by hand needs in a cloud, with the reason for each
        CLOUD_PERMISSIONS = CloudPermissions: Get "/api/clouds/{cloud}/permissions", NoBody => 200 PermissionList, errors &[401, 404];
        /// The backup engine's recent token requests for the organization (never a token)
        ORGANIZATION_USAGE = OrganizationUsage: Get "/api/organizations/{id}/usage", NoBody => 200 UsageList, errors &[401, 404];
        /// Delete (requires {"confirm": true})
        DELETE_ORGANIZATION = DeleteOrganization: Delete "/api/organizations/{id}", DeleteOrganization => 204 NoBody, errors &[400, 401, 404, 409, 413, 415, 422, 502];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_is_described_once_and_names_itself() {
        for (i, a) in ALL.iter().enumerate() {
            assert!(a.path.starts_with("/api/"), "{}", a.name);
            assert!(!a.summary.is_empty() && (200..300).contains(&a.ok), "{}", a.name);
            for b in &ALL[i + 1..] {
                assert!((a.method, a.path) != (b.method, b.path), "{} and {} are one endpoint", a.name, b.name);
                assert_ne!(a.name, b.name);
            }
        }
        assert_eq!(GET_ORGANIZATION.path_for("o1"), "/api/organizations/o1");
        assert_eq!(START_SIGN_IN.path_for("ignored"), "/api/signins");
        assert!(SIGN_IN.about.takes_id() && !START_SIGN_IN.about.takes_id());
        assert_eq!(CLOUD_PERMISSIONS.path_for("china"), "/api/clouds/china/permissions");
        assert_eq!(CLOUD_PERMISSIONS.about.parameter(), Some(Parameter::Cloud));
        for e in ALL {
            let back = match e.which {
                Which::Public(p) => p.about(),
                Which::Engine(p) => p.about(),
                Which::Session(p) => p.about(),
            };
            assert_eq!(back, e, "{} names itself", e.name);
        }
        assert_eq!(ENGINE_TOKEN.about.access(), Access::Engine);
        assert_eq!(HEALTH.about.access(), Access::Public);
        assert_eq!(CONFIRM_SIGN_IN.about.summary.split(':').next(), Some("Start registration"));
        assert_eq!(serde_json::from_str::<NoBody>(r#"{"anything": 1}"#).unwrap(), NoBody);
        assert_eq!(serde_json::from_str::<NoBody>("null").unwrap(), NoBody);
    }
}
