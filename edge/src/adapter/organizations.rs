//! The organizations API on the Worker: the ports of [`crate::organizations::service`] for D1, the
//! sign-ins' Durable Objects, `fetch`, WebCrypto, the clock and the log; the service decides.

mod d1;

use super::http::WorkerHttp;
use super::webcrypto::WebCryptoSigner;
use super::{internal, now, respond, signin_command};
use crate::config::Config;
use crate::error::AppError;
use crate::organizations::check::Signers;
use crate::organizations::ports::{Answer, Clock, Exported, Log, Notify, Refusal, SignIns, Sleeper};
use crate::organizations::service::Organizations;
use crate::session::Session;
use crate::signin::command::{CertificateToRegister, Command};
use crate::time::Millis;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use d1::D1Store;
use shared::api::{CreateOrganization, DeleteOrganization, SignInStatus, UpdateOrganization};
use shared::endpoints;
use shared::{CloudEnvironment, ErrorCode};
use worker::{Env, Response};

type Res<T> = std::result::Result<T, AppError>;

/// The clock, `setTimeout` and the console. The clock is the Worker's, moved `ahead_ms` forward
/// only under `DEV_CLOCK=emulator` (see [`clock_ahead`]).
struct Runtime<'a> {
    ahead_ms: Millis,
    env: &'a Env,
    /// A webhook is configured: events are queued.
    webhook: bool,
}

impl Notify for Runtime<'_> {
    async fn notify(&self, event: crate::webhooks::PortalEvent) {
        if !self.webhook {
            return;
        }
        // As its JSON text: the exact bytes to sign (a `serde_json::Value` would cross into
        // JavaScript as a Map and lose its fields).
        let Ok(text) = serde_json::to_string(&event) else { return };
        let sent = async { self.env.queue(EVENTS_QUEUE)?.send(&text).await };
        if let Err(e) = sent.await {
            worker::console_error!("portal event {} was not queued: {e}", event.id);
        }
    }
}

impl Clock for Runtime<'_> {
    fn now_ms(&self) -> Millis {
        now() + self.ahead_ms
    }
}

impl Sleeper for Runtime<'_> {
    async fn sleep(&self, ms: Millis) {
        worker::Delay::from(std::time::Duration::from_millis(ms as u64)).await
    }
}

impl Log for Runtime<'_> {
    fn warn(&self, message: &str) {
        worker::console_warn!("{message}");
    }
    fn error(&self, message: &str) {
        worker::console_error!("{message}");
    }
}

/// Client assertions signed with WebCrypto.
struct WebCrypto;

impl Signers for WebCrypto {
    type Signer<'k> = WebCryptoSigner<'k>;
    fn signer<'k>(&'k self, pkcs8: &'k [u8]) -> WebCryptoSigner<'k> {
        WebCryptoSigner { pkcs8 }
    }

    async fn generate_key(&self) -> Result<(shared::secret::SecretBytes, Vec<u8>), String> {
        let (pkcs8, spki) = super::webcrypto::generate_rsa_key().await?;
        Ok((shared::secret::SecretBytes::new(pkcs8), spki))
    }
}

/// The sign-ins' Durable Objects, on behalf of the session's account.
struct DurableSignIns<'a> {
    env: &'a Env,
    session: &'a Session,
}

/// Reads a sign-in's answer: 200 with its body, or a refusal with its error body (if any).
async fn answer(mut resp: Response) -> Res<Answer<String>> {
    let status = resp.status_code();
    let text = resp.text().await.map_err(internal("sign-in answer"))?;
    if status == 200 {
        return Ok(Ok(text));
    }
    let error = serde_json::from_str::<shared::api::ErrorBody>(&text).ok().map(|b| b.error);
    Ok(Err(Refusal { status, error }))
}

fn parsed<T: serde::de::DeserializeOwned>(a: Answer<String>) -> Res<Answer<T>> {
    match a {
        Ok(text) => serde_json::from_str(&text).map(Ok).map_err(|_| AppError::Internal),
        Err(r) => Ok(Err(r)),
    }
}

