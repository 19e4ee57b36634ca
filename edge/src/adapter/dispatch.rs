//! Runs the handler of a resolved route: one exhaustive `match` per access group of
//! [`shared::endpoints`], so that a new line of the endpoint table does not compile until it is
//! dispatched here. Public endpoints take no credential; the engine's take an engine token only;
//! every other takes a portal session only.

use super::body::read_body;
use super::signin_start::{callback_uri, start_sign_in};
use super::{
    app_page, authenticate, callback, engine, health, internal, lookup, now, organizations, partner, read_config,
    respond, signin_command, slots,
};
use crate::config::Config;
use crate::error::AppError;
use crate::routes::Route;
use crate::session::Session;
use crate::signin::command::Command;
use shared::api::{SessionInfo, SignInMethod};
use shared::endpoints::{self, EngineEndpoint, PublicEndpoint, SessionEndpoint};
use worker::{Env, Request, Response};

type Answer = Result<Response, AppError>;

/// The route's answer.
pub(super) async fn dispatch(route: Route, req: Request, env: &Env) -> Answer {
    match route {
        Route::AppPage => app_page(req, env).await,
        Route::MethodNotAllowed(allowed) => Err(AppError::MethodNotAllowed(allowed)),
        Route::NotFound => Err(AppError::NotFound),
        Route::Public(e) => public(e, req, env).await,
        Route::Engine(e, id) => {
            let config = read_config(env)?;
            engine_route(e, id.as_deref(), req, env, &config).await
        }
        Route::Session(e, id) => {
            let config = read_config(env)?;
            let session = authenticate(&req, &config)?;
            session_route(e, id.as_deref(), req, env, &config, session).await
        }
    }
}

async fn public(e: PublicEndpoint, req: Request, env: &Env) -> Answer {
    match e {
        PublicEndpoint::Health => health::health(&req, env).await,
        PublicEndpoint::SignInCallback => callback::signin_callback(req, env).await,
        PublicEndpoint::SignInWindow => callback::signin_window(req, env).await,
    }
}

/// The path's parameter: the route table matched a template that has one, so it is there.
fn parameter(id: Option<&str>) -> Result<&str, AppError> {
    id.ok_or(AppError::NotFound)
}

async fn engine_route(e: EngineEndpoint, id: Option<&str>, mut req: Request, env: &Env, config: &Config) -> Answer {
    let engine = engine::authenticate(env, &req, config).await?;
    match e {
        EngineEndpoint::Organizations => engine::organizations(env, &engine).await,
        EngineEndpoint::Token => {
            let body = read_body(&endpoints::ENGINE_TOKEN, &mut req).await?;
            engine::token(env, &engine, parameter(id)?, body).await
        }
    }
}

