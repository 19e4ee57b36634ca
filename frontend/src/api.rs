//! The browser's side of the edge API: typed requests through `gloo-net` with the session token,
//! decoding the common error body when the edge refuses. No JSON is written by hand: bodies are
//! the common crate's contract types.

use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::api::ErrorBody;

/// Why an API call did not produce the expected body.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiFailure {
    /// The edge answered with the common error body.
    Api(ErrorBody),
    /// No answer, or an answer that is not the contract's (network down, proxy page).
    Transport(String),
}

impl ApiFailure {
    /// The sentence shown to the administrator.
    pub fn message(&self) -> String {
        match self {
            ApiFailure::Api(body) => body.error.message.clone(),
            ApiFailure::Transport(detail) => format!("no valid answer ({detail}). Check your connection and reload."),
        }
    }

    /// The field the error is about, if any.
    pub fn field(&self) -> Option<shared::Field> {
        match self {
            ApiFailure::Api(body) => body.error.field,
            ApiFailure::Transport(_) => None,
        }
    }
}

fn with_auth(req: gloo_net::http::RequestBuilder) -> gloo_net::http::RequestBuilder {
    let req = req.header("accept", "application/json");
    match crate::session::token() {
        Some(token) => req.header("authorization", &format!("Bearer {token}")),
        None => req,
    }
}

async fn finish<T: DeserializeOwned>(resp: Result<gloo_net::http::Response, gloo_net::Error>) -> Result<T, ApiFailure> {
    let resp = resp.map_err(|e| ApiFailure::Transport(e.to_string()))?;
    if resp.ok() {
        if resp.status() == 204 {
            return serde_json::from_str("null").map_err(|e| ApiFailure::Transport(e.to_string()));
        }
        resp.json::<T>().await.map_err(|e| ApiFailure::Transport(e.to_string()))
    } else {
        match resp.json::<ErrorBody>().await {
            Ok(body) => Err(ApiFailure::Api(body)),
            Err(_) => Err(ApiFailure::Transport(format!("HTTP {}", resp.status()))),
        }
    }
}

/// `GET` a JSON body from the edge.
pub async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    finish(with_auth(gloo_net::http::Request::get(path)).send().await).await
}

/// Sends `body` with `method` (`POST`, `PATCH`, `DELETE`) and reads the answer.
pub async fn send_json<B: Serialize, T: DeserializeOwned>(method: &str, path: &str, body: &B) -> Result<T, ApiFailure> {
    let builder = match method {
        "PATCH" => gloo_net::http::Request::patch(path),
        "DELETE" => gloo_net::http::Request::delete(path),
        _ => gloo_net::http::Request::post(path),
    };
    let req = with_auth(builder).json(body).map_err(|e| ApiFailure::Transport(e.to_string()))?;
    finish(req.send().await).await
}
