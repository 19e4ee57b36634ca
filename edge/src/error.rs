//! The one place where a failure becomes an HTTP status and the common error body.
//!
//! Internal details (storage errors, runtime errors) are logged by the adapter and never sent:
//! the body carries only the stable code and the administrator's sentence.

use shared::api::{ErrorBody, ErrorDetail, MAX_BODY_BYTES};
use shared::{ErrorCode, FieldError};

/// Every error the edge API can answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// No such endpoint.
    NotFound,
    /// No such object in this account (also when it exists in another account).
    NoSuchObject,
    /// The endpoint exists but not with this method.
    MethodNotAllowed(Vec<&'static str>),
    /// No or invalid portal session.
    Unauthenticated,
    /// A field was refused.
    Invalid(FieldError),
    /// The body was not JSON of the expected shape; the text says where.
    Malformed(String),
    /// Content type was not JSON.
    UnsupportedMediaType,
    /// Body over [`MAX_BODY_BYTES`].
    TooLarge,
    /// A catalogued failure (Microsoft's, or a product rule such as the sign-in limit).
    Catalogue(Box<ErrorDetail>),
    /// A rate limit (sign-in starts, the engine's token requests, Microsoft's throttling passed on):
    /// the catalogue's code and the seconds after which to try again (`Retry-After`).
    RateLimited(ErrorCode, u64),
    /// Something failed inside the edge; the detail is logged, not sent.
    Internal,
}

impl AppError {
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::NotFound | AppError::NoSuchObject => ErrorCode::NotFound,
            AppError::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            AppError::Unauthenticated => ErrorCode::Unauthenticated,
            AppError::Invalid(_) => ErrorCode::InvalidInput,
            AppError::Malformed(_) => ErrorCode::MalformedRequest,
            AppError::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            AppError::TooLarge => ErrorCode::PayloadTooLarge,
            AppError::Catalogue(d) => d.code,
            AppError::RateLimited(code, _) => *code,
            AppError::Internal => ErrorCode::Internal,
        }
    }

    /// The HTTP status code for this error.
    pub fn status(&self) -> u16 {
        self.code().http_status()
    }

    /// The body sent to the client.
    pub fn body(&self) -> ErrorBody {
        match self {
            AppError::MethodNotAllowed(allowed) => ErrorBody::with_message(
                ErrorCode::MethodNotAllowed,
                format!("This endpoint accepts only {}.", allowed.join(", ")),
            ),
            AppError::NotFound => ErrorBody::with_message(
                ErrorCode::NotFound,
                "There is no such API endpoint. Check the path, or reload the page if the app was updated.",
            ),
            AppError::Invalid(e) => ErrorBody::invalid(e),
            AppError::Malformed(detail) => ErrorBody::with_message(
                ErrorCode::MalformedRequest,
                format!("The request could not be read: {detail}. Reload the page and try again."),
            ),
            AppError::Catalogue(d) => ErrorBody { error: (**d).clone() },
            other => ErrorBody::new(other.code()),
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid(e)
    }
}

impl From<ErrorDetail> for AppError {
    fn from(d: ErrorDetail) -> Self {
        AppError::Catalogue(Box::new(d))
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        AppError::Catalogue(Box::new(ErrorDetail::new(code)))
    }
}

/// Reads a JSON request body: the content type must be JSON and the size within the limit.
/// Serde's message says where the body went wrong (it never quotes secret values: the secret
/// types fail only on type, not on content).
pub fn parse_json<T: serde::de::DeserializeOwned>(content_type: Option<&str>, body: &[u8]) -> Result<T, AppError> {
    let ct = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    if !ct.eq_ignore_ascii_case("application/json") {
        return Err(AppError::UnsupportedMediaType);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| {
        // Serde's error for an invalid value quotes the value; keep only the category and position.
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "it is not valid JSON".to_owned(),
            _ => {
                let text = e.to_string();
                let field = text.split('`').nth(1).filter(|f| f.len() < 64 && !f.contains(' '));
                match field {
                    Some(f) if text.starts_with("missing field") => format!("the field `{f}` is missing"),
                    Some(f) if text.starts_with("unknown variant") => format!("the value `{f}` is not allowed here"),
                    _ => "a field has the wrong type or value".to_owned(),
                }
            }
        };
        AppError::Malformed(what)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::StartSignIn;

    #[test]
    fn not_found_is_json_404() {
        let e = AppError::NotFound;
        assert_eq!(e.status(), 404);
        assert_eq!(e.body().error.code, ErrorCode::NotFound);
    }

    #[test]
    fn method_not_allowed_names_the_methods() {
        let e = AppError::MethodNotAllowed(vec!["GET", "HEAD"]);
        assert_eq!(e.status(), 405);
        assert!(e.body().error.message.contains("GET, HEAD"));
    }

    #[test]
    fn bodies_are_checked_for_type_size_and_shape() {
        let ok: StartSignIn =
            parse_json(Some("application/json; charset=utf-8"), br#"{"cloud":"china","method":"device_code"}"#)
                .unwrap();
        assert_eq!(ok.cloud, shared::CloudEnvironment::China);
        assert_eq!(parse_json::<StartSignIn>(Some("text/plain"), b"{}").unwrap_err(), AppError::UnsupportedMediaType);
        assert_eq!(parse_json::<StartSignIn>(None, b"{}").unwrap_err(), AppError::UnsupportedMediaType);
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse_json::<StartSignIn>(Some("application/json"), &big).unwrap_err(), AppError::TooLarge);
        let e = parse_json::<StartSignIn>(Some("application/json"), b"{\"cloud\":").unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.body().error.message.contains("not valid JSON"));
        let e = parse_json::<StartSignIn>(Some("application/json"), br#"{"method":"device_code"}"#).unwrap_err();
        assert!(e.body().error.message.contains("`cloud` is missing"), "{:?}", e.body());
        let e = parse_json::<StartSignIn>(Some("application/json"), br#"{"cloud":"mars","method":"device_code"}"#)
            .unwrap_err();
        assert!(e.body().error.message.contains("`mars` is not allowed"), "{:?}", e.body());
    }
}
