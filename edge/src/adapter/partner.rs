//! The partner routes: a partner sign-in's customers, and the batches that onboard them. The
//! choice is checked against the partner's relationships as the edge reads them (twice: before the
//! sign-in hands its refresh token over, so that a bad choice does not cost a sign-in, and after,
//! so that the batch holds what Microsoft said then); the batch runs in its Durable Object.

use super::partner_do::batch_command;
use super::{internal, now, organizations, respond, signin_command};
use crate::error::AppError;
use crate::microsoft::partner::Relationship;
use crate::partner::batch::{Batch, Offer};
use crate::partner::command::BatchCommand;
use crate::partner::customers::{customers, Customer};
use crate::partner::view;
use crate::session::Session;
use crate::signin::command::{Command, PartnerGrant};
use serde::Deserialize;
use shared::api::{
    ErrorBody, PartnerBatchList, PartnerCustomer, PartnerCustomerList, RetryPartnerBatch, StartPartnerBatch,
};
use shared::endpoints;
use shared::{ErrorCode, Field, FieldError};
use worker::{Env, Response};

type Res<T> = std::result::Result<T, AppError>;

/// The body of a Durable Object's 200, or its refusal as this route's.
async fn reply<T: serde::de::DeserializeOwned>(mut resp: Response) -> Res<T> {
    let status = resp.status_code();
    let text = resp.text().await.map_err(internal("Durable Object answer"))?;
    if status == 200 {
        return serde_json::from_str(&text).map_err(|_| AppError::Internal);
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(b) => Err(b.error.into()),
        Err(_) => Err(AppError::Internal),
    }
}

fn sign_in_id(id: &str) -> Res<()> {
    if crate::ids::is_id(id) {
        Ok(())
    } else {
        Err(FieldError::new(Field::SignInId, "The partner sign-in this refers to is unknown. Sign in again.").into())
    }
}

async fn relationships(env: &Env, session: &Session, sign_in: &str) -> Res<Vec<Relationship>> {
    let cmd = Command::PartnerRelationships { account: session.account.clone() };
    reply(signin_command(env, sign_in, cmd).await?).await
}

/// The tenants this account holds already.
async fn onboarded(env: &Env, session: &Session) -> Res<Vec<String>> {
    Ok(organizations::list_for(env, session).await?.organizations.into_iter().map(|o| o.tenant_id).collect())
}

/// The customers that may be chosen now: not onboarded yet.
fn offers(list: &[Customer]) -> Vec<Offer> {
    list.iter().filter(|c| !c.onboarded).map(Offer::from).collect()
}

/// Refuses a choice that names a customer this account holds already.
fn not_onboarded(chosen: &[String], list: &[Customer]) -> Res<()> {
    let held = list.iter().any(|c| c.onboarded && chosen.iter().any(|t| t.trim().eq_ignore_ascii_case(&c.tenant_id)));
    if held {
        return Err(FieldError::new(
            Field::Customers,
            "A chosen customer's organization has already been added to this account. Untick it and start again.",
        )
        .into());
    }
    Ok(())
}

/// `GET /api/signins/{id}/customers`.
pub(super) async fn list_customers(env: &Env, session: &Session, sign_in: &str) -> Res<Response> {
    let relationships = relationships(env, session, sign_in).await?;
    let list = customers(&relationships, &onboarded(env, session).await?);
    let customers = list
        .into_iter()
        .map(|c| PartnerCustomer {
            tenant_id: c.tenant_id,
            name: c.name,
            roles: c.roles,
            roles_enough: c.enough,
            onboarded: c.onboarded,
        })
        .collect();
    respond(&endpoints::PARTNER_CUSTOMERS, &PartnerCustomerList { customers })
}

#[derive(Deserialize)]
struct Count {
    n: f64,
}

/// Refuses while a batch of the account runs: one at a time, so that no customer is in two.
async fn none_running(env: &Env, session: &Session) -> Res<()> {
    let running = async {
        env.d1("DB")?
            .prepare("SELECT count(*) AS n FROM partner_batches WHERE account_id = ?1 AND finished_at_ms IS NULL")
            .bind(&[session.account.as_str().into()])?
            .first::<Count>(None)
            .await
    }
    .await
    .map_err(internal("partner batches"))?;
    match running {
        Some(c) if c.n > 0.0 => Err(ErrorCode::PartnerBatchRunning.into()),
        _ => Ok(()),
    }
}

/// `POST /api/partner-batches`.
pub(super) async fn start(env: &Env, session: &Session, body: StartPartnerBatch) -> Res<Response> {
    sign_in_id(&body.sign_in_id)?;
    none_running(env, session).await?;
    let id = crate::ids::new_id();
    let multiple = body.create_multiple_applications;
    // The choice, against the relationships read now (the sign-in keeps its token).
    let held = onboarded(env, session).await?;
    let list = customers(&relationships(env, session, &body.sign_in_id).await?, &held);
    not_onboarded(&body.customers, &list)?;
    Batch::new(id.clone(), session.account.clone(), now(), multiple, &body.customers, &offers(&list))?;
    // The sign-in hands its refresh token over and ends.
    let cmd = Command::PartnerHandover { account: session.account.clone() };
    let grant: PartnerGrant = reply(signin_command(env, &body.sign_in_id, cmd).await?).await?;
    let list = customers(&grant.relationships, &held);
    let batch = Batch::new(id.clone(), session.account.clone(), now(), multiple, &body.customers, &offers(&list))?;
    let (created, total) = (batch.created, batch.rows.len() as f64);
    let started: Batch =
        reply(batch_command(env, &id, &BatchCommand::Start { batch, refresh_token: grant.refresh_token }).await?)
            .await?;
    // Listed once it runs (a batch that did not start is not listed as running).
    let inserted = async {
        env.d1("DB")?
            .prepare("INSERT INTO partner_batches (id, account_id, created_at_ms, total) VALUES (?1, ?2, ?3, ?4)")
            .bind(&[id.as_str().into(), session.account.as_str().into(), created.into(), total.into()])?
            .run()
            .await
    }
    .await;
    if let Err(e) = inserted {
        worker::console_error!("partner batch {id}: its row was not written: {e}");
    }
    respond(&endpoints::START_PARTNER_BATCH, &view::status(&started, true))
}

