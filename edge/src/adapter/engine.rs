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
    let t = now().seconds();
    let address = req.headers().get("cf-connecting-ip").ok().flatten().unwrap_or_default();
    let source = auth::source_of(&address);
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
    // A limiter that failed itself (logged) leaves the refusal the same 401.
    if let Err(limited @ AppError::RateLimited(..)) = over {
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

/// What the Worker (or a change to the organization) asks an organization's Durable Object.
#[derive(Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
enum TokenCommand {
    /// A token for the engine.
    Token { account: String, kid: String, organization_id: String, request: EngineTokenRequest },
    /// The organization changed or was deleted: forget what is kept of it.
    Forget,
}

/// Tells organization `id`'s Durable Object that the organization changed (an edit, a repair, a
/// rotation) or was deleted, so that it reads it again and asks Microsoft for new tokens. A notice
/// that does not arrive is logged; the object reads the organization again within
/// [`crate::engine::tokens::ORGANIZATION_KEPT_MS`] anyway.
pub async fn organization_changed(env: &Env, id: &str) {
    if let Err(e) = durable_object_call(env, "ORG_TOKENS", id, &TokenCommand::Forget).await {
        worker::console_error!("engine: organization {id} changed, and its tokens' object was not told: {e:?}");
    }
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
    let cmd = TokenCommand::Token {
        account: engine.account.clone(),
        kid: engine.kid.clone(),
        organization_id: id.to_owned(),
        request,
    };
    durable_object_call(env, "ORG_TOKENS", id, &cmd).await
}

/// One organization's tokens for the backup engine (named by the organization's ID). The broker's
/// tokens and the organization as read live in memory only (an evicted object starts empty); the
/// cache hits it counts are written to the audit by its alarm once their minute is over.
#[durable_object]
pub struct OrganizationTokens {
    state: State,
    env: Env,
    broker: Broker,
    /// The account and organization of the latest request (for the alarm's audit rows).
    owner: std::cell::RefCell<Option<(String, String)>>,
    /// An alarm is set for the counted hits.
    alarm_set: std::cell::Cell<bool>,
    /// The counts a previous instance stored were read.
    loaded: std::cell::Cell<bool>,
}

/// The counts not yet written, as the object stores them (never a token).
#[derive(Serialize, Deserialize)]
struct StoredCounts {
    account: String,
    organization_id: String,
    hits: Vec<(crate::engine::hits::HitKey, u64)>,
}

/// The storage key of [`StoredCounts`].
const COUNTS: &str = "audit-counts";

impl OrganizationTokens {
    /// Once per instance: the counts an evicted instance stored come back into memory.
    async fn load_counts(&self) {
        if self.loaded.replace(true) {
            return;
        }
        match self.state.storage().get::<StoredCounts>(COUNTS).await {
            Ok(Some(stored)) => {
                self.owner.borrow_mut().get_or_insert((stored.account, stored.organization_id));
                self.broker.hits().restore(stored.hits);
            }
            Ok(None) => {}
            Err(e) => worker::console_error!("engine: the audit's counts were not read: {e}"),
        }
    }

    /// Stores the counts when they changed, so that they outlive this instance.
    async fn store_counts(&self) {
        if !self.broker.hits().changed() {
            return;
        }
        let Some((account, organization_id)) = self.owner.borrow().clone() else { return };
        let hits = self.broker.hits().entries();
        let storage = self.state.storage();
        let stored = if hits.is_empty() {
            storage.delete(COUNTS).await.map(drop)
        } else {
            storage.put(COUNTS, StoredCounts { account, organization_id, hits }).await
        };
        if let Err(e) = stored {
            worker::console_error!("engine: the audit's counts were not stored: {e}");
        }
    }

    /// Sets the alarm for the counted hits, once.
    async fn flush_later(&self) {
        if self.alarm_set.get() {
            return;
        }
        let Some(at) = self.broker.hits().next_flush_at() else { return };
        let wait = std::time::Duration::from_millis((at - now()).max(0) as u64 + 1000);
        match self.state.storage().set_alarm(wait).await {
            Ok(()) => self.alarm_set.set(true),
            Err(e) => worker::console_error!("engine: the audit's alarm was not set: {e}"),
        }
    }
}

impl DurableObject for OrganizationTokens {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            broker: Broker::default(),
            owner: Default::default(),
            alarm_set: Default::default(),
            loaded: Default::default(),
        }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let Ok(cmd) = req.json::<TokenCommand>().await else { return error_response(&AppError::Internal) };
        let TokenCommand::Token { account, kid, organization_id, request } = cmd else {
            self.broker.forget();
            return Response::from_json(&serde_json::json!({"forgotten": true}));
        };
        let config = match super::read_config(&self.env) {
            Ok(c) => c,
            Err(e) => return error_response(&e),
        };
        let engine = EngineSession { kid: kid.clone(), account: account.clone() };
        let session = as_session(&engine);
        self.load_counts().await;
        let minted = super::organizations::engine_token(
            &self.env,
            &session,
            &config,
            &self.broker,
            &kid,
            &organization_id,
            &request,
        )
        .await;
        if minted.is_ok() {
            // Only the organization's own account is served here, so only it owns the counts.
            *self.owner.borrow_mut() = Some((account, organization_id));
        }
        self.store_counts().await;
        self.flush_later().await;
        match minted {
            Ok(token) => Response::from_json(&token),
            Err(e) => error_response(&e),
        }
    }

    async fn alarm(&self) -> worker::Result<Response> {
        self.alarm_set.set(false);
        self.load_counts().await;
        let owner = self.owner.borrow().clone();
        let Some((account, id)) = owner else { return Response::ok("nothing counted") };
        let session = Session { account, admin: "engine-audit".into(), expires_at: 0 };
        let due = self.broker.hits().take_due(now());
        if !due.is_empty() {
            // The stored copy loses them first: an eviction after the write cannot count them twice.
            self.store_counts().await;
            if !super::organizations::write_engine_hits(&self.env, &session, &id, &due).await {
                worker::console_warn!("engine: the audit's counts were not written; trying again in a minute");
                self.broker.hits().write_failed(due, now());
                self.store_counts().await;
            }
        }
        self.flush_later().await;
        Response::ok("written")
    }
}
