//! Talking to Microsoft: request builders and response readers for the identity platform and
//! Graph, as pure functions over the `http` crate's types. The one HTTP seam is [`HttpClient`];
//! the Worker implements it with `fetch`, tests with fakes or the local emulator.

pub mod applications;
pub mod check;
pub mod grants;
pub mod graph;
pub mod identity;
pub mod organization;
pub mod partner;
pub mod policies;
pub mod service_principals;

use shared::api::{ErrorDetail, MicrosoftCorrelation};
use shared::ErrorCode;
use std::future::Future;

/// A request to Microsoft.
pub type HttpRequest = http::Request<Vec<u8>>;
/// Microsoft's answer.
pub type HttpResponse = http::Response<Vec<u8>>;

/// The one seam between the product's logic and the network.
pub trait HttpClient {
    /// Sends `request`; `Err` only when no HTTP answer arrived (connection, DNS, timeout).
    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, TransportError>>;
}

/// No HTTP answer arrived. The text is for logs; it never contains a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

/// A failure reported by Microsoft, already mapped to the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicrosoftError {
    /// The catalogue entry.
    pub code: ErrorCode,
    /// HTTP status Microsoft answered with (0 when none arrived).
    pub status: u16,
    /// Correlation IDs for support.
    pub correlation: MicrosoftCorrelation,
    /// `Retry-After`, in seconds, when Microsoft sent one.
    pub retry_after: Option<u64>,
}

impl MicrosoftError {
    /// No answer arrived.
    pub fn transport() -> Self {
        Self { code: ErrorCode::MicrosoftUnavailable, status: 0, correlation: Default::default(), retry_after: None }
    }

    /// An answer of a shape Microsoft does not document: counted as Microsoft unavailable.
    pub fn unreadable(status: u16) -> Self {
        Self { code: ErrorCode::MicrosoftUnavailable, status, correlation: Default::default(), retry_after: None }
    }

    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        self.code.is_transient() || self.status == 0 || self.status >= 500 || self.status == 429
    }

    /// What the browser is told.
    pub fn detail(&self) -> ErrorDetail {
        let mut d = ErrorDetail::new(self.code);
        if self.correlation != MicrosoftCorrelation::default() {
            d.microsoft = Some(self.correlation.clone());
        }
        d
    }
}

/// Reads `Retry-After` (seconds form) from a response.
pub fn retry_after(resp: &HttpResponse) -> Option<u64> {
    resp.headers().get(http::header::RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()
}

/// `application/x-www-form-urlencoded` body from pairs.
pub fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(&urlencode(k));
        out.push('=');
        out.push_str(&urlencode(v));
    }
    out.into_bytes()
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding() {
        assert_eq!(
            String::from_utf8(form(&[
                ("scope", "https://graph.microsoft.com/.default offline_access"),
                ("a", "b&c=d")
            ]))
            .unwrap(),
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default%20offline_access&a=b%26c%3Dd"
        );
    }
}
