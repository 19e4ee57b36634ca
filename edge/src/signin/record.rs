//! What the sign-in's Durable Object persists, its transitions, and what the browser may see.
//!
//! The record is stored as one value and written before and after every step, so a restarted
//! worker resumes from it. Secrets in it (the device code, the admin's token, generated client
//! secrets) are removed as soon as they are no longer needed: the device code when polling ends,
//! the token after registration has been saved or abandoned ([`HOLD_AFTER_COMPLETION_MS`]).

use super::browser::{BrowserSignIn, Claim, MAX_CLAIM_ATTEMPTS, REDEEM_WINDOW_MS};
use super::poller::{Decision, Millis, Poller};
use crate::microsoft::identity::{AccessToken, DeviceAuthorization};
use crate::provisioning::plan::{Phase, Registration};
use serde::{Deserialize, Serialize};
use shared::api::{ErrorDetail, ProgressStep, RegistrationResult, SignInState, SignInStatus, StepState};
use shared::secret::{serialize_exposed, SecretString};
use shared::{AddMethod, CloudEnvironment, ErrorCode};

/// How long the admin's token and the unsaved applications are kept after registration.
pub const HOLD_AFTER_COMPLETION_MS: Millis = 30 * 60 * 1000;
/// How often the browser should read the status.
pub const STATUS_POLL_SECS: u64 = 2;
/// How long a save that took a sign-in's applications holds them against deletion (its credential
/// check may wait up to 2 minutes for Microsoft's replication).
pub const SAVE_LEASE_MS: Millis = 3 * 60 * 1000;
/// How many additional applications "Create multiple applications" adds.
pub const ADDITIONAL_APPLICATIONS: u8 = 3;

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
}

/// One sign-in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignInRecord {
    /// ID (the Durable Object's name).
    pub id: String,
    /// The portal account that owns it.
    pub account: String,
    /// The cloud.
    pub cloud: CloudEnvironment,
    /// The public client used.
    pub client_id: String,
    /// Device code, or Credential (the pop-up).
    #[serde(default = "device_code")]
    pub method: AddMethod,
    /// State.
    pub state: SignInState,
    /// The device code, while polling.
    pub device: Option<DeviceState>,
    /// Credential method: the PKCE verifier and `state`, until Microsoft's answer arrives.
    #[serde(default)]
    pub browser: Option<BrowserSignIn>,
    /// Credential method: the digest of the latest window's `state` secret, kept after the answer was
    /// taken, so a wrong secret gets the same answer whatever the sign-in's state.
    #[serde(default)]
    pub state_digest: Option<String>,
    /// Credential method: Microsoft's answer is being redeemed, until this time at the latest.
    #[serde(default)]
    pub redeeming_until: Option<Millis>,
    /// Credential method: the token is held; registration waits for the owner's browser to prove it
    /// received the answer.
    #[serde(default)]
    pub claim: Option<Claim>,
    /// The polling schedule, while polling.
    pub poller: Option<Poller>,
    /// The admin ticked the confirmation checkbox.
    pub confirmed: bool,
    /// The admin's token, between sign-in and the end of the hold.
    pub token: Option<HeldToken>,
    /// The main application's registration.
    pub main: Option<Registration>,
    /// The additional applications' registration.
    pub additional: Option<Registration>,
    /// Why it failed.
    pub error: Option<ErrorDetail>,
    /// Created.
    pub created_at: Millis,
    /// When the token is dropped and unsaved applications deleted.
    pub discard_at: Option<Millis>,
    /// Step 3 was saved: the applications belong to an organization now and are kept.
    pub saved: bool,
    /// How long unsaved applications are held after registration ([`HOLD_AFTER_COMPLETION_MS`]
    /// unless the tests shorten it).
    #[serde(default)]
    pub hold_ms: Option<Millis>,
    /// A save has taken the applications and is storing them: nothing deletes them before this.
    #[serde(default)]
    pub save_lease_until: Option<Millis>,
}

fn device_code() -> AddMethod {
    AddMethod::DeviceCode
}

impl SignInRecord {
    /// A new sign-in, before Microsoft has issued a code.
    pub fn new(id: &str, account: &str, cloud: CloudEnvironment, client_id: &str, now: Millis) -> Self {
        Self {
            id: id.to_owned(),
            account: account.to_owned(),
            cloud,
            client_id: client_id.to_owned(),
            method: AddMethod::DeviceCode,
            state: SignInState::WaitingForSignIn,
            device: None,
            browser: None,
            state_digest: None,
            redeeming_until: None,
            claim: None,
            poller: None,
            confirmed: false,
            token: None,
            main: None,
            additional: None,
            error: None,
            created_at: now,
            discard_at: None,
            saved: false,
            hold_ms: None,
            save_lease_until: None,
        }
    }

    /// Microsoft issued a (new) code.
    pub fn on_device_code(&mut self, d: DeviceAuthorization, now: Millis) {
        self.poller = Some(Poller::new(d.interval, d.expires_in, now));
        self.device = Some(DeviceState {
            device_code: d.device_code,
            user_code: d.user_code,
            verification_uri: d.verification_uri,
        });
        self.state = if self.confirmed { SignInState::WaitingForMicrosoft } else { SignInState::WaitingForSignIn };
        self.error = None;
    }

