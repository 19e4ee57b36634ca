//! The sign-in Durable Object: holds one sign-in's record, polls Microsoft from its alarm, and runs
//! the registration. Its `fetch` is an internal API for the Worker only (the Worker has already
//! checked the session; every call names the account, and a mismatch answers 404).

use super::http::WorkerHttp;
use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::identity::{self, ClientCredential, TokenOutcome};
use crate::microsoft::{graph, HttpClient, MicrosoftError};
use crate::provisioning::plan::{Phase, VerifyOutcome, Work};
use crate::signin::browser::{self, BrowserSignIn, Claim};
use crate::signin::poller::Millis;
use crate::signin::record::SignInRecord;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use shared::api::{ErrorDetail, SignInState};
use shared::secret::{serialize_exposed, serialize_exposed_opt, SecretString};
use shared::{AddMethod, CloudEnvironment, ErrorCode};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const RECORD: &str = "record";
/// The operations a public route leads to (the others are the Worker's own).
const PUBLIC_OPS: &[&str] = &["status", "confirm", "renew", "cancel", "additional"];
/// Registration steps per alarm invocation, to stay well inside the subrequest limits.
const STEPS_PER_ALARM: usize = 6;
/// Attempts to redeem the pop-up's code when Microsoft's answer is transient.
const REDEEM_ATTEMPTS: usize = 3;
/// The longest wait between two attempts (the admin is looking at the window meanwhile).
const MAX_REDEEM_WAIT_MS: u64 = 2000;
/// When D1 cannot say which applications are saved, the discard is tried again this much later.
const DISCARD_RETRY_MS: Millis = 60_000;

/// What the Worker sends to the Durable Object.
#[derive(Debug, Serialize, Deserialize)]
pub struct Command {
    /// The portal account making the call (empty for `callback`, which has no session).
    pub account: String,
    /// `start`, `status`, `confirm`, `renew`, `cancel`, `additional`, `callback`, and the internal
    /// `export`, `saved`, `use-certificate`.
    pub op: String,
    /// For `start`: the cloud.
    #[serde(default)]
    pub cloud: Option<CloudEnvironment>,
    /// For `start`: device code (the default) or Credential.
    #[serde(default)]
    pub method: Option<AddMethod>,
    /// For `start` and `renew` of a Credential sign-in: where Microsoft sends the pop-up back.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// For `callback`: what Microsoft sent back to the pop-up.
    #[serde(default)]
    pub callback: Option<CallbackAnswer>,
    /// For `confirm` of a Credential sign-in: the handle or the confirmation code.
    #[serde(default, serialize_with = "serialize_exposed_opt")]
    pub claim: Option<SecretString>,
    /// For `use-certificate`: the certificate (base64 DER) and its validity (Unix seconds).
    #[serde(default)]
    pub certificate: Option<(String, i64, i64)>,
    /// For `additional` from a save: the organization's tenant (with `cloud`), so that a sign-in
    /// in another tenant or cloud creates nothing.
    #[serde(default)]
    pub tenant: Option<String>,
}

impl Command {
    /// `op` on behalf of `account`, without arguments.
    pub fn new(account: &str, op: &str) -> Self {
        Self {
            account: account.to_owned(),
            op: op.to_owned(),
            cloud: None,
            method: None,
            redirect_uri: None,
            callback: None,
            claim: None,
            certificate: None,
            tenant: None,
        }
    }
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
#[derive(Serialize, Deserialize)]
pub struct CallbackOutcome {
    /// Why the answer was not used.
    pub error: Option<ErrorDetail>,
    /// On success: the handle the page posts to the app and the code it shows.
    pub claim: Option<(String, String)>,
}

fn now() -> Millis {
    worker::Date::now().as_millis() as Millis
}

fn error_response(e: AppError) -> Result<Response> {
    Ok(Response::from_json(&e.body())?.with_status(e.status()))
}

#[durable_object]
pub struct SignIn {
    state: State,
    env: Env,
}

impl SignIn {
    fn config(&self) -> std::result::Result<Config, AppError> {
        super::read_config(&self.env)
    }

