//! The thin `worker` adapter: turns a Workers request into a [`Route`], checks the portal session,
//! runs the handler, and turns the outcome into a Workers response. Decisions live in pure modules.

mod http;
mod organizations;
mod signin_do;
mod webcrypto;

use crate::config::{Config, MAX_ACTIVE_SIGNINS};
use crate::error::{parse_json, AppError};
use crate::routes::{resolve, Route};
use crate::session::{self, Session};
use crate::signin::poller::Millis;
use shared::api::{ComponentStatus, HealthResponse, SessionInfo, StartSignIn, SERVICE_NAME};
use shared::{AddMethod, ErrorCode, Field, FieldError};
use signin_do::Command;
pub(crate) use signin_do::Command as SignInCommand;
use worker::{event, Context, Env, Method, Request, RequestInit, Response, Result};

/// How long a new sign-in counts against the account's limit unless it ends sooner.
const SIGNIN_SLOT_MS: Millis = 20 * 60 * 1000;

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

/// The Cron Trigger: deletes sign-in rows past their retention (the sign-ins' Durable Objects
/// delete their own records from their alarms). One indexed statement, whatever the number of rows.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
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
}

fn error_response(err: &AppError) -> Result<Response> {
    let mut resp = Response::from_json(&err.body())?.with_status(err.status());
    if let AppError::MethodNotAllowed(allowed) = err {
        resp.headers_mut().set("allow", &allowed.join(", "))?;
    }
    if let AppError::RateLimited(secs) = err {
        resp.headers_mut().set("retry-after", &secs.to_string())?;
    }
    if let AppError::Unauthenticated = err {
        resp.headers_mut().set("www-authenticate", "Bearer realm=\"m365-onboarding\"")?;
    }
    Ok(resp)
}

fn internal(context: &'static str) -> impl Fn(worker::Error) -> AppError {
    move |e| {
        worker::console_error!("{context}: {e}");
        AppError::Internal
    }
}

async fn dispatch(route: Route, mut req: Request, env: &Env) -> std::result::Result<Response, AppError> {
    match route {
        Route::Health => return health(&req, env).await,
        Route::AppPage => return app_page(req, env).await,
        Route::SignInCallback => return signin_callback(req, env).await,
        Route::MethodNotAllowed(allowed) => return Err(AppError::MethodNotAllowed(allowed)),
        Route::NotFound => return Err(AppError::NotFound),
        _ => {}
    }
    let config = read_config(env)?;
    let session = authenticate(&req, &config)?;
    match route {
        Route::Session => json(&SessionInfo {
            account: session.account,
            admin: session.admin,
            expires_at: crate::time::rfc3339_ms(session.expires_at * 1000),
        }),
        Route::StartSignIn => {
            let start: StartSignIn = read_json(&mut req).await?;
            let redirect_uri = match start.method {
                AddMethod::Credential => Some(callback_uri(&req, &config)?),
                _ => None,
            };
            start_sign_in(env, &config, &session, start, redirect_uri).await
        }
        Route::ListSignIns => list_sign_ins(env, &session).await,
        Route::OpenApi => {
            let mut resp = Response::ok(crate::openapi::DOCUMENT).map_err(internal("response"))?;
            resp.headers_mut().set("content-type", "application/json").map_err(internal("headers"))?;
            Ok(resp)
        }
        Route::ListOrganizations => organizations::list(env, &session).await,
        Route::CreateOrganization => {
            let body: shared::api::CreateOrganization = read_json(&mut req).await?;
            organizations::create(env, &config, &session, body).await
        }
        Route::GetOrganization(id) => organizations::get(env, &session, &id).await,
        Route::UpdateOrganization(id) => {
            let body: shared::api::UpdateOrganization = read_json(&mut req).await?;
            organizations::update(env, &config, &session, &id, body).await
        }
        Route::DeleteOrganization(id) => {
            let body: shared::api::DeleteOrganization = read_json(&mut req).await?;
            organizations::delete(env, &session, &id, body).await
        }
        Route::InspectCertificate => {
            let inspect: shared::api::InspectCertificate = read_json(&mut req).await?;
            json(&crate::certificates::inspect(&inspect, now() / 1000)?)
        }
        Route::SignInStatus(id) => signin_call(env, &id, &session, "status", None).await,
        Route::ConfirmSignIn(id) => {
            // Device code: no body needed. Credential: the claim from the sign-in window.
            let body: shared::api::ConfirmSignIn = if req.headers().get("content-type").ok().flatten().is_some() {
                read_json(&mut req).await?
            } else {
                Default::default()
            };
            let cmd = Command { claim: body.claim, ..Command::new(&session.account, "confirm") };
            signin_command(env, &id, cmd).await
        }
        Route::RenewSignIn(id) => {
            // Only a Credential sign-in uses it; the Durable Object refuses a renewal without it.
            let cmd =
                Command { redirect_uri: callback_uri(&req, &config).ok(), ..Command::new(&session.account, "renew") };
            signin_command(env, &id, cmd).await
        }
        Route::CancelSignIn(id) => signin_call(env, &id, &session, "cancel", None).await,
        Route::AdditionalApplications(id) => signin_call(env, &id, &session, "additional", None).await,
        Route::Health | Route::AppPage | Route::SignInCallback | Route::MethodNotAllowed(_) | Route::NotFound => {
            Err(AppError::NotFound)
        }
    }
}