impl DurableSignIns<'_> {
    fn account(&self) -> String {
        self.session.account.clone()
    }

    async fn send(&self, sign_in: &str, cmd: Command) -> Res<Answer<String>> {
        answer(signin_command(self.env, sign_in, cmd).await?).await
    }
}

impl SignIns for DurableSignIns<'_> {
    async fn status(&self, sign_in: &str) -> Res<Answer<SignInStatus>> {
        parsed(self.send(sign_in, Command::Status { account: self.account() }).await?)
    }

    async fn export(&self, sign_in: &str) -> Res<Answer<Exported>> {
        parsed(self.send(sign_in, Command::Export { account: self.account() }).await?)
    }

    async fn additional(&self, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<Answer<()>> {
        let cmd = Command::Additional { account: self.account(), cloud: Some(cloud), tenant: Some(tenant.to_owned()) };
        Ok(self.send(sign_in, cmd).await?.map(drop))
    }

    async fn remove(
        &self,
        sign_in: &str,
        organization: &str,
        cloud: CloudEnvironment,
        tenant: &str,
        app_ids: &[String],
    ) -> Res<Answer<crate::signin::command::Removed>> {
        let cmd = Command::Remove {
            account: self.account(),
            organization: organization.to_owned(),
            cloud,
            tenant: tenant.to_owned(),
            app_ids: app_ids.to_vec(),
        };
        parsed(self.send(sign_in, cmd).await?)
    }

    async fn use_certificate(&self, sign_in: &str, der: &[u8], not_before: i64, not_after: i64) -> Res<Answer<()>> {
        let certificate = CertificateToRegister { der_base64: STANDARD.encode(der), not_before, not_after };
        let cmd = Command::UseCertificate { account: self.account(), certificate };
        let resp = signin_command(self.env, sign_in, cmd).await?;
        // The body of a success is not read.
        if resp.status_code() == 200 {
            return Ok(Ok(()));
        }
        Ok(answer(resp).await?.map(drop))
    }

    async fn saved(&self, sign_in: &str) -> Res<Answer<()>> {
        Ok(self.send(sign_in, Command::Saved { account: self.account() }).await?.map(drop))
    }

    async fn release(&self, sign_in: &str) -> Res<Answer<()>> {
        Ok(self.send(sign_in, Command::Release { account: self.account() }).await?.map(drop))
    }
}

/// Runs `f` with the service for the session's account.
/// How far the organizations' clock is ahead of the Worker's: 0, except under `DEV_CLOCK=emulator`
/// (a configuration only accepted with a loopback emulator), where it follows the emulator's
/// clock, which the whole-system tests move forward to make credentials expire.
async fn clock_ahead(config: Option<&Config>) -> Millis {
    let Some(config) = config else { return 0 };
    let (true, Some(base)) = (config.dev.clock_from_emulator, config.dev_microsoft_base.as_deref()) else {
        return 0;
    };
    let answer = async {
        let mut resp = worker::Fetch::Url(format!("{base}/_emulator/clock").parse()?).send().await?;
        resp.json::<serde_json::Value>().await
    };
    match answer.await {
        Ok(v) => v["ahead_seconds"].as_i64().unwrap_or(0) * 1000,
        Err(e) => {
            worker::console_error!("DEV_CLOCK: the emulator's clock is not readable: {e}");
            0
        }
    }
}

async fn with_service<T, F>(env: &Env, session: &Session, f: F) -> Res<T>
where
    F: AsyncFnOnce(&Organizations<'_, D1Store<'_>, DurableSignIns<'_>, WorkerHttp, Runtime<'_>, WebCrypto>) -> Res<T>,
{
    let keys = || super::keyring(env);
    let config = super::read_config(env).ok();
    let service = Organizations {
        account: &session.account,
        store: &D1Store { env },
        sign_ins: &DurableSignIns { env, session },
        http: &WorkerHttp::new(config.as_ref()),
        runtime: &Runtime {
            ahead_ms: clock_ahead(config.as_ref()).await,
            env,
            webhook: config.as_ref().is_some_and(|c| c.webhook.is_some()),
        },
        signers: &WebCrypto,
        keyring: &keys,
    };
    f(&service).await
}