    async fn load(&self) -> Result<Option<SignInRecord>> {
        self.state.storage().get::<SignInRecord>(RECORD).await
    }

    async fn save(&self, rec: &SignInRecord) -> Result<()> {
        self.state.storage().put(RECORD, rec).await?;
        match rec.next_alarm(now()) {
            // An i64 is an offset from now for the runtime, not a timestamp.
            Some(at) => {
                let offset = (at - now()).max(0) as u64;
                self.state.storage().set_alarm(std::time::Duration::from_millis(offset)).await?
            }
            None => self.state.storage().delete_alarm().await?,
        }
        if rec.state.is_final() || rec.state == SignInState::Completed {
            super::release_signin_slot(&self.env, &rec.id).await;
        }
        Ok(())
    }

    async fn request_code(&self, rec: &mut SignInRecord, config: &Config) {
        let endpoints = config.endpoints(rec.cloud);
        let req = identity::device_code_request(&endpoints, &rec.client_id);
        match WorkerHttp.send(req).await {
            Ok(resp) => match identity::read_device_code(&resp) {
                Ok(d) => rec.on_device_code(d, now()),
                Err(e) => {
                    worker::console_warn!("signin {}: device code refused: {:?} {}", rec.id, e.code, e.status);
                    rec.on_start_failed(e.detail());
                }
            },
            Err(e) => {
                worker::console_warn!("signin {}: device code request failed: {}", rec.id, e.0);
                rec.on_start_failed(ErrorDetail::new(ErrorCode::MicrosoftUnavailable));
            }
        }
    }

    /// Starts the sign-in, or starts it over, by its method: a (new) device code, or a (new) sign-in
    /// window with a fresh state and verifier (`redirect_uri` required).
    async fn begin(
        &self,
        rec: &mut SignInRecord,
        config: &Config,
        redirect_uri: Option<&str>,
    ) -> std::result::Result<(), AppError> {
        if rec.method == AddMethod::Credential {
            let redirect_uri = redirect_uri.ok_or(ErrorCode::ClientMisconfigured)?;
            rec.on_browser_sign_in(new_browser_sign_in(rec, config, redirect_uri));
        } else {
            rec.state = SignInState::WaitingForSignIn;
            rec.confirmed = false;
            self.request_code(rec, config).await;
        }
        Ok(())
    }

