//! The backup engine's routes (`/api/engine/*`): its ES256 token checked with WebCrypto
//! ([`crate::engine::auth`]), the account's rate limit (the platform's Rate Limiting binding
//! `ENGINE_RATE_LIMIT`), and the organization's Durable Object, [`OrganizationTokens`], which
//! holds the token broker in memory and runs the organizations service's `engine_token` for one
//! organization. Portal sessions never reach these routes, and engine tokens no other route.

use super::webcrypto::WebCryptoVerifier;
use super::{durable_object_call, error_response, now, respond};
use crate::config::Config;
use crate::engine::auth::{self, EngineSession};
use crate::engine::tokens::Broker;
use crate::error::AppError;
use crate::session::Session;
use serde::{Deserialize, Serialize};
use shared::api::EngineTokenRequest;
use shared::{endpoints, ErrorCode};
use worker::{durable_object, DurableObject, Env, Request, Response, State};

type Res<T> = std::result::Result<T, AppError>;

/// The window of the `ENGINE_RATE_LIMIT` binding (wrangler.toml), for `Retry-After`.
const RATE_LIMIT_PERIOD_S: u64 = 10;

/// The window of the `ENGINE_AUTH_FAILURE_LIMIT` binding (wrangler.toml).
const AUTH_FAILURE_PERIOD_S: i64 = 60;

thread_local! {
    /// The client addresses over their failure limit in this isolate (see [`auth::SourceGate`]).
    static GATE: std::cell::RefCell<auth::SourceGate> = std::cell::RefCell::default();
}

/// The engine's request, checked; every refusal answers the same 401 (the reason is logged).
/// Failures are counted per client address (`ENGINE_AUTH_FAILURE_LIMIT`); over the limit the
/// address gets 429 without its signatures being checked until the window ends.
pub async fn authenticate(env: &Env, req: &Request, config: &Config) -> Res<EngineSession> {
    let t = now() / 1000;
    let source = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_else(|| "unknown".to_owned());
    if let Some(wait) = GATE.with(|g| g.borrow().blocked(&source, t)) {
        return Err(AppError::RateLimited(ErrorCode::EngineAuthenticationRateLimited, wait.max(1)));
    }
    let header = req.headers().get("authorization").ok().flatten();
    let why = match auth::authenticate(header.as_deref(), &config.engine_keys, &WebCryptoVerifier, t).await {
        Ok(session) => return Ok(session),
        Err(why) => why,
    };
    if why == auth::Refused::NotConfigured {
        worker::console_warn!("engine: a request, but ENGINE_KEYS is not set");
    } else {
        worker::console_log!("engine: token refused ({why:?})");
    }
    let over = super::rate_limit(
        env,
        "ENGINE_AUTH_FAILURE_LIMIT",
        format!("engine-auth/{source}"),
        ErrorCode::EngineAuthenticationRateLimited,
        AUTH_FAILURE_PERIOD_S as u64,
    )
    .await;
    if let Err(limited) = over {
        GATE.with(|g| g.borrow_mut().block(&source, t.saturating_add(AUTH_FAILURE_PERIOD_S), t));
        return Err(limited);
    }
    Err(AppError::from(ErrorCode::EngineUnauthenticated))
}

/// The organizations service acts for the engine's account (a session in the service's terms).
fn as_session(engine: &EngineSession) -> Session {
    Session { account: engine.account.clone(), admin: format!("engine:{}", engine.kid), expires_at: 0 }
}

/// `GET /api/engine/organizations`.
pub async fn organizations(env: &Env, engine: &EngineSession) -> Res<Response> {
    let list = super::organizations::list_for(env, &as_session(engine)).await?;
    respond(&endpoints::ENGINE_ORGANIZATIONS, &list)
}

/// What the Worker asks an organization's Durable Object.
#[derive(Serialize, Deserialize)]
struct TokenCommand {
    account: String,
    kid: String,
    organization_id: String,
    request: EngineTokenRequest,
}

/// `POST /api/engine/organizations/{id}/token`.
pub async fn token(env: &Env, engine: &EngineSession, id: &str, request: EngineTokenRequest) -> Res<Response> {
    super::rate_limit(
        env,
        "ENGINE_RATE_LIMIT",
        engine.account.clone(),
        ErrorCode::EngineRateLimited,
        RATE_LIMIT_PERIOD_S,
    )
    .await?;
    let cmd = TokenCommand {
        account: engine.account.clone(),
        kid: engine.kid.clone(),
        organization_id: id.to_owned(),
        request,
    };
    durable_object_call(env, "ORG_TOKENS", id, &cmd).await
}

/// One organization's tokens for the backup engine (named by the organization's ID). The broker's
/// tokens live in memory only; an evicted object starts empty.
#[durable_object]
pub struct OrganizationTokens {
    env: Env,
    broker: Broker,
}

impl DurableObject for OrganizationTokens {
    fn new(_state: State, env: Env) -> Self {
        Self { env, broker: Broker::default() }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(cmd) = req.json::<TokenCommand>().await else { return error_response(&AppError::Internal) };
        let config = match super::read_config(&self.env) {
            Ok(c) => c,
            Err(e) => return error_response(&e),
        };
        let engine = EngineSession { kid: cmd.kid.clone(), account: cmd.account.clone() };
        let session = as_session(&engine);
        let (kid, id) = (&cmd.kid, &cmd.organization_id);
        let minted =
            super::organizations::engine_token(&self.env, &session, &config, &self.broker, kid, id, &cmd.request).await;
        match minted {
            Ok(token) => Response::from_json(&token),
            Err(e) => error_response(&e),
        }
    }
}
