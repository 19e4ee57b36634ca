//! One application of a registration run: where it stands in the tenant, as one state per part
//! (its object, its service principal, its credential) instead of a row of flags. It is stored in
//! the sign-in's record in a flat form ([`Stored`]) that the runs in flight on a deploy still read.

use super::plan::GeneratedCertificate;
use serde::{Deserialize, Serialize};
use shared::api::AppSlot;
use shared::secret::{serialize_exposed, SecretString};

/// Where the application came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Created by this run: deleted again if the run fails.
    New,
    /// Repair: it belongs to a saved organization. This service never deletes it, whatever happens
    /// to the run.
    Adopted,
}

/// The application object in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Object {
    /// Nothing was sent yet: create it.
    New,
    /// A `POST /applications` for it may have been sent (a run interrupted after it): look it up
    /// by its tag before creating it.
    Sent,
    /// Repair: known by its application ID only; to look up (deleted, or still there?).
    Saved {
        /// Its application (client) ID.
        app_id: String,
    },
    /// It exists.
    Known {
        /// Its object ID.
        object_id: String,
        /// Its application (client) ID.
        app_id: String,
    },
}

/// The application's service principal in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Repair: still to look up (missing, or disabled?).
    Unknown,
    /// There is none: create it.
    Missing,
    /// It exists but is disabled: enable it again.
    Disabled(String),
    /// It exists and is enabled.
    Enabled(String),
}

impl Principal {
    /// Its object ID, when it exists.
    pub fn id(&self) -> Option<&str> {
        match self {
            Principal::Disabled(id) | Principal::Enabled(id) => Some(id),
            Principal::Unknown | Principal::Missing => None,
        }
    }
}

/// The credential the backup will use.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A certificate is still to be generated for it.
    ToMake,
    /// Generated, not yet registered on the application.
    Generated(GeneratedCertificate),
    /// Generated and registered (`keyCredentials`).
    Registered(GeneratedCertificate),
    /// A client secret, from a run stored before certificates replaced secrets.
    Secret {
        /// The secret.
        secret: SecretString,
        /// When it ends, Unix seconds.
        expires_at: Option<i64>,
        /// Its `keyId` (to remove it when a certificate replaces it).
        key_id: Option<String>,
    },
    /// Step 3 registered the administrator's own certificate; the generated one is forgotten.
    Uploaded,
    /// Repair: its stored credential works and stays; no certificate is made for it.
    Kept,
}

/// One application being registered.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Stored", into = "Stored")]
pub struct App {
    /// 0 for the main application, 1..=3 for the additional ones.
    pub index: u8,
    /// Tag that identifies it (for a resumed run).
    pub marker: String,
    /// Where it came from.
    pub origin: Origin,
    /// Its application object.
    pub object: Object,
    /// Its service principal.
    pub principal: Principal,
    /// Its credential.
    pub credential: Credential,
    /// The application lists its permissions (`requiredResourceAccess`), so that the Azure portal
    /// shows them under API permissions.
    pub declared: bool,
    /// Role IDs assigned so far.
    pub granted: Vec<String>,
    /// The credential check passed.
    pub verified: bool,
}

impl App {
    /// A new application `index` of the run tagged `marker`.
    pub fn new(index: u8, marker: &str) -> Self {
        App {
            index,
            marker: format!("{marker}-{index}"),
            origin: Origin::New,
            object: Object::New,
            principal: Principal::Missing,
            credential: Credential::ToMake,
            declared: false,
            granted: vec![],
            verified: false,
        }
    }

    /// Repair: application `index` of a saved organization, known by `app_id`; `renew` when its
    /// stored credential fails or nears its end.
    pub fn adopted(index: u8, marker: &str, app_id: &str, renew: bool) -> Self {
        App {
            origin: Origin::Adopted,
            object: Object::Saved { app_id: app_id.to_owned() },
            principal: Principal::Unknown,
            credential: if renew { Credential::ToMake } else { Credential::Kept },
            verified: !renew,
            ..App::new(index, marker)
        }
    }

    /// Repair found it deleted: it is created again like a new one (a new application ID).
    pub fn gone(&mut self) {
        let marker = std::mem::take(&mut self.marker);
        *self = App { marker, ..App::new(self.index, "") };
    }

