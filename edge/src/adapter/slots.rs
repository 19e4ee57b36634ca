//! The account's sign-ins in D1: the slots that limit how many run at once and how many start per
//! hour, and the list of those under way.

use super::{internal, now, respond};
use crate::config::MAX_ACTIVE_SIGNINS;
use crate::error::AppError;
use crate::session::Session;
use crate::time::Millis;
use shared::{AddMethod, ErrorCode};
use worker::{Env, Response};

/// How long a new sign-in counts against the account's limit unless it ends sooner.
const SIGNIN_SLOT_MS: i64 = 20 * 60 * 1000;

/// `GET /api/signins`: the account's sign-ins that count against its limit, newest first.
pub(super) async fn list(env: &Env, session: &Session) -> Result<Response, AppError> {
    #[derive(serde::Deserialize)]
    struct Row {
        id: String,
        cloud: String,
        method: String,
        created_at_ms: f64,
    }
    let db = env.d1("DB").map_err(internal("D1 binding"))?;
    let rows = db
        .prepare(
            "SELECT id, cloud, method, created_at_ms FROM signins WHERE account_id = ?1 AND active_until_ms > ?2 \
             ORDER BY created_at_ms DESC",
        )
        .bind(&[session.account.as_str().into(), now().into()])
        .map_err(internal("binding"))?
        .all()
        .await
        .map_err(internal("listing sign-ins"))?
        .results::<Row>()
        .map_err(internal("decoding sign-ins"))?;
    let sign_ins = rows
        .into_iter()
        .filter_map(|r| {
            Some(shared::api::SignInSummary {
                id: r.id,
                cloud: r.cloud.parse().ok()?,
                method: serde_json::from_value(serde_json::Value::String(r.method)).ok()?,
                started_at: crate::time::rfc3339_ms(Millis(r.created_at_ms as i64)),
            })
        })
        .collect();
    respond(&shared::endpoints::LIST_SIGN_INS, &shared::api::SignInList { sign_ins, limit: MAX_ACTIVE_SIGNINS })
}

/// Fewer than the limit of the account's (`?2`) sign-ins are under way at `?3`, not counting `?1`.
const SIGNIN_SLOT_FREE: &str =
    "(SELECT COUNT(*) FROM signins WHERE account_id = ?2 AND active_until_ms > ?3 AND id != ?1) < ?5";
/// Fewer than [`SIGNIN_STARTS_PER_HOUR`] (`?8`) sign-ins of the account were started since `?7`.
const SIGNIN_RATE_FREE: &str = "(SELECT COUNT(*) FROM signins WHERE account_id = ?2 AND created_at_ms > ?7) < ?8";

/// Why a start was refused: the rate limit (with when to try again) or the sign-ins under way.
pub(super) async fn refused_start(env: &Env, account: &str) -> AppError {
    let since = now() - crate::signin::limits::RATE_WINDOW_MS;
    let oldest = async {
        let db = env.d1("DB").ok()?;
        let stmt = db
            .prepare(
                "SELECT COUNT(*) AS n, MIN(created_at_ms) AS oldest FROM signins WHERE account_id = ?1 AND created_at_ms > ?2",
            )
            .bind(&[account.into(), since.into()])
            .ok()?;
        let row = stmt.first::<serde_json::Value>(None).await.ok()??;
        Some((row["n"].as_f64()? as u32, Millis(row["oldest"].as_f64().unwrap_or(0.0) as i64)))
    }
    .await;
    match oldest {
        Some((n, oldest)) if n >= crate::signin::limits::SIGNIN_STARTS_PER_HOUR => {
            AppError::RateLimited(ErrorCode::SignInsRateLimited, crate::signin::limits::retry_after_secs(oldest, now()))
        }
        _ => ErrorCode::TooManySignIns.into(),
    }
}

/// Makes sign-in `id` count against `account`'s limit of sign-ins under way, atomically in D1, if
/// the limit allows: a new sign-in (`new_in` names its cloud; the row is inserted) or a renewed one.
/// `false` when the limit is reached.
pub(super) async fn claim(
    env: &Env,
    id: &str,
    account: &str,
    new_in: Option<(shared::CloudEnvironment, AddMethod)>,
) -> Result<bool, AppError> {
    let t = now();
    let mut params: Vec<wasm_bindgen::JsValue> =
        vec![id.into(), account.into(), t.into(), (t + SIGNIN_SLOT_MS).into(), (MAX_ACTIVE_SIGNINS as f64).into()];
    let sql = match new_in {
        Some((cloud, method)) => {
            params.push(cloud.as_str().into());
            params.push((t - crate::signin::limits::RATE_WINDOW_MS).into());
            params.push((crate::signin::limits::SIGNIN_STARTS_PER_HOUR as f64).into());
            params.push(method.as_str().into());
            format!(
                "INSERT INTO signins (id, account_id, cloud, created_at_ms, active_until_ms, method) \
                 SELECT ?1, ?2, ?6, ?3, ?4, ?9 WHERE {SIGNIN_SLOT_FREE} AND {SIGNIN_RATE_FREE}"
            )
        }
        None => {
            format!("UPDATE signins SET active_until_ms = ?4 WHERE id = ?1 AND account_id = ?2 AND {SIGNIN_SLOT_FREE}")
        }
    };
    let db = env.d1("DB").map_err(internal("D1 binding"))?;
    let stmt = db.prepare(&sql).bind(&params).map_err(internal("binding"))?;
    let result = stmt.run().await.map_err(internal("claiming a sign-in slot"))?;
    Ok(result.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0) == 1)
}

/// Sign-in `id` no longer counts against its account's limit (it ended, or never started).
pub(super) async fn release(env: &Env, id: &str) {
    let outcome = async {
        env.d1("DB")?.prepare("UPDATE signins SET active_until_ms = 0 WHERE id = ?1").bind(&[id.into()])?.run().await
    }
    .await;
    if let Err(e) = outcome {
        worker::console_error!("signin {id}: releasing the slot failed: {e}");
    }
}
