//! What the sign-in's Durable Object persists: one sign-in as a state machine whose [`Stage`]s
//! carry their own data, so that a combination that cannot happen cannot be written down (a device
//! code beside a sign-in window, a claim after registration, a token after the sign-in ended). Every
//! transition is a method here, refused with a catalogue code where it does not apply; what the
//! browser may see is [`SignInRecord::status`].
//!
//! The record is stored as one value and written before and after every step, so a restarted
//! worker resumes from it. Secrets in it (the device code, the admin's token, generated client
//! secrets) are removed as soon as they are no longer needed: the device code when polling ends,
//! the token after registration has been saved or abandoned ([`HOLD_AFTER_COMPLETION_MS`]).

use super::browser::{BrowserSignIn, Claim, MAX_CLAIM_ATTEMPTS, REDEEM_WINDOW_MS};
use super::command::Purpose;
use super::poller::{Decision, Poller};
pub use crate::handover::ADDITIONAL_APPLICATIONS;
use crate::microsoft::identity::{AccessToken, DeviceAuthorization};
use crate::provisioning::plan::{Phase, Registration};
use crate::time::Millis;
use serde::{Deserialize, Serialize};
use shared::api::{
    ErrorDetail, GeneratedCertificateView, ProgressStep, RegistrationResult, SignInState, SignInStatus, StepState,
};
use shared::secret::{serialize_exposed, SecretString};
use shared::{AddMethod, CloudEnvironment, ErrorCode};

/// How long the admin's token and the unsaved applications are kept after registration.
pub const HOLD_AFTER_COMPLETION_MS: i64 = 30 * 60 * 1000;
/// How long the admin's token waits for a use after the sign-in (the checkbox, a save's
/// applications, a removal): then it is forgotten and the sign-in ends. A token that expires first
/// is forgotten at its expiry.
pub const SIGNED_IN_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How often the browser should read the status.
pub const STATUS_POLL_SECS: u64 = 2;
/// How long a save that took a sign-in's applications holds them against deletion (its credential
/// check may wait up to 2 minutes for Microsoft's replication).
pub const SAVE_LEASE_MS: i64 = 3 * 60 * 1000;

/// How a sign-in ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The code or the window expired before the admin signed in (or claimed the answer).
    Expired,
    /// Microsoft refused, or registration failed.
    Failed,
    /// The admin cancelled.
    Cancelled,
    /// A partner's sign-in handed its refresh token to a batch (see [`SignInRecord::hand_over`]).
    HandedOver,
}

impl Ending {
    fn state(self) -> SignInState {
        match self {
            Ending::Expired => SignInState::Expired,
            Ending::Failed => SignInState::Failed,
            Ending::Cancelled => SignInState::Cancelled,
            Ending::HandedOver => SignInState::Completed,
        }
    }
}

/// Where a sign-in is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Created; the device code or the sign-in window is being prepared (never stored like this).
    Starting,
    /// Device code: Microsoft issued a code and is polled at its pace. `confirmed`: the admin
    /// ticked the checkbox, so registration starts as soon as the token arrives.
    Polling {
        /// The code.
        device: DeviceState,
        /// The polling schedule.
        poller: Poller,
        /// The checkbox was ticked.
        confirmed: bool,
    },
    /// Credential: the sign-in window is open with this PKCE verifier and `state`.
    Window {
        /// The pending pop-up sign-in.
        browser: BrowserSignIn,
    },
    /// Credential: Microsoft's answer was taken and is being redeemed, until `until` at the latest.
    Redeeming {
        /// When a redemption cut off (a restart, a lost request) is given up.
        until: Millis,
    },
    /// The admin's token is held, nothing is registered yet. Device code: waiting for the checkbox
    /// (or for "additional applications" alone). Credential: waiting for the owner's browser to
    /// present the window's `claim`.
    SignedIn {
        /// The admin's token.
        token: HeldToken,
        /// Credential: the proof the owner's browser must present.
        claim: Option<Claim>,
    },
    /// Applications are being registered.
    Registering(Holding),
    /// Every registration finished; the applications are held for a save.
    Completed(Holding),
    /// The sign-in ended; what it registered (if anything) is held until deleted.
    Ended {
        /// How.
        ending: Ending,
        /// Why, when it failed or expired.
        error: Option<ErrorDetail>,
        /// What it registered, until the hold ends.
        holding: Option<Holding>,
    },
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
    pub method: AddMethod,
    /// Created.
    pub created_at: Millis,
    /// How long unsaved applications are held after registration ([`HOLD_AFTER_COMPLETION_MS`]
    /// unless the tests shorten it).
    #[serde(default)]
    pub hold_ms: Option<i64>,
    /// Credential method: the digest of the latest window's `state` secret, kept after the answer was
    /// taken, so a wrong secret gets the same answer whatever the sign-in's stage.
    #[serde(default)]
    pub state_digest: Option<String>,
    /// What it is for: a repair's registration does only what its organization is missing; a
    /// removal's and a sign-in-only's register nothing, and only a removal's deletes.
    #[serde(flatten)]
    pub purpose: super::command::Purpose,
    /// Where it is.
    pub stage: Stage,
}

