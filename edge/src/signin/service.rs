//! What a sign-in's Durable Object does, without the Durable Object: each [`Command`] and each
//! alarm, over a [`SignInHost`] (its storage, its clock and randomness, the account's sign-in
//! slots, the question "which applications does a saved organization hold?") and Microsoft behind
//! the [`HttpClient`] seam. The Durable Object in `adapter/signin_do.rs` only implements the host;
//! native tests drive this with fakes. The pop-up's answer ([`redeem`]), the registration's steps
//! ([`register`]) and deleting applications ([`remove`]) are in their own files.

use super::browser::{self, BrowserSignIn, Claim, CLAIM_RANDOM_BYTES};
use super::command::{
    CallbackAnswer, CallbackOutcome, CertificateToRegister, Command, Exported, ExportedApp, PartnerGrant, Removed,
    Reply,
};
use super::record::{SignInRecord, Stage};
use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::check::verify;
use crate::microsoft::identity::ClientCredential;
use crate::microsoft::identity::{self, TokenOutcome};
use crate::microsoft::{graph, HttpClient, MicrosoftError};
use crate::provisioning::plan::{App, CertificateOrder, GeneratedCertificate, Phase, VerifyOutcome, Work};
use crate::time::Millis;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use futures_util::future::join_all;
use shared::api::{ErrorDetail, SignInState};
use shared::assertion::{AssertionAlg, ClientAssertion};
use shared::certificate::describe_certificate;
use shared::secret::SecretBytes;
use shared::secret::SecretString;
use shared::selfsigned::UnsignedCertificate;
use shared::{AddMethod, ErrorCode};
use std::future::Future;

/// Registration steps per alarm invocation, to stay well inside the subrequest limits.
pub const STEPS_PER_ALARM: usize = 6;
/// Attempts to redeem the pop-up's code when Microsoft's answer is transient.
pub const REDEEM_ATTEMPTS: usize = 3;
/// The longest wait between two attempts (the admin is looking at the window meanwhile).
pub const MAX_REDEEM_WAIT_MS: u64 = 2000;
/// When the database cannot say which applications are saved, the discard is tried again this much
/// later.
pub const DISCARD_RETRY_MS: i64 = 60_000;

/// Storage or the database failed; the text is for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError(pub String);

/// One sign-in's turn: a command that changes the record, or the alarm, holds it from reading the
/// record to storing it. A Durable Object delivers other events while an outbound request is in
/// flight, so without it a command arriving while the alarm waits for Microsoft would be
/// overwritten by the alarm's older copy (a ticked checkbox lost, a cancel undone). Status reads
/// write nothing and do not wait for it.
#[derive(Default)]
pub struct Turn(futures_util::lock::Mutex<()>);

impl Turn {
    async fn take(&self) -> futures_util::lock::MutexGuard<'_, ()> {
        self.0.lock().await
    }
}

/// What the service needs from the platform.
pub trait SignInHost: crate::keys::Signers {
    /// The sign-in's [`Turn`] (one per Durable Object instance: in memory, as its events are).
    fn turn(&self) -> &Turn;
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
    /// Fills `buf` from a CSPRNG.
    fn fill_random(&self, buf: &mut [u8]);
    /// Waits `ms` milliseconds.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
    /// The stored record.
    fn load(&self) -> impl Future<Output = Result<Option<SignInRecord>, HostError>>;
    /// Stores the record.
    fn put(&self, rec: &SignInRecord) -> impl Future<Output = Result<(), HostError>>;
    /// Sets the alarm to `at`, or removes it.
    fn set_alarm(&self, at: Option<Millis>) -> impl Future<Output = Result<(), HostError>>;
    /// Deletes the record and the alarm.
    fn delete_all(&self) -> impl Future<Output = Result<(), HostError>>;
    /// Makes the sign-in count against its account's limit again (a renewal); `false` when the
    /// limit is reached.
    fn claim_slot(&self, id: &str, account: &str) -> impl Future<Output = Result<bool, AppError>>;
    /// The sign-in no longer counts against its account's limit.
    fn release_slot(&self, id: &str) -> impl Future<Output = ()>;
    /// Which of `app_ids` a stored organization holds.
    fn held_by_organizations(&self, app_ids: &[String]) -> impl Future<Output = Result<Vec<String>, HostError>>;
    /// A warning for the logs (never a secret).
    fn warn(&self, message: &str);
}