    /// Credential method: a (new) pop-up sign-in was prepared. Signing in there and handing the
    /// answer back to the app (see [`Self::claim`]) is the admin's confirmation.
    pub fn on_browser_sign_in(&mut self, b: BrowserSignIn) {
        self.method = AddMethod::Credential;
        self.state_digest = Some(super::browser::state_digest(b.state_secret.expose()));
        self.browser = Some(b);
        self.token = None;
        self.redeeming_until = None;
        self.claim = None;
        self.confirmed = false;
        self.state = SignInState::WaitingForSignIn;
        self.error = None;
    }

    /// Credential method: Microsoft sent the pop-up back with `state_secret`. The secret is checked
    /// first: a wrong one gets [`ErrorCode::StateMismatch`] whatever the state (so a sign-in ID alone
    /// tells nothing) and changes nothing, so a forged answer cannot end the admin's sign-in. On a
    /// match the pending sign-in is taken (so the same answer cannot be used twice), the record
    /// marked as redeeming, and the pending sign-in returned for redemption.
    pub fn take_browser_answer(&mut self, state_secret: &str, now: Millis) -> Result<BrowserSignIn, ErrorCode> {
        let known = match (&self.state_digest, &self.browser) {
            (Some(d), _) => super::browser::digest_matches(d, state_secret),
            // A record written before digests were kept: its pending window still knows the secret.
            (None, Some(b)) => b.state_matches(state_secret),
            (None, None) => false,
        };
        if !known {
            return Err(ErrorCode::StateMismatch);
        }
        self.tick(now);
        let Some(pending) = self.browser.as_ref() else {
            return Err(match self.state {
                SignInState::Expired => ErrorCode::SignInWindowExpired,
                SignInState::Cancelled | SignInState::Failed => ErrorCode::SignInCancelled,
                _ => ErrorCode::CodeAlreadyUsed,
            });
        };
        if !pending.state_matches(state_secret) {
            return Err(ErrorCode::StateMismatch);
        }
        self.redeeming_until = Some(now + REDEEM_WINDOW_MS);
        Ok(self.browser.take().expect("checked above"))
    }

    /// Whether a new code (device code) or a new sign-in window (Credential) may replace this one.
    /// Credential: at any time before the answer was claimed (a window lost or closed, a code not
    /// at hand); the old state then stops working and a redemption under way is dropped.
    pub fn can_renew(&self) -> bool {
        match self.method {
            AddMethod::Credential => {
                !self.confirmed
                    && matches!(
                        self.state,
                        SignInState::WaitingForSignIn
                            | SignInState::SignedIn
                            | SignInState::Expired
                            | SignInState::Failed
                    )
            }
            _ => matches!(self.state, SignInState::Expired | SignInState::Failed) && self.token.is_none(),
        }
    }

    /// Whether a redemption taken by [`Self::take_browser_answer`] may still land (nothing
    /// cancelled or expired the sign-in meanwhile).
    pub fn is_redeeming(&self) -> bool {
        self.state == SignInState::WaitingForSignIn && self.redeeming_until.is_some()
    }

    /// Credential method: the code was redeemed; the token is held until the owner's browser claims
    /// the answer with `claim`'s handle or code.
    pub fn on_browser_token(&mut self, t: AccessToken, claim: Claim, now: Millis) {
        self.on_token(t, now);
        self.redeeming_until = None;
        self.claim = Some(claim);
    }

    /// Credential method: the pop-up sign-in failed (Microsoft's error, or the code was refused).
    pub fn on_browser_failed(&mut self, error: ErrorDetail) {
        self.end_browser_sign_in(SignInState::Failed, error);
    }

    /// Credential method: the sign-in ends (`Failed` or `Expired`) before registration, and every
    /// secret it held for the pop-up (state, verifier, claim, token) is dropped.
    fn end_browser_sign_in(&mut self, state: SignInState, error: ErrorDetail) {
        self.browser = None;
        self.redeeming_until = None;
        self.claim = None;
        self.token = None;
        self.state = state;
        self.error = Some(error);
    }

    /// Credential method: the owner's browser presents the handle the window posted to it, or the
    /// code the window shows. A match confirms (registration may start); too many wrong codes end
    /// the sign-in and drop the token.
    pub fn claim(&mut self, presented: &str, now: Millis) -> Result<(), ErrorCode> {
        self.tick(now);
        if self.method != AddMethod::Credential || self.state != SignInState::SignedIn {
            return Err(ErrorCode::AuthorizationPending);
        }
        let Some(claim) = self.claim.as_mut() else { return Err(ErrorCode::AuthorizationPending) };
        if claim.accepts(presented) {
            self.claim = None;
            self.confirmed = true;
            return Ok(());
        }
        claim.attempts += 1;
        if claim.attempts >= MAX_CLAIM_ATTEMPTS {
            self.end_browser_sign_in(SignInState::Failed, ErrorDetail::new(ErrorCode::SignInFailed));
            self.discard_at = Some(now);
        }
        Err(ErrorCode::ConfirmationCodeWrong)
    }