impl SignInRecord {
    /// A new sign-in, before Microsoft has issued a code or the window is prepared.
    pub fn new(id: &str, account: &str, cloud: CloudEnvironment, client_id: &str, now: Millis) -> Self {
        Self {
            id: id.to_owned(),
            account: account.to_owned(),
            cloud,
            client_id: client_id.to_owned(),
            method: AddMethod::DeviceCode,
            created_at: now,
            hold_ms: None,
            state_digest: None,
            purpose: super::command::Purpose::Register,
            stage: Stage::Starting,
        }
    }

    /// How long a token waits for a use ([`SIGNED_IN_WINDOW_MS`], shorter when the tests shorten
    /// the hold).
    fn signed_in_window(&self) -> i64 {
        self.hold_ms.map_or(SIGNED_IN_WINDOW_MS, |h| h.min(SIGNED_IN_WINDOW_MS))
    }

    /// The state the browser sees.
    pub fn state(&self) -> SignInState {
        match &self.stage {
            Stage::Starting | Stage::Window { .. } | Stage::Redeeming { .. } => SignInState::WaitingForSignIn,
            Stage::Polling { confirmed: false, .. } => SignInState::WaitingForSignIn,
            Stage::Polling { confirmed: true, .. } => SignInState::WaitingForMicrosoft,
            Stage::SignedIn { .. } => SignInState::SignedIn,
            Stage::Registering(_) => SignInState::Registering,
            Stage::Completed(_) => SignInState::Completed,
            Stage::Ended { ending, .. } => ending.state(),
        }
    }

    /// What the sign-in registered, once it has started registering.
    pub fn holding(&self) -> Option<&Holding> {
        match &self.stage {
            Stage::Registering(h) | Stage::Completed(h) => Some(h),
            Stage::Ended { holding, .. } => holding.as_ref(),
            _ => None,
        }
    }

    fn holding_mut(&mut self) -> Option<&mut Holding> {
        match &mut self.stage {
            Stage::Registering(h) | Stage::Completed(h) => Some(h),
            Stage::Ended { holding, .. } => holding.as_mut(),
            _ => None,
        }
    }

    /// The admin's token, while one is held.
    pub fn token(&self) -> Option<&HeldToken> {
        match &self.stage {
            Stage::SignedIn { token, .. } => Some(token),
            _ => self.holding().and_then(|h| h.token.as_ref()),
        }
    }

    /// Whether the owner has claimed the answer (Credential), or no claim is needed (device code).
    fn claimed(&self) -> bool {
        self.method != AddMethod::Credential || self.holding().is_some()
    }

    fn end(&mut self, ending: Ending, error: Option<ErrorDetail>) {
        self.stage = Stage::Ended { ending, error, holding: None };
    }

    /// What the registration names the applications it creates with (to find them again).
    fn marker(&self) -> String {
        format!("m365onb-{}", self.id)
    }

    /// Microsoft issued a (new) code.
    pub fn on_device_code(&mut self, d: DeviceAuthorization, now: Millis) {
        self.stage = Stage::Polling {
            poller: Poller::new(d.interval, d.expires_in, now),
            device: DeviceState {
                device_code: d.device_code,
                user_code: d.user_code,
                verification_uri: d.verification_uri,
            },
            confirmed: false,
        };
    }