    async fn handle(&self, cmd: Command) -> std::result::Result<Response, AppError> {
        let config = self.config()?;
        let internal = |e: worker::Error| {
            worker::console_error!("signin storage: {e}");
            AppError::Internal
        };
        let id = self.state.id().to_string();
        if cmd.op == "start" {
            let cloud = cmd.cloud.ok_or(AppError::Internal)?;
            let client_id = config.public_client(cloud).ok_or(ErrorCode::ClientMisconfigured)?.to_owned();
            let name = self.state.storage().get::<String>("name").await.ok().flatten().unwrap_or(id);
            let mut rec = SignInRecord::new(&name, &cmd.account, cloud, &client_id, now());
            rec.method = cmd.method.unwrap_or(AddMethod::DeviceCode);
            rec.hold_ms = config.dev.signin_hold_ms;
            self.begin(&mut rec, &config, cmd.redirect_uri.as_deref()).await?;
            self.save(&rec).await.map_err(internal)?;
            return Response::from_json(&rec.status(now())).map_err(internal);
        }
        let mut rec = self.load().await.map_err(internal)?.ok_or(AppError::NoSuchObject)?;
        if cmd.op == "callback" {
            // No session here: the state secret is the proof (checked by the record).
            let answer = cmd.callback.ok_or(AppError::Internal)?;
            let outcome = match self.on_callback(&mut rec, &config, answer).await.map_err(internal)? {
                Ok(claim) => CallbackOutcome {
                    error: None,
                    claim: Some((claim.handle.expose().to_owned(), claim.display_code())),
                },
                Err(e) => CallbackOutcome { error: Some(e), claim: None },
            };
            return Response::from_json(&outcome).map_err(internal);
        }
        if rec.account != cmd.account {
            return Err(AppError::NoSuchObject);
        }
        if rec.state == SignInState::Cancelled && PUBLIC_OPS.contains(&cmd.op.as_str()) {
            // Cancelling is `DELETE`: for the API the sign-in is gone (the record stays only to
            // delete what it created and then itself).
            return Err(AppError::NoSuchObject);
        }
        let t = now();
        rec.tick(t);
        match cmd.op.as_str() {
            // Reading the status writes nothing (what time changed, the alarm records at its time).
            "status" => return Response::from_json(&rec.status(t)).map_err(internal),
            "confirm" if rec.method == AddMethod::Credential => {
                let presented = cmd.claim.as_ref().map(|c| c.expose().to_owned()).unwrap_or_default();
                match rec.claim(&presented, t) {
                    Ok(()) => rec.start_main(&config.app_name),
                    Err(code) => {
                        // Save what the attempt changed (the count, or the end of the sign-in) first.
                        self.save(&rec).await.map_err(internal)?;
                        return Err(code.into());
                    }
                }
            }
            "confirm" => {
                rec.confirm(&config.app_name);
            }
            "renew" => {
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
                if !super::claim_signin_slot(&self.env, &rec.id, &rec.account, None).await? {
                    return Err(ErrorCode::TooManySignIns.into());
                }
                self.begin(&mut rec, &config, cmd.redirect_uri.as_deref()).await?;
            }
            "cancel" => rec.cancel(t),
            "additional" => {
                if cmd.cloud.is_some_and(|c| c != rec.cloud) {
                    return Err(ErrorCode::SignInTenantMismatch.into());
                }
                rec.start_additional(&config.app_name, cmd.tenant.as_deref()).map_err(AppError::from)?
            }
            "export" => {
                // Internal only (no public route leads here): the applications and their secrets,
                // for the Worker to seal into D1 when Step 3 is saved.
                rec.take_for_save(t).map_err(AppError::from)?;
                let body = export(&rec);
                self.save(&rec).await.map_err(internal)?;
                return Response::from_json(&body).map_err(internal);
            }
            "saved" => rec.mark_saved(t),
            "release" => rec.release(t).map_err(AppError::from)?,
            "use-certificate" => {
                // Step 3 switched to a certificate after automatic registration: register it on every
                // application of this sign-in and remove the generated secrets, with the admin's token.
                let (cert_b64, nbf, exp) = cmd.certificate.clone().ok_or(AppError::Internal)?;
                if rec.state != SignInState::Completed || rec.saved {
                    return Err(ErrorCode::NotFound.into());
                }
                let token = rec.token.as_ref().map(|t| t.access_token.clone()).ok_or(ErrorCode::CodeExpired)?;
                let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &cert_b64)
                    .map_err(|_| AppError::Internal)?;
                let key =
                    shared::assertion::KeyCredential::for_certificate(&der, "M365 backup (certificate)", (nbf, exp));
                let mut items = vec![];
                for reg in [&rec.main, &rec.additional].into_iter().flatten() {
                    for a in &reg.apps {
                        let Some(oid) = &a.object_id else { continue };
                        items.push(graph::BatchItem::with_body(
                            format!("kc{}", a.index),
                            "PATCH",
                            format!("/applications/{oid}"),
                            serde_json::json!({ "keyCredentials": [key] }),
                        ));
                        if let Some(key_id) = &a.secret_key_id {
                            let mut remove = graph::BatchItem::with_body(
                                format!("rp{}", a.index),
                                "POST",
                                format!("/applications/{oid}/removePassword"),
                                serde_json::json!({ "keyId": key_id }),
                            );
                            remove.depends_on = vec![format!("kc{}", a.index)];
                            items.push(remove);
                        }
                    }
                }
                let endpoints = config.endpoints(rec.cloud);
                for chunk in items.chunks(graph::MAX_BATCH) {
                    let resp = WorkerHttp.send(graph::batch(&endpoints, &token, chunk)).await.map_err(|e| {
                        worker::console_warn!("signin {}: certificate registration failed: {}", rec.id, e.0);
                        AppError::from(ErrorCode::MicrosoftUnavailable)
                    })?;
                    let results = graph::read_batch(&resp).map_err(|e| AppError::from(e.detail()))?;
                    if let Some(bad) = results.iter().find(|r| !r.ok()) {
                        return Err(bad.error().detail().into());
                    }
                }
                for reg in [&mut rec.main, &mut rec.additional].into_iter().flatten() {
                    for a in &mut reg.apps {
                        a.secret = None;
                    }
                }
            }
            _ => return Err(AppError::NotFound),
        }
        self.save(&rec).await.map_err(internal)?;
        Response::from_json(&rec.status(now())).map_err(internal)
    }