    /// The admin's token arrived (device-code poll or redeemed pop-up code).
    pub fn on_token(&mut self, t: AccessToken, now: Millis) {
        self.device = None;
        self.poller = None;
        self.browser = None;
        self.token = Some(HeldToken { access_token: t.access_token, expires_at: now + t.expires_in as Millis * 1000 });
        self.state = SignInState::SignedIn;
    }

    /// The device code could not be obtained.
    pub fn on_start_failed(&mut self, error: ErrorDetail) {
        self.state = SignInState::Failed;
        self.error = Some(error);
    }

    /// Whether the token endpoint should be polled at `now`.
    pub fn poll_due(&self, now: Millis) -> bool {
        self.is_polling() && self.poller.as_ref().is_some_and(|p| p.due(now))
    }

    fn is_polling(&self) -> bool {
        matches!(self.state, SignInState::WaitingForSignIn | SignInState::WaitingForMicrosoft) && self.device.is_some()
    }

    /// Checks expiry without a poll.
    pub fn tick(&mut self, now: Millis) {
        if self.is_polling() && self.poller.as_ref().is_some_and(|p| p.expired(now)) {
            self.expire();
        }
        if self.state == SignInState::WaitingForSignIn && self.browser.as_ref().is_some_and(|b| b.expires_at <= now) {
            self.end_browser_sign_in(SignInState::Expired, ErrorDetail::new(ErrorCode::SignInWindowExpired));
        }
        if self.is_redeeming() && self.redeeming_until.is_some_and(|t| t <= now) {
            // The redemption was cut off (a restart, a lost request): give up cleanly.
            self.on_browser_failed(ErrorDetail::new(ErrorCode::MicrosoftUnavailable));
        }
        if self.state == SignInState::SignedIn && self.claim.as_ref().is_some_and(|c| c.until <= now) {
            self.end_browser_sign_in(SignInState::Expired, ErrorDetail::new(ErrorCode::SignInWindowExpired));
        }
    }

    fn expire(&mut self) {
        self.state = SignInState::Expired;
        self.device = None;
        self.error = Some(ErrorDetail::new(ErrorCode::CodeExpired));
    }

    /// The outcome of a poll.
    pub fn on_poll(&mut self, decision: Decision, now: Millis) {
        match decision {
            Decision::PollAt(_) => {}
            Decision::SignedIn(t) => self.on_token(t, now),
            Decision::Expired => self.expire(),
            Decision::Failed(e) => {
                self.device = None;
                self.state = SignInState::Failed;
                self.error = Some(e);
            }
        }
    }

    /// The admin ticked the checkbox. Returns whether registration should start now.
    pub fn confirm(&mut self, app_name: &str) -> bool {
        if self.method == AddMethod::Credential {
            // The pop-up's answer is confirmed with its claim, never with the checkbox.
            return false;
        }
        self.confirmed = true;
        match self.state {
            SignInState::WaitingForSignIn => {
                self.state = SignInState::WaitingForMicrosoft;
                false
            }
            SignInState::SignedIn => {
                self.start_main(app_name);
                true
            }
            _ => false,
        }
    }

    /// Called when the token arrives after the confirmation.
    pub fn start_main(&mut self, app_name: &str) {
        if self.main.is_none() {
            self.main = Some(Registration::new(app_name, &self.marker(), 0, 1));
        }
        self.state = SignInState::Registering;
    }

    /// Starts the 3 additional applications: after the main one (automatic registration), or on
    /// their own (the Manual method, or "Recreate multiple applications"). `expected_tenant` is the
    /// organization's tenant when the caller knows it: a sign-in in another tenant registers
    /// nothing there. `Err` when not possible now.
    pub fn start_additional(&mut self, app_name: &str, expected_tenant: Option<&str>) -> Result<(), ErrorCode> {
        if self.method == AddMethod::Credential && !self.confirmed {
            // Microsoft's answer may have come through somebody else's link: nothing happens in the
            // tenant until the owner's browser has claimed it.
            return Err(match self.state {
                SignInState::SignedIn => ErrorCode::SignInNotClaimed,
                SignInState::WaitingForSignIn => ErrorCode::AuthorizationPending,
                SignInState::Expired => ErrorCode::SignInWindowExpired,
                _ => ErrorCode::SignInCancelled,
            });
        }
        if self.token.is_none() {
            return Err(match self.state {
                SignInState::WaitingForSignIn | SignInState::WaitingForMicrosoft => ErrorCode::AuthorizationPending,
                _ => ErrorCode::CodeExpired,
            });
        }
        if self.saved {
            return Err(ErrorCode::NotFound);
        }
        if let (Some(expected), Some(known)) = (expected_tenant, self.tenant_id()) {
            if !known.eq_ignore_ascii_case(expected) {
                return Err(ErrorCode::SignInTenantMismatch);
            }
        }
        match &self.additional {
            Some(a)
                if a.tenant.is_none()
                    && a.expected_tenant
                        .as_deref()
                        .zip(expected_tenant)
                        .is_some_and(|(a, b)| !a.eq_ignore_ascii_case(b)) =>
            {
                // A run already under way for another named tenant (an unnamed one is checked when
                // its applications are taken, see the organizations service).
                return Err(ErrorCode::SignInTenantMismatch);
            }
            Some(_) => {}
            None => {
                let marker = self.marker();
                self.additional = Some(match (&self.main, expected_tenant) {
                    (Some(m), _) if m.phase == Phase::Done => {
                        Registration::more(m, &marker, 1, ADDITIONAL_APPLICATIONS)
                    }
                    (Some(_), _) => return Err(ErrorCode::AuthorizationPending),
                    (None, Some(t)) => Registration::for_tenant(app_name, &marker, 1, ADDITIONAL_APPLICATIONS, t),
                    (None, None) => Registration::new(app_name, &marker, 1, ADDITIONAL_APPLICATIONS),
                });
            }
        }
        self.state = SignInState::Registering;
        Ok(())
    }