    /// The device code could not be obtained.
    pub fn on_start_failed(&mut self, error: ErrorDetail) {
        self.end(Ending::Failed, Some(error));
    }

    /// Credential method: a (new) pop-up sign-in was prepared. Signing in there and handing the
    /// answer back to the app (see [`Self::claim`]) is the admin's confirmation.
    pub fn on_browser_sign_in(&mut self, b: BrowserSignIn) {
        self.method = AddMethod::Credential;
        self.state_digest = Some(super::browser::state_digest(b.state_secret.expose()));
        self.stage = Stage::Window { browser: b };
    }

    /// Credential method: Microsoft sent the pop-up back with `state_secret`. The secret is checked
    /// first: a wrong one gets [`ErrorCode::StateMismatch`] whatever the stage (so a sign-in ID alone
    /// tells nothing) and changes nothing, so a forged answer cannot end the admin's sign-in. On a
    /// match the pending sign-in is taken (so the same answer cannot be used twice), the record
    /// marked as redeeming, and the pending sign-in returned for redemption.
    pub fn take_browser_answer(&mut self, state_secret: &str, now: Millis) -> Result<BrowserSignIn, ErrorCode> {
        let known = self.state_digest.as_deref().is_some_and(|d| super::browser::digest_matches(d, state_secret));
        if !known {
            return Err(ErrorCode::StateMismatch);
        }
        self.tick(now);
        match &self.stage {
            Stage::Window { browser } if browser.state_matches(state_secret) => {}
            Stage::Window { .. } => return Err(ErrorCode::StateMismatch),
            Stage::Ended { ending: Ending::Expired, .. } => return Err(ErrorCode::SignInWindowExpired),
            Stage::Ended { .. } => return Err(ErrorCode::SignInCancelled),
            _ => return Err(ErrorCode::CodeAlreadyUsed),
        }
        match std::mem::replace(&mut self.stage, Stage::Redeeming { until: now + REDEEM_WINDOW_MS }) {
            Stage::Window { browser } => Ok(browser),
            _ => unreachable!("matched above"),
        }
    }

    /// Whether a redemption taken by [`Self::take_browser_answer`] may still land (nothing
    /// cancelled or expired the sign-in meanwhile).
    pub fn is_redeeming(&self) -> bool {
        matches!(self.stage, Stage::Redeeming { .. })
    }

    /// Credential method: the code was redeemed; the token is held until the owner's browser claims
    /// the answer with `claim`'s handle or code.
    pub fn on_browser_token(&mut self, t: AccessToken, claim: Claim, now: Millis) {
        if let Some(refused) = self.purpose.refuse_roles(&t).filter(|_| self.is_redeeming()) {
            // Before anything is created: the token is dropped with the sign-in.
            self.end(Ending::Failed, Some(refused));
            return;
        }
        if self.is_redeeming() {
            let window = self.signed_in_window();
            self.stage = Stage::SignedIn { token: HeldToken::from(t, now, window), claim: Some(claim) };
        }
    }

    /// Credential method: the pop-up sign-in failed (Microsoft's error, or the code was refused).
    pub fn on_browser_failed(&mut self, error: ErrorDetail) {
        self.end(Ending::Failed, Some(error));
    }

    /// Whether a new code (device code) or a new sign-in window (Credential) may replace this one:
    /// only before anything was registered. Device code: once the code expired or failed.
    /// Credential: at any time before the answer was claimed (a window lost or closed, a code not
    /// at hand); the old state then stops working and a redemption under way is dropped.
    pub fn can_renew(&self) -> bool {
        let ended_before_registering =
            matches!(self.stage, Stage::Ended { ending: Ending::Expired | Ending::Failed, holding: None, .. });
        match self.method {
            AddMethod::Credential => {
                ended_before_registering
                    // Not once claimed: the token was handed over (a panel's sign-in waits for its save).
                    || matches!(
                        self.stage,
                        Stage::Window { .. } | Stage::Redeeming { .. } | Stage::SignedIn { claim: Some(_), .. }
                    )
            }
            _ => ended_before_registering,
        }
    }

