//! The sign-in Durable Object's internal protocol: what the Worker asks ([`Command`], one variant
//! per operation, each with exactly its own arguments) and what comes back ([`Reply`]). A typo in
//! an operation's name does not compile; a body the Durable Object cannot read is refused whole.

use serde::{Deserialize, Serialize};
use shared::api::{ErrorDetail, SignInStatus};
use shared::secret::{serialize_exposed, serialize_exposed_opt, SecretString};
use shared::{AddMethod, CloudEnvironment};

pub use crate::handover::{Exported, ExportedApp, Removed, RepairOrder};

/// What the Worker sends to a sign-in's Durable Object. Every variant but [`Command::Callback`]
/// names the portal account making the call; a record of another account answers 404.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Command {
    /// Starts the sign-in (`name` is the sign-in's ID: a Durable Object does not know its own name).
    Start {
        /// The owner.
        account: String,
        /// The sign-in's ID.
        name: String,
        /// The cloud.
        cloud: CloudEnvironment,
        /// Device code or Credential.
        method: AddMethod,
        /// Credential: where Microsoft sends the pop-up back.
        redirect_uri: Option<String>,
        /// What it is for.
        #[serde(flatten)]
        purpose: Purpose,
    },
    /// What the browser may see (writes nothing).
    Status {
        /// The caller.
        account: String,
    },
    /// Device code: the admin ticked the checkbox. Credential: the claim from the sign-in window.
    Confirm {
        /// The caller.
        account: String,
        /// Credential: the handle or the confirmation code.
        #[serde(default, serialize_with = "serialize_exposed_opt")]
        claim: Option<SecretString>,
    },
    /// Delete a saved organization's applications (`app_ids`, as stored) from `tenant` of `cloud`
    /// with this sign-in's token, then end the sign-in (see [`super::record::SignInRecord::removal_token`]).
    Remove {
        /// The caller.
        account: String,
        /// The organization being deleted: the one the sign-in was started for.
        organization: String,
        /// The organization's cloud.
        cloud: CloudEnvironment,
        /// The organization's tenant: the sign-in's must be this one.
        tenant: String,
        /// The organization's applications.
        app_ids: Vec<String>,
    },
    /// A new device code, or a new sign-in window (`redirect_uri` required for that).
    Renew {
        /// The caller.
        account: String,
        /// Credential: where Microsoft sends the pop-up back.
        redirect_uri: Option<String>,
    },
    /// The admin cancelled (`DELETE`).
    Cancel {
        /// The caller.
        account: String,
    },
    /// Registers the 3 additional applications; from a save, only in the organization's `tenant`
    /// and `cloud`.
    Additional {
        /// The caller.
        account: String,
        /// The organization's cloud, when a save asks.
        #[serde(default)]
        cloud: Option<CloudEnvironment>,
        /// The organization's tenant, when a save asks.
        #[serde(default)]
        tenant: Option<String>,
    },
    /// Microsoft sent the Credential pop-up back (no session: the state secret is the proof).
    Callback(CallbackAnswer),
    /// The callback page of the window the app opened claims the answer itself (no session: the
    /// claim handle and the `state` the app left in the window are the proof), when it could not
    /// hand the handle to the app (its opener cut off by `Cross-Origin-Opener-Policy`).
    WindowClaim {
        /// The claim handle the callback page received.
        #[serde(serialize_with = "serialize_exposed")]
        handle: SecretString,
        /// The `state` the app left in the window's `sessionStorage`.
        #[serde(serialize_with = "serialize_exposed")]
        proof: SecretString,
    },
    /// Worker-internal: a save takes the applications with their secrets (under a lease).
    Export {
        /// The caller.
        account: String,
    },
    /// Worker-internal: the applications are stored; the hold ends now.
    Saved {
        /// The caller.
        account: String,
    },
    /// Worker-internal: the save failed for good; the applications are deleted now.
    Release {
        /// The caller.
        account: String,
    },
    /// Worker-internal: a partner's sign-in reads the partner's GDAP relationships with its token.
    PartnerRelationships {
        /// The caller.
        account: String,
    },
    /// Worker-internal: a partner's sign-in reads the relationships once more and hands its
    /// refresh token to a batch; the sign-in ends.
    PartnerHandover {
        /// The caller.
        account: String,
    },
    /// Worker-internal (a partner's batch): a customer's sign-in with the token the batch got at
    /// the customer's authority; the main application's registration starts at once.
    StartDelegated {
        /// The owner.
        account: String,
        /// The sign-in's ID.
        name: String,
        /// The cloud.
        cloud: CloudEnvironment,
        /// The token for the customer's Microsoft Graph.
        #[serde(serialize_with = "serialize_exposed")]
        token: SecretString,
        /// Its lifetime, seconds.
        expires_in: u64,
    },
    /// Worker-internal: Step 3 switched to a certificate after automatic registration; it is
    /// registered on every application of this sign-in and the generated secrets are removed.
    UseCertificate {
        /// The caller.
        account: String,
        /// The certificate to register.
        certificate: CertificateToRegister,
    },
}