/// `GET /api/organizations`.
pub async fn list(env: &Env, session: &Session) -> Res<Response> {
    respond(&endpoints::LIST_ORGANIZATIONS, &with_service(env, session, async |s| s.list().await).await?)
}

/// `GET /api/organizations/{id}`.
pub async fn get(env: &Env, session: &Session, id: &str) -> Res<Response> {
    respond(&endpoints::GET_ORGANIZATION, &with_service(env, session, async |s| s.get(id).await).await?)
}

/// `POST /api/organizations`.
pub async fn create(env: &Env, config: &Config, session: &Session, req: CreateOrganization) -> Res<Response> {
    let created = with_service(env, session, async |s| s.create(config, req).await).await?;
    respond(&endpoints::CREATE_ORGANIZATION, &created)
}

/// `PATCH /api/organizations/{id}`.
pub async fn update(env: &Env, config: &Config, session: &Session, id: &str, req: UpdateOrganization) -> Res<Response> {
    let updated = with_service(env, session, async |s| s.update(config, id, req).await).await?;
    respond(&endpoints::UPDATE_ORGANIZATION, &updated)
}

/// `DELETE /api/organizations/{id}` with `{"confirm": true}`.
pub async fn delete(env: &Env, session: &Session, id: &str, req: DeleteOrganization) -> Res<Response> {
    with_service(env, session, async |s| s.delete(id, req).await).await?;
    Ok(Response::empty().map_err(internal("response"))?.with_status(endpoints::DELETE_ORGANIZATION.about.ok))
}

/// The account's organizations (for the backup engine, acting for `session`'s account).
pub async fn list_for(env: &Env, session: &Session) -> Res<shared::api::OrganizationList> {
    with_service(env, session, async |s| s.list().await).await
}

/// A token for the backup engine (see [`Organizations::engine_token`]), in the organization's
/// Durable Object that owns `broker`.
pub async fn engine_token(
    env: &Env,
    session: &Session,
    config: &Config,
    broker: &crate::engine::tokens::Broker,
    kid: &str,
    id: &str,
    req: &shared::api::EngineTokenRequest,
) -> Res<shared::api::EngineToken> {
    with_service(env, session, async |s| s.engine_token(config, broker, kid, id, req).await).await
}

/// Writes the engine's cache hits counted in organization `id`'s object; whether that worked.
pub async fn write_engine_hits(
    env: &Env,
    session: &Session,
    id: &str,
    hits: &[(crate::engine::hits::HitKey, u64)],
) -> bool {
    with_service(env, session, async |s| Ok(s.write_hits(id, hits).await)).await.unwrap_or(false)
}

/// `GET /api/organizations/{id}/usage`.
pub async fn usage(env: &Env, session: &Session, id: &str) -> Res<Response> {
    let usage = with_service(env, session, async |s| s.usage(id).await).await?;
    respond(&endpoints::ORGANIZATION_USAGE, &usage)
}

/// The window of the `CHECK_RATE_LIMIT` binding (wrangler.toml), for `Retry-After`.
const CHECK_RATE_LIMIT_PERIOD_S: u64 = 60;

/// Counts one health check of organization `id` against its limit (the `CHECK_RATE_LIMIT` binding,
/// keyed by account and organization): "Check now" and a repair start, which checks the
/// organization before its sign-in, share it.
pub async fn count_check(env: &Env, session: &Session, id: &str) -> Res<()> {
    let key = format!("{}/{id}", session.account);
    super::rate_limit(env, "CHECK_RATE_LIMIT", key, ErrorCode::ChecksRateLimited, CHECK_RATE_LIMIT_PERIOD_S).await
}

/// `POST /api/organizations/{id}/check`: the organization's rate limit ([`count_check`]), then the
/// check.
pub async fn check(env: &Env, config: &Config, session: &Session, id: &str) -> Res<Response> {
    count_check(env, session, id).await?;
    let checked = with_service(env, session, async |s| s.check_health(config, id).await).await?;
    respond(&endpoints::CHECK_ORGANIZATION, &checked)
}