/// One sign-in's behaviour, for one request or alarm.
pub struct SignInService<'a, H, C> {
    host: &'a H,
    http: &'a C,
    config: &'a Config,
}

impl<'a, H: SignInHost, C: HttpClient> SignInService<'a, H, C> {
    /// The service over `host`, `http` and `config`.
    pub fn new(host: &'a H, http: &'a C, config: &'a Config) -> Self {
        Self { host, http, config }
    }

    fn random<const N: usize>(&self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.host.fill_random(&mut bytes);
        bytes
    }

    /// Storage failed: logged, and answered as an internal error.
    fn internal(&self, e: HostError) -> AppError {
        self.host.warn(&format!("signin storage: {}", e.0));
        AppError::Internal
    }

    /// Stores the record, sets its alarm, and gives its slot back when it has ended.
    async fn save(&self, rec: &SignInRecord) -> Result<(), HostError> {
        self.host.put(rec).await?;
        self.host.set_alarm(rec.next_alarm(self.host.now())).await?;
        if rec.state().is_final() || rec.state() == SignInState::Completed {
            self.host.release_slot(&rec.id).await;
        }
        Ok(())
    }

    /// Answers one command.
    pub async fn handle(&self, cmd: Command) -> Result<Reply, AppError> {
        let _turn = match cmd {
            Command::Status { .. } => None,
            _ => Some(self.host.turn().take().await),
        };
        if let Command::Start { account, name, cloud, method, redirect_uri, purpose } = cmd {
            let client_id = self.config.public_client(cloud).ok_or(ErrorCode::ClientMisconfigured)?.to_owned();
            let mut rec = SignInRecord::new(&name, &account, cloud, &client_id, self.host.now());
            rec.method = method;
            rec.hold_ms = self.config.dev.signin_hold_ms;
            rec.purpose = purpose;
            self.begin(&mut rec, redirect_uri.as_deref()).await?;
            self.save(&rec).await.map_err(|e| self.internal(e))?;
            return Ok(Reply::Status(Box::new(rec.status(self.host.now()))));
        }
        if let Command::StartDelegated { account, name, cloud, token, expires_in } = cmd {
            // A partner's batch, for one customer: the token is the customer's, the partner's
            // roles there are in it; no slot is claimed (the batch bounds its own).
            let client_id = self.config.public_client(cloud).ok_or(ErrorCode::ClientMisconfigured)?.to_owned();
            let now = self.host.now();
            let mut rec = SignInRecord::new(&name, &account, cloud, &client_id, now);
            rec.hold_ms = self.config.dev.signin_hold_ms;
            let token = identity::AccessToken { access_token: token, expires_in, refresh_token: None };
            rec.on_delegated_token(token, &self.config.app_name, now);
            self.save(&rec).await.map_err(|e| self.internal(e))?;
            return Ok(Reply::Status(Box::new(rec.status(self.host.now()))));
        }
        let mut rec = self.host.load().await.map_err(|e| self.internal(e))?.ok_or(AppError::NoSuchObject)?;
        if let Command::Callback(answer) = cmd {
            // No session here: the state secret is the proof (checked by the record).
            let outcome = match self.on_callback(&mut rec, answer).await.map_err(|e| self.internal(e))? {
                Ok(claim) => CallbackOutcome {
                    error: None,
                    claim: Some((claim.handle.expose().to_owned(), claim.display_code())),
                },
                Err(e) => CallbackOutcome { error: Some(e), claim: None },
            };
            return Ok(Reply::Callback(outcome));
        }
        if let Command::WindowClaim { handle, proof } = cmd {
            // No session here: the handle and the window's state are the proof.
            let t = self.host.now();
            let app_name = rec.purpose.registers().then_some(self.config.app_name.as_str());
            rec.claim_from_window(handle.expose(), proof.expose(), app_name, t).map_err(AppError::from)?;
            self.save(&rec).await.map_err(|e| self.internal(e))?;
            return Ok(Reply::Status(Box::new(rec.status(self.host.now()))));
        }
        if cmd.account() != Some(rec.account.as_str()) {
            return Err(AppError::NoSuchObject);
        }
        if rec.state() == SignInState::Cancelled && cmd.is_public() {
            // Cancelling is `DELETE`: for the API the sign-in is gone (the record stays only to
            // delete what it created and then itself).
            return Err(AppError::NoSuchObject);
        }
        let t = self.host.now();
        rec.tick(t);
        match cmd {
            // Reading the status writes nothing (what time changed, the alarm records at its time).
            Command::Status { .. } => return Ok(Reply::Status(Box::new(rec.status(t)))),
            // A sign-in that registers nothing (a removal's, a sign-in only): its window's answer
            // is claimed without registering, and a device code is never confirmed.
            Command::Confirm { .. } if !rec.purpose.registers() && rec.method != AddMethod::Credential => {
                return Err(ErrorCode::NotFound.into());
            }
            Command::Confirm { claim, .. } if rec.method == AddMethod::Credential => {
                let presented = claim.as_ref().map(|c| c.expose().to_owned()).unwrap_or_default();
                let app_name = rec.purpose.registers().then_some(self.config.app_name.as_str());
                match rec.claim(&presented, app_name, t) {
                    Ok(()) => {}
                    Err(code) => {
                        // Save what the attempt changed (the count, or the end of the sign-in) first.
                        self.save(&rec).await.map_err(|e| self.internal(e))?;
                        return Err(code.into());
                    }
                }
            }
            Command::Confirm { .. } => {
                rec.confirm(&self.config.app_name);
            }
            Command::Renew { redirect_uri, .. } => {
                if !rec.can_renew() {
                    let message = if rec.method == AddMethod::Credential {
                        "A new sign-in window can be opened only before registration has started."
                    } else {
                        "A new code can be requested only after the current one has expired or failed."
                    };
                    return Err(ErrorDetail {
                        message: message.into(),
                        ..ErrorDetail::new(ErrorCode::AuthorizationPending)
                    }
                    .into());
                }
                if !self.host.claim_slot(&rec.id, &rec.account).await? {
                    return Err(ErrorCode::TooManySignIns.into());
                }
                self.begin(&mut rec, redirect_uri.as_deref()).await?;
            }
            Command::Cancel { .. } => rec.cancel(t),
            Command::Additional { cloud, tenant, .. } => {
                if cloud.is_some_and(|c| c != rec.cloud) {
                    return Err(ErrorCode::SignInTenantMismatch.into());
                }
                rec.start_additional(&self.config.app_name, tenant.as_deref()).map_err(AppError::from)?
            }
            Command::Remove { organization, cloud, tenant, app_ids, .. } => {
                let token = rec.removal_token(&organization, cloud).map_err(AppError::from)?;
                let removed = self.remove(&rec, &token, &tenant, &app_ids).await?;
                if removed.not_removed.is_empty() {
                    // Used up: the token is dropped with the sign-in.
                    rec.cancel(t);
                    self.save(&rec).await.map_err(|e| self.internal(e))?;
                }
                return Ok(Reply::Removed(removed));
            }
            Command::Export { .. } => {
                // The applications and their secrets, for the Worker to seal into D1 when Step 3 is
                // saved.
                rec.take_for_save(t).map_err(AppError::from)?;
                let body = export(&rec);
                self.save(&rec).await.map_err(|e| self.internal(e))?;
                return Ok(Reply::Exported(body));
            }
            Command::Saved { .. } => rec.mark_saved(t).map_err(AppError::from)?,
            Command::Release { .. } => rec.release(t).map_err(AppError::from)?,
            Command::UseCertificate { certificate, .. } => self.use_certificate(&mut rec, &certificate).await?,
            Command::PartnerRelationships { .. } => {
                let token = rec.partner_token().map_err(AppError::from)?;
                self.partner_center_ready(&rec).await?;
                return Ok(Reply::Relationships(self.relationships(&rec, &token).await?));
            }
            Command::PartnerHandover { .. } => {
                let token = rec.partner_token().map_err(AppError::from)?;
                self.partner_center_ready(&rec).await?;
                let relationships = self.relationships(&rec, &token).await?;
                let refresh_token = rec.hand_over().map_err(AppError::from)?;
                self.save(&rec).await.map_err(|e| self.internal(e))?;
                return Ok(Reply::PartnerGrant(PartnerGrant { refresh_token, relationships }));
            }
            Command::Start { .. }
            | Command::StartDelegated { .. }
            | Command::Callback(_)
            | Command::WindowClaim { .. } => {
                unreachable!("answered above")
            }
        }
        self.save(&rec).await.map_err(|e| self.internal(e))?;
        Ok(Reply::Status(Box::new(rec.status(self.host.now()))))
    }

