//! The Cron Triggers (wrangler.toml): retention of sign-in rows and of the engine's audit, the
//! health checks that are due, and, hourly, the accounts whose engine audit is full.

use super::*;

/// The Cron Trigger (every 5 minutes): deletes sign-in rows past their retention (the sign-ins'
/// Durable Objects delete their own records from their alarms; one indexed statement, whatever the
/// number of rows), then runs the health checks that are due
/// ([`organizations::scheduled_health_checks`]).
#[event(scheduled)]
async fn scheduled(event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    if event.cron() == AUDIT_CAP_CRON {
        engine_audit_cap(&env, now()).await;
        return;
    }
    let t = now();
    let cutoff = t - crate::signin::limits::RETENTION_MS;
    let outcome = async {
        env.d1("DB")?
            .prepare("DELETE FROM signins WHERE created_at_ms < ?1 AND active_until_ms < ?2")
            .bind(&[cutoff.into(), t.into()])?
            .run()
            .await
    }
    .await;
    match outcome {
        Ok(r) => {
            let n = r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
            worker::console_log!("housekeeping: deleted {n} sign-in row(s) past retention");
        }
        Err(e) => worker::console_error!("housekeeping failed: {e}"),
    }
    engine_audit_housekeeping(&env, t).await;
    let batches = async {
        env.d1("DB")?
            .prepare("DELETE FROM partner_batches WHERE finished_at_ms < ?1")
            .bind(&[(t - crate::partner::service::RETENTION_MS).into()])?
            .run()
            .await
    }
    .await;
    if let Err(e) = batches {
        worker::console_error!("housekeeping of the partner batches failed: {e}");
    }
    organizations::scheduled_health_checks(&env).await;
}

/// The hourly Cron Trigger (wrangler.toml) that marks the accounts whose audit is full.
const AUDIT_CAP_CRON: &str = "7 * * * *";

/// The engine's audit: rows past `ENGINE_AUDIT_DAYS` deleted in bounded batches.
async fn engine_audit_housekeeping(env: &Env, t: Millis) {
    let days = read_config(env).map_or(crate::config::DEFAULT_ENGINE_AUDIT_DAYS, |c| c.engine_audit_days);
    match organizations::audit::delete_past_retention(env, t - days * 86_400_000).await {
        Ok(deleted) => worker::console_log!("housekeeping: deleted {deleted} engine audit row(s) past retention"),
        Err(e) => worker::console_error!("housekeeping of the engine's audit failed: {e}"),
    }
}

/// The accounts at `ENGINE_AUDIT_MAX_ROWS` marked full (only the tokens Microsoft issued are then
/// recorded for them), and those below it unmarked.
async fn engine_audit_cap(env: &Env, t: Millis) {
    let max_rows = read_config(env).map_or(crate::config::DEFAULT_ENGINE_AUDIT_MAX_ROWS, |c| c.engine_audit_max_rows);
    match organizations::audit::mark_full_accounts(env, max_rows, t).await {
        Ok(0) => {}
        Ok(full) => {
            worker::console_warn!("housekeeping: the engine audit of {full} account(s) reached ENGINE_AUDIT_MAX_ROWS")
        }
        Err(e) => worker::console_error!("housekeeping of the engine audit's limit failed: {e}"),
    }
}