    /// Which application of the organization it is.
    pub fn slot(&self) -> AppSlot {
        AppSlot::of_index(self.index)
    }

    /// Its object ID, once it exists.
    pub fn object_id(&self) -> Option<&str> {
        match &self.object {
            Object::Known { object_id, .. } => Some(object_id),
            _ => None,
        }
    }

    /// Its application (client) ID, once known.
    pub fn app_id(&self) -> Option<&str> {
        match &self.object {
            Object::Known { app_id, .. } | Object::Saved { app_id } => Some(app_id.as_str()).filter(|a| !a.is_empty()),
            Object::New | Object::Sent => None,
        }
    }

    /// The certificate generated for it, while the run holds it.
    pub fn certificate(&self) -> Option<&GeneratedCertificate> {
        match &self.credential {
            Credential::Generated(c) | Credential::Registered(c) => Some(c),
            _ => None,
        }
    }

    /// Its client secret (runs stored before certificates).
    pub fn secret(&self) -> Option<(&SecretString, Option<i64>)> {
        match &self.credential {
            Credential::Secret { secret, expires_at, .. } => Some((secret, *expires_at)),
            _ => None,
        }
    }

    /// Whether the run still holds a credential the backup can be saved with.
    pub fn holds_credential(&self) -> bool {
        matches!(
            self.credential,
            Credential::Generated(_) | Credential::Registered(_) | Credential::Secret { .. } | Credential::Kept
        )
    }

    /// Whether the credential step is done for it.
    pub fn credential_in_place(&self) -> bool {
        matches!(self.credential, Credential::Registered(_) | Credential::Secret { .. } | Credential::Kept)
    }

    /// Forgets the generated credential (Step 3 registered the administrator's certificate).
    pub fn forget_credential(&mut self) {
        if !matches!(self.credential, Credential::Kept) {
            self.credential = Credential::Uploaded;
        }
    }
}

/// How an [`App`] is stored: one flat record (the form runs were stored in before the states).
#[derive(Serialize, Deserialize)]
struct Stored {
    index: u8,
    marker: String,
    object_id: Option<String>,
    app_id: Option<String>,
    sp_id: Option<String>,
    #[serde(serialize_with = "serialize_secret_opt", default)]
    secret: Option<SecretString>,
    secret_expires_at: Option<i64>,
    #[serde(default)]
    secret_key_id: Option<String>,
    #[serde(default)]
    certificate: Option<GeneratedCertificate>,
    #[serde(default)]
    key_added: bool,
    granted: Vec<String>,
    #[serde(default)]
    declared: bool,
    verified: bool,
    #[serde(default)]
    create_sent: bool,
    #[serde(default)]
    adopted: bool,
    #[serde(default)]
    find_app: bool,
    #[serde(default)]
    find_sp: bool,
    #[serde(default)]
    sp_disabled: bool,
    #[serde(default)]
    keep_credential: bool,
}

fn serialize_secret_opt<S: serde::Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(secret) => serialize_exposed(secret, s),
        None => s.serialize_none(),
    }
}

impl From<Stored> for App {
    fn from(s: Stored) -> App {
        let object = match (s.object_id, s.app_id) {
            (Some(object_id), app_id) => Object::Known { object_id, app_id: app_id.unwrap_or_default() },
            (None, Some(app_id)) if s.find_app => Object::Saved { app_id },
            _ if s.create_sent => Object::Sent,
            _ => Object::New,
        };
        let principal = match s.sp_id {
            _ if s.find_sp => Principal::Unknown,
            Some(id) if s.sp_disabled => Principal::Disabled(id),
            Some(id) => Principal::Enabled(id),
            None => Principal::Missing,
        };
        let credential = match (s.secret, s.certificate) {
            _ if s.keep_credential => Credential::Kept,
            (Some(secret), _) => {
                Credential::Secret { secret, expires_at: s.secret_expires_at, key_id: s.secret_key_id }
            }
            (None, Some(c)) if s.key_added => Credential::Registered(c),
            (None, Some(c)) => Credential::Generated(c),
            (None, None) if s.key_added => Credential::Uploaded,
            (None, None) => Credential::ToMake,
        };
        App {
            index: s.index,
            marker: s.marker,
            origin: if s.adopted { Origin::Adopted } else { Origin::New },
            object,
            principal,
            credential,
            declared: s.declared,
            granted: s.granted,
            verified: s.verified,
        }
    }
}

