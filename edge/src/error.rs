//! The one place where a failure becomes an HTTP status and the common error body.
//!
//! Internal details (storage errors, runtime errors) are logged by the adapter and never sent:
//! the body carries only the stable code and the administrator's sentence.

use shared::api::ErrorBody;
use shared::ErrorCode;

/// Every error the edge API can answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// No such endpoint.
    NotFound,
    /// The endpoint exists but not with this method.
    MethodNotAllowed(&'static [&'static str]),
    /// Something failed inside the edge; the detail is logged, not sent.
    Internal,
}

impl AppError {
    fn code(&self) -> ErrorCode {
        match self {
            AppError::NotFound => ErrorCode::NotFound,
            AppError::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
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
            AppError::Internal => ErrorBody::new(ErrorCode::Internal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_json_404() {
        let e = AppError::NotFound;
        assert_eq!(e.status(), 404);
        assert_eq!(e.body().error.code, ErrorCode::NotFound);
    }

    #[test]
    fn method_not_allowed_names_the_methods() {
        let e = AppError::MethodNotAllowed(&["GET", "HEAD"]);
        assert_eq!(e.status(), 405);
        assert!(e.body().error.message.contains("GET, HEAD"));
    }
}
