//! The ports of the organizations service in the Worker: the runtime (clock, `setTimeout`, the
//! console, the portal's event queue), WebCrypto's signers, the sign-ins' Durable Objects, and
//! [`with_service`], which puts them together with D1 for one account.

use super::*;

/// The clock, `setTimeout` and the console. The clock is the Worker's, moved `ahead_ms` forward
/// only under `DEV_CLOCK=emulator` (see [`clock_ahead`]).
pub(super) struct Runtime<'a> {
    ahead_ms: i64,
    env: &'a Env,
    /// A webhook is configured: events are queued.
    webhook: bool,
}

impl Notify for Runtime<'_> {
    async fn notify(&self, event: crate::webhooks::PortalEvent) {
        if !self.webhook {
            return;
        }
        // As its JSON text: the exact bytes to sign (a `serde_json::Value` would cross into
        // JavaScript as a Map and lose its fields).
        let Ok(text) = serde_json::to_string(&event) else { return };
        let sent = async { self.env.queue(EVENTS_QUEUE)?.send(&text).await };
        if let Err(e) = sent.await {
            worker::console_error!("portal event {} was not queued: {e}", event.id);
        }
    }
}

impl Clock for Runtime<'_> {
    fn now_ms(&self) -> Millis {
        now() + self.ahead_ms
    }
}

impl Sleeper for Runtime<'_> {
    async fn sleep(&self, ms: i64) {
        worker::Delay::from(std::time::Duration::from_millis(ms.max(0) as u64)).await
    }
}

impl Log for Runtime<'_> {
    fn warn(&self, message: &str) {
        worker::console_warn!("{message}");
    }
    fn error(&self, message: &str) {
        worker::console_error!("{message}");
    }
}

/// Client assertions signed with WebCrypto.
pub(super) struct WebCrypto;

impl Signers for WebCrypto {
    type Signer<'k> = WebCryptoSigner<'k>;
    fn signer<'k>(&'k self, pkcs8: &'k [u8]) -> WebCryptoSigner<'k> {
        WebCryptoSigner { pkcs8 }
    }

    async fn generate_key(&self) -> Result<(shared::secret::SecretBytes, Vec<u8>), String> {
        let (pkcs8, spki) = crate::adapter::webcrypto::generate_rsa_key().await?;
        Ok((shared::secret::SecretBytes::new(pkcs8), spki))
    }
}

/// The sign-ins' Durable Objects, on behalf of the session's account.
pub(super) struct DurableSignIns<'a> {
    env: &'a Env,
    session: &'a Session,
}

/// Reads a sign-in's answer: 200 with its body, or a refusal with its error body (if any).
async fn answer(mut resp: Response) -> Res<Answer<String>> {
    let status = resp.status_code();
    let text = resp.text().await.map_err(internal("sign-in answer"))?;
    if status == 200 {
        return Ok(Ok(text));
    }
    let error = serde_json::from_str::<shared::api::ErrorBody>(&text).ok().map(|b| b.error);
    Ok(Err(Refusal { status, error }))
}

fn parsed<T: serde::de::DeserializeOwned>(a: Answer<String>) -> Res<Answer<T>> {
    match a {
        Ok(text) => serde_json::from_str(&text).map(Ok).map_err(|_| AppError::Internal),
        Err(r) => Ok(Err(r)),
    }
}

impl DurableSignIns<'_> {
    fn account(&self) -> String {
        self.session.account.clone()
    }

    async fn send(&self, sign_in: &str, cmd: Command) -> Res<Answer<String>> {
        answer(signin_command(self.env, sign_in, cmd).await?).await
    }
}

impl SignIns for DurableSignIns<'_> {
    async fn status(&self, sign_in: &str) -> Res<Answer<SignInStatus>> {
        parsed(self.send(sign_in, Command::Status { account: self.account() }).await?)
    }

    async fn export(&self, sign_in: &str) -> Res<Answer<Exported>> {
        parsed(self.send(sign_in, Command::Export { account: self.account() }).await?)
    }

    async fn additional(&self, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<Answer<()>> {
        let cmd = Command::Additional { account: self.account(), cloud: Some(cloud), tenant: Some(tenant.to_owned()) };
        Ok(self.send(sign_in, cmd).await?.map(drop))
    }

    async fn remove(
        &self,
        sign_in: &str,
        organization: &str,
        cloud: CloudEnvironment,
        tenant: &str,
        app_ids: &[String],
    ) -> Res<Answer<crate::handover::Removed>> {
        let cmd = Command::Remove {
            account: self.account(),
            organization: organization.to_owned(),
            cloud,
            tenant: tenant.to_owned(),
            app_ids: app_ids.to_vec(),
        };
        parsed(self.send(sign_in, cmd).await?)
    }

    async fn use_certificate(&self, sign_in: &str, der: &[u8], not_before: i64, not_after: i64) -> Res<Answer<()>> {
        let certificate = CertificateToRegister { der_base64: STANDARD.encode(der), not_before, not_after };
        let cmd = Command::UseCertificate { account: self.account(), certificate };
        let resp = signin_command(self.env, sign_in, cmd).await?;
        // The body of a success is not read.
        if resp.status_code() == 200 {
            return Ok(Ok(()));
        }
        Ok(answer(resp).await?.map(drop))
    }

    async fn saved(&self, sign_in: &str) -> Res<Answer<()>> {
        Ok(self.send(sign_in, Command::Saved { account: self.account() }).await?.map(drop))
    }

    async fn release(&self, sign_in: &str) -> Res<Answer<()>> {
        Ok(self.send(sign_in, Command::Release { account: self.account() }).await?.map(drop))
    }
}

/// Runs `f` with the service for the session's account.
/// How far the organizations' clock is ahead of the Worker's: 0, except under `DEV_CLOCK=emulator`
/// (a configuration only accepted with a loopback emulator), where it follows the emulator's
/// clock, which the whole-system tests move forward to make credentials expire.
pub(super) async fn clock_ahead(config: Option<&Config>) -> i64 {
    let Some(config) = config else { return 0 };
    let (true, Some(base)) = (config.dev.clock_from_emulator, config.dev_microsoft_base.as_deref()) else {
        return 0;
    };
    let answer = async {
        let mut resp = worker::Fetch::Url(format!("{base}/_emulator/clock").parse()?).send().await?;
        resp.json::<serde_json::Value>().await
    };
    match answer.await {
        Ok(v) => v["ahead_seconds"].as_i64().unwrap_or(0) * 1000,
        Err(e) => {
            worker::console_error!("DEV_CLOCK: the emulator's clock is not readable: {e}");
            0
        }
    }
}

pub(super) async fn with_service<T, F>(env: &Env, session: &Session, f: F) -> Res<T>
where
    F: AsyncFnOnce(&Organizations<'_, D1Store<'_>, DurableSignIns<'_>, WorkerHttp, Runtime<'_>, WebCrypto>) -> Res<T>,
{
    let keys = || crate::adapter::keyring(env);
    let config = crate::adapter::read_config(env).ok();
    let service = Organizations {
        account: &session.account,
        store: &D1Store { env },
        sign_ins: &DurableSignIns { env, session },
        http: &WorkerHttp::new(config.as_ref()),
        runtime: &Runtime {
            ahead_ms: clock_ahead(config.as_ref()).await,
            env,
            webhook: config.as_ref().is_some_and(|c| c.webhook.is_some()),
        },
        signers: &WebCrypto,
        keyring: &keys,
    };
    f(&service).await
}