/// The repair a sign-in in `cloud` does for organization `id` (see `POST /api/signins`). It checks
/// the organization's health first, so it counts against the organization's check limit.
pub async fn repair_order(
    env: &Env,
    config: &Config,
    session: &Session,
    id: &str,
    cloud: CloudEnvironment,
) -> Res<crate::signin::command::RepairOrder> {
    count_check(env, session, id).await?;
    with_service(env, session, async |s| s.repair_order(config, id, cloud).await).await
}

/// Checks that a sign-in may be started for deleting organization `id`'s applications in `cloud`.
pub async fn removal_target(env: &Env, session: &Session, id: &str, cloud: CloudEnvironment) -> Res<()> {
    with_service(env, session, async |s| s.removal_target(id, cloud).await).await
}

/// `POST /api/organizations/{id}/repair`.
pub async fn repair(
    env: &Env,
    config: &Config,
    session: &Session,
    id: &str,
    req: shared::api::RepairOrganization,
) -> Res<Response> {
    let repaired = with_service(env, session, async |s| s.repair(config, id, req).await).await?;
    respond(&endpoints::REPAIR_ORGANIZATION, &repaired)
}

/// Organizations a Cron Trigger run hands to the health-check queue: at one run every 5 minutes,
/// up to 288,000 a day (each is checked once a day). See ARCHITECTURE.md.
pub const HEALTH_CHECKS_PER_RUN: u32 = 1_000;
/// How long a claimed check waits before another run may claim it again (its message was lost,
/// or every delivery failed).
const CHECK_LEASE_MS: Millis = 3_600_000;
/// The queue binding of the health checks.
pub const HEALTH_QUEUE: &str = "HEALTH_CHECKS";
/// The health-check queue's name (wrangler.toml), as a batch names it.
pub const HEALTH_QUEUE_NAME: &str = "m365-health-checks";
/// The queue binding of the portal's events.
pub const EVENTS_QUEUE: &str = "PORTAL_EVENTS";
/// The portal events queue's name.
pub const EVENTS_QUEUE_NAME: &str = "m365-portal-events";

/// How long the portal's webhook receiver may take to answer one event.
const WEBHOOK_TIMEOUT_MS: u32 = 10_000;

/// The portal events queue's consumer: delivers each event, signed ([`crate::webhooks`]), to
/// `PORTAL_WEBHOOK_URL`. A delivery the receiver does not accept with a 2xx is retried by the queue
/// with growing delays ([`crate::webhooks::retry_delay_secs`]); after the last retry the event is
/// dropped and logged.
pub async fn deliver_portal_events(env: &Env, messages: Vec<worker::Message<serde_json::Value>>) {
    use worker::MessageExt as _;
    let webhook = match super::read_config(env) {
        Ok(c) => c.webhook,
        Err(_) => {
            worker::console_error!("portal events: the configuration is not readable");
            messages.iter().for_each(|m| m.retry());
            return;
        }
    };
    let Some(webhook) = webhook else {
        // The webhook was removed from the configuration: nobody to tell.
        messages.iter().for_each(|m| m.ack());
        return;
    };
    for message in messages {
        let Some(body) = message.body().as_str().map(str::to_owned) else {
            worker::console_error!("portal events: an unreadable message was dropped");
            message.ack();
            continue;
        };
        let event_id = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let timestamp = now() / 1000;
        let signature =
            crate::webhooks::signature_header(webhook.secret.expose().as_bytes(), timestamp, body.as_bytes());
        let outcome = async {
            let headers = worker::Headers::new();
            headers.set("content-type", "application/json")?;
            headers.set(crate::webhooks::EVENT_ID_HEADER, &event_id)?;
            headers.set(crate::webhooks::SIGNATURE_HEADER, &signature)?;
            let mut init = worker::RequestInit::new();
            init.with_method(worker::Method::Post).with_headers(headers).with_body(Some(body.clone().into()));
            let req = worker::Request::new_with_init(&webhook.url, &init)?;
            // A receiver that does not answer within 10 s is retried like one that refuses.
            let signal = worker::AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(WEBHOOK_TIMEOUT_MS));
            worker::Fetch::Request(req).send_with_signal(&signal).await.map(|r| r.status_code())
        };
        match outcome.await {
            Ok(status) if (200..300).contains(&status) => message.ack(),
            answer => {
                let age = (now() - message.timestamp().as_millis() as Millis) / 1000;
                let delay = crate::webhooks::retry_delay_secs(age);
                match answer {
                    Ok(status) => {
                        worker::console_warn!("portal event {event_id}: answered {status}, again in {delay} s")
                    }
                    Err(e) => worker::console_warn!("portal event {event_id}: {e}, again in {delay} s"),
                }
                message.retry_with_options(&worker::QueueRetryOptionsBuilder::new().with_delay_seconds(delay).build());
            }
        }
    }
}

