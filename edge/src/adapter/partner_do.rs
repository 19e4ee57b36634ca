//! The partner batch Durable Object: the platform under [`BatchService`] (its sealed storage and
//! alarm, the customers' sign-in Durable Objects, the organizations' save, D1's list of batches and
//! the portal's events). Its `fetch` is an internal API for the Worker only.

use super::http::WorkerHttp;
use super::{durable_object_call, now, signin_command};
use crate::error::AppError;
use crate::partner::at_rest::{self, SealedBatch};
use crate::partner::batch::Batch;
use crate::partner::command::BatchCommand;
use crate::partner::service::{BatchHost, BatchService, HostError, Refused, Stored};
use crate::session::Session;
use crate::signin::command::Command;
use crate::time::Millis;
use shared::api::{CreateOrganization, ErrorBody, ErrorDetail, SignInStatus};
use shared::secret::SecretString;
use shared::ErrorCode;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const BATCH: &str = "batch";

fn host_error(e: worker::Error) -> HostError {
    HostError(e.to_string())
}

fn error_response(e: AppError) -> Result<Response> {
    Ok(Response::from_json(&e.body())?.with_status(e.status()))
}

/// Reads a Durable Object's or the service's answer: its body, or its error.
async fn read<T: serde::de::DeserializeOwned>(
    answer: std::result::Result<Response, AppError>,
) -> std::result::Result<T, ErrorDetail> {
    let mut resp = answer.map_err(|e| e.body().error)?;
    let status = resp.status_code();
    let text = resp.text().await.map_err(|_| ErrorDetail::new(ErrorCode::MicrosoftUnavailable))?;
    if status == 200 {
        return serde_json::from_str(&text).map_err(|_| ErrorDetail::new(ErrorCode::RegistrationFailed));
    }
    Err(serde_json::from_str::<ErrorBody>(&text)
        .map(|b| b.error)
        .unwrap_or_else(|_| ErrorDetail::new(ErrorCode::RegistrationFailed)))
}

#[durable_object]
pub struct PartnerBatch {
    state: State,
    env: Env,
}

impl PartnerBatch {
    fn keyring(&self) -> std::result::Result<crate::seal::Keyring, HostError> {
        super::keyring(&self.env).map_err(|_| HostError("ENCRYPTION_KEYS is missing or malformed".into()))
    }

    fn session(account: &str) -> Session {
        Session { account: account.to_owned(), admin: "partner-batch".to_owned(), expires_at: 0 }
    }
}

impl BatchHost for PartnerBatch {
    fn now(&self) -> Millis {
        now()
    }

    fn new_id(&self) -> String {
        crate::ids::new_id()
    }

    async fn load(&self) -> std::result::Result<Option<Stored>, HostError> {
        let Some(sealed) = self.state.storage().get::<SealedBatch>(BATCH).await.map_err(host_error)? else {
            return Ok(None);
        };
        at_rest::open(&self.keyring()?, &self.state.id().to_string(), &sealed)
            .map(Some)
            .map_err(|e| HostError(format!("the batch does not open: {e}")))
    }

    async fn store(&self, stored: &Stored) -> std::result::Result<(), HostError> {
        let sealed = at_rest::seal(&self.keyring()?, &self.state.id().to_string(), stored);
        self.state.storage().put(BATCH, sealed).await.map_err(host_error)
    }

    async fn set_alarm(&self, at: Option<Millis>) -> std::result::Result<(), HostError> {
        super::set_alarm_at(&self.state.storage(), at).await.map_err(host_error)
    }

    async fn alarm_set(&self) -> std::result::Result<bool, HostError> {
        Ok(self.state.storage().get_alarm().await.map_err(host_error)?.is_some())
    }

    async fn delete_all(&self) -> std::result::Result<(), HostError> {
        super::delete_everything(&self.state.storage()).await.map_err(host_error)
    }