    /// The tenant this sign-in registered in, once a registration has read it.
    pub fn tenant_id(&self) -> Option<&str> {
        [&self.main, &self.additional].into_iter().flatten().find_map(|r| r.tenant.as_ref()).map(|t| t.id.as_str())
    }

    /// A save takes the applications (with their secrets) to store them. Refused unless the
    /// sign-in was claimed (Credential), completed, not saved, and still holds every secret (not
    /// after its hold ended, a release, or a switch to a certificate). The applications are then
    /// held for [`SAVE_LEASE_MS`] whatever happens meanwhile (a cancel from a page being left).
    pub fn take_for_save(&mut self, now: Millis) -> Result<(), ErrorCode> {
        if self.method == AddMethod::Credential && !self.confirmed {
            return Err(ErrorCode::SignInNotClaimed);
        }
        let done = || [&self.main, &self.additional].into_iter().flatten().filter(|r| r.phase == Phase::Done);
        let all_held = done().flat_map(|r| r.apps.iter()).all(|a| a.secret.is_some());
        if self.state != SignInState::Completed || self.saved || self.token.is_none() || !all_held {
            return Err(ErrorCode::NotFound);
        }
        // (A hold shortened for the tests shortens the lease with it.)
        let lease = now + self.hold_ms.map_or(SAVE_LEASE_MS, |h| h.min(SAVE_LEASE_MS));
        self.save_lease_until = Some(lease);
        self.discard_at = Some(self.discard_at.map_or(lease, |d| d.max(lease)));
        Ok(())
    }

    /// The earliest time anything may be deleted: now, or the end of a save's lease.
    fn deletion_floor(&self, now: Millis) -> Millis {
        self.save_lease_until.map_or(now, |l| l.max(now))
    }

    /// Step 3 was saved. What happens next is the end of the hold, now: the Durable Object asks
    /// the database which applications an organization holds, deletes the others (e.g. a main
    /// application registered, then replaced by a typed credential), and forgets every secret.
    pub fn mark_saved(&mut self, now: Millis) {
        self.saved = true;
        self.save_lease_until = None;
        self.discard_at = Some(now);
    }

    /// The save that was to store these applications failed for good (an edit conflict): they are
    /// not stored anywhere, so they are deleted now rather than at the end of the hold.
    pub fn release(&mut self, now: Millis) -> Result<(), ErrorCode> {
        if self.saved || self.state != SignInState::Completed {
            return Err(ErrorCode::NotFound);
        }
        self.save_lease_until = None;
        self.discard_at = Some(now);
        Ok(())
    }

    fn marker(&self) -> String {
        format!("m365onb-{}", self.id)
    }

    /// The registration currently running, if any.
    pub fn running(&mut self) -> Option<&mut Registration> {
        if self.state != SignInState::Registering {
            return None;
        }
        match (&mut self.main, &mut self.additional) {
            (Some(m), _) if !matches!(m.phase, Phase::Done | Phase::Failed) => Some(m),
            (_, Some(a)) if !matches!(a.phase, Phase::Done | Phase::Failed) => Some(a),
            _ => None,
        }
    }

    /// After a registration step: move to completed or failed when the runs are over.
    pub fn settle(&mut self, now: Millis) {
        if self.state != SignInState::Registering || self.running().is_some() {
            return;
        }
        let failed = [&self.main, &self.additional].into_iter().flatten().find(|r| r.phase == Phase::Failed);
        if let Some(r) = failed {
            self.error = r.error.clone();
            self.state = SignInState::Failed;
        } else {
            self.state = SignInState::Completed;
        }
        self.discard_at = Some(now + self.hold_ms.unwrap_or(HOLD_AFTER_COMPLETION_MS));
    }

    /// The admin cancelled.
    pub fn cancel(&mut self, now: Millis) {
        self.device = None;
        self.browser = None;
        self.redeeming_until = None;
        self.claim = None;
        self.state = SignInState::Cancelled;
        // A save under way keeps what it took (the database then says what to keep).
        self.discard_at = Some(self.deletion_floor(now));
    }

