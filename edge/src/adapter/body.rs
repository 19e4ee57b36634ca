//! Reading a request's JSON body under the size cap, without holding more than the cap.

use crate::error::{parse_json, AppError};
use shared::endpoints::Endpoint;
use worker::Request;

/// How much of a body over the cap is read (and dropped) before the rest is cancelled.
const DRAIN_LIMIT: usize = 1024 * 1024;

/// Reads a JSON body; a declared length over the limit is refused before anything is read.
pub(super) async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request) -> std::result::Result<T, AppError> {
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

/// The request body of endpoint `_e`, read under the size cap.
pub(super) async fn read_body<Req: serde::de::DeserializeOwned, Resp>(
    _e: &Endpoint<Req, Resp>,
    req: &mut Request,
) -> std::result::Result<Req, AppError> {
    read_json(req).await
}
