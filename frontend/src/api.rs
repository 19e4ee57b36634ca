//! The browser's side of the edge API: typed requests through `gloo-net`, decoding the common
//! error body when the edge refuses.

use serde::de::DeserializeOwned;
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
}

/// `GET` a JSON body from the edge.
pub async fn get_json<T: DeserializeOwned>(path: &str) -> Result<T, ApiFailure> {
    let mut req = gloo_net::http::Request::get(path).header("accept", "application/json");
    if let Some(token) = crate::session::token() {
        req = req.header("authorization", &format!("Bearer {token}"));
    }
    let resp = req.send().await.map_err(|e| ApiFailure::Transport(e.to_string()))?;
    if resp.ok() {
        resp.json::<T>().await.map_err(|e| ApiFailure::Transport(e.to_string()))
    } else {
        match resp.json::<ErrorBody>().await {
            Ok(body) => Err(ApiFailure::Api(body)),
            Err(_) => Err(ApiFailure::Transport(format!("HTTP {}", resp.status()))),
        }
    }
}