/// `GET /api/partner-batches/{id}`.
pub(super) async fn get(env: &Env, session: &Session, id: &str) -> Res<Response> {
    let batch: Batch =
        reply(batch_command(env, id, &BatchCommand::Status { account: session.account.clone() }).await?).await?;
    respond(&endpoints::PARTNER_BATCH, &view::status(&batch, true))
}

/// `POST /api/partner-batches/{id}/retry`.
pub(super) async fn retry(env: &Env, session: &Session, id: &str, body: RetryPartnerBatch) -> Res<Response> {
    sign_in_id(&body.sign_in_id)?;
    // The batch must be this account's and finished before a sign-in is used up for it.
    let batch: Batch =
        reply(batch_command(env, id, &BatchCommand::Status { account: session.account.clone() }).await?).await?;
    if !batch.is_finished() {
        return Err(ErrorCode::PartnerBatchRunning.into());
    }
    none_running(env, session).await?;
    let cmd = Command::PartnerHandover { account: session.account.clone() };
    let grant: PartnerGrant = reply(signin_command(env, &body.sign_in_id, cmd).await?).await?;
    let offered = offers(&customers(&grant.relationships, &onboarded(env, session).await?));
    let cmd = BatchCommand::Retry { account: session.account.clone(), refresh_token: grant.refresh_token, offered };
    let batch: Batch = reply(batch_command(env, id, &cmd).await?).await?;
    let reopened = async {
        env.d1("DB")?
            .prepare("UPDATE partner_batches SET finished_at_ms = NULL WHERE id = ?1 AND account_id = ?2")
            .bind(&[id.into(), session.account.as_str().into()])?
            .run()
            .await
    }
    .await;
    reopened.map_err(internal("partner batch row"))?;
    respond(&endpoints::RETRY_PARTNER_BATCH, &view::status(&batch, true))
}

#[derive(Deserialize)]
struct BatchRow {
    id: String,
    created_at_ms: f64,
    finished_at_ms: Option<f64>,
    total: f64,
    saved: f64,
    failed: f64,
}

/// How many batches the list shows.
const LISTED: u32 = 50;

/// `GET /api/partner-batches`.
pub(super) async fn list(env: &Env, session: &Session) -> Res<Response> {
    let rows = async {
        env.d1("DB")?
            .prepare(format!(
                "SELECT id, created_at_ms, finished_at_ms, total, saved, failed FROM partner_batches \
                 WHERE account_id = ?1 ORDER BY created_at_ms DESC LIMIT {LISTED}"
            ))
            .bind(&[session.account.as_str().into()])?
            .all()
            .await?
            .results::<BatchRow>()
    }
    .await
    .map_err(internal("partner batches"))?;
    let batches = rows
        .into_iter()
        .map(|r| shared::api::PartnerBatchStatus {
            id: r.id,
            created_at: crate::time::rfc3339_ms(crate::time::Millis(r.created_at_ms as i64)),
            finished_at: r.finished_at_ms.map(|f| crate::time::rfc3339_ms(crate::time::Millis(f as i64))),
            total: r.total as u32,
            saved: r.saved as u32,
            failed: r.failed as u32,
            poll_after: r.finished_at_ms.is_none().then_some(view::BATCH_POLL_SECS),
            customers: vec![],
        })
        .collect();
    respond(&endpoints::LIST_PARTNER_BATCHES, &PartnerBatchList { batches })
}

/// The batch settled its last customer: its row gets the counts, and the portal is told
/// (`partner_batch.finished`).
pub(super) async fn record_finished(env: &Env, batch: &Batch) {
    let s = batch.summary();
    let finished = batch.finished.unwrap_or_else(now);
    let updated = async {
        env.d1("DB")?
            .prepare("UPDATE partner_batches SET finished_at_ms = ?1, saved = ?2, failed = ?3 WHERE id = ?4")
            .bind(&[finished.into(), (s.saved as f64).into(), (s.failed as f64).into(), batch.id.as_str().into()])?
            .run()
            .await
    }
    .await;
    if let Err(e) = updated {
        worker::console_error!("partner batch {}: its row was not updated: {e}", batch.id);
    }
    let Ok(config) = super::read_config(env) else { return };
    if config.webhook.is_none() {
        return;
    }
    let event = crate::webhooks::PortalEvent::new(
        crate::webhooks::EventType::PartnerBatchFinished,
        &batch.account,
        "",
        crate::time::rfc3339_ms(finished),
        serde_json::json!({ "batch_id": batch.id, "total": s.total, "saved": s.saved, "failed": s.failed }),
    );
    let Ok(text) = serde_json::to_string(&event) else { return };
    let sent = async { env.queue(organizations::EVENTS_QUEUE)?.send(&text).await };
    if let Err(e) = sent.await {
        worker::console_error!("portal event {} was not queued: {e}", event.id);
    }
}
