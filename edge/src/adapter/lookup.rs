//! `POST /api/tenant-lookup`: the account's rate limit (the `LOOKUP_RATE_LIMIT` binding), then
//! Microsoft's public answer for the domain ([`crate::lookup`]), kept in the Workers Cache for 10
//! minutes (it is public; a cache that is not there, as on `workers.dev`, only costs the call).

use super::http::WorkerHttp;
use super::respond;
use crate::config::Config;
use crate::error::AppError;
use crate::session::Session;
use shared::api::{TenantLookup, TenantLookupRequest};
use shared::{endpoints, Domain, ErrorCode};
use worker::{Cache, Env, Response};

type Res<T> = std::result::Result<T, AppError>;

/// The window of the `LOOKUP_RATE_LIMIT` binding (wrangler.toml), for `Retry-After`.
const RATE_LIMIT_PERIOD_S: u64 = 60;
/// How long an answer is reused.
const CACHE_SECONDS: u32 = 600;

pub async fn tenant_lookup(env: &Env, config: &Config, session: &Session, req: TenantLookupRequest) -> Res<Response> {
    let domain = Domain::parse(&req.domain)?;
    super::rate_limit(
        env,
        "LOOKUP_RATE_LIMIT",
        session.account.clone(),
        ErrorCode::LookupRateLimited,
        RATE_LIMIT_PERIOD_S,
    )
    .await?;
    let key = format!("https://tenant-lookup.cache/{}", domain.as_str());
    let cache = Cache::default();
    if let Ok(Some(mut hit)) = cache.get(key.as_str(), true).await {
        if let Ok(found) = hit.json::<TenantLookup>().await {
            return respond(&endpoints::TENANT_LOOKUP, &found);
        }
    }
    let found = crate::lookup::lookup(&WorkerHttp::new(Some(config)), config, &domain).await?;
    if let Ok(mut stored) = Response::from_json(&found) {
        let _ = stored.headers_mut().set("cache-control", &format!("public, max-age={CACHE_SECONDS}"));
        if let Err(e) = cache.put(key.as_str(), stored).await {
            worker::console_warn!("tenant lookup: caching failed: {e}");
        }
    }
    respond(&endpoints::TENANT_LOOKUP, &found)
}
