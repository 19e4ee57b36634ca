//! The thin `worker` adapter: turns a Workers request into a [`Route`], checks the portal session,
//! runs the handler, and turns the outcome into a Workers response. Decisions live in pure modules.

mod body;
mod callback;
mod engine;
mod health;
mod http;
mod lookup;
mod organizations;
mod signin_do;
mod slots;
mod webcrypto;

use crate::config::Config;
use crate::error::AppError;
use crate::routes::{resolve, Route};
use crate::session::{self, Session};
use crate::signin::command::Command;
use crate::time::Millis;
use body::read_body;
use shared::api::{SessionInfo, StartSignIn};
use shared::endpoints::{self, Endpoint};
use shared::{AddMethod, ErrorCode, Field, FieldError};
use worker::{event, Context, Env, Method, Request, RequestInit, Response, Result};

fn now() -> Millis {
    worker::Date::now().as_millis() as Millis
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
    let outcome = dispatch(route, req, &env).await;
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
    let cutoff = (t - crate::signin::limits::RETENTION_MS) as f64;
    let outcome = async {
        env.d1("DB")?
            .prepare("DELETE FROM signins WHERE created_at_ms < ?1 AND active_until_ms < ?2")
            .bind(&[cutoff.into(), (t as f64).into()])?
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
    organizations::scheduled_health_checks(&env).await;
}

/// Rows of the engine's audit deleted per statement, and statements per run: retention never
/// holds the database for long, and a backlog is worked off over the following runs.
const AUDIT_DELETE_BATCH: u32 = 5_000;
const AUDIT_DELETE_BATCHES: u32 = 20;

/// The hourly Cron Trigger (wrangler.toml) that marks the accounts whose audit is full.
const AUDIT_CAP_CRON: &str = "7 * * * *";

/// The engine's audit: rows past `ENGINE_AUDIT_DAYS` deleted in bounded batches.
async fn engine_audit_housekeeping(env: &Env, t: Millis) {
    let days = read_config(env).map_or(crate::config::DEFAULT_ENGINE_AUDIT_DAYS, |c| c.engine_audit_days);
    let cutoff = (t - days * 86_400_000) as f64;
    let outcome: worker::Result<usize> = async {
        let db = env.d1("DB")?;
        let mut deleted = 0;
        for _ in 0..AUDIT_DELETE_BATCHES {
            let r = db
                .prepare(
                    "DELETE FROM engine_usage WHERE id IN \
                     (SELECT id FROM engine_usage WHERE at_ms < ?1 ORDER BY at_ms LIMIT ?2)",
                )
                .bind(&[cutoff.into(), f64::from(AUDIT_DELETE_BATCH).into()])?
                .run()
                .await?;
            let n = r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
            deleted += n;
            if n < AUDIT_DELETE_BATCH as usize {
                break;
            }
        }
        Ok(deleted)
    }
    .await;
    match outcome {
        Ok(deleted) => worker::console_log!("housekeeping: deleted {deleted} engine audit row(s) past retention"),
        Err(e) => worker::console_error!("housekeeping of the engine's audit failed: {e}"),
    }
}

/// The accounts at `ENGINE_AUDIT_MAX_ROWS` marked full (only the tokens Microsoft issued are then
/// recorded for them), and those below it unmarked.
async fn engine_audit_cap(env: &Env, t: Millis) {
    let max_rows = read_config(env).map_or(crate::config::DEFAULT_ENGINE_AUDIT_MAX_ROWS, |c| c.engine_audit_max_rows);
    let outcome: worker::Result<usize> = async {
        let db = env.d1("DB")?;
        let over = "SELECT account_id FROM engine_usage GROUP BY account_id HAVING COUNT(*) >= ?1";
        let marked = db
            .batch(vec![
                db.prepare(format!("DELETE FROM engine_audit_full WHERE account_id NOT IN ({over})"))
                    .bind(&[(max_rows as f64).into()])?,
                db.prepare(format!(
                    "INSERT OR IGNORE INTO engine_audit_full (account_id, since_ms) SELECT account_id, ?2 FROM ({over})"
                ))
                .bind(&[(max_rows as f64).into(), (t as f64).into()])?,
            ])
            .await?;
        Ok(marked.get(1).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0))
    }
    .await;
    match outcome {
        Ok(0) => {}
        Ok(full) => {
            worker::console_warn!("housekeeping: the engine audit of {full} account(s) reached ENGINE_AUDIT_MAX_ROWS")
        }
        Err(e) => worker::console_error!("housekeeping of the engine audit's limit failed: {e}"),
    }
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

/// The keyring that seals secrets at rest (`ENCRYPTION_KEYS`, see [`crate::organizations::seal`]).
pub(crate) fn keyring(env: &Env) -> std::result::Result<crate::organizations::seal::Keyring, AppError> {
    let spec = env
        .secret("ENCRYPTION_KEYS")
        .map(|s| s.to_string())
        .or_else(|_| env.var("ENCRYPTION_KEYS").map(|v| v.to_string()));
    let spec = spec.map_err(|_| {
        worker::console_error!("ENCRYPTION_KEYS is not set");
        AppError::Internal
    })?;
    crate::organizations::seal::Keyring::parse(&spec).map_err(|e| {
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

async fn dispatch(route: Route, mut req: Request, env: &Env) -> std::result::Result<Response, AppError> {
    match route {
        Route::Health => return health::health(&req, env).await,
        Route::AppPage => return app_page(req, env).await,
        Route::SignInCallback => return callback::signin_callback(req, env).await,
        Route::MethodNotAllowed(allowed) => return Err(AppError::MethodNotAllowed(allowed)),
        Route::NotFound => return Err(AppError::NotFound),
        _ => {}
    }
    let config = read_config(env)?;
    // The backup engine's routes take engine tokens only (never a portal session), and no other
    // route takes an engine token.
    match route {
        Route::EngineOrganizations => {
            let engine = engine::authenticate(env, &req, &config).await?;
            return engine::organizations(env, &engine).await;
        }
        Route::EngineToken(id) => {
            let engine = engine::authenticate(env, &req, &config).await?;
            let body = read_body(&endpoints::ENGINE_TOKEN, &mut req).await?;
            return engine::token(env, &engine, &id, body).await;
        }
        _ => {}
    }
    let session = authenticate(&req, &config)?;
    match route {
        Route::Session => respond(
            &endpoints::SESSION,
            &SessionInfo {
                account: session.account,
                admin: session.admin,
                expires_at: crate::time::rfc3339_ms(session.expires_at * 1000),
            },
        ),
        Route::StartSignIn => {
            let start = read_body(&endpoints::START_SIGN_IN, &mut req).await?;
            let redirect_uri = match start.method {
                AddMethod::Credential => Some(callback_uri(&req, &config)?),
                _ => None,
            };
            start_sign_in(env, &config, &session, start, redirect_uri).await
        }
        Route::ListSignIns => slots::list(env, &session).await,
        Route::OpenApi => {
            let mut resp = Response::ok(crate::openapi::DOCUMENT).map_err(internal("response"))?;
            resp.headers_mut().set("content-type", "application/json").map_err(internal("headers"))?;
            Ok(resp)
        }
        Route::ListOrganizations => organizations::list(env, &session).await,
        Route::CreateOrganization => {
            let body = read_body(&endpoints::CREATE_ORGANIZATION, &mut req).await?;
            organizations::create(env, &config, &session, body).await
        }
        Route::GetOrganization(id) => organizations::get(env, &session, &id).await,
        Route::UpdateOrganization(id) => {
            let body = read_body(&endpoints::UPDATE_ORGANIZATION, &mut req).await?;
            organizations::update(env, &config, &session, &id, body).await
        }
        Route::DeleteOrganization(id) => {
            let body = read_body(&endpoints::DELETE_ORGANIZATION, &mut req).await?;
            organizations::delete(env, &session, &id, body).await
        }
        Route::CheckOrganization(id) => organizations::check(env, &config, &session, &id).await,
        Route::OrganizationUsage(id) => organizations::usage(env, &session, &id).await,
        Route::CloudPermissions(cloud) => {
            let cloud = cloud.ok_or(AppError::NotFound)?;
            let list = shared::api::PermissionList {
                cloud,
                manifest_version: crate::provisioning::manifest::MANIFEST_VERSION,
                permissions: crate::provisioning::manifest::permission_list(cloud, shared::api::Workload::All),
            };
            respond(&endpoints::CLOUD_PERMISSIONS, &list)
        }
        Route::TenantLookup => {
            let body = read_body(&endpoints::TENANT_LOOKUP, &mut req).await?;
            lookup::tenant_lookup(env, &config, &session, body).await
        }
        Route::RepairOrganization(id) => {
            let body = read_body(&endpoints::REPAIR_ORGANIZATION, &mut req).await?;
            organizations::repair(env, &config, &session, &id, body).await
        }
        Route::InspectCertificate => {
            let inspect = read_body(&endpoints::INSPECT_CERTIFICATE, &mut req).await?;
            respond(&endpoints::INSPECT_CERTIFICATE, &crate::certificates::inspect(&inspect, now() / 1000)?)
        }
        Route::SignInStatus(id) => signin_command(env, &id, Command::Status { account: session.account }).await,
        Route::ConfirmSignIn(id) => {
            // Device code: no body needed. Credential: the claim from the sign-in window.
            let body = if req.headers().get("content-type").ok().flatten().is_some() {
                read_body(&endpoints::CONFIRM_SIGN_IN, &mut req).await?
            } else {
                Default::default()
            };
            signin_command(
                env,
                &id,
                Command::Confirm { account: session.account, claim: body.claim, sign_in_only: body.sign_in_only },
            )
            .await
        }
        Route::RenewSignIn(id) => {
            // Only a Credential sign-in uses it; the Durable Object refuses a renewal without it.
            let redirect_uri = callback_uri(&req, &config).ok();
            signin_command(env, &id, Command::Renew { account: session.account, redirect_uri }).await
        }
        Route::CancelSignIn(id) => signin_command(env, &id, Command::Cancel { account: session.account }).await,
        Route::AdditionalApplications(id) => {
            let cmd = Command::Additional { account: session.account, cloud: None, tenant: None };
            signin_command(env, &id, cmd).await
        }
        Route::Health
        | Route::AppPage
        | Route::SignInCallback
        | Route::MethodNotAllowed(_)
        | Route::NotFound
        | Route::EngineOrganizations
        | Route::EngineToken(_) => Err(AppError::NotFound),
    }
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
    session::verify(token, &config.session_secret, config.portal_issuer.as_deref(), now() / 1000).map_err(|e| {
        if e == session::SessionError::NotConfigured {
            worker::console_error!("PORTAL_SESSION_SECRET is missing or shorter than 32 bytes");
        }
        AppError::Unauthenticated
    })
}

/// Where Microsoft sends the Credential pop-up back (see [`Config::redirect_uri`]; the operator
/// registers exactly this URI on the public client, see the README).
fn callback_uri(req: &Request, config: &Config) -> std::result::Result<String, AppError> {
    let url = req.inner().url();
    config.redirect_uri(crate::signin::browser::origin_of(&url)).ok_or_else(|| {
        worker::console_error!("no redirect URI: set PUBLIC_ORIGIN, or reach the Worker over https");
        AppError::from(ErrorCode::ClientMisconfigured)
    })
}

async fn start_sign_in(
    env: &Env,
    config: &Config,
    session: &Session,
    start: StartSignIn,
    redirect_uri: Option<String>,
) -> std::result::Result<Response, AppError> {
    match start.method {
        AddMethod::DeviceCode => {}
        AddMethod::Credential => {
            start
                .method
                .availability_with(start.cloud, &config.credential_clouds)
                .map_err(|reason| FieldError::new(Field::Method, reason))?;
        }
        AddMethod::Manual => {
            return Err(FieldError::new(Field::Method, "The Manual method needs no sign-in: go to Step 3.").into())
        }
    }
    if config.public_client(start.cloud).is_none() {
        worker::console_error!("no public client configured for {}", start.cloud.as_str());
        return Err(ErrorCode::ClientMisconfigured.into());
    }
    let repair = match (&start.repair_organization_id, &start.remove_organization_id) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                Field::RemoveOrganizationId,
                "A sign-in either repairs an organization or removes its applications: send one of the two.",
            )
            .into())
        }
        (Some(org), None) => Some(organizations::repair_order(env, config, session, org, start.cloud).await?),
        (None, _) => None,
    };
    if let Some(org) = &start.remove_organization_id {
        organizations::removal_target(env, session, org, start.cloud).await?;
    }
    let id = crate::ids::new_id();
    if !slots::claim(env, &id, &session.account, Some((start.cloud, start.method))).await? {
        return Err(slots::refused_start(env, &session.account).await);
    }
    let cmd = Command::Start {
        account: session.account.clone(),
        name: id.clone(),
        cloud: start.cloud,
        method: start.method,
        redirect_uri,
        repair,
        removal: start.remove_organization_id,
    };
    let resp = signin_command(env, &id, cmd).await?;
    if resp.status_code() != 200 {
        // The sign-in did not start: it does not hold a slot, and its error is the answer.
        slots::release(env, &id).await;
        return Ok(resp);
    }
    Ok(resp.with_status(endpoints::START_SIGN_IN.about.ok))
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