    /// Drops every secret this record holds that is not needed any more.
    pub fn forget_secrets(&mut self) {
        self.device = None;
        self.browser = None;
        self.claim = None;
        self.token = None;
        for r in [&mut self.main, &mut self.additional].into_iter().flatten() {
            for a in &mut r.apps {
                a.secret = None;
            }
        }
    }

    /// When the Durable Object's alarm should fire next.
    pub fn next_alarm(&self, now: Millis) -> Option<Millis> {
        if self.is_polling() {
            return self.poller.as_ref().map(|p| p.next_poll_at.min(p.expires_at));
        }
        if let Some(b) = self.browser.as_ref().filter(|_| self.state == SignInState::WaitingForSignIn) {
            return Some(b.expires_at);
        }
        if let Some(t) = self.redeeming_until.filter(|_| self.is_redeeming()) {
            return Some(t);
        }
        if let Some(c) = self.claim.as_ref().filter(|_| self.state == SignInState::SignedIn) {
            return Some(c.until);
        }
        if self.state == SignInState::Registering {
            let wait = [&self.main, &self.additional].into_iter().flatten().filter_map(|r| r.wait_until).max();
            return Some(wait.unwrap_or(now).max(now));
        }
        // Nothing left to do but the hold's end, and then the record's own deletion.
        self.discard_at.or(Some(self.created_at + super::limits::RETENTION_MS))
    }

    /// Whether the record has served its time and is deleted (nothing pending, retention over).
    pub fn retention_over(&self, now: Millis) -> bool {
        now >= self.created_at + super::limits::RETENTION_MS && self.discard_at.is_none()
    }

    /// The number of applications that exist and work.
    pub fn applications_done(&self) -> u8 {
        [&self.main, &self.additional]
            .into_iter()
            .flatten()
            .filter(|r| r.phase == Phase::Done)
            .map(|r| r.apps.len() as u8)
            .sum()
    }

