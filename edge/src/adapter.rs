//! The thin `worker` adapter: turns a Workers request into a [`Route`], runs it, and turns the
//! outcome into a Workers response. No decisions are made here that could live in pure code.

use crate::error::AppError;
use crate::routes::{resolve, Route};
use shared::api::{ComponentStatus, HealthResponse, SERVICE_NAME};
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    let outcome = match resolve(req.method().as_ref(), &path) {
        Route::Health => health(&env).await,
        Route::MethodNotAllowed(allowed) => Err(AppError::MethodNotAllowed(allowed)),
        Route::NotFound => Err(AppError::NotFound),
    };
    let mut resp = match outcome {
        Ok(resp) => resp,
        Err(err) => error_response(&err)?,
    };
    let headers = resp.headers_mut();
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    Ok(resp)
}

fn error_response(err: &AppError) -> Result<Response> {
    let mut resp = Response::from_json(&err.body())?.with_status(err.status());
    if let AppError::MethodNotAllowed(allowed) = err {
        resp.headers_mut().set("allow", &allowed.join(", "))?;
    }
    Ok(resp)
}

async fn health(env: &Env) -> std::result::Result<Response, AppError> {
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
    let body =
        HealthResponse { service: SERVICE_NAME.to_owned(), version: env!("CARGO_PKG_VERSION").to_owned(), database };
    Response::from_json(&body).map_err(|e| {
        worker::console_error!("health: serializing failed: {e}");
        AppError::Internal
    })
}
