//! The sign-in Durable Object: the platform under [`SignInService`] (its storage and alarm, the
//! clock, the CSPRNG, D1 for the account's sign-in slots and the saved applications). Its `fetch`
//! is an internal API for the Worker only (the Worker has already checked the session; every
//! command names the account, and a mismatch answers 404).

use super::http::WorkerHttp;
use super::now;
use crate::error::AppError;
use crate::signin::at_rest::{self, AtRest};
use crate::signin::command::{Command, Reply};
use crate::signin::record::SignInRecord;
use crate::signin::service::{HostError, SignInHost, SignInService, Turn};
use crate::time::Millis;
use serde::Deserialize;
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

const RECORD: &str = "record";

fn host_error(e: worker::Error) -> HostError {
    HostError(e.to_string())
}

fn error_response(e: AppError) -> Result<Response> {
    Ok(Response::from_json(&e.body())?.with_status(e.status()))
}

#[durable_object]
pub struct SignIn {
    state: State,
    env: Env,
    turn: Turn,
    keyring: std::cell::OnceCell<crate::seal::Keyring>,
}

impl SignIn {
    /// The keyring, read from `ENCRYPTION_KEYS` once per instance (every load and put of the record
    /// uses it; a new key reaches a new instance, after a deploy).
    fn keyring(&self) -> std::result::Result<&crate::seal::Keyring, HostError> {
        if let Some(k) = self.keyring.get() {
            return Ok(k);
        }
        let k = super::keyring(&self.env).map_err(|_| HostError("ENCRYPTION_KEYS is missing or malformed".into()))?;
        Ok(self.keyring.get_or_init(|| k))
    }
}

impl SignInHost for SignIn {
    fn turn(&self) -> &Turn {
        &self.turn
    }

    fn now(&self) -> Millis {
        now()
    }

    fn fill_random(&self, buf: &mut [u8]) {
        getrandom::fill(buf).expect("the platform's random number generator is available");
    }

    async fn sleep(&self, ms: u64) {
        worker::Delay::from(std::time::Duration::from_millis(ms)).await
    }

    async fn load(&self) -> std::result::Result<Option<SignInRecord>, HostError> {
        // Sealed (a record stored before sealing, or before the stages, is read once as it is).
        let Some(stored) = self.state.storage().get::<AtRest>(RECORD).await.map_err(host_error)? else {
            return Ok(None);
        };
        at_rest::open(self.keyring()?, &self.state.id().to_string(), stored)
            .map(Some)
            .map_err(|e| HostError(format!("the sign-in record does not open: {e:?}")))
    }

    async fn put(&self, rec: &SignInRecord) -> std::result::Result<(), HostError> {
        let sealed = at_rest::seal(self.keyring()?, &self.state.id().to_string(), rec);
        self.state.storage().put(RECORD, sealed).await.map_err(host_error)
    }

    async fn set_alarm(&self, at: Option<Millis>) -> std::result::Result<(), HostError> {
        super::set_alarm_at(&self.state.storage(), at).await.map_err(host_error)
    }

    async fn delete_all(&self) -> std::result::Result<(), HostError> {
        super::delete_everything(&self.state.storage()).await.map_err(host_error)
    }

    async fn claim_slot(&self, id: &str, account: &str) -> std::result::Result<bool, AppError> {
        super::slots::claim(&self.env, id, account, None).await
    }

    async fn release_slot(&self, id: &str) {
        super::slots::release(&self.env, id).await
    }

    async fn held_by_organizations(&self, app_ids: &[String]) -> std::result::Result<Vec<String>, HostError> {
        #[derive(Deserialize)]
        struct Row {
            app_id: String,
        }
        let ids: Vec<wasm_bindgen::JsValue> = app_ids.iter().map(|s| s.as_str().into()).collect();
        let marks = (1..=ids.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let rows = async {
            self.env
                .d1("DB")?
                .prepare(format!("SELECT DISTINCT app_id FROM applications WHERE app_id IN ({marks})"))
                .bind(&ids)?
                .all()
                .await?
                .results::<Row>()
        }
        .await
        .map_err(host_error)?;
        Ok(rows.into_iter().map(|r| r.app_id).collect())
    }

    fn warn(&self, message: &str) {
        worker::console_warn!("{message}");
    }
}

impl crate::keys::Signers for SignIn {
    type Signer<'k> = super::webcrypto::WebCryptoSigner<'k>;
    fn signer<'k>(&'k self, pkcs8: &'k [u8]) -> Self::Signer<'k> {
        super::webcrypto::WebCryptoSigner { pkcs8 }
    }

    async fn generate_key(&self) -> std::result::Result<(shared::secret::SecretBytes, Vec<u8>), String> {
        let (pkcs8, spki) = super::webcrypto::generate_rsa_key().await?;
        Ok((shared::secret::SecretBytes::new(pkcs8), spki))
    }
}

impl DurableObject for SignIn {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, turn: Turn::default(), keyring: std::cell::OnceCell::new() }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let Ok(cmd) = req.json::<Command>().await else { return error_response(AppError::Internal) };
        let config = match super::read_config(&self.env) {
            Ok(c) => c,
            Err(e) => return error_response(e),
        };
        let name = cmd.name();
        match SignInService::new(self, &WorkerHttp::new(Some(&config)), &config).handle(cmd).await {
            Ok(Reply::Status(status)) => Response::from_json(&status),
            Ok(Reply::Exported(exported)) => Response::from_json(&exported),
            Ok(Reply::Removed(removed)) => Response::from_json(&removed),
            Ok(Reply::Callback(outcome)) => Response::from_json(&outcome),
            Ok(Reply::Relationships(relationships)) => Response::from_json(&relationships),
            Ok(Reply::PartnerGrant(grant)) => Response::from_json(&grant),
            Err(e) => {
                if e == AppError::Internal {
                    worker::console_error!("signin: {name} failed");
                }
                error_response(e)
            }
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let Ok(config) = super::read_config(&self.env) else { return Response::ok("misconfigured") };
        match SignInService::new(self, &WorkerHttp::new(Some(&config)), &config).alarm().await {
            Ok(()) => Response::ok("ok"),
            Err(e) => Err(worker::Error::RustError(e.0)),
        }
    }
}