/// How much of a body over the cap is read (and dropped) before the rest is cancelled.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads a JSON body; a declared length over the limit is refused before anything is read.
async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request) -> std::result::Result<T, AppError> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > shared::api::MAX_BODY_BYTES) {
        return Err(AppError::TooLarge);
    }
    let ct = req.headers().get("content-type").ok().flatten();
    // Read as a stream with a cap: a body without a (truthful) length is never held beyond the
    // limit; what comes after it is dropped as it arrives, and past DRAIN_LIMIT the stream is
    // cancelled.
    let mut body = Vec::new();
    let mut seen = 0usize;
    if let Some(stream) = req.inner().body() {
        use wasm_bindgen::JsCast as _;
        let reader: worker::web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        let field = |v: &wasm_bindgen::JsValue, name: &str| js_sys::Reflect::get(v, &name.into());
        let fail = |e: wasm_bindgen::JsValue| {
            worker::console_error!("reading the body: {e:?}");
            AppError::Internal
        };
        loop {
            let step = wasm_bindgen_futures::JsFuture::from(reader.read()).await.map_err(fail)?;
            if field(&step, "done").map_err(fail)?.as_bool().unwrap_or(true) {
                break;
            }
            let chunk = js_sys::Uint8Array::new(&field(&step, "value").map_err(fail)?);
            seen += chunk.length() as usize;
            if seen > DRAIN_LIMIT {
                let _ = wasm_bindgen_futures::JsFuture::from(reader.cancel()).await;
                return Err(AppError::TooLarge);
            }
            if seen <= shared::api::MAX_BODY_BYTES {
                body.extend_from_slice(&chunk.to_vec());
            }
        }
        if seen > shared::api::MAX_BODY_BYTES {
            // Over the cap: nothing past it was kept; the rest was read and dropped so that the
            // answer goes out on a connection in a clean state.
            return Err(AppError::TooLarge);
        }
    }
    parse_json(ct.as_deref(), &body)
}

/// `GET /api/signins`: the account's sign-ins that count against its limit, newest first.
async fn list_sign_ins(env: &Env, session: &Session) -> std::result::Result<Response, AppError> {
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
        .bind(&[session.account.as_str().into(), (now() as f64).into()])
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
                started_at: crate::time::rfc3339_ms(r.created_at_ms as Millis),
            })
        })
        .collect();
    json(&shared::api::SignInList { sign_ins, limit: MAX_ACTIVE_SIGNINS })
}

fn json<T: serde::Serialize>(body: &T) -> std::result::Result<Response, AppError> {
    Response::from_json(body).map_err(internal("serializing"))
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
            start.method.availability(start.cloud).map_err(|reason| FieldError::new(Field::Method, reason))?;
        }
        AddMethod::Manual => {
            return Err(FieldError::new(Field::Method, "The Manual method needs no sign-in: go to Step 3.").into())
        }
    }
    if config.public_client(start.cloud).is_none() {
        worker::console_error!("no public client configured for {}", start.cloud.as_str());
        return Err(ErrorCode::ClientMisconfigured.into());
    }
    let id = crate::ids::new_id();
    if !claim_signin_slot(env, &id, &session.account, Some((start.cloud, start.method))).await? {
        return Err(refused_start(env, &session.account).await);
    }
    let cmd = Command {
        cloud: Some(start.cloud),
        method: Some(start.method),
        redirect_uri,
        ..Command::new(&session.account, "start")
    };
    let resp = signin_command(env, &id, cmd).await?;
    if resp.status_code() != 200 {
        // The sign-in did not start: it does not hold a slot, and its error is the answer.
        release_signin_slot(env, &id).await;
        return Ok(resp);
    }
    Ok(resp.with_status(201))
}