    /// What the browser may see.
    pub fn status(&self, now: Millis) -> SignInStatus {
        let (user_code, verification_uri, expires_at, expires_in) = match (&self.device, &self.poller) {
            (Some(d), Some(p)) if self.is_polling() => (
                Some(d.user_code.clone()),
                Some(d.verification_uri.clone()),
                Some(crate::time::rfc3339_ms(p.expires_at)),
                Some(((p.expires_at - now).max(0) / 1000) as u64),
            ),
            _ => (None, None, None, None),
        };
        let total = 1 + self.additional.as_ref().map_or(0, |a| a.apps.len());
        let progress: Vec<ProgressStep> = match (&self.main, &self.additional) {
            (_, Some(a)) => a.progress(total),
            (Some(m), None) => m.progress(total),
            (None, None) => vec![],
        };
        let progress = if self.state == SignInState::Failed {
            progress
                .into_iter()
                .map(|mut s| {
                    if matches!(s.state, StepState::Running | StepState::Waiting) {
                        s.state = StepState::Failed;
                    }
                    s
                })
                .collect()
        } else {
            progress
        };
        let first = self.main.as_ref().or(self.additional.as_ref());
        let result = match (first, self.state) {
            (Some(m), SignInState::Completed) => {
                m.tenant.as_ref().zip(m.apps.first()).map(|(t, app)| RegistrationResult {
                    tenant_id: t.id.clone(),
                    tenant_name: t.display_name.clone(),
                    default_domain: t.default_domain.clone(),
                    application_id: app.app_id.clone().unwrap_or_default(),
                    secret_stored: app.secret.is_some() || self.saved,
                    applications: self.applications_done(),
                })
            }
            _ => None,
        };
        let authorize_url = match (&self.browser, self.state) {
            (Some(b), SignInState::WaitingForSignIn) => Some(b.authorize_url.clone()),
            _ => None,
        };
        SignInStatus {
            id: self.id.clone(),
            cloud: self.cloud,
            method: self.method,
            state: self.state,
            authorize_url,
            user_code,
            verification_uri,
            expires_at,
            expires_in,
            poll_after: STATUS_POLL_SECS,
            progress,
            error: self.error.clone(),
            result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> SignInRecord {
        let mut r = SignInRecord::new("s1", "acct", CloudEnvironment::Global, "client", 0);
        r.on_device_code(
            DeviceAuthorization {
                device_code: SecretString::new("DEVICE-SECRET".into()),
                user_code: "ABCDE1234".into(),
                verification_uri: "https://microsoft.com/devicelogin".into(),
                expires_in: 900,
                interval: 5,
            },
            0,
        );
        r
    }

    fn token() -> Decision {
        Decision::SignedIn(AccessToken { access_token: SecretString::new("ADMIN-TOKEN".into()), expires_in: 3599 })
    }

    #[test]
    fn the_status_never_shows_the_device_code_or_the_token() {
        let mut r = record();
        let s = serde_json::to_string(&r.status(1000)).unwrap();
        assert!(s.contains("ABCDE1234") && !s.contains("DEVICE-SECRET"));
        assert_eq!(r.status(1000).expires_in, Some(899));
        r.on_poll(token(), 5000);
        let s = serde_json::to_string(&r.status(6000)).unwrap();
        assert!(!s.contains("ADMIN-TOKEN") && !s.contains("ABCDE1234"));
        assert_eq!(r.state, SignInState::SignedIn);
    }

    #[test]
    fn confirming_before_microsoft_reports_waits_then_registers() {
        let mut r = record();
        assert!(!r.confirm("M365 Backup"));
        assert_eq!(r.state, SignInState::WaitingForMicrosoft);
        r.on_poll(token(), 5000);
        assert_eq!(r.state, SignInState::SignedIn);
        assert!(r.confirmed);
        r.start_main("M365 Backup");
        assert_eq!(r.state, SignInState::Registering);
        assert!(r.running().is_some());
    }

    #[test]
    fn expiry_without_a_poll_clears_the_code() {
        let mut r = record();
        r.tick(900_000);
        assert_eq!(r.state, SignInState::Expired);
        assert!(r.device.is_none());
        assert_eq!(r.status(900_000).error.unwrap().code, ErrorCode::CodeExpired);
        assert_eq!(r.next_alarm(900_000), Some(super::super::limits::RETENTION_MS), "then only the deletion");
        assert!(!r.retention_over(900_000) && r.retention_over(super::super::limits::RETENTION_MS));
    }

    #[test]
    fn the_alarm_follows_the_poller_then_the_hold() {
        let mut r = record();
        assert_eq!(r.next_alarm(0), Some(5250));
        r.on_poll(token(), 5000);
        r.start_main("x");
        assert_eq!(r.next_alarm(6000), Some(6000));
        r.main.as_mut().unwrap().phase = Phase::Done;
        r.settle(7000);
        assert_eq!(r.state, SignInState::Completed);
        assert_eq!(r.next_alarm(7000), Some(7000 + HOLD_AFTER_COMPLETION_MS));
    }

    #[test]
    fn additional_applications_alone_after_a_sign_in() {
        let mut r = record();
        r.on_poll(token(), 5000);
        assert!(r.start_additional("M365 Backup", None).is_ok());
        let more = r.additional.as_ref().unwrap();
        assert_eq!(more.apps.iter().map(|a| a.index).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert!(more.tenant.is_none(), "it reads the tenant itself");
        r.mark_saved(9000);
        assert_eq!(r.discard_at, Some(9000), "the database is asked what to keep, then every secret goes");
    }

    #[test]
    fn a_save_holds_what_it_took_and_only_what_is_still_held_can_be_taken() {
        let mut r = record();
        r.on_poll(token(), 5000);
        r.start_main("x");
        let main = r.main.as_mut().unwrap();
        main.phase = Phase::Done;
        main.apps[0].secret = Some(SecretString::new("GEN".into()));
        r.settle(6000);
        assert_eq!(r.take_for_save(7000), Ok(()));
        // The page is left while the save checks the credential: the cancel deletes nothing early.
        r.cancel(8000);
        assert_eq!(r.discard_at, Some(7000 + SAVE_LEASE_MS));
        let mut r2 = r.clone();
        r2.state = SignInState::Completed;
        r2.main.as_mut().unwrap().apps[0].secret = None; // switched to a certificate, or released
        assert_eq!(r2.take_for_save(9000), Err(ErrorCode::NotFound), "nothing is taken without its secret");
        let mut r3 = r2.clone();
        r3.forget_secrets();
        assert_eq!(r3.take_for_save(9000), Err(ErrorCode::NotFound), "nor after the hold ended");
        // A failed save releases at once.
        let mut r4 = record();
        r4.on_poll(token(), 5000);
        r4.start_main("x");
        r4.main.as_mut().unwrap().phase = Phase::Done;
        r4.main.as_mut().unwrap().apps[0].secret = Some(SecretString::new("GEN".into()));
        r4.settle(6000);
        r4.take_for_save(7000).unwrap();
        r4.release(7500).unwrap();
        assert_eq!(r4.discard_at, Some(7500));
    }

    #[test]
    fn forgetting_secrets_clears_all_of_them() {
        let mut r = record();
        r.on_poll(token(), 5000);
        r.forget_secrets();
        let persisted = serde_json::to_string(&r).unwrap();
        assert!(!persisted.contains("ADMIN-TOKEN") && !persisted.contains("DEVICE-SECRET"));
    }

    #[test]
    fn additional_applications_need_a_finished_main_and_the_token() {
        let mut r = record();
        assert_eq!(r.start_additional("x", None), Err(ErrorCode::AuthorizationPending));
        r.on_poll(token(), 5000);
        r.start_main("x");
        assert_eq!(r.start_additional("x", None), Err(ErrorCode::AuthorizationPending), "not while the main one runs");
        r.main.as_mut().unwrap().phase = Phase::Done;
        r.settle(6000);
        assert!(r.start_additional("x", None).is_ok());
        assert_eq!(r.additional.as_ref().unwrap().apps.len(), 3);
        assert_eq!(r.state, SignInState::Registering);
    }

    fn credential() -> SignInRecord {
        let mut r = SignInRecord::new(ID, "acct", CloudEnvironment::Global, "client", 0);
        let endpoints = shared::CloudEndpoints::official(CloudEnvironment::Global);
        let random: [u8; super::super::browser::RANDOM_BYTES] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        r.on_browser_sign_in(BrowserSignIn::new(ID, &endpoints, "client", "https://x/api/signin/callback", &random, 0));
        r
    }

    const ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";

    #[test]
    fn a_credential_sign_in_shows_its_url_but_never_the_verifier() {
        let r = credential();
        let b = r.browser.clone().unwrap();
        let s = r.status(1000);
        assert_eq!(s.method, AddMethod::Credential);
        assert_eq!(s.state, SignInState::WaitingForSignIn);
        assert_eq!(s.authorize_url.as_deref(), Some(b.authorize_url.as_str()));
        let text = serde_json::to_string(&s).unwrap();
        assert!(!text.contains(b.verifier.expose()));
        assert!(!r.confirmed, "the answer is confirmed with its claim");
        assert_eq!(r.next_alarm(1000), Some(b.expires_at));
    }

    #[test]
    fn a_credential_answer_is_taken_once_and_a_forged_one_changes_nothing() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        assert_eq!(r.take_browser_answer("forged", 10).unwrap_err(), ErrorCode::StateMismatch);
        assert_eq!(r.state, SignInState::WaitingForSignIn);
        assert!(r.browser.is_some(), "a forged answer does not end the admin's sign-in");
        let taken = r.take_browser_answer(&secret, 10).unwrap();
        assert_eq!(taken.state_secret.expose(), secret);
        assert!(r.is_redeeming());
        assert_eq!(r.next_alarm(10), Some(10 + REDEEM_WINDOW_MS), "a cut-off redemption still ends");
        assert_eq!(r.take_browser_answer(&secret, 11).unwrap_err(), ErrorCode::CodeAlreadyUsed);
        r.on_browser_token(admin_token(), claim(), 20);
        assert_eq!(r.state, SignInState::SignedIn);
        assert!(!r.is_redeeming());
        assert!(r.status(30).authorize_url.is_none());
    }

    fn admin_token() -> AccessToken {
        AccessToken { access_token: SecretString::new("ADMIN-TOKEN".into()), expires_in: 3599 }
    }

    fn claim() -> Claim {
        Claim::new(&[9u8; super::super::browser::CLAIM_RANDOM_BYTES], 20)
    }

    #[test]
    fn registration_waits_for_the_owner_to_claim_the_answer() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        let c = claim();
        let (handle, code) = (c.handle.expose().to_owned(), c.display_code());
        r.on_browser_token(admin_token(), c, 20);
        assert!(!r.confirm("M365 Backup"), "the checkbox does not confirm a pop-up answer");
        assert!(!r.confirmed);
        assert_eq!(r.claim("wrong", 30), Err(ErrorCode::ConfirmationCodeWrong));
        assert_eq!(r.state, SignInState::SignedIn);
        assert_eq!(r.claim(&code.to_lowercase(), 31), Ok(()));
        assert!(r.confirmed && r.claim.is_none());
        assert_eq!(r.claim(&handle, 32), Err(ErrorCode::AuthorizationPending), "a claim is used once");
        let persisted = serde_json::to_string(&r).unwrap();
        assert!(persisted.contains("ADMIN-TOKEN"), "the token stays for registration");
    }

    #[test]
    fn an_unclaimed_credential_sign_in_starts_nothing_and_shows_nothing() {
        let mut r = credential();
        assert_eq!(r.start_additional("x", None), Err(ErrorCode::AuthorizationPending));
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        let c = claim();
        let handle = c.handle.expose().to_owned();
        r.on_browser_token(admin_token(), c, 20);
        // The token is held, but the owner has not claimed the answer: no application, no detail.
        assert_eq!(r.start_additional("x", None), Err(ErrorCode::SignInNotClaimed));
        assert_eq!(r.start_additional("x", Some("tid")), Err(ErrorCode::SignInNotClaimed));
        assert!(r.additional.is_none() && r.main.is_none());
        assert_eq!(r.state, SignInState::SignedIn);
        let s = r.status(30);
        assert!(s.result.is_none() && s.progress.is_empty() && s.error.is_none() && s.authorize_url.is_none());
        // Claimed: the owner may go on.
        r.claim(&handle, 40).unwrap();
        assert_eq!(r.start_additional("x", None), Ok(()));
    }

    #[test]
    fn additional_applications_only_in_the_organizations_tenant() {
        let mut r = record();
        r.on_poll(token(), 5000);
        r.start_main("x");
        let main = r.main.as_mut().unwrap();
        main.phase = Phase::Done;
        main.tenant = Some(crate::provisioning::plan::TenantInfo {
            id: "tenant-a".into(),
            display_name: "A".into(),
            default_domain: "a.example".into(),
        });
        r.settle(6000);
        assert_eq!(r.start_additional("x", Some("tenant-b")), Err(ErrorCode::SignInTenantMismatch));
        assert!(r.additional.is_none(), "nothing started");
        assert_eq!(r.start_additional("x", Some("TENANT-A")), Ok(()));

        // No tenant read yet (the Manual method): the run is told which tenant it may create in.
        let mut r = record();
        r.on_poll(token(), 5000);
        r.start_additional("x", Some("tenant-a")).unwrap();
        assert_eq!(r.additional.as_ref().unwrap().expected_tenant.as_deref(), Some("tenant-a"));
        assert_eq!(r.start_additional("x", Some("tenant-b")), Err(ErrorCode::SignInTenantMismatch));
        assert_eq!(r.start_additional("x", Some("tenant-a")), Ok(()));
    }

    #[test]
    fn wrong_codes_end_the_sign_in_and_an_unclaimed_answer_lapses() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        r.on_browser_token(admin_token(), claim(), 20);
        for _ in 0..MAX_CLAIM_ATTEMPTS {
            assert_eq!(r.claim("AAAA-AAAA", 30), Err(ErrorCode::ConfirmationCodeWrong));
        }
        assert_eq!(r.state, SignInState::Failed);
        assert!(r.token.is_none() && r.claim.is_none());

        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        r.on_browser_token(admin_token(), claim(), 20);
        let until = r.claim.as_ref().unwrap().until;
        assert_eq!(r.next_alarm(20), Some(until));
        r.tick(until);
        assert_eq!(r.state, SignInState::Expired);
        assert!(r.token.is_none(), "an unclaimed token is dropped");
    }