    /// Microsoft sent the Credential pop-up back. The pending sign-in is taken and saved before the
    /// code is redeemed, so an answer replayed meanwhile finds nothing to redeem.
    async fn on_callback(
        &self,
        rec: &mut SignInRecord,
        config: &Config,
        answer: CallbackAnswer,
    ) -> Result<std::result::Result<Claim, ErrorDetail>> {
        let pending = match rec.take_browser_answer(answer.state_secret.expose(), now()) {
            Ok(p) => p,
            Err(code) => {
                // Nothing is written: a refused answer (a wrong secret above all) leaves no trace
                // in storage; what time changed (an expiry) the alarm records at its time.
                worker::console_warn!("signin {}: pop-up answer refused: {}", rec.id, code.as_str());
                return Ok(Err(ErrorDetail::new(code)));
            }
        };
        // Saved before redeeming: a replay finds nothing to take, and a redemption cut off here
        // ends at `redeeming_until` instead of leaving the sign-in waiting.
        self.save(rec).await?;
        let result = match (answer.error, answer.code) {
            (Some(error), _) => Err(browser::redirect_error(&error, answer.error_description.as_deref())),
            (None, None) => Err(ErrorDetail::new(ErrorCode::SignInFailed)),
            (None, Some(code)) => self.redeem(rec, config, &code, &pending).await,
        };
        // Other requests ran while Microsoft answered (a cancel, a status read): apply the outcome
        // to the record as it is now, and only if the redemption is still wanted.
        let mut current = self.load().await?.unwrap_or_else(|| rec.clone());
        current.tick(now());
        let result = if !current.is_redeeming() {
            worker::console_warn!("signin {}: the sign-in ended while its code was redeemed", current.id);
            Err(ErrorDetail::new(ErrorCode::SignInCancelled))
        } else {
            match result {
                Ok(token) => {
                    let claim = Claim::new(&random(), now());
                    current.on_browser_token(token, claim.clone(), now());
                    Ok(claim)
                }
                Err(e) => {
                    worker::console_warn!("signin {}: pop-up sign-in failed: {}", current.id, e.code.as_str());
                    current.on_browser_failed(e.clone());
                    Err(e)
                }
            }
        };
        self.save(&current).await?;
        *rec = current;
        Ok(result)
    }

    /// Redeems the pop-up's code with the verifier. A code is single-use, but an answer that never
    /// came (no response, 429, 5xx) did not use it: retry a little while the admin waits on the
    /// window, honouring Retry-After. A definitive refusal (400) is not retried.
    async fn redeem(
        &self,
        rec: &SignInRecord,
        config: &Config,
        code: &SecretString,
        pending: &BrowserSignIn,
    ) -> std::result::Result<identity::AccessToken, ErrorDetail> {
        let endpoints = config.endpoints(rec.cloud);
        let send = || {
            WorkerHttp.send(identity::authorization_code_request(
                &endpoints,
                &rec.client_id,
                code,
                &pending.redirect_uri,
                &pending.verifier,
            ))
        };
        let mut lost_answer = false;
        let mut outcome = send().await.map(|r| identity::read_token(&r));
        for _ in 1..REDEEM_ATTEMPTS {
            let wait_secs = match &outcome {
                Ok(TokenOutcome::Error(f)) if f.microsoft.status == 429 || f.microsoft.status >= 500 => {
                    f.microsoft.retry_after
                }
                Err(_) => {
                    lost_answer = true;
                    None
                }
                _ => break,
            };
            let wait_ms = wait_secs.map_or(500, |s| s.saturating_mul(1000)).min(MAX_REDEEM_WAIT_MS);
            worker::Delay::from(std::time::Duration::from_millis(wait_ms)).await;
            outcome = send().await.map(|r| identity::read_token(&r));
        }
        match outcome {
            Ok(TokenOutcome::Token(t)) => Ok(t),
            // "Already redeemed" after an answer was lost: our own first attempt may have used it.
            Ok(TokenOutcome::Error(f)) if lost_answer && f.microsoft.code == ErrorCode::CodeAlreadyUsed => {
                Err(ErrorDetail::new(ErrorCode::MicrosoftUnavailable))
            }
            Ok(TokenOutcome::Error(f)) => Err(match f.microsoft.detail() {
                d if d.code == ErrorCode::MicrosoftUnavailable && f.microsoft.status == 400 => ErrorDetail {
                    code: ErrorCode::SignInFailed,
                    message: ErrorCode::SignInFailed.message().into(),
                    ..d
                },
                d => d,
            }),
            Err(e) => {
                worker::console_warn!("signin {}: code redemption failed: {}", rec.id, e.0);
                Err(ErrorDetail::new(ErrorCode::MicrosoftUnavailable))
            }
        }
    }