    /// Credential method: the owner's browser presents the handle the window posted to it, or the
    /// code the window shows. A match starts the registration of `register` (the main
    /// application's name), or, with `None` (a sign-in for creating applications elsewhere), only
    /// marks the answer claimed: the sign-in stays signed in until a save asks for applications.
    /// Too many wrong codes end the sign-in and drop the token.
    pub fn claim(&mut self, presented: &str, register: Option<&str>, now: Millis) -> Result<(), ErrorCode> {
        self.tick(now);
        let Stage::SignedIn { claim: slot, .. } = &mut self.stage else {
            return Err(ErrorCode::AuthorizationPending);
        };
        let Some(claim) = slot.as_mut() else { return Err(ErrorCode::AuthorizationPending) };
        if claim.accepts(presented) {
            match register {
                Some(app_name) => self.start_main(app_name),
                None => *slot = None,
            }
            return Ok(());
        }
        claim.attempts += 1;
        if claim.attempts >= MAX_CLAIM_ATTEMPTS {
            self.end(Ending::Failed, Some(ErrorDetail::new(ErrorCode::SignInFailed)));
        }
        Err(ErrorCode::ConfirmationCodeWrong)
    }

    /// Credential method: the callback page of the window the app opened claims the answer with
    /// its handle and the `state` the app left in it (see [`Claim::proven_by_window`]), as the app
    /// would with the handle. Anything else is refused without counting an attempt: the proof is
    /// 256 random bits, and a count would let whoever knows a sign-in's ID end it.
    pub fn claim_from_window(
        &mut self,
        handle: &str,
        proof: &str,
        register: Option<&str>,
        now: Millis,
    ) -> Result<(), ErrorCode> {
        self.tick(now);
        let proven = match &self.stage {
            Stage::SignedIn { claim: Some(c), .. } => c.proven_by_window(&self.id, handle, proof),
            _ => false,
        };
        if !proven {
            return Err(ErrorCode::NotFound);
        }
        self.claim(handle, register, now)
    }

    /// Whether the token endpoint should be polled at `now`.
    pub fn poll_due(&self, now: Millis) -> bool {
        matches!(&self.stage, Stage::Polling { poller, .. } if poller.due(now))
    }

    /// The device code to poll with, while polling.
    pub fn device_code(&self) -> Option<&SecretString> {
        match &self.stage {
            Stage::Polling { device, .. } => Some(&device.device_code),
            _ => None,
        }
    }

    /// The outcome of a poll, decided by the poller from Microsoft's answer sent at `sent_at`:
    /// registration starts at once when the checkbox was ticked.
    pub fn on_poll(
        &mut self,
        outcome: crate::microsoft::identity::TokenOutcome,
        sent_at: Millis,
        app_name: &str,
        now: Millis,
    ) {
        let Stage::Polling { poller, confirmed, .. } = &mut self.stage else { return };
        let confirmed = *confirmed;
        match poller.on_outcome(outcome, sent_at, now) {
            Decision::PollAt(_) => {}
            Decision::SignedIn(t) => {
                if let Some(refused) = self.purpose.refuse_roles(&t) {
                    // Before anything is created: the token is dropped with the sign-in.
                    self.end(Ending::Failed, Some(refused));
                    return;
                }
                let window = self.signed_in_window();
                self.stage = Stage::SignedIn { token: HeldToken::from(t, now, window), claim: None };
                if confirmed {
                    self.start_main(app_name);
                }
            }
            Decision::Expired => self.end(Ending::Expired, Some(ErrorDetail::new(ErrorCode::CodeExpired))),
            Decision::Failed(e) => self.end(Ending::Failed, Some(e)),
        }
    }

    /// Checks expiry without a poll.
    pub fn tick(&mut self, now: Millis) {
        let (ending, code) = match &self.stage {
            Stage::Polling { poller, .. } if poller.expired(now) => (Ending::Expired, ErrorCode::CodeExpired),
            Stage::Window { browser } if browser.expires_at <= now => (Ending::Expired, ErrorCode::SignInWindowExpired),
            // The redemption was cut off (a restart, a lost request): give up cleanly.
            Stage::Redeeming { until } if *until <= now => (Ending::Failed, ErrorCode::MicrosoftUnavailable),
            Stage::SignedIn { claim: Some(c), .. } if c.until <= now => {
                (Ending::Expired, ErrorCode::SignInWindowExpired)
            }
            // Signed in and never used (a removal whose delete never came, a code never
            // confirmed), or the token expired meanwhile: it is forgotten with the sign-in.
            Stage::SignedIn { token, .. } if token.forget_at() <= now => (Ending::Expired, ErrorCode::SignInUnused),
            _ => {
                // A registration's token is kept for the hold, never past its expiry.
                if let Some(h) = self.holding_mut() {
                    if h.token.as_ref().is_some_and(|t| t.forget_at() <= now) {
                        h.token = None;
                    }
                }
                return;
            }
        };
        self.end(ending, Some(ErrorDetail::new(code)));
    }