async fn session_route(
    e: SessionEndpoint,
    id: Option<&str>,
    mut req: Request,
    env: &Env,
    config: &Config,
    session: Session,
) -> Answer {
    match e {
        SessionEndpoint::Session => respond(
            &endpoints::SESSION,
            &SessionInfo {
                account: session.account,
                admin: session.admin,
                expires_at: crate::time::rfc3339_ms(crate::time::Millis::from_seconds(session.expires_at)),
            },
        ),
        SessionEndpoint::OpenApi => {
            let mut resp = Response::ok(crate::openapi::DOCUMENT).map_err(internal("response"))?;
            resp.headers_mut().set("content-type", "application/json").map_err(internal("headers"))?;
            Ok(resp)
        }
        SessionEndpoint::StartSignIn => {
            let start = read_body(&endpoints::START_SIGN_IN, &mut req).await?;
            let redirect_uri = match start.method {
                SignInMethod::Credential => Some(callback_uri(&req, config)?),
                SignInMethod::DeviceCode => None,
            };
            start_sign_in(env, config, &session, start, redirect_uri).await
        }
        SessionEndpoint::ListSignIns => slots::list(env, &session).await,
        SessionEndpoint::SignIn => {
            signin_command(env, parameter(id)?, Command::Status { account: session.account }).await
        }
        SessionEndpoint::ConfirmSignIn => {
            // Device code: no body needed. Credential: the claim from the sign-in window.
            let body = if req.headers().get("content-type").ok().flatten().is_some() {
                read_body(&endpoints::CONFIRM_SIGN_IN, &mut req).await?
            } else {
                Default::default()
            };
            let cmd = Command::Confirm { account: session.account, claim: body.claim };
            signin_command(env, parameter(id)?, cmd).await
        }
        SessionEndpoint::RenewSignIn => {
            // Only a Credential sign-in uses it; the Durable Object refuses a renewal without it.
            let redirect_uri = callback_uri(&req, config).ok();
            signin_command(env, parameter(id)?, Command::Renew { account: session.account, redirect_uri }).await
        }
        SessionEndpoint::CancelSignIn => {
            signin_command(env, parameter(id)?, Command::Cancel { account: session.account }).await
        }
        SessionEndpoint::AdditionalApplications => {
            let cmd = Command::Additional { account: session.account, cloud: None, tenant: None };
            signin_command(env, parameter(id)?, cmd).await
        }
        SessionEndpoint::PartnerCustomers => partner::list_customers(env, &session, parameter(id)?).await,
        SessionEndpoint::StartPartnerBatch => {
            let body = read_body(&endpoints::START_PARTNER_BATCH, &mut req).await?;
            partner::start(env, &session, body).await
        }
        SessionEndpoint::ListPartnerBatches => partner::list(env, &session).await,
        SessionEndpoint::PartnerBatch => partner::get(env, &session, parameter(id)?).await,
        SessionEndpoint::RetryPartnerBatch => {
            let body = read_body(&endpoints::RETRY_PARTNER_BATCH, &mut req).await?;
            partner::retry(env, &session, parameter(id)?, body).await
        }
        SessionEndpoint::InspectCertificate => {
            let inspect = read_body(&endpoints::INSPECT_CERTIFICATE, &mut req).await?;
            respond(&endpoints::INSPECT_CERTIFICATE, &crate::certificates::inspect(&inspect, now().seconds())?)
        }
        SessionEndpoint::ListOrganizations => organizations::list(env, &session).await,
        SessionEndpoint::CreateOrganization => {
            let body = read_body(&endpoints::CREATE_ORGANIZATION, &mut req).await?;
            organizations::create(env, config, &session, body).await
        }
        SessionEndpoint::GetOrganization => organizations::get(env, &session, parameter(id)?).await,
        SessionEndpoint::UpdateOrganization => {
            let body = read_body(&endpoints::UPDATE_ORGANIZATION, &mut req).await?;
            organizations::update(env, config, &session, parameter(id)?, body).await
        }
        SessionEndpoint::DeleteOrganization => {
            let body = read_body(&endpoints::DELETE_ORGANIZATION, &mut req).await?;
            organizations::delete(env, &session, parameter(id)?, body).await
        }
        SessionEndpoint::CheckOrganization => organizations::check(env, config, &session, parameter(id)?).await,
        SessionEndpoint::RepairOrganization => {
            let body = read_body(&endpoints::REPAIR_ORGANIZATION, &mut req).await?;
            organizations::repair(env, config, &session, parameter(id)?, body).await
        }
        SessionEndpoint::OrganizationUsage => organizations::usage(env, &session, parameter(id)?).await,
        SessionEndpoint::TenantLookup => {
            let body = read_body(&endpoints::TENANT_LOOKUP, &mut req).await?;
            lookup::tenant_lookup(env, config, &session, body).await
        }
        SessionEndpoint::CloudPermissions => {
            // An unknown cloud names nothing.
            let cloud: shared::CloudEnvironment = parameter(id)?.parse().map_err(|_| AppError::NotFound)?;
            let list = shared::api::PermissionList {
                cloud,
                manifest_version: crate::provisioning::manifest::MANIFEST_VERSION,
                permissions: crate::provisioning::manifest::permission_list(cloud, shared::api::Workload::All),
            };
            respond(&endpoints::CLOUD_PERMISSIONS, &list)
        }
    }
}