    async fn start_sign_in(
        &self,
        account: &str,
        sign_in: &str,
        token: &SecretString,
        expires_in: u64,
    ) -> std::result::Result<SignInStatus, ErrorDetail> {
        let cmd = Command::StartDelegated {
            account: account.to_owned(),
            name: sign_in.to_owned(),
            cloud: shared::CloudEnvironment::Global,
            token: token.clone(),
            expires_in,
        };
        read(signin_command(&self.env, sign_in, cmd).await).await
    }

    async fn sign_in_status(&self, account: &str, sign_in: &str) -> std::result::Result<SignInStatus, ErrorDetail> {
        read(signin_command(&self.env, sign_in, Command::Status { account: account.to_owned() }).await).await
    }

    async fn additional(&self, account: &str, sign_in: &str, tenant: &str) -> std::result::Result<(), ErrorDetail> {
        let cmd = Command::Additional {
            account: account.to_owned(),
            cloud: Some(shared::CloudEnvironment::Global),
            tenant: Some(tenant.to_owned()),
        };
        read::<SignInStatus>(signin_command(&self.env, sign_in, cmd).await).await.map(drop)
    }

    async fn save(&self, account: &str, req: CreateOrganization) -> std::result::Result<String, ErrorDetail> {
        let config = super::read_config(&self.env).map_err(|e| e.body().error)?;
        super::organizations::create_for(&self.env, &config, &Self::session(account), req)
            .await
            .map(|o| o.id)
            .map_err(|e| e.body().error)
    }

    async fn saved_organization(&self, account: &str, tenant: &str) -> std::result::Result<Option<String>, ()> {
        let list = super::organizations::list_for(&self.env, &Self::session(account)).await.map_err(drop)?;
        Ok(list.organizations.into_iter().find(|o| o.tenant_id.eq_ignore_ascii_case(tenant)).map(|o| o.id))
    }

    async fn cancel_sign_in(&self, account: &str, sign_in: &str) {
        let _ = signin_command(&self.env, sign_in, Command::Cancel { account: account.to_owned() }).await;
    }

    async fn finished(&self, batch: &Batch) {
        super::partner::record_finished(&self.env, batch).await;
    }

    fn warn(&self, message: &str) {
        worker::console_warn!("{message}");
    }
}

impl DurableObject for PartnerBatch {
    fn new(state: State, env: Env) -> Self {
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(cmd) = req.json::<BatchCommand>().await else { return error_response(AppError::Internal) };
        let config = match super::read_config(&self.env) {
            Ok(c) => c,
            Err(e) => return error_response(e),
        };
        let http = WorkerHttp::new(Some(&config));
        let service = BatchService::new(self, &http, &config);
        let outcome = match cmd {
            BatchCommand::Start { batch, refresh_token } => service.start(batch, refresh_token).await,
            BatchCommand::Status { account } => service.status(&account).await,
            BatchCommand::Retry { account, refresh_token, offered } => {
                service.retry(&account, refresh_token, &offered).await
            }
        };
        match outcome {
            Ok(batch) => Response::from_json(&batch),
            Err(Refused::NotFound) => error_response(AppError::NoSuchObject),
            Err(Refused::StillRunning) => error_response(ErrorCode::PartnerBatchRunning.into()),
            Err(Refused::NothingToRetry) => error_response(ErrorCode::PartnerNothingToRetry.into()),
            Err(Refused::Host(e)) => {
                worker::console_error!("partner batch: {}", e.0);
                error_response(AppError::Internal)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        // Misconfigured: an error, so that the runtime tries the alarm again.
        let config = super::read_config(&self.env).map_err(|_| worker::Error::RustError("configuration".into()))?;
        let http = WorkerHttp::new(Some(&config));
        match BatchService::new(self, &http, &config).alarm().await {
            Ok(()) => Response::ok("ok"),
            Err(e) => Err(worker::Error::RustError(e.0)),
        }
    }
}

/// Sends `cmd` to batch `id`'s Durable Object.
pub(super) async fn batch_command(env: &Env, id: &str, cmd: &BatchCommand) -> std::result::Result<Response, AppError> {
    durable_object_call(env, "PARTNER_BATCH", id, cmd).await
}