impl Command {
    /// The account the call is made for (`None` for the callback, which has no session).
    pub fn account(&self) -> Option<&str> {
        match self {
            Command::Callback(_) | Command::WindowClaim { .. } => None,
            Command::Start { account, .. }
            | Command::Status { account }
            | Command::Confirm { account, .. }
            | Command::Renew { account, .. }
            | Command::Cancel { account }
            | Command::Additional { account, .. }
            | Command::Remove { account, .. }
            | Command::Export { account }
            | Command::Saved { account }
            | Command::Release { account }
            | Command::UseCertificate { account, .. }
            | Command::PartnerRelationships { account }
            | Command::PartnerHandover { account }
            | Command::StartDelegated { account, .. } => Some(account),
        }
    }

    /// Whether a public route leads to it (the others are the Worker's own): for those, a
    /// cancelled sign-in is gone.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Command::Status { .. }
                | Command::Confirm { .. }
                | Command::Renew { .. }
                | Command::Cancel { .. }
                | Command::Additional { .. }
                | Command::Remove { .. }
        )
    }

    /// The operation's name, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Start { .. } => "start",
            Command::Status { .. } => "status",
            Command::Confirm { .. } => "confirm",
            Command::Renew { .. } => "renew",
            Command::Cancel { .. } => "cancel",
            Command::Additional { .. } => "additional",
            Command::Remove { .. } => "remove",
            Command::Callback(_) => "callback",
            Command::WindowClaim { .. } => "window-claim",
            Command::Export { .. } => "export",
            Command::Saved { .. } => "saved",
            Command::Release { .. } => "release",
            Command::UseCertificate { .. } => "use-certificate",
            Command::PartnerRelationships { .. } => "partner-relationships",
            Command::PartnerHandover { .. } => "partner-handover",
            Command::StartDelegated { .. } => "start-delegated",
        }
    }
}

/// A certificate to register on a sign-in's applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateToRegister {
    /// The certificate, base64 DER.
    pub der_base64: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// Microsoft's answer to the Credential pop-up, passed from the callback to the Durable Object.
#[derive(Debug, Serialize, Deserialize)]
pub struct CallbackAnswer {
    /// The secret half of `state`.
    #[serde(serialize_with = "serialize_exposed")]
    pub state_secret: SecretString,
    /// The authorization code.
    #[serde(default, serialize_with = "serialize_exposed_opt")]
    pub code: Option<SecretString>,
    /// OAuth `error`.
    #[serde(default)]
    pub error: Option<String>,
    /// OAuth `error_description`.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// What the callback page says (Worker-internal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackOutcome {
    /// Why the answer was not used.
    pub error: Option<ErrorDetail>,
    /// On success: the handle the page posts to the app and the code it shows.
    pub claim: Option<(String, String)>,
}