/// Fewer than the limit of the account's (`?2`) sign-ins are under way at `?3`, not counting `?1`.
const SIGNIN_SLOT_FREE: &str =
    "(SELECT COUNT(*) FROM signins WHERE account_id = ?2 AND active_until_ms > ?3 AND id != ?1) < ?5";
/// Fewer than [`SIGNIN_STARTS_PER_HOUR`] (`?8`) sign-ins of the account were started since `?7`.
const SIGNIN_RATE_FREE: &str = "(SELECT COUNT(*) FROM signins WHERE account_id = ?2 AND created_at_ms > ?7) < ?8";

/// Why a start was refused: the rate limit (with when to try again) or the sign-ins under way.
async fn refused_start(env: &Env, account: &str) -> AppError {
    let since = now() - crate::signin::limits::RATE_WINDOW_MS;
    let oldest = async {
        let db = env.d1("DB").ok()?;
        let stmt = db
            .prepare(
                "SELECT COUNT(*) AS n, MIN(created_at_ms) AS oldest FROM signins WHERE account_id = ?1 AND created_at_ms > ?2",
            )
            .bind(&[account.into(), (since as f64).into()])
            .ok()?;
        let row = stmt.first::<serde_json::Value>(None).await.ok()??;
        Some((row["n"].as_f64()? as u32, row["oldest"].as_f64().unwrap_or(0.0) as Millis))
    }
    .await;
    match oldest {
        Some((n, oldest)) if n >= crate::signin::limits::SIGNIN_STARTS_PER_HOUR => {
            AppError::RateLimited(crate::signin::limits::retry_after_secs(oldest, now()))
        }
        _ => ErrorCode::TooManySignIns.into(),
    }
}