    #[test]
    fn a_redemption_cut_off_or_cancelled_does_not_land() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        r.tick(10 + REDEEM_WINDOW_MS);
        assert_eq!(r.state, SignInState::Failed);
        assert_eq!(r.error.as_ref().unwrap().code, ErrorCode::MicrosoftUnavailable);
        assert!(!r.is_redeeming());

        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        r.cancel(11);
        assert!(!r.is_redeeming(), "the Durable Object drops a token that arrives after a cancel");
        assert_eq!(r.take_browser_answer(&secret, 12).unwrap_err(), ErrorCode::SignInCancelled);
        assert!(!r.can_renew(), "a cancelled sign-in stays cancelled");
    }

    #[test]
    fn a_wrong_state_secret_gets_one_answer_whatever_the_state() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.cancel(5);
        let before = serde_json::to_string(&r).unwrap();
        assert_eq!(r.take_browser_answer("wrong", 6).unwrap_err(), ErrorCode::StateMismatch);
        assert_eq!(serde_json::to_string(&r).unwrap(), before, "a wrong secret changes nothing");
        assert_eq!(r.take_browser_answer(&secret, 6).unwrap_err(), ErrorCode::SignInCancelled);
        let mut device = record();
        assert_eq!(device.take_browser_answer("", 1).unwrap_err(), ErrorCode::StateMismatch);
        let persisted = serde_json::to_string(&r).unwrap();
        assert!(!persisted.contains(&secret), "only a digest of the secret is kept");
    }

    #[test]
    fn a_credential_sign_in_can_be_renewed_until_its_answer_is_claimed() {
        let mut r = credential();
        assert!(r.can_renew());
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        r.on_browser_token(admin_token(), claim(), 20);
        assert!(r.can_renew(), "the window with the code was closed: start over");
        let endpoints = shared::CloudEndpoints::official(CloudEnvironment::Global);
        let random: [u8; super::super::browser::RANDOM_BYTES] = std::array::from_fn(|i| i as u8);
        r.on_browser_sign_in(BrowserSignIn::new(ID, &endpoints, "client", "https://x/cb", &random, 30));
        assert!(r.token.is_none() && r.claim.is_none(), "the unclaimed token is dropped");
        assert_eq!(r.take_browser_answer(&secret, 31).unwrap_err(), ErrorCode::StateMismatch, "the old state is dead");
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        r.take_browser_answer(&secret, 10).unwrap();
        let c = claim();
        let handle = c.handle.expose().to_owned();
        r.on_browser_token(admin_token(), c, 20);
        r.claim(&handle, 21).unwrap();
        r.start_main("M365 Backup");
        assert!(!r.can_renew(), "not once registration has started");
    }

    #[test]
    fn a_credential_sign_in_expires_and_can_fail() {
        let mut r = credential();
        let secret = r.browser.as_ref().unwrap().state_secret.expose().to_owned();
        let end = r.browser.as_ref().unwrap().expires_at;
        r.tick(end);
        assert_eq!(r.state, SignInState::Expired);
        assert!(r.browser.is_none());
        assert_eq!(r.take_browser_answer(&secret, end).unwrap_err(), ErrorCode::SignInWindowExpired);
        let mut r = credential();
        r.on_browser_failed(ErrorDetail::new(ErrorCode::SignInDeclined));
        assert_eq!(r.state, SignInState::Failed);
        assert!(r.browser.is_none() && r.next_alarm(0) == Some(super::super::limits::RETENTION_MS));
    }
}