    async fn poll(&self, rec: &mut SignInRecord, config: &Config) {
        let Some(device) = &rec.device else { return };
        let endpoints = config.endpoints(rec.cloud);
        let req = identity::device_token_request(&endpoints, &rec.client_id, &device.device_code);
        let sent_at = now();
        let outcome = match WorkerHttp.send(req).await {
            Ok(resp) => identity::read_token(&resp),
            Err(e) => {
                worker::console_warn!("signin {}: token poll failed: {}", rec.id, e.0);
                TokenOutcome::Error(identity::OAuthFailure {
                    error: String::new(),
                    microsoft: MicrosoftError::transport(),
                })
            }
        };
        if let Some(p) = rec.poller.as_mut() {
            let decision = p.on_outcome(outcome, sent_at, now());
            rec.on_poll(decision, now());
        }
        if rec.state == SignInState::SignedIn && rec.confirmed {
            rec.start_main(&config.app_name);
        }
    }

    /// Runs registration steps until it waits, ends, or the per-alarm budget is used.
    async fn register(&self, rec: &mut SignInRecord, config: &Config) -> Result<()> {
        let endpoints = config.endpoints(rec.cloud);
        for _ in 0..STEPS_PER_ALARM {
            let Some(token) = rec.token.as_ref().map(|t| t.access_token.clone()) else {
                if let Some(reg) = rec.running() {
                    reg.fail(ErrorDetail::new(ErrorCode::CodeExpired));
                }
                rec.settle(now());
                break;
            };
            let t = now();
            let Some(reg) = rec.running() else {
                rec.settle(t);
                break;
            };
            match reg.next(t) {
                Work::Graph(batches) => {
                    if reg.phase == Phase::Discover {
                        // Recorded before sending: a restart now looks up instead of creating again.
                        reg.mark_sent();
                        self.state.storage().put(RECORD, &*rec).await?;
                    }
                    let sends = batches.iter().map(|b| WorkerHttp.send(graph::batch(&endpoints, &token, b)));
                    let answers = join_all(sends)
                        .await
                        .into_iter()
                        .map(|r| match r {
                            Ok(resp) => graph::read_batch(&resp),
                            Err(_) => Err(MicrosoftError::transport()),
                        })
                        .collect();
                    if let Some(reg) = rec.running() {
                        reg.on_batches(answers, now());
                    }
                }
                Work::Verify(indexes) => {
                    let checks = indexes.iter().map(|i| {
                        let app = reg.app(*i).cloned();
                        let endpoints = endpoints.clone();
                        let tenant = reg.tenant.as_ref().map(|t| t.id.clone()).unwrap_or_default();
                        async move {
                            let Some(app) = app else {
                                return (*i, VerifyOutcome::Refused(MicrosoftError::transport()));
                            };
                            (*i, verify_app(&endpoints, &tenant, &app).await)
                        }
                    });
                    let outcomes = join_all(checks).await;
                    if let Some(reg) = rec.running() {
                        reg.graph_round_trips += 1;
                        reg.graph_requests += outcomes.len() as u32;
                        for (i, o) in outcomes {
                            reg.on_verified(i, o, now());
                        }
                    }
                }
                Work::WaitUntil(_) => break,
                Work::Done | Work::Failed(_) => {
                    rec.settle(now());
                    if rec.running().is_none() {
                        break;
                    }
                }
            }
            self.state.storage().put(RECORD, &*rec).await?;
        }
        rec.settle(now());
        Ok(())
    }

