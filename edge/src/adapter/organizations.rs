//! The organizations API on the Worker: the ports of [`crate::organizations::service`] for D1, the
//! sign-ins' Durable Objects, `fetch`, WebCrypto, the clock and the log; the service decides.

mod d1;
pub(super) use d1::audit;
mod ports;

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
use ports::{clock_ahead, with_service};
use shared::api::{CreateOrganization, DeleteOrganization, SignInStatus, UpdateOrganization};
use shared::endpoints;
use shared::{CloudEnvironment, ErrorCode};
use worker::{Env, Response};

type Res<T> = std::result::Result<T, AppError>;

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

/// Saves an organization for `session`'s account (a partner batch's save of a customer).
pub async fn create_for(
    env: &Env,
    config: &Config,
    session: &Session,
    req: CreateOrganization,
) -> Res<shared::api::Organization> {
    with_service(env, session, async |s| s.create(config, req).await).await
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
) -> Res<crate::handover::RepairOrder> {
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
const CHECK_LEASE_MS: i64 = 3_600_000;
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
        let timestamp = now().seconds();
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
                let age = (now() - Millis(message.timestamp().as_millis() as i64)) / 1000;
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
