//! What a sign-in holds: the device code while it polls, the admin's token while it is needed, and
//! the registrations it made, until they are saved or deleted.

use super::*;

/// The device code and what the admin sees of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceState {
    /// Secret.
    #[serde(serialize_with = "serialize_exposed")]
    pub device_code: SecretString,
    /// Shown to the admin.
    pub user_code: String,
    /// Shown to the admin, as Microsoft returned it.
    pub verification_uri: String,
}

/// The admin's delegated token, held only inside the Durable Object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeldToken {
    /// Secret.
    #[serde(serialize_with = "serialize_exposed")]
    pub access_token: SecretString,
    /// When it stops working.
    pub expires_at: Millis,
    /// While nothing uses it (signed in, nothing registered): when it is forgotten.
    #[serde(default)]
    pub unused_until: Option<Millis>,
    /// A partner's sign-in only: the refresh token, until a batch takes it (secret).
    #[serde(
        default,
        serialize_with = "shared::secret::serialize_exposed_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub refresh_token: Option<SecretString>,
}

impl HeldToken {
    pub(super) fn from(t: AccessToken, now: Millis, window: i64) -> Self {
        let expires_at = now + (t.expires_in as i64).saturating_mul(1000);
        Self {
            access_token: t.access_token,
            expires_at,
            unused_until: Some(now + window),
            refresh_token: t.refresh_token,
        }
    }

    /// The same token taken into use by a registration: it is kept for the hold, until it expires.
    pub(super) fn in_use(&self) -> Self {
        // A registration never needs a refresh token.
        Self { unused_until: None, refresh_token: None, ..self.clone() }
    }

    /// When it is forgotten: at its expiry, or at the end of its wait for a use, whichever is first.
    pub fn forget_at(&self) -> Millis {
        self.unused_until.map_or(self.expires_at, |u| u.min(self.expires_at))
    }
}

/// What a sign-in registered in the tenant, and how long it is held there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holding {
    /// The admin's token, until the hold ends.
    pub token: Option<HeldToken>,
    /// The main application's registration.
    pub main: Option<Registration>,
    /// The additional applications' registration.
    pub additional: Option<Registration>,
    /// When the token is dropped and the applications no organization holds are deleted.
    pub discard_at: Option<Millis>,
    /// A save has taken the applications and is storing them: nothing deletes them before this.
    pub save_lease_until: Option<Millis>,
    /// Step 3 was saved: the applications belong to an organization now.
    pub saved: bool,
}

impl Holding {
    pub(super) fn registrations(&self) -> impl Iterator<Item = &Registration> {
        [&self.main, &self.additional].into_iter().flatten()
    }

    /// The registration currently running, if any.
    pub(super) fn running(&mut self) -> Option<&mut Registration> {
        match (&mut self.main, &mut self.additional) {
            (Some(m), _) if !matches!(m.phase, Phase::Done | Phase::Failed) => Some(m),
            (_, Some(a)) if !matches!(a.phase, Phase::Done | Phase::Failed) => Some(a),
            _ => None,
        }
    }

    /// The earliest time anything may be deleted: now, or the end of a save's lease.
    pub(super) fn deletion_floor(&self, now: Millis) -> Millis {
        self.save_lease_until.map_or(now, |l| l.max(now))
    }
}
