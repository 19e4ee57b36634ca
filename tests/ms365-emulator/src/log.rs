//! The middleware every Microsoft-facing request passes through: it applies the latency and throttle
//! faults, and appends the request to the log that `GET /_emulator/requests` returns.
//!
//! Handlers tell the log what only they know (the `client_id` of a form body, the `grant_type`, the inner
//! requests of a `$batch`) by attaching a [`LogInfo`] to their response. Control API calls
//! (`/_emulator/...`) are neither faulted nor logged, so the log shows only what a client sent to
//! "Microsoft".

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::faults::Throttled;
use crate::identity::errors::{ErrorContext, OAuthError};
use crate::state::{BatchLogEntry, Emulator, LogEntry};
use crate::util::now_ms;

/// What a handler adds to its log entry.
#[derive(Clone, Debug, Default)]
pub struct LogInfo {
    /// The client.
    pub client_id: Option<String>,
    /// The token request's grant type.
    pub grant_type: Option<String>,
    /// The inner requests of a `$batch`.
    pub batch: Option<Vec<BatchLogEntry>>,
}

impl LogInfo {
    /// Attaches this to a response.
    pub fn attach(self, mut resp: Response) -> Response {
        resp.extensions_mut().insert(self);
        resp
    }
}

/// The response to a throttled request, in the shape of the route's API.
pub fn throttled_response(path: &str, t: Throttled, base: &str, now: u64) -> Response {
    let status = StatusCode::from_u16(t.status).unwrap_or(StatusCode::TOO_MANY_REQUESTS);
    let mut resp = if path.starts_with("/v1.0") {
        let (code, message) = graph_throttle_error(t.status);
        crate::graph::error::GraphError::new(t.status, code, message).into_response_at(now)
    } else if path.contains("/oauth2/") {
        let e = if t.status == 429 {
            OAuthError::new(
                "temporarily_unavailable",
                90_055,
                "TenantThrottlingThreshold: The number of requests has exceeded the throttling threshold. Retry later.",
            )
        } else {
            OAuthError::new("temporarily_unavailable", 90_033, "A transient error has occurred. Please try again.")
        };
        let mut r = e.render(&ErrorContext { base: base.to_string(), correlation_id: None, now_ms: now });
        *r.status_mut() = status;
        r
    } else {
        (status, Json(json!({"error": "throttled"}))).into_response()
    };
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&t.retry_after.to_string()) {
        resp.headers_mut().insert("Retry-After", v);
    }
    resp
}

/// Graph's error code and message for a throttled request.
pub fn graph_throttle_error(status: u16) -> (&'static str, &'static str) {
    if status == 429 {
        ("TooManyRequests", "Too many requests. Retry after the time in the Retry-After header.")
    } else {
        (
            "serviceNotAvailable",
            "The service is temporarily unavailable. Retry after the time in the Retry-After header.",
        )
    }
}

/// The middleware.
pub async fn observe(AxState(emu): AxState<Arc<Emulator>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/_emulator") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    let arrived = emu.uptime_ms();
    let ((delay, late), throttled) = {
        let mut state = emu.lock();
        (state.faults.latency(&path), state.faults.throttle(&path, now_ms()))
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut resp = match throttled {
        Some(t) => throttled_response(&path, t, &emu.config.public_base, now_ms()),
        None => next.run(req).await,
    };
    if late > 0 {
        tokio::time::sleep(Duration::from_millis(late)).await;
    }
    let html = resp
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html && emu.lock().faults.opener_policy() {
        resp.headers_mut().insert("cross-origin-opener-policy", axum::http::HeaderValue::from_static("same-origin"));
    }
    let info = resp.extensions().get::<LogInfo>().cloned().unwrap_or_default();
    let entry = LogEntry {
        t_ms: arrived,
        done_ms: emu.uptime_ms(),
        method,
        path,
        status: resp.status().as_u16(),
        client_id: info.client_id,
        grant_type: info.grant_type,
        batch: info.batch,
    };
    emu.lock().requests.push(entry);
    resp
}
