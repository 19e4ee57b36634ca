//! The thin `worker` adapter: turns a Workers request into a [`Route`], checks the portal session,
//! runs the handler, and turns the outcome into a Workers response. Decisions live in pure modules.

mod body;
mod callback;
mod dispatch;
mod engine;
mod health;
mod housekeeping;
mod http;
mod lookup;
mod organizations;
mod partner;
mod partner_do;
mod signin_do;
mod signin_start;
mod slots;
mod webcrypto;

use crate::config::Config;
use crate::error::AppError;
use crate::routes::resolve;
use crate::session::{self, Session};
use crate::signin::command::Command;
use crate::time::Millis;
use shared::api::StartSignIn;
use shared::endpoints::{self, Endpoint};
use shared::ErrorCode;
use worker::{event, Context, Env, Method, Request, RequestInit, Response, Result};

/// An instant as a D1 parameter: its milliseconds, a JavaScript number (exact below 2^53).
impl From<Millis> for wasm_bindgen::JsValue {
    fn from(t: Millis) -> Self {
        (t.ms() as f64).into()
    }
}

fn now() -> Millis {
    Millis(worker::Date::now().as_millis() as i64)
}

/// Reads the configuration from the Worker's variables and secrets.
pub(crate) fn read_config(env: &Env) -> std::result::Result<Config, AppError> {
    Config::read(|name| {
        env.var(name).map(|v| v.to_string()).ok().or_else(|| env.secret(name).map(|v| v.to_string()).ok())
    })
    .map_err(|e| {
        worker::console_error!("configuration: {}", e.0);
        AppError::Internal
    })
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    // The runtime's own method string: the `worker` crate reads an unknown method (e.g. `QUERY`)
    // as GET, which would answer it as if it were one.
    let method = req.inner().method();
    let route = resolve(&method, &path);
    let outcome = dispatch::dispatch(route, req, &env).await;
    let mut resp = match outcome {
        Ok(resp) => resp,
        Err(err) => error_response(&err)?,
    };
    let headers = resp.headers_mut();
    headers.set("cache-control", "no-store")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("referrer-policy", "no-referrer")?;
    Ok(resp)
}

/// The queues' consumer: the health checks the Cron Trigger queued, and the portal's events.
#[event(queue)]
async fn queue(batch: worker::MessageBatch<serde_json::Value>, env: Env, _ctx: worker::Context) -> Result<()> {
    let messages = batch.messages()?;
    if batch.queue() == organizations::HEALTH_QUEUE_NAME {
        organizations::run_health_checks(&env, messages).await;
    } else if batch.queue() == organizations::EVENTS_QUEUE_NAME {
        organizations::deliver_portal_events(&env, messages).await;
    } else {
        worker::console_error!("a batch from an unknown queue {}", batch.queue());
        batch.retry_all();
    }
    Ok(())
}

pub(crate) fn error_response(err: &AppError) -> Result<Response> {
    let mut resp = Response::from_json(&err.body())?.with_status(err.status());
    if let AppError::MethodNotAllowed(allowed) = err {
        resp.headers_mut().set("allow", &allowed.join(", "))?;
    }
    if let AppError::RateLimited(_, secs) = err {
        resp.headers_mut().set("retry-after", &secs.to_string())?;
    }
    if let AppError::Unauthenticated = err {
        resp.headers_mut().set("www-authenticate", "Bearer realm=\"m365-onboarding\"")?;
    }
    Ok(resp)
}

/// The keyring that seals secrets at rest (`ENCRYPTION_KEYS`, see [`crate::seal`]).
pub(crate) fn keyring(env: &Env) -> std::result::Result<crate::seal::Keyring, AppError> {
    let spec = env
        .secret("ENCRYPTION_KEYS")
        .map(|s| s.to_string())
        .or_else(|_| env.var("ENCRYPTION_KEYS").map(|v| v.to_string()));
    let spec = spec.map_err(|_| {
        worker::console_error!("ENCRYPTION_KEYS is not set");
        AppError::Internal
    })?;
    crate::seal::Keyring::parse(&spec).map_err(|e| {
        worker::console_error!("ENCRYPTION_KEYS: {e:?}");
        AppError::Internal
    })
}

fn internal(context: &'static str) -> impl Fn(worker::Error) -> AppError {
    move |e| {
        worker::console_error!("{context}: {e}");
        AppError::Internal
    }
}