impl From<App> for Stored {
    fn from(a: App) -> Stored {
        let (object_id, app_id, find_app, create_sent) = match a.object {
            Object::New => (None, None, false, false),
            Object::Sent => (None, None, false, true),
            Object::Saved { app_id } => (None, Some(app_id), true, false),
            Object::Known { object_id, app_id } => (Some(object_id), Some(app_id), false, false),
        };
        let (sp_id, find_sp, sp_disabled) = match a.principal {
            Principal::Unknown => (None, true, false),
            Principal::Missing => (None, false, false),
            Principal::Disabled(id) => (Some(id), false, true),
            Principal::Enabled(id) => (Some(id), false, false),
        };
        let mut s = Stored {
            index: a.index,
            marker: a.marker,
            object_id,
            app_id,
            sp_id,
            secret: None,
            secret_expires_at: None,
            secret_key_id: None,
            certificate: None,
            key_added: false,
            granted: a.granted,
            declared: a.declared,
            verified: a.verified,
            create_sent,
            adopted: a.origin == Origin::Adopted,
            find_app,
            find_sp,
            sp_disabled,
            keep_credential: false,
        };
        match a.credential {
            Credential::ToMake => {}
            Credential::Generated(c) => s.certificate = Some(c),
            Credential::Registered(c) => (s.certificate, s.key_added) = (Some(c), true),
            Credential::Secret { secret, expires_at, key_id } => {
                (s.secret, s.secret_expires_at, s.secret_key_id) = (Some(secret), expires_at, key_id)
            }
            Credential::Uploaded => s.key_added = true,
            Credential::Kept => s.keep_credential = true,
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(a: &App) -> App {
        serde_json::from_value(serde_json::to_value(a).unwrap()).unwrap()
    }

    #[test]
    fn every_state_is_stored_and_read_back_as_itself() {
        let order =
            super::super::plan::CertificateOrder { index: 0, common_name: "c".into(), not_before: 1, not_after: 2 };
        let cert = super::super::plan::tests::fake_certificate(&order);
        let known = Object::Known { object_id: "o".into(), app_id: "a".into() };
        let cases = [
            App::new(0, "m"),
            App { object: Object::Sent, ..App::new(1, "m") },
            App::adopted(2, "m", "a-2", true),
            App::adopted(3, "m", "a-3", false),
            App { object: known.clone(), principal: Principal::Disabled("s".into()), ..App::new(0, "m") },
            App {
                object: known.clone(),
                principal: Principal::Enabled("s".into()),
                credential: Credential::Generated(cert.clone()),
                ..App::new(0, "m")
            },
            App { object: known.clone(), credential: Credential::Registered(cert), declared: true, ..App::new(0, "m") },
            App {
                object: known.clone(),
                credential: Credential::Secret {
                    secret: SecretString::new("s~1".into()),
                    expires_at: Some(9),
                    key_id: Some("k".into()),
                },
                ..App::new(0, "m")
            },
            App { object: known, credential: Credential::Uploaded, granted: vec!["r".into()], ..App::new(0, "m") },
        ];
        for a in cases {
            let back = round_trip(&a);
            assert_eq!(format!("{:?}", back.object), format!("{:?}", a.object));
            assert_eq!(back.principal, a.principal);
            assert_eq!(format!("{:?}", back.credential), format!("{:?}", a.credential));
            assert_eq!(
                (back.origin, back.declared, back.verified, &back.granted),
                (a.origin, a.declared, a.verified, &a.granted)
            );
        }
    }

    #[test]
    fn a_run_stored_in_the_flat_form_reads_into_states() {
        let stored = serde_json::json!({"index": 1, "marker": "m-1", "object_id": null, "app_id": "a-1",
            "sp_id": null, "secret_expires_at": null, "granted": [], "verified": true,
            "adopted": true, "find_app": true, "find_sp": true, "keep_credential": true});
        let a: App = serde_json::from_value(stored).unwrap();
        assert_eq!(a.origin, Origin::Adopted);
        assert_eq!(a.object, Object::Saved { app_id: "a-1".into() });
        assert_eq!(a.principal, Principal::Unknown);
        assert!(matches!(a.credential, Credential::Kept) && a.app_id() == Some("a-1"));
    }
}
