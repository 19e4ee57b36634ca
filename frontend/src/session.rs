//! The portal session token, held in memory only (never in storage or cookies).
//!
//! In `make dev` it arrives in the URL fragment (`#token=...`): a fragment is not sent to the
//! server and not put into `Referer`, and it is removed from the address bar at once so that it
//! does not linger in history. Inside a portal it will arrive by `postMessage`.

use std::cell::RefCell;

thread_local! {
    static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The current token, if any.
pub fn token() -> Option<String> {
    TOKEN.with(|t| t.borrow().clone())
}

/// Replaces the token.
pub fn set_token(token: Option<String>) {
    TOKEN.with(|t| *t.borrow_mut() = token);
}

/// Extracts `token=...` from a URL fragment (`#token=abc&x=y`). Pure, tested natively.
pub fn token_from_fragment(fragment: &str) -> Option<String> {
    fragment
        .trim_start_matches('#')
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .filter(|t| {
            !t.is_empty() && t.len() < 4096 && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
}

/// Reads the token from the address bar's fragment, then removes the fragment.
pub fn take_token_from_location() {
    let Some(window) = web_sys::window() else { return };
    let location = window.location();
    let Ok(hash) = location.hash() else { return };
    if let Some(t) = token_from_fragment(&hash) {
        set_token(Some(t));
        let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&clean));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_parsing() {
        assert_eq!(token_from_fragment("#token=abc.def-_g"), Some("abc.def-_g".into()));
        assert_eq!(token_from_fragment("#x=1&token=t"), Some("t".into()));
        assert_eq!(token_from_fragment("#token="), None);
        assert_eq!(token_from_fragment("#token=<script>"), None);
        assert_eq!(token_from_fragment(""), None);
    }
}
