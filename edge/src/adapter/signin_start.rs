//! `POST /api/signins`: the checks of a sign-in start (the method, the cloud's public client, a
//! repair's or a removal's organization), the account's slot, and the sign-in's Durable Object.

use super::*;

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
    match start.method {
        AddMethod::DeviceCode => {}
        AddMethod::Credential => {
            start
                .method
                .availability_with(start.cloud, &config.credential_clouds)
                .map_err(|reason| FieldError::new(Field::Method, reason))?;
        }
        AddMethod::Manual => {
            return Err(FieldError::new(Field::Method, "The Manual method needs no sign-in: go to Step 3.").into())
        }
    }
    if config.public_client(start.cloud).is_none() {
        worker::console_error!("no public client configured for {}", start.cloud.as_str());
        return Err(ErrorCode::ClientMisconfigured.into());
    }
    let repair = match (&start.repair_organization_id, &start.remove_organization_id) {
        (Some(_), Some(_)) => {
            return Err(FieldError::new(
                Field::RemoveOrganizationId,
                "A sign-in either repairs an organization or removes its applications: send one of the two.",
            )
            .into())
        }
        (Some(org), None) => Some(organizations::repair_order(env, config, session, org, start.cloud).await?),
        (None, _) => None,
    };
    if let Some(org) = &start.remove_organization_id {
        organizations::removal_target(env, session, org, start.cloud).await?;
    }
    let id = crate::ids::new_id();
    if !slots::claim(env, &id, &session.account, Some((start.cloud, start.method))).await? {
        return Err(slots::refused_start(env, &session.account).await);
    }
    let cmd = Command::Start {
        account: session.account.clone(),
        name: id.clone(),
        cloud: start.cloud,
        method: start.method,
        redirect_uri,
        repair,
        removal: start.remove_organization_id,
    };
    let resp = signin_command(env, &id, cmd).await?;
    if resp.status_code() != 200 {
        // The sign-in did not start: it does not hold a slot, and its error is the answer.
        slots::release(env, &id).await;
        return Ok(resp);
    }
    Ok(resp.with_status(endpoints::START_SIGN_IN.about.ok))
}