    /// Starts the sign-in, or starts it over, by its method: a (new) device code, or a (new) sign-in
    /// window with a fresh state and verifier (`redirect_uri` required).
    async fn begin(&self, rec: &mut SignInRecord, redirect_uri: Option<&str>) -> Result<(), AppError> {
        if rec.method == AddMethod::Credential {
            let redirect_uri = redirect_uri.ok_or(ErrorCode::ClientMisconfigured)?;
            let endpoints = self.config.endpoints(rec.cloud);
            let scope = rec.purpose.consent_scopes(&endpoints);
            let b = BrowserSignIn::new_for(
                &rec.id,
                &endpoints,
                &rec.client_id,
                redirect_uri,
                &scope,
                &self.random(),
                self.host.now(),
            );
            rec.on_browser_sign_in(b);
        } else {
            self.request_code(rec).await;
        }
        Ok(())
    }

    async fn request_code(&self, rec: &mut SignInRecord) {
        let endpoints = self.config.endpoints(rec.cloud);
        let req = identity::device_code_request_for(&endpoints, &rec.client_id, &rec.purpose.scopes(&endpoints));
        match self.http.send(req).await {
            Ok(resp) => match identity::read_device_code(&resp) {
                Ok(d) => rec.on_device_code(d, self.host.now()),
                Err(e) => {
                    self.host.warn(&format!("signin {}: device code refused: {:?} {}", rec.id, e.code, e.status));
                    rec.on_start_failed(e.detail());
                }
            },
            Err(e) => {
                self.host.warn(&format!("signin {}: device code request failed: {}", rec.id, e.0));
                rec.on_start_failed(ErrorDetail::new(ErrorCode::MicrosoftUnavailable));
            }
        }
    }