    /// Device code: the admin ticked the checkbox. Returns whether registration starts now.
    pub fn confirm(&mut self, app_name: &str) -> bool {
        if self.method == AddMethod::Credential {
            // The pop-up's answer is confirmed with its claim, never with the checkbox.
            return false;
        }
        match &mut self.stage {
            Stage::Polling { confirmed, .. } => {
                *confirmed = true;
                false
            }
            Stage::SignedIn { .. } => {
                self.start_main(app_name);
                // A sign-in that registers nothing stays signed in.
                matches!(self.stage, Stage::Registering(_))
            }
            _ => false,
        }
    }

    /// Signed in and confirmed: the main application's registration starts.
    fn start_main(&mut self, app_name: &str) {
        let Stage::SignedIn { token, .. } = &self.stage else { return };
        if !self.purpose.registers() {
            // A removal's or a sign-in-only's sign-in registers nothing (the service refuses to
            // ask it to).
            return;
        }
        let main = match self.purpose.repair() {
            Some(order) => Registration::repair(self.cloud, app_name, &self.marker(), &order.tenant_id, &order.apps),
            None => Registration::new(self.cloud, app_name, &self.marker(), 0, 1),
        };
        self.stage = Stage::Registering(Holding {
            token: Some(token.in_use()),
            main: Some(main),
            additional: None,
            discard_at: None,
            save_lease_until: None,
            saved: false,
        });
    }

