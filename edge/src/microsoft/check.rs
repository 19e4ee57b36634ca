//! Whether a client credential works: a client-credentials token request, then
//! `GET /organization?$select=id` with the token (the smallest call every backup application may
//! make). Which part failed tells a missing grant (Graph's 403) from a refused credential.

use super::identity::{self, ClientCredential, TokenOutcome};
use super::{organization, HttpClient, HttpRequest, MicrosoftError};
use shared::CloudEndpoints;

/// Which part of the check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The token request.
    Token,
    /// The Graph call with the application's token.
    Graph,
}

/// Sends the token request `token`, then `GET /organization?$select=id` with the token.
pub async fn probe<H: HttpClient>(
    http: &H,
    endpoints: &CloudEndpoints,
    token: HttpRequest,
) -> Result<(), (Stage, MicrosoftError)> {
    let token = match http.send(token).await.map(|r| identity::read_token(&r)) {
        Ok(TokenOutcome::Token(t)) => t.access_token,
        Ok(TokenOutcome::Error(f)) => return Err((Stage::Token, f.microsoft)),
        Err(_) => return Err((Stage::Token, MicrosoftError::transport())),
    };
    let req = organization::request(endpoints, &token, organization::Select::Id);
    match http.send(req).await {
        Ok(resp) => organization::read(&resp).map(|_| ()).map_err(|e| (Stage::Graph, e)),
        Err(_) => Err((Stage::Graph, MicrosoftError::transport())),
    }
}

/// One check of a client credential (a secret or a signed client assertion), without retries: what a
/// sign-in's registration asks after creating an application (it retries by itself).
pub async fn verify<H: HttpClient>(
    http: &H,
    endpoints: &CloudEndpoints,
    tenant: &str,
    app_id: &str,
    credential: ClientCredential<'_>,
) -> Result<(), MicrosoftError> {
    let token = identity::client_credentials_request(endpoints, tenant, app_id, credential);
    probe(http, endpoints, token).await.map_err(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::microsoft::{HttpResponse, TransportError};
    use shared::secret::SecretString;
    use shared::ErrorCode;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    /// Answers in turn, and records the URLs asked.
    struct Answers(RefCell<VecDeque<(u16, serde_json::Value)>>, RefCell<Vec<String>>);

    impl HttpClient for Answers {
        async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
            self.1.borrow_mut().push(request.uri().to_string());
            let (status, body) = self.0.borrow_mut().pop_front().ok_or_else(|| TransportError("offline".into()))?;
            Ok(http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap())
        }
    }

    fn verify_once(answers: Vec<(u16, serde_json::Value)>) -> (Result<(), MicrosoftError>, Vec<String>) {
        let http = Answers(RefCell::new(answers.into()), RefCell::default());
        let endpoints = CloudEndpoints::official(shared::CloudEnvironment::Global);
        let secret = SecretString::new("s~1".into());
        let outcome =
            futures_executor::block_on(verify(&http, &endpoints, "t1", "app1", ClientCredential::Secret(&secret)));
        (outcome, http.1.take())
    }

    #[test]
    fn one_verification_is_a_token_then_the_organization() {
        let token = (200, serde_json::json!({"access_token": "tok", "token_type": "Bearer", "expires_in": 3599}));
        let (outcome, urls) = verify_once(vec![token.clone(), (200, serde_json::json!({"value": [{"id": "t1"}]}))]);
        assert_eq!(outcome, Ok(()));
        assert_eq!(
            urls,
            [
                "https://login.microsoftonline.com/t1/oauth2/v2.0/token",
                "https://graph.microsoft.com/v1.0/organization?$select=id"
            ]
        );

        let refused = (401, serde_json::json!({"error": "invalid_client", "error_codes": [7000215]}));
        let (Err(e), urls) = verify_once(vec![refused]) else { panic!() };
        assert_eq!((e.code, urls.len()), (ErrorCode::InvalidClientSecret, 1));

        let denied = (403, serde_json::json!({"error": {"code": "Authorization_RequestDenied", "message": "no"}}));
        let (Err(e), _) = verify_once(vec![token, denied]) else { panic!() };
        assert_eq!(e.code, ErrorCode::AdminConsentRequired, "Graph's own code; the caller decides what it means");

        let (Err(e), _) = verify_once(vec![]) else { panic!() };
        assert_eq!(e, MicrosoftError::transport());
    }
}