/// What a sign-in is for ([`shared::api::SignInPurpose`], with a repair's organization read):
/// chosen when it starts, exactly one. Stored flat (`repair`, `removal`, `sign_in_only`), the form
/// the records of sign-ins under way during a deploy were written in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredPurpose", into = "StoredPurpose")]
pub enum Purpose {
    /// Sign in, then register the backup applications.
    #[default]
    Register,
    /// Only the sign-in: its answer is claimed but registers nothing here.
    SignInOnly,
    /// Repair the saved organization of the order.
    Repair(RepairOrder),
    /// Delete the saved organization's applications when it is deleted.
    Remove(String),
    /// A partner's sign-in to its own tenant: its customers are listed with its token, and its
    /// refresh token is handed to a batch (see [`crate::partner`]). It registers nothing.
    Partner,
}

impl Purpose {
    /// Whether confirming the sign-in starts a registration (a new one, or a repair's).
    pub fn registers(&self) -> bool {
        matches!(self, Purpose::Register | Purpose::Repair(_))
    }

    /// What the sign-in's token will be used for, as far as directory roles go (`None`: nothing
    /// in the tenant signed in to).
    pub fn admin_task(&self) -> Option<shared::roles::AdminTask> {
        match self {
            Purpose::Remove(_) => Some(shared::roles::AdminTask::Remove),
            Purpose::Register | Purpose::SignInOnly | Purpose::Repair(_) => Some(shared::roles::AdminTask::Register),
            // The partner's roles that count are those its relationships grant in each customer's
            // tenant; its own tenant's roles do not matter.
            Purpose::Partner => None,
        }
    }

    /// The delegated scopes the sign-in's token is for (the device code's, and the pop-up's code
    /// redemption).
    pub fn scopes(&self, endpoints: &shared::CloudEndpoints) -> String {
        match self {
            Purpose::Partner => crate::microsoft::partner::partner_scopes(endpoints),
            _ => crate::microsoft::identity::admin_scopes(endpoints),
        }
    }

    /// The scopes the pop-up's authorization request asks consent for: the token's, and for a
    /// partner Partner Center's permission beside them (one token names one resource; consent can
    /// be asked for several at once: Learn, "Desktop app that calls web APIs: Move to production").
    pub fn consent_scopes(&self, endpoints: &shared::CloudEndpoints) -> String {
        match self {
            Purpose::Partner => {
                format!("{} {}", self.scopes(endpoints), crate::microsoft::partner::partner_center_scope())
            }
            _ => self.scopes(endpoints),
        }
    }

    /// The refusal of a token whose `wids` claim names roles that cannot do what the sign-in is
    /// for; `None` when they can, or when the token does not say (Microsoft then refuses what the
    /// account may not do, as before).
    pub fn refuse_roles(&self, token: &crate::microsoft::identity::AccessToken) -> Option<ErrorDetail> {
        let task = self.admin_task()?;
        let roles = shared::roles::roles_of(&token.directory_role_ids()?);
        (!task.allowed(&roles)).then(|| ErrorDetail::admin_roles_missing(task))
    }

