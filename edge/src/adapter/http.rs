//! [`HttpClient`] over the Workers `fetch`: moves bytes between `http` types and the runtime, and
//! gives up on a request (its answer included) after the configured time.

use crate::config::{Config, DEFAULT_MICROSOFT_TIMEOUT_SECS};
use crate::microsoft::{HttpClient, HttpRequest, HttpResponse, TransportError};
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit};

/// Outbound HTTP through the Workers runtime.
pub struct WorkerHttp {
    /// How long one request may take (`MICROSOFT_TIMEOUT_SECS`).
    timeout_ms: u32,
}

impl WorkerHttp {
    /// With `config`'s timeout, or the default where the configuration could not be read.
    pub fn new(config: Option<&Config>) -> Self {
        Self { timeout_ms: config.map_or(DEFAULT_MICROSOFT_TIMEOUT_SECS * 1000, |c| c.microsoft_timeout_ms) }
    }
}

fn method(m: &http::Method) -> Method {
    match *m {
        http::Method::POST => Method::Post,
        http::Method::PATCH => Method::Patch,
        http::Method::DELETE => Method::Delete,
        http::Method::PUT => Method::Put,
        _ => Method::Get,
    }
}

impl HttpClient for WorkerHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (parts, body) = request.into_parts();
        let headers = Headers::new();
        for (name, value) in &parts.headers {
            let value = value.to_str().map_err(|_| TransportError("non-ASCII header".into()))?;
            headers.set(name.as_str(), value).map_err(|e| TransportError(e.to_string()))?;
        }
        let mut init = RequestInit::new();
        init.with_method(method(&parts.method)).with_headers(headers);
        if !body.is_empty() {
            init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let req = Request::new_with_init(&parts.uri.to_string(), &init).map_err(|e| TransportError(e.to_string()))?;
        // The runtime's own timer: it aborts the request, and the reading of its body, after
        // `timeout_ms` (a `TimeoutError`, which callers treat as Microsoft being unavailable).
        let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(self.timeout_ms));
        let mut resp =
            Fetch::Request(req).send_with_signal(&signal).await.map_err(|e| TransportError(e.to_string()))?;
        let mut builder = http::Response::builder().status(resp.status_code());
        for name in ["retry-after", "content-type"] {
            if let Ok(Some(v)) = resp.headers().get(name) {
                builder = builder.header(name, v);
            }
        }
        let bytes = resp.bytes().await.map_err(|e| TransportError(e.to_string()))?;
        builder.body(bytes).map_err(|e| TransportError(e.to_string()))
    }
}
