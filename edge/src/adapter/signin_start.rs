//! `POST /api/signins`: the checks of a sign-in start (the method, the cloud's public client, a
//! repair's or a removal's organization), the account's slot, and the sign-in's Durable Object.

use super::*;
use crate::signin::command::Purpose;
use shared::api::SignInPurpose;

/// Where Microsoft sends the Credential pop-up back (see [`Config::redirect_uri`]; the operator
/// registers exactly this URI on the public client, see the README).
pub(super) fn callback_uri(req: &Request, config: &Config) -> std::result::Result<String, AppError> {
    let url = req.inner().url();
    config.redirect_uri(crate::signin::browser::origin_of(&url)).ok_or_else(|| {
        worker::console_error!("no redirect URI: set PUBLIC_ORIGIN, or reach the Worker over https");
        AppError::from(ErrorCode::ClientMisconfigured)
    })
}

pub(super) async fn start_sign_in(
    env: &Env,
    config: &Config,
    session: &Session,
    start: StartSignIn,
    redirect_uri: Option<String>,
) -> std::result::Result<Response, AppError> {
    let method = crate::signin::start::admit(config, &start).inspect_err(|e| {
        if e.body().error.code == ErrorCode::ClientMisconfigured {
            worker::console_error!("no public client configured for {}", start.cloud.as_str());
        }
    })?;
    let purpose = match start.purpose {
        SignInPurpose::Register => Purpose::Register,
        SignInPurpose::SignInOnly => Purpose::SignInOnly,
        SignInPurpose::Repair(org) => {
            Purpose::Repair(organizations::repair_order(env, config, session, org.as_str(), start.cloud).await?)
        }
        SignInPurpose::Remove(org) => {
            organizations::removal_target(env, session, org.as_str(), start.cloud).await?;
            Purpose::Remove(org.as_str().to_owned())
        }
        SignInPurpose::Partner => Purpose::Partner,
    };
    let id = crate::ids::new_id();
    if !slots::claim(env, &id, &session.account, Some((start.cloud, method))).await? {
        return Err(slots::refused_start(env, &session.account).await);
    }
    let cmd = Command::Start {
        account: session.account.clone(),
        name: id.clone(),
        cloud: start.cloud,
        method,
        redirect_uri,
        purpose,
    };
    let resp = signin_command(env, &id, cmd).await?;
    if resp.status_code() != 200 {
        // The sign-in did not start: it does not hold a slot, and its error is the answer.
        slots::release(env, &id).await;
        return Ok(resp);
    }
    Ok(resp.with_status(endpoints::START_SIGN_IN.about.ok))
}
