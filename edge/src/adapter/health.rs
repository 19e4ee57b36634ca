//! `GET /api/health`: liveness, version, the portal origins, and whether the dev-only fragment
//! session is on.

use super::{read_config, respond};
use crate::error::AppError;
use shared::api::{ComponentStatus, HealthResponse, SERVICE_NAME};
use shared::endpoints;
use worker::{Env, Request, Response};

pub(super) async fn health(req: &Request, env: &Env) -> Result<Response, AppError> {
    let database = match env.d1("DB") {
        Ok(db) => match db.prepare("SELECT 1 AS ok").first::<serde_json::Value>(None).await {
            Ok(Some(_)) => ComponentStatus::Ok,
            Ok(None) => ComponentStatus::Unavailable,
            Err(e) => {
                worker::console_error!("health: D1 query failed: {e}");
                ComponentStatus::Unavailable
            }
        },
        Err(e) => {
            worker::console_error!("health: D1 binding missing: {e}");
            ComponentStatus::Unavailable
        }
    };
    let config = read_config(env).ok();
    let portal_origins = config.as_ref().map(|c| c.portal_origins.clone()).unwrap_or_default();
    // The fragment session is for `make dev` only: the switch, and a request to a loopback host
    // (a deployed Worker is never reached on one).
    let url = req.inner().url();
    let loopback = crate::signin::browser::origin_of(&url).is_some_and(crate::config::is_loopback_url);
    let dev_session_in_url = loopback && config.as_ref().is_some_and(|c| c.dev.session_in_url);
    let credential_clouds = config.map(|c| c.credential_clouds).unwrap_or_default();
    respond(
        &endpoints::HEALTH,
        &HealthResponse {
            service: SERVICE_NAME.to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            database,
            portal_origins,
            dev_session_in_url,
            credential_clouds,
        },
    )
}