    /// After the hold: delete unsaved applications, then forget every secret. The stored
    /// organizations are the truth: an application that any organization holds is kept, even when
    /// the "saved" hand-over never arrived (and if D1 cannot answer, nothing is deleted now: the
    /// next alarm asks again).
    async fn discard(&self, rec: &mut SignInRecord, config: &Config) {
        if let Some(token) = rec.token.as_ref().map(|t| t.access_token.clone()) {
            let created: Vec<(u8, String, String)> = [&rec.main, &rec.additional]
                .into_iter()
                .flatten()
                .flat_map(|r| r.apps.iter())
                .filter_map(|a| Some((a.index, a.app_id.clone()?, a.object_id.clone()?)))
                .collect();
            let held = match self.held_by_organizations(created.iter().map(|(_, app_id, _)| app_id.as_str())).await {
                Ok(held) => held,
                Err(e) => {
                    worker::console_error!("signin {}: cannot ask D1 which applications are saved: {e}", rec.id);
                    rec.discard_at = Some(now() + DISCARD_RETRY_MS);
                    return;
                }
            };
            let items: Vec<graph::BatchItem> = created
                .iter()
                .filter(|(_, app_id, _)| !held.contains(app_id))
                .map(|(index, _, oid)| graph::BatchItem {
                    method: "DELETE",
                    ..graph::BatchItem::get(format!("del{index}"), format!("/applications/{oid}"))
                })
                .collect();
            if !held.is_empty() && !rec.saved {
                worker::console_warn!(
                    "signin {}: {} application(s) belong to a saved organization; kept (the saved hand-over was lost)",
                    rec.id,
                    held.len()
                );
            }
            if !items.is_empty() {
                let endpoints = config.endpoints(rec.cloud);
                match WorkerHttp.send(graph::batch(&endpoints, &token, &items)).await {
                    Ok(_) => {
                        worker::console_log!("signin {}: deleted {} unsaved application(s)", rec.id, items.len())
                    }
                    Err(e) => {
                        worker::console_warn!("signin {}: deleting unsaved applications failed: {}", rec.id, e.0)
                    }
                }
            }
        }
        rec.forget_secrets();
        rec.discard_at = None;
    }

    /// Which of `app_ids` a stored organization holds.
    async fn held_by_organizations<'a>(&self, app_ids: impl Iterator<Item = &'a str>) -> Result<Vec<String>> {
        let ids: Vec<wasm_bindgen::JsValue> = app_ids.map(wasm_bindgen::JsValue::from).collect();
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let marks = (1..=ids.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        #[derive(Deserialize)]
        struct Row {
            app_id: String,
        }
        let rows = self
            .env
            .d1("DB")?
            .prepare(format!("SELECT DISTINCT app_id FROM applications WHERE app_id IN ({marks})"))
            .bind(&ids)?
            .all()
            .await?
            .results::<Row>()?;
        Ok(rows.into_iter().map(|r| r.app_id).collect())
    }
}

/// `N` bytes from the platform's CSPRNG (crypto.getRandomValues).
fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the platform's random number generator is available");
    bytes
}

/// A new pop-up sign-in for `rec`, with fresh randomness for the verifier and the state.
fn new_browser_sign_in(rec: &SignInRecord, config: &Config, redirect_uri: &str) -> BrowserSignIn {
    BrowserSignIn::new(&rec.id, &config.endpoints(rec.cloud), &rec.client_id, redirect_uri, &random(), now())
}