    /// Registers `certificate` on every application of a completed, unsaved sign-in and removes the
    /// generated secrets, with the admin's token.
    async fn use_certificate(&self, rec: &mut SignInRecord, cert: &CertificateToRegister) -> Result<(), AppError> {
        let Stage::Completed(holding) = &rec.stage else { return Err(ErrorCode::NotFound.into()) };
        // A repair's applications keep their credentials or get the service's certificate; the
        // keys of applications that were there before are not replaced here.
        if holding.saved || rec.purpose.repair().is_some() {
            return Err(ErrorCode::NotFound.into());
        }
        let token = holding.token.as_ref().map(|t| t.access_token.clone()).ok_or(ErrorCode::CodeExpired)?;
        let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &cert.der_base64)
            .map_err(|_| AppError::Internal)?;
        let key = shared::assertion::KeyCredential::for_certificate(
            &der,
            "M365 backup (certificate)",
            (cert.not_before, cert.not_after),
        );
        let apps = [&holding.main, &holding.additional].into_iter().flatten().flat_map(|r| r.apps.iter());
        let items = crate::provisioning::certificate_items(apps, &key);
        let endpoints = self.config.endpoints(rec.cloud);
        for chunk in items.chunks(graph::MAX_BATCH) {
            let resp = self.http.send(graph::batch(&endpoints, &token, chunk)).await.map_err(|e| {
                self.host.warn(&format!("signin {}: certificate registration failed: {}", rec.id, e.0));
                AppError::from(ErrorCode::MicrosoftUnavailable)
            })?;
            let results = graph::read_batch(&resp).map_err(|e| AppError::from(e.detail()))?;
            if let Some(bad) = results.iter().find(|r| !r.ok()) {
                return Err(bad.error().detail().into());
            }
        }
        rec.secrets_removed();
        Ok(())
    }

    /// The alarm: deletes a record past its retention, polls Microsoft when due, runs registration
    /// steps, and ends the hold when its time has come.
    pub async fn alarm(&self) -> Result<(), HostError> {
        let _turn = self.host.turn().take().await;
        let Some(mut rec) = self.host.load().await? else { return Ok(()) };
        let t = self.host.now();
        if rec.retention_over(t) {
            // The sign-in ended long ago: nothing in it is needed any more.
            return self.host.delete_all().await;
        }
        rec.tick(t);
        if rec.poll_due(t) {
            self.poll(&mut rec).await;
        }
        if rec.state() == SignInState::Registering {
            self.register(&mut rec).await?;
        }
        if rec.discard_at().is_some_and(|d| d <= self.host.now()) {
            self.discard(&mut rec).await;
        }
        self.save(&rec).await
    }

    async fn poll(&self, rec: &mut SignInRecord) {
        let Some(device_code) = rec.device_code() else { return };
        let endpoints = self.config.endpoints(rec.cloud);
        let req = identity::device_token_request(&endpoints, &rec.client_id, device_code);
        let sent_at = self.host.now();
        let outcome = match self.http.send(req).await {
            Ok(resp) => identity::read_token(&resp),
            Err(e) => {
                self.host.warn(&format!("signin {}: token poll failed: {}", rec.id, e.0));
                TokenOutcome::Error(identity::OAuthFailure { error: None, microsoft: MicrosoftError::transport() })
            }
        };
        rec.on_poll(outcome, sent_at, &self.config.app_name, self.host.now());
    }
}