/// Counts one call under `key` against the Workers Rate Limiting binding `binding` (wrangler.toml);
/// over its limit, `code` with `Retry-After: period_s` (the binding's window).
async fn rate_limit(
    env: &Env,
    binding: &str,
    key: String,
    code: ErrorCode,
    period_s: u64,
) -> std::result::Result<(), AppError> {
    let limiter = env.rate_limiter(binding).map_err(internal("rate limit binding"))?;
    if !limiter.limit(key).await.map_err(internal("rate limit"))?.success {
        return Err(AppError::RateLimited(code, period_s));
    }
    Ok(())
}

fn json<T: serde::Serialize>(body: &T) -> std::result::Result<Response, AppError> {
    Response::from_json(body).map_err(internal("serializing"))
}

/// The success answer of endpoint `_e`: its body type and its status, as `shared::endpoints`
/// describes it.
pub(crate) fn respond<Req, Resp: serde::Serialize>(
    e: &Endpoint<Req, Resp>,
    body: &Resp,
) -> std::result::Result<Response, AppError> {
    Ok(json(body)?.with_status(e.about.ok))
}

fn authenticate(req: &Request, config: &Config) -> std::result::Result<Session, AppError> {
    let header = req.headers().get("authorization").ok().flatten();
    let token = session::bearer(header.as_deref()).map_err(|_| AppError::Unauthenticated)?;
    session::verify(token, &config.session_secret, config.portal_issuer.as_deref(), now().seconds()).map_err(|e| {
        if e == session::SessionError::NotConfigured {
            worker::console_error!("PORTAL_SESSION_SECRET is missing or shorter than 32 bytes");
        }
        AppError::Unauthenticated
    })
}

/// Sets a Durable Object's alarm to the instant `at` (the runtime takes an offset from now), or
/// removes it.
pub(crate) async fn set_alarm_at(storage: &worker::Storage, at: Option<Millis>) -> Result<()> {
    match at {
        Some(at) => storage.set_alarm(std::time::Duration::from_millis((at - now()).max(0) as u64)).await,
        None => storage.delete_alarm().await,
    }
}

/// Deletes everything a Durable Object stored, and its alarm.
pub(crate) async fn delete_everything(storage: &worker::Storage) -> Result<()> {
    storage.delete_all().await?;
    storage.delete_alarm().await
}

/// Sends `cmd` to the sign-in's Durable Object.
pub(crate) async fn signin_command(env: &Env, id: &str, cmd: Command) -> std::result::Result<Response, AppError> {
    durable_object_call(env, "SIGNIN", id, &cmd).await
}

/// Posts `body` as JSON to the Durable Object named `name` of binding `binding`; its answer as a
/// fresh response.
pub(crate) async fn durable_object_call<T: serde::Serialize>(
    env: &Env,
    binding: &str,
    name: &str,
    body: &T,
) -> std::result::Result<Response, AppError> {
    let ns = env.durable_object(binding).map_err(internal("Durable Object binding"))?;
    let stub = ns.id_from_name(name).and_then(|i| i.get_stub()).map_err(internal("Durable Object stub"))?;
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json").map_err(internal("headers"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(body).map_err(|_| AppError::Internal)?.into()));
    let req = Request::new_with_init("https://durable-object.internal/", &init).map_err(internal("request"))?;
    let resp = stub.fetch_with_request(req).await.map_err(internal("Durable Object call"))?;
    refetched(resp, "application/json").await
}

/// A fetched response (from a Durable Object or the assets) as a fresh one with `content_type`
/// (and its `Retry-After`, if any): a fetched response's headers are immutable, and every answer
/// gets headers set on the way out.
async fn refetched(mut fetched: Response, content_type: &str) -> std::result::Result<Response, AppError> {
    let status = fetched.status_code();
    let retry_after = fetched.headers().get("retry-after").ok().flatten();
    let body = fetched.bytes().await.map_err(internal("reading a fetched body"))?;
    let mut fresh = Response::from_bytes(body).map_err(internal("response"))?.with_status(status);
    fresh.headers_mut().set("content-type", content_type).map_err(internal("headers"))?;
    if let Some(r) = retry_after {
        fresh.headers_mut().set("retry-after", &r).map_err(internal("headers"))?;
    }
    Ok(fresh)
}

/// The app's page from the assets binding, with the policy that only the configured portals may
/// frame it. (Other assets are served without running the Worker.)
async fn app_page(req: Request, env: &Env) -> std::result::Result<Response, AppError> {
    let config = read_config(env)?;
    let assets = env.assets("ASSETS").map_err(internal("assets binding"))?;
    let page = assets.fetch_request(req).await.map_err(internal("assets"))?;
    let mut resp = refetched(page, "text/html; charset=utf-8").await?;
    resp.headers_mut().set("content-security-policy", &config.frame_ancestors()).map_err(internal("headers"))?;
    Ok(resp)
}