/// The applications of a completed sign-in, with their secrets (Worker-internal).
#[derive(Serialize, Deserialize)]
pub struct Exported {
    /// The cloud of the sign-in.
    pub cloud: CloudEnvironment,
    /// Tenant ID.
    pub tenant_id: String,
    /// The applications, main first.
    pub apps: Vec<ExportedApp>,
}

/// One exported application.
#[derive(Serialize, Deserialize)]
pub struct ExportedApp {
    /// 0 for the main application.
    pub index: u8,
    /// Application (client) ID.
    pub app_id: String,
    /// Object ID.
    pub object_id: String,
    /// The generated secret (Worker-internal; sealed before it is stored).
    pub secret: String,
    /// Secret end, Unix seconds.
    pub secret_expires_at: Option<i64>,
}

fn export(rec: &SignInRecord) -> Exported {
    let regs: Vec<_> = [&rec.main, &rec.additional].into_iter().flatten().filter(|r| r.phase == Phase::Done).collect();
    let tenant_id = regs.iter().find_map(|r| r.tenant.as_ref()).map(|t| t.id.clone()).unwrap_or_default();
    let apps = regs
        .iter()
        .flat_map(|r| r.apps.iter())
        .filter_map(|a| {
            Some(ExportedApp {
                index: a.index,
                app_id: a.app_id.clone()?,
                object_id: a.object_id.clone()?,
                secret: a.secret.as_ref()?.expose().to_owned(),
                secret_expires_at: a.secret_expires_at,
            })
        })
        .collect();
    Exported { cloud: rec.cloud, tenant_id, apps }
}

/// Checks one application: a client-credentials token with its secret, then one Graph call.
async fn verify_app(
    endpoints: &shared::CloudEndpoints,
    tenant: &str,
    app: &crate::provisioning::plan::App,
) -> VerifyOutcome {
    let (Some(app_id), Some(secret)) = (&app.app_id, &app.secret) else {
        return VerifyOutcome::Refused(MicrosoftError::transport());
    };
    let req = identity::client_credentials_request(endpoints, tenant, app_id, ClientCredential::Secret(secret));
    let token = match WorkerHttp.send(req).await.map(|r| identity::read_token(&r)) {
        Ok(TokenOutcome::Token(t)) => t.access_token,
        Ok(TokenOutcome::Error(f)) => return VerifyOutcome::Refused(f.microsoft),
        Err(_) => return VerifyOutcome::Refused(MicrosoftError::transport()),
    };
    let req = graph::request(endpoints, &token, http::Method::GET, "/organization?$select=id", None);
    match WorkerHttp.send(req).await {
        Ok(resp) => match graph::read_json(&resp) {
            Ok(_) => VerifyOutcome::Works,
            Err(e) => VerifyOutcome::Refused(e),
        },
        Err(_) => VerifyOutcome::Refused(MicrosoftError::transport()),
    }
}

impl DurableObject for SignIn {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let cmd: Command = match req.json().await {
            Ok(c) => c,
            Err(_) => return error_response(AppError::Internal),
        };
        if cmd.op == "start" {
            if let Some(name) = req.headers().get("x-signin-id")? {
                // The Durable Object does not know its own name; the Worker tells it when it starts.
                self.state.storage().put("name", name).await?;
            }
        }
        match self.handle(cmd).await {
            Ok(r) => Ok(r),
            Err(e) => error_response(e),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let Some(mut rec) = self.load().await? else { return Response::ok("gone") };
        let config = match self.config() {
            Ok(c) => c,
            Err(_) => return Response::ok("misconfigured"),
        };
        let t = now();
        if rec.retention_over(t) {
            // The sign-in ended long ago: nothing in it is needed any more.
            self.state.storage().delete_all().await?;
            self.state.storage().delete_alarm().await?;
            return Response::ok("deleted");
        }
        rec.tick(t);
        if rec.poll_due(t) {
            self.poll(&mut rec, &config).await;
        }
        if rec.state == SignInState::Registering {
            self.register(&mut rec, &config).await?;
        }
        if rec.discard_at.is_some_and(|d| d <= now()) {
            self.discard(&mut rec, &config).await;
        }
        self.save(&rec).await?;
        Response::ok("ok")
    }
}