    /// The repair's order, for a repair.
    pub fn repair(&self) -> Option<&RepairOrder> {
        match self {
            Purpose::Repair(order) => Some(order),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredPurpose {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    repair: Option<RepairOrder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    removal: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    sign_in_only: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    partner: bool,
}

impl From<StoredPurpose> for Purpose {
    fn from(s: StoredPurpose) -> Purpose {
        match s {
            StoredPurpose { repair: Some(order), .. } => Purpose::Repair(order),
            StoredPurpose { removal: Some(organization), .. } => Purpose::Remove(organization),
            StoredPurpose { sign_in_only: true, .. } => Purpose::SignInOnly,
            StoredPurpose { partner: true, .. } => Purpose::Partner,
            _ => Purpose::Register,
        }
    }
}

impl From<Purpose> for StoredPurpose {
    fn from(p: Purpose) -> StoredPurpose {
        let none = StoredPurpose { repair: None, removal: None, sign_in_only: false, partner: false };
        match p {
            Purpose::Register => none,
            Purpose::SignInOnly => StoredPurpose { sign_in_only: true, ..none },
            Purpose::Repair(order) => StoredPurpose { repair: Some(order), ..none },
            Purpose::Remove(organization) => StoredPurpose { removal: Some(organization), ..none },
            Purpose::Partner => StoredPurpose { partner: true, ..none },
        }
    }
}

/// What the Durable Object answers to a command that succeeded.
#[derive(Debug)]
pub enum Reply {
    /// The sign-in as the browser may see it (every public operation).
    Status(Box<SignInStatus>),
    /// The applications taken by a save ([`Command::Export`]).
    Exported(Exported),
    /// What the callback page says ([`Command::Callback`]).
    Callback(CallbackOutcome),
    /// The applications [`Command::Remove`] could not delete (none: all gone, the sign-in ended).
    Removed(Removed),
    /// A partner's relationships ([`Command::PartnerRelationships`]).
    Relationships(Vec<crate::microsoft::partner::Relationship>),
    /// A partner's refresh token and relationships ([`Command::PartnerHandover`]).
    PartnerGrant(PartnerGrant),
}

/// What a partner's sign-in hands to a batch (Worker-internal; no `Debug`: it carries a secret).
#[derive(Serialize, Deserialize)]
pub struct PartnerGrant {
    /// The partner admin's refresh token.
    #[serde(serialize_with = "serialize_exposed")]
    pub refresh_token: SecretString,
    /// The partner's relationships, read now.
    pub relationships: Vec<crate::microsoft::partner::Relationship>,
}

impl std::fmt::Debug for PartnerGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerGrant").field("relationships", &self.relationships.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_is_the_tag_and_each_carries_only_its_arguments() {
        let cmd = Command::Additional { account: "acct".into(), cloud: None, tenant: Some("t".into()) };
        let json = serde_json::to_value(&cmd).unwrap();
        assert_eq!(json["op"], "additional");
        let back: Command = serde_json::from_value(json).unwrap();
        assert_eq!(back.account(), Some("acct"));
        assert!(back.is_public());

        let cert = Command::UseCertificate {
            account: "a".into(),
            certificate: CertificateToRegister { der_base64: "AA==".into(), not_before: 1, not_after: 2 },
        };
        assert_eq!(serde_json::to_value(&cert).unwrap()["op"], "use-certificate");
        assert!(!cert.is_public());
        // An unknown operation, or one without its arguments, is not a command.
        assert!(serde_json::from_str::<Command>(r#"{"op":"stat","account":"a"}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"op":"use-certificate","account":"a"}"#).is_err());
    }

    #[test]
    fn the_callback_carries_its_secrets_to_the_durable_object_and_names_no_account() {
        let cmd = Command::Callback(CallbackAnswer {
            state_secret: SecretString::new("s3cret".into()),
            code: Some(SecretString::new("c0de".into())),
            error: None,
            error_description: None,
        });
        let text = serde_json::to_string(&cmd).unwrap();
        assert!(text.contains("s3cret") && text.contains("c0de"));
        let back: Command = serde_json::from_str(&text).unwrap();
        assert_eq!(back.account(), None);
        assert_eq!(back.name(), "callback");
    }
}

#[cfg(test)]
mod purpose_tests {
    use super::*;

    #[test]
    fn a_purpose_is_stored_flat_and_read_back_as_itself() {
        let order = RepairOrder { organization_id: "o".into(), tenant_id: "t".into(), apps: vec![] };
        for p in [
            Purpose::Register,
            Purpose::SignInOnly,
            Purpose::Repair(order),
            Purpose::Remove("o".into()),
            Purpose::Partner,
        ] {
            let stored = serde_json::to_value(&p).unwrap();
            assert_eq!(serde_json::from_value::<Purpose>(stored).unwrap(), p);
        }
        // The flat form records in flight were written in.
        let removal: Purpose = serde_json::from_value(serde_json::json!({"removal": "org-1"})).unwrap();
        assert_eq!(removal, Purpose::Remove("org-1".into()));
        assert_eq!(serde_json::from_value::<Purpose>(serde_json::json!({})).unwrap(), Purpose::Register);
        assert!(!Purpose::SignInOnly.registers() && !Purpose::Remove("o".into()).registers());
    }
}