/// The applications of a completed sign-in with their secrets, main first.
fn export(rec: &SignInRecord) -> Exported {
    let regs: Vec<_> = rec
        .holding()
        .into_iter()
        .flat_map(|h| [&h.main, &h.additional])
        .flatten()
        .filter(|r| r.phase == Phase::Done)
        .collect();
    let tenant_id = regs.iter().find_map(|r| r.tenant.as_ref()).map(|t| t.id.clone()).unwrap_or_default();
    let apps = regs
        .iter()
        .flat_map(|r| r.apps.iter().map(move |a| (r, a)))
        .filter_map(|(r, a)| {
            Some(ExportedApp {
                index: a.index,
                app_id: a.app_id()?.to_owned(),
                object_id: a.object_id()?.to_owned(),
                secret: a.secret().map(|(s, _)| s.expose().to_owned()),
                certificate: a.certificate().cloned(),
                secret_expires_at: a.secret().and_then(|(_, end)| end),
                manifest_version: r.manifest_version,
                permissions: r.granted_permissions(a),
            })
        })
        .collect();
    Exported { cloud: rec.cloud, tenant_id, apps, repair_of: rec.purpose.repair().map(|r| r.organization_id.clone()) }
}

mod partner;
mod redeem;
mod register;
mod remove;

#[cfg(test)]
#[path = "service_tests.rs"]
pub(crate) mod tests;