/// The Cron Trigger's share of the health checks: claims the organizations whose check is due (the
/// longest waiting first) and sends one message per organization to the health-check queue, whose
/// consumers ([`run_health_checks`]) check them in parallel batches.
pub async fn scheduled_health_checks(env: &Env) {
    let store = D1Store { env };
    let now = now() + clock_ahead(super::read_config(env).ok().as_ref()).await;
    let claimed = match crate::organizations::ports::OrganizationStore::claim_due_checks(
        &store,
        now,
        now + CHECK_LEASE_MS,
        HEALTH_CHECKS_PER_RUN,
    )
    .await
    {
        Ok(c) => c,
        Err(_) => return,
    };
    if claimed.is_empty() {
        return;
    }
    let queue = match env.queue(HEALTH_QUEUE) {
        Ok(q) => q,
        Err(e) => {
            worker::console_error!("health checks: the queue binding is missing: {e}");
            return;
        }
    };
    let orders: Vec<HealthCheckOrder> =
        claimed.into_iter().map(|(account, organization)| HealthCheckOrder { account, organization }).collect();
    // A batch holds at most 100 messages.
    for chunk in orders.chunks(100) {
        let batch = worker::BatchMessageBuilder::new().messages(chunk.to_vec()).build();
        if let Err(e) = queue.send_batch(batch).await {
            // Their lease runs out and a later run claims them again.
            worker::console_error!("health checks: queueing {} check(s) failed: {e}", chunk.len());
        }
    }
    worker::console_log!("health checks: {} organization(s) queued", orders.len());
}

/// One organization's health check, as queued.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct HealthCheckOrder {
    /// The owning account.
    pub account: String,
    /// The organization.
    pub organization: String,
}

/// The health-check queue's consumer: checks each organization of the batch in turn. A check that
/// fails (the database, the keyring) is retried by the queue after a delay; an organization that
/// no longer exists is done.
pub async fn run_health_checks(env: &Env, messages: Vec<worker::Message<serde_json::Value>>) {
    use worker::MessageExt as _;
    let Ok(config) = super::read_config(env) else {
        worker::console_error!("health checks: the configuration is not readable");
        messages.iter().for_each(|m| m.retry());
        return;
    };
    for message in messages {
        let Ok(order) = serde_json::from_value::<HealthCheckOrder>(message.body().clone()) else {
            worker::console_error!("health checks: an unreadable message was dropped");
            message.ack();
            continue;
        };
        let session = Session { account: order.account.clone(), admin: "health-check".to_owned(), expires_at: 0 };
        let id = &order.organization;
        match with_service(env, &session, async |s| s.check_health(&config, id).await).await {
            Ok(o) => {
                worker::console_log!("health check {id}: {:?}", o.health.state);
                message.ack();
            }
            Err(AppError::NoSuchObject) => message.ack(),
            Err(e) => {
                worker::console_error!("health check {id} failed: {}", e.code().as_str());
                message.retry_with_options(&worker::QueueRetryOptionsBuilder::new().with_delay_seconds(60).build());
            }
        }
    }
}
