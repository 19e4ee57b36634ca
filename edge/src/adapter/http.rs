//! [`HttpClient`] over the Workers `fetch`: moves bytes between `http` types and the runtime.

use crate::microsoft::{HttpClient, HttpRequest, HttpResponse, TransportError};
use worker::{Fetch, Headers, Method, Request, RequestInit};

/// Outbound HTTP through the Workers runtime.
pub struct WorkerHttp;

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
        let mut resp = Fetch::Request(req).send().await.map_err(|e| TransportError(e.to_string()))?;
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