    /// Starts the 3 additional applications: after the main one (automatic registration), or on
    /// their own (the Manual method, or "Recreate multiple applications"). `expected_tenant` is the
    /// organization's tenant when the caller knows it: a sign-in in another tenant registers
    /// nothing there. `Err` when not possible now.
    pub fn start_additional(&mut self, app_name: &str, expected_tenant: Option<&str>) -> Result<(), ErrorCode> {
        let refusal = match &self.stage {
            // A repair registers nothing but what its organization is missing; a removal nothing.
            // A partner's sign-in registers nothing in the partner's own tenant.
            _ if matches!(self.purpose, Purpose::Repair(_) | Purpose::Remove(_) | Purpose::Partner) => {
                Some(ErrorCode::NotFound)
            }
            // Microsoft's answer may have come through somebody else's link: nothing happens in the
            // tenant until the owner's browser has claimed it.
            Stage::SignedIn { claim: Some(_), .. } => Some(ErrorCode::SignInNotClaimed),
            Stage::Starting | Stage::Polling { .. } | Stage::Window { .. } | Stage::Redeeming { .. } => {
                Some(ErrorCode::AuthorizationPending)
            }
            Stage::Ended { ending: Ending::Expired, holding: None, .. } if self.method == AddMethod::Credential => {
                Some(ErrorCode::SignInWindowExpired)
            }
            Stage::Ended { .. } if self.method == AddMethod::Credential => Some(ErrorCode::SignInCancelled),
            Stage::Ended { .. } => Some(ErrorCode::CodeExpired),
            _ if self.token().is_none() => Some(ErrorCode::CodeExpired),
            _ if self.holding().is_some_and(|h| h.saved) => Some(ErrorCode::NotFound),
            _ => None,
        };
        if let Some(code) = refusal {
            return Err(code);
        }
        if let (Some(expected), Some(known)) = (expected_tenant, self.tenant_id()) {
            if !known.eq_ignore_ascii_case(expected) {
                return Err(ErrorCode::SignInTenantMismatch);
            }
        }
        let (marker, cloud) = (self.marker(), self.cloud);
        let new_run = |main: Option<&Registration>| -> Result<Registration, ErrorCode> {
            Ok(match (main, expected_tenant) {
                (Some(m), _) if m.phase == Phase::Done => {
                    // The record's cloud is the truth (a run stored before runs had one reads as Global).
                    Registration { cloud, ..Registration::more(m, &marker, 1, ADDITIONAL_APPLICATIONS) }
                }
                (Some(_), _) => return Err(ErrorCode::AuthorizationPending),
                (None, Some(t)) => Registration::for_tenant(cloud, app_name, &marker, 1, ADDITIONAL_APPLICATIONS, t),
                (None, None) => Registration::new(cloud, app_name, &marker, 1, ADDITIONAL_APPLICATIONS),
            })
        };
        let was_registering = matches!(self.stage, Stage::Registering(_));
        let stage = std::mem::replace(&mut self.stage, Stage::Starting);
        let (result, stage) = match stage {
            Stage::SignedIn { token, claim: None } => match new_run(None) {
                Ok(run) => (
                    Ok(()),
                    Stage::Registering(Holding {
                        token: Some(token.in_use()),
                        main: None,
                        additional: Some(run),
                        discard_at: None,
                        save_lease_until: None,
                        saved: false,
                    }),
                ),
                Err(e) => (Err(e), Stage::SignedIn { token, claim: None }),
            },
            Stage::Registering(mut h) | Stage::Completed(mut h) => {
                let result = match &h.additional {
                    // A run already under way for another named tenant (an unnamed one is checked
                    // when its applications are taken, see the organizations service).
                    Some(a)
                        if a.tenant.is_none()
                            && a.expected_tenant
                                .as_deref()
                                .zip(expected_tenant)
                                .is_some_and(|(a, b)| !a.eq_ignore_ascii_case(b)) =>
                    {
                        Err(ErrorCode::SignInTenantMismatch)
                    }
                    Some(_) => Ok(()),
                    None => new_run(h.main.as_ref()).map(|run| h.additional = Some(run)),
                };
                // A registration under way goes on; a completed one registers again only if a run
                // was added.
                let registering = was_registering || h.running().is_some();
                (result, if registering { Stage::Registering(h) } else { Stage::Completed(h) })
            }
            other => (Err(ErrorCode::NotFound), other),
        };
        self.stage = stage;
        result
    }

    /// The tenant this sign-in registered in, once a registration has read it.
    pub fn tenant_id(&self) -> Option<&str> {
        self.holding()?.registrations().find_map(|r| r.tenant.as_ref()).map(|t| t.id.as_str())
    }

    /// When the Durable Object's alarm should fire next.
    pub fn next_alarm(&self, now: Millis) -> Option<Millis> {
        let retention = self.created_at + super::limits::RETENTION_MS;
        Some(match &self.stage {
            Stage::Polling { poller, .. } => poller.next_poll_at.min(poller.expires_at),
            Stage::Window { browser } => browser.expires_at,
            Stage::Redeeming { until } => *until,
            Stage::SignedIn { claim: Some(c), token } => c.until.min(token.forget_at()),
            Stage::SignedIn { claim: None, token } => token.forget_at(),
            Stage::Registering(h) => {
                let step = h.registrations().filter_map(|r| r.wait_until).max().unwrap_or(now).max(now);
                h.token.as_ref().map_or(step, |t| t.forget_at().min(step))
            }
            // Nothing left to do but the token's expiry, the hold's end, and then the record's own
            // deletion.
            _ => {
                let hold = self.discard_at().unwrap_or(retention);
                self.token().map_or(hold, |t| t.forget_at().min(hold))
            }
        })
    }

    /// Whether the record has served its time and is deleted (nothing pending, retention over).
    pub fn retention_over(&self, now: Millis) -> bool {
        now >= self.created_at + super::limits::RETENTION_MS && self.discard_at().is_none()
    }

    /// The number of applications that exist and work.
    pub fn applications_done(&self) -> u8 {
        self.holding()
            .map_or(0, |h| h.registrations().filter(|r| r.phase == Phase::Done).map(|r| r.apps.len() as u8).sum())
    }
}

mod hold;
mod holding;
pub mod legacy;
mod status;
mod tokens;

pub use holding::{DeviceState, HeldToken, Holding};

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
