//! The browser's side of the edge API: typed requests through `gloo-net` with the session token,
//! decoding the common error body when the edge refuses. No JSON is written by hand: bodies are
//! the common crate's contract types. The browser parses and writes the JSON text (`JSON.parse`,
//! `JSON.stringify`) and `serde-wasm-bindgen` moves the values between JavaScript and Rust: the app
//! carries no JSON parser or formatter of its own.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::ErrorBody;
use shared::endpoints::{Endpoint, NoBody};

/// Why an API call did not produce the expected body.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The edge answered with the common error body (boxed: errors are rare, results are everywhere).
    Api(Box<ErrorBody>),
    /// No answer, or an answer that is not the contract's (network down, proxy page).
    Transport(String),
}

impl ApiFailure {
    /// The sentence shown to the administrator, in the language shown.
    pub fn message(&self) -> String {
        match self {
            ApiFailure::Api(body) => crate::i18n::I18n::get().error(&body.error),
            ApiFailure::Transport(detail) => {
                crate::i18n::I18n::get().tr(key!("app.no_answer"), &[("detail", detail.clone())])
            }
        }
    }

    /// The catalogue code of the edge's refusal (`None` for a transport failure). Decisions match
    /// on this, never on the message text.
    pub fn code(&self) -> Option<shared::ErrorCode> {
        match self {
            ApiFailure::Api(body) => Some(body.error.code),
            ApiFailure::Transport(_) => None,
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<shared::Field> {
        match self {
            ApiFailure::Api(body) => body.error.field,
            ApiFailure::Transport(_) => None,
        }
    }

    /// The permissions a `permissions_missing` refusal lists.
    pub fn missing_permissions(&self) -> Vec<shared::api::RequiredPermission> {
        match self {
            ApiFailure::Api(body) => body.error.missing_permissions.clone(),
            ApiFailure::Transport(_) => vec![],
        }
    }
}

/// The browser's reason (e.g. "TypeError: Failed to fetch") when it gives one as text.
fn transport(e: wasm_bindgen::JsValue) -> ApiFailure {
    ApiFailure::Transport(e.as_string().unwrap_or_else(|| "network error".into()))
}

/// What `gloo-net` says when there is no answer.
fn gloo(e: gloo_net::Error) -> ApiFailure {
    ApiFailure::Transport(e.to_string())
}

/// Starts one `fetch` with `keepalive` to the edge with the session token (it survives the page
/// being closed or left) and returns the browser's promise of the response. Written on `web_sys`:
/// `gloo-net`'s request builder has no `keepalive`.
fn start_keepalive(method: &str, path: &str) -> Result<js_sys::Promise, ApiFailure> {
    let headers = web_sys::Headers::new().map_err(transport)?;
    headers.set("accept", "application/json").map_err(transport)?;
    if let Some(token) = crate::session::token() {
        headers.set("authorization", &format!("Bearer {token}")).map_err(transport)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    // Not in web-sys's `RequestInit` yet; a plain property of the init dictionary.
    js_sys::Reflect::set(&init, &"keepalive".into(), &true.into()).map_err(transport)?;
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(transport)?;
    let window = web_sys::window().ok_or_else(|| ApiFailure::Transport("no window".into()))?;
    Ok(window.fetch_with_request(&req))
}

/// One request to the edge with the session token, through `gloo-net`; the status and the body
/// text.
async fn call(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiFailure> {
    use gloo_net::http::{Method, RequestBuilder};
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| ApiFailure::Transport(e.to_string()))?;
    let mut req = RequestBuilder::new(path).method(method).header("accept", "application/json");
    let sent = crate::session::token();
    if let Some(token) = &sent {
        req = req.header("authorization", &format!("Bearer {token}"));
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(b).map_err(gloo)?,
        None => req.build().map_err(gloo)?,
    };
    let resp = req.send().await.map_err(gloo)?;
    // The edge refused the token the app still holds (not an earlier one, nor none).
    if resp.status() == 401 && sent.is_some() && sent == crate::session::token() {
        crate::session::refused();
    }
    let text = resp.text().await.map_err(gloo)?;
    Ok((resp.status(), text))
}

/// The body of a successful answer, parsed by the browser (`null` for 204), or the edge's refusal.
/// Not generic, so that reading the error body is compiled once, not once per response type.
#[inline(never)]
fn success_body((status, text): (u16, String)) -> Result<wasm_bindgen::JsValue, ApiFailure> {
    let parsed = if status == 204 { Ok(wasm_bindgen::JsValue::NULL) } else { js_sys::JSON::parse(&text) };
    match parsed {
        Ok(value) if (200..300).contains(&status) => Ok(value),
        Ok(value) => match serde_wasm_bindgen::from_value::<ErrorBody>(value) {
            Ok(body) => Err(ApiFailure::Api(Box::new(body))),
            Err(_) => Err(ApiFailure::Transport(format!("HTTP {status}"))),
        },
        Err(_) if (200..300).contains(&status) => Err(ApiFailure::Transport("the answer is not JSON".into())),
        Err(_) => Err(ApiFailure::Transport(format!("HTTP {status}"))),
    }
}

fn decode<T: DeserializeOwned>(value: wasm_bindgen::JsValue) -> Result<T, ApiFailure> {
    serde_wasm_bindgen::from_value(value).map_err(|e| ApiFailure::Transport(e.to_string()))
}

/// `body` as JSON text: plain objects, `null` for `None`, written by the browser.
#[inline(never)]
fn json_text(value: Result<wasm_bindgen::JsValue, serde_wasm_bindgen::Error>) -> Result<String, ApiFailure> {
    let value = value.map_err(|e| ApiFailure::Transport(e.to_string()))?;
    js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| ApiFailure::Transport("the request could not be written".into()))
}

/// Calls endpoint `e` (for object `id` when its path names one) without a body; its answer as the
/// endpoint describes it.
pub async fn fetch<Resp: DeserializeOwned>(e: &Endpoint<NoBody, Resp>, id: &str) -> Result<Resp, ApiFailure> {
    decode(success_body(call(e.method().as_str(), &e.path_for(id), None).await?)?)
}

/// Calls endpoint `e` (for object `id` when its path names one) with `body`.
pub async fn send<Req: Serialize, Resp: DeserializeOwned>(
    e: &Endpoint<Req, Resp>,
    id: &str,
    body: &Req,
) -> Result<Resp, ApiFailure> {
    let body = json_text(body.serialize(&serde_wasm_bindgen::Serializer::json_compatible()))?;
    decode(success_body(call(e.method().as_str(), &e.path_for(id), Some(body)).await?)?)
}

/// Sends a request whose answer does not matter with `keepalive`, so that it is sent even when
/// the page is being closed or left (`sendBeacon` cannot carry the `Authorization` header). The
/// request is on its way when this returns.
pub fn send_keepalive<Resp>(e: &Endpoint<NoBody, Resp>, id: &str) {
    if let Ok(promise) = start_keepalive(e.method().as_str(), &e.path_for(id)) {
        // Awaited only so that a failure is handled, not reported as an unhandled rejection.
        wasm_bindgen_futures::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        });
    }
}