/// Makes sign-in `id` count against `account`'s limit of sign-ins under way, atomically in D1, if
/// the limit allows: a new sign-in (`new_in` names its cloud; the row is inserted) or a renewed one.
/// `false` when the limit is reached.
pub(crate) async fn claim_signin_slot(
    env: &Env,
    id: &str,
    account: &str,
    new_in: Option<(shared::CloudEnvironment, AddMethod)>,
) -> std::result::Result<bool, AppError> {
    let t = now();
    let mut params: Vec<wasm_bindgen::JsValue> = vec![
        id.into(),
        account.into(),
        (t as f64).into(),
        ((t + SIGNIN_SLOT_MS) as f64).into(),
        (MAX_ACTIVE_SIGNINS as f64).into(),
    ];
    let sql = match new_in {
        Some((cloud, method)) => {
            params.push(cloud.as_str().into());
            params.push(((t - crate::signin::limits::RATE_WINDOW_MS) as f64).into());
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
pub(crate) async fn release_signin_slot(env: &Env, id: &str) {
    let outcome = async {
        env.d1("DB")?.prepare("UPDATE signins SET active_until_ms = 0 WHERE id = ?1").bind(&[id.into()])?.run().await
    }
    .await;
    if let Err(e) = outcome {
        worker::console_error!("signin {id}: releasing the slot failed: {e}");
    }
}

/// Calls the sign-in's Durable Object with `op` (also Worker-internal operations).
pub(crate) async fn signin_call(
    env: &Env,
    id: &str,
    session: &Session,
    op: &str,
    cloud: Option<shared::CloudEnvironment>,
) -> std::result::Result<Response, AppError> {
    signin_command(env, id, Command { cloud, ..Command::new(&session.account, op) }).await
}

/// Sends `cmd` to the sign-in's Durable Object.
pub(crate) async fn signin_command(env: &Env, id: &str, cmd: Command) -> std::result::Result<Response, AppError> {
    let ns = env.durable_object("SIGNIN").map_err(internal("Durable Object binding"))?;
    let stub = ns.id_from_name(id).and_then(|i| i.get_stub()).map_err(internal("Durable Object stub"))?;
    let headers = worker::Headers::new();
    headers.set("content-type", "application/json").map_err(internal("headers"))?;
    headers.set("x-signin-id", id).map_err(internal("headers"))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(serde_json::to_string(&cmd).map_err(|_| AppError::Internal)?.into()));
    let req = Request::new_with_init("https://signin.internal/", &init).map_err(internal("request"))?;
    let resp = stub.fetch_with_request(req).await.map_err(internal("Durable Object call"))?;
    refetched(resp, "application/json").await
}

/// A fetched response (from a Durable Object or the assets) as a fresh one with `content_type`:
/// a fetched response's headers are immutable, and every answer gets headers set on the way out.
async fn refetched(mut fetched: Response, content_type: &str) -> std::result::Result<Response, AppError> {
    let status = fetched.status_code();
    let body = fetched.bytes().await.map_err(internal("reading a fetched body"))?;
    let mut fresh = Response::from_bytes(body).map_err(internal("response"))?.with_status(status);
    fresh.headers_mut().set("content-type", content_type).map_err(internal("headers"))?;
    Ok(fresh)
}

/// `GET /api/signin/callback`: Microsoft sends the Credential pop-up back here. No session (this is
/// a top-level page in the pop-up); the `state` finds the sign-in and proves the answer is its own.
/// Answers a small page that hands the app (its opener, on this origin only) the claim that starts
/// registration, shows the confirmation code for when it cannot, and closes itself.
async fn signin_callback(req: Request, env: &Env) -> std::result::Result<Response, AppError> {
    use crate::signin::browser::{callback_csp, callback_page, parse_callback, PageOutcome};
    let query = parse_callback(crate::signin::browser::query_of(&req.inner().url()));
    // A state that names no sign-in we issued: the same page, answered 404.
    let mut unknown = false;
    let outcome = match query.sign_in_id.clone() {
        None => PageOutcome {
            sign_in_id: None,
            error: Some(ErrorCode::StateMismatch),
            message: ErrorCode::StateMismatch.message().to_owned(),
            claim: None,
        },
        Some(id) => {
            let answer = signin_do::CallbackAnswer {
                state_secret: shared::secret::SecretString::new(query.state_secret),
                code: query.code,
                error: query.error,
                error_description: query.error_description,
            };
            let cmd = Command { callback: Some(answer), ..Command::new("", "callback") };
            // Only sign-ins we issued reach a Durable Object: a made-up ID costs one D1 read.
            let known = match env.d1("DB") {
                Ok(db) => {
                    match db.prepare("SELECT 1 AS known FROM signins WHERE id = ?1").bind(&[id.as_str().into()]) {
                        Ok(stmt) => stmt.first::<serde_json::Value>(None).await.map(|row| row.is_some()).ok(),
                        Err(_) => None,
                    }
                }
                Err(_) => None,
            };
            unknown = known == Some(false);
            let answer = match known {
                Some(false) => Ok(Response::empty().map_err(internal("response"))?.with_status(404)),
                _ => signin_command(env, &id, cmd).await,
            };
            let answer = match answer {
                Ok(mut r) if r.status_code() == 200 => r.json::<signin_do::CallbackOutcome>().await.ok(),
                // No such sign-in: the state was not one we issued.
                Ok(r) if r.status_code() == 404 => Some(signin_do::CallbackOutcome {
                    error: Some(shared::api::ErrorDetail::new(ErrorCode::StateMismatch)),
                    claim: None,
                }),
                _ => None,
            };
            let answer = answer.unwrap_or(signin_do::CallbackOutcome {
                error: Some(shared::api::ErrorDetail::new(ErrorCode::Internal)),
                claim: None,
            });
            PageOutcome {
                sign_in_id: Some(id),
                error: answer.error.as_ref().map(|d| d.code),
                message: answer.error.map(|d| d.message).unwrap_or_else(|| {
                    "You are signed in at Microsoft. The backup applications will be registered once the portal confirms it.".to_owned()
                }),
                claim: answer.claim,
            }
        }
    };
    let status = match (&outcome.error, unknown) {
        (None, _) => 200,
        (Some(_), true) => 404,
        (Some(_), false) => 400,
    };
    let mut resp = Response::from_html(callback_page(&outcome)).map_err(internal("response"))?.with_status(status);
    resp.headers_mut().set("content-security-policy", &callback_csp()).map_err(internal("headers"))?;
    Ok(resp)
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

async fn health(req: &Request, env: &Env) -> std::result::Result<Response, AppError> {
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
    let dev_session_in_url = loopback && config.is_some_and(|c| c.dev.session_in_url);
    json(&HealthResponse {
        service: SERVICE_NAME.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database,
        portal_origins,
        dev_session_in_url,
    })
}
