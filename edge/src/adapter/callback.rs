//! The page Microsoft sends the Credential pop-up back to.

use super::body::read_body;
use super::{internal, signin_command};
use crate::error::AppError;
use crate::signin::command::{CallbackAnswer, CallbackOutcome, Command};
use shared::ErrorCode;
use worker::{Env, Request, Response};

/// `GET /api/signin/callback`: Microsoft sends the Credential pop-up back here. No session (this is
/// a top-level page in the pop-up); the `state` finds the sign-in and proves the answer is its own.
/// Answers a small page that hands the app (its opener, on this origin only) the claim that starts
/// registration, shows the confirmation code for when it cannot, and closes itself.
pub(super) async fn signin_callback(req: Request, env: &Env) -> Result<Response, AppError> {
    use crate::signin::browser::{callback_csp, callback_page, parse_callback, PageOutcome};
    let query = parse_callback(crate::signin::browser::query_of(&req.inner().url()));
    // A state that names no sign-in we issued: the same page, answered 404.
    let mut unknown = false;
    let outcome = match query.sign_in_id.clone() {
        None => PageOutcome {
            sign_in_id: None,
            error: Some(ErrorCode::StateMismatch),
            message: ErrorCode::StateMismatch.message().to_owned(),
            claim: None,
        },
        Some(id) => {
            let answer = CallbackAnswer {
                state_secret: shared::secret::SecretString::new(query.state_secret),
                code: query.code,
                error: query.error,
                error_description: query.error_description,
            };
            let cmd = Command::Callback(answer);
            let known = issued(env, &id).await;
            unknown = known == Some(false);
            let answer = match known {
                Some(false) => Ok(Response::empty().map_err(internal("response"))?.with_status(404)),
                _ => signin_command(env, &id, cmd).await,
            };
            let answer = match answer {
                Ok(mut r) if r.status_code() == 200 => r.json::<CallbackOutcome>().await.ok(),
                // No such sign-in: the state was not one we issued.
                Ok(r) if r.status_code() == 404 => Some(CallbackOutcome {
                    error: Some(shared::api::ErrorDetail::new(ErrorCode::StateMismatch)),
                    claim: None,
                }),
                _ => None,
            };
            let answer = answer.unwrap_or(CallbackOutcome {
                error: Some(shared::api::ErrorDetail::new(ErrorCode::Internal)),
                claim: None,
            });
            PageOutcome {
                sign_in_id: Some(id),
                error: answer.error.as_ref().map(|d| d.code),
                message: answer.error.map(|d| d.message).unwrap_or_else(|| {
                    "You are signed in at Microsoft. The backup applications will be registered once the portal confirms it.".to_owned()
                }),
                claim: answer.claim,
            }
        }
    };
    let status = match (&outcome.error, unknown) {
        (None, _) => 200,
        (Some(_), true) => 404,
        (Some(_), false) => 400,
    };
    let mut resp = Response::from_html(callback_page(&outcome)).map_err(internal("response"))?.with_status(status);
    resp.headers_mut().set("content-security-policy", &callback_csp()).map_err(internal("headers"))?;
    Ok(resp)
}

/// Whether sign-in `id` is one we issued (`None`: D1 could not say). Only those reach a Durable
/// Object: a made-up ID costs one D1 read.
async fn issued(env: &Env, id: &str) -> Option<bool> {
    let db = env.d1("DB").ok()?;
    let stmt = db.prepare("SELECT 1 AS known FROM signins WHERE id = ?1").bind(&[id.into()]).ok()?;
    stmt.first::<serde_json::Value>(None).await.map(|row| row.is_some()).ok()
}

/// `POST /api/signin/window`: the callback page of the Credential window the app opened claims
/// Microsoft's answer itself, when `Cross-Origin-Opener-Policy` cut the window off from the app. No
/// session (the window is a top-level page of its own); the claim handle the page received and the
/// `state` the app left in the window's `sessionStorage` are the proof. Any refusal is 404, the same
/// for an unknown sign-in, a wrong proof or a sign-in in another stage.
pub(super) async fn signin_window(mut req: Request, env: &Env) -> Result<Response, AppError> {
    let body = read_body(&shared::endpoints::SIGN_IN_WINDOW, &mut req).await?;
    if !crate::ids::is_id(&body.id) || issued(env, &body.id).await != Some(true) {
        return Err(AppError::NotFound);
    }
    let cmd = Command::WindowClaim { handle: body.handle, proof: body.proof };
    match signin_command(env, &body.id, cmd).await? {
        r if r.status_code() == 200 => Ok(Response::empty().map_err(internal("response"))?.with_status(204)),
        _ => Err(AppError::NotFound),
    }
}
