//! The organizations API on D1: Step 3 (save after a credential check) and the manage page.
//! Every query is scoped to the session's portal account; another account's organization is
//! "not found". Secrets are sealed with the keyring before they reach D1 and never leave it again.

use super::webcrypto::WebCryptoSigner;
use super::{internal, now, signin_command};
use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::identity::{self, ClientCredential, TokenOutcome};
use crate::microsoft::{graph, HttpClient, MicrosoftError};
use crate::organizations::check::{after_failure, Next, Stage, CREATED_PATIENCE_MS, TYPED_PATIENCE_MS};
use crate::organizations::model::{self, ApplicationRow, OrganizationRow, ValidCredential};
use crate::organizations::seal::{binding, Keyring};
use crate::organizations::store::StoreError;
use crate::session::Session;
use crate::signin::command::Exported;
use crate::signin::command::{CertificateToRegister, Command};
use crate::signin::poller::Millis;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use shared::api::{
    CreateOrganization, DeleteOrganization, ErrorDetail, OrganizationList, ReenableChoice, SignInStatus,
    UpdateOrganization,
};
use shared::assertion::{AssertionAlg, ClientAssertion};
use shared::certificate::ParsedPfx;
use shared::secret::SecretString;
use shared::{CloudEndpoints, CloudEnvironment, ErrorCode, Field, FieldError, OrganizationName};
use wasm_bindgen::JsValue;
use worker::{D1Database, Env, Response};

type Res<T> = std::result::Result<T, AppError>;

/// Attempts to tell a sign-in that its applications were stored.
const HAND_OVER_ATTEMPTS: u32 = 3;

fn db(env: &Env) -> Res<D1Database> {
    env.d1("DB").map_err(internal("D1 binding"))
}

fn keyring(env: &Env) -> Res<Keyring> {
    let spec = env
        .secret("ENCRYPTION_KEYS")
        .map(|s| s.to_string())
        .or_else(|_| env.var("ENCRYPTION_KEYS").map(|v| v.to_string()));
    let spec = spec.map_err(|_| {
        worker::console_error!("ENCRYPTION_KEYS is not set");
        AppError::Internal
    })?;
    Keyring::parse(&spec).map_err(|e| {
        worker::console_error!("ENCRYPTION_KEYS: {e:?}");
        AppError::Internal
    })
}

fn now_rfc3339() -> String {
    crate::time::rfc3339_ms(now())
}

/// A credential to check.
enum Check<'a> {
    Secret(&'a SecretString),
    Certificate(&'a ParsedPfx),
}

impl<'a> Check<'a> {
    /// The check for a credential as entered; `None` for the generated one (held by a sign-in).
    fn of(cred: &'a ValidCredential) -> Option<Check<'a>> {
        match cred {
            ValidCredential::Secret(s) => Some(Check::Secret(s)),
            ValidCredential::Certificate { parsed, .. } => Some(Check::Certificate(parsed)),
            ValidCredential::Generated { .. } => None,
        }
    }

    /// The check for a stored credential.
    fn stored(cred: &'a ValidCredentialOwned) -> Check<'a> {
        match cred {
            ValidCredentialOwned::Secret(s) => Check::Secret(s),
            ValidCredentialOwned::Certificate(p) => Check::Certificate(p),
        }
    }
}

/// Token + `GET /organization` with retries through replication delay; `Err` carries the field.
async fn check(endpoints: &CloudEndpoints, tenant: &str, app_id: &str, cred: Check<'_>, patience: Millis) -> Res<()> {
    let started = now();
    loop {
        let (stage, failure) = match attempt(endpoints, tenant, app_id, &cred).await {
            Ok(()) => return Ok(()),
            Err(x) => x,
        };
        match after_failure(stage, &failure, now() - started, patience) {
            Next::Works => return Ok(()),
            Next::RetryIn(ms) => worker::Delay::from(std::time::Duration::from_millis(ms as u64)).await,
            Next::Refused(mut d) => {
                d.field = match d.code {
                    ErrorCode::InvalidClientSecret | ErrorCode::ExpiredClientSecret => Some(Field::ClientSecret),
                    ErrorCode::InvalidCertificate => Some(Field::Certificate),
                    ErrorCode::ApplicationNotFound => Some(Field::ApplicationId),
                    ErrorCode::TenantNotFound => Some(Field::TenantId),
                    ErrorCode::WrongCloud => Some(Field::Cloud),
                    _ => None,
                };
                return Err(d.into());
            }
        }
    }
}

async fn attempt(
    endpoints: &CloudEndpoints,
    tenant: &str,
    app_id: &str,
    cred: &Check<'_>,
) -> std::result::Result<(), (Stage, MicrosoftError)> {
    let http = super::http::WorkerHttp;
    let req = match cred {
        Check::Secret(s) => {
            identity::client_credentials_request(endpoints, tenant, app_id, ClientCredential::Secret(s))
        }
        Check::Certificate(p) => {
            let assertion = ClientAssertion::new(
                AssertionAlg::RS256,
                &p.certificate_der,
                app_id,
                &endpoints.assertion_audience(tenant),
                &crate::ids::new_id(),
                now() / 1000,
            );
            let jwt =
                assertion.sign_with(&WebCryptoSigner { pkcs8: p.private_key_pkcs8.expose() }).await.map_err(|e| {
                    worker::console_error!("signing a client assertion failed: {e}");
                    (
                        Stage::Token,
                        MicrosoftError {
                            code: ErrorCode::InvalidCertificate,
                            status: 0,
                            correlation: Default::default(),
                            retry_after: None,
                        },
                    )
                })?;
            identity::client_credentials_request(endpoints, tenant, app_id, ClientCredential::Assertion(&jwt))
        }
    };
    let token = match http.send(req).await.map(|r| identity::read_token(&r)) {
        Ok(TokenOutcome::Token(t)) => t.access_token,
        Ok(TokenOutcome::Error(f)) => return Err((Stage::Token, f.microsoft)),
        Err(_) => return Err((Stage::Token, MicrosoftError::transport())),
    };
    let req = graph::request(endpoints, &token, http::Method::GET, "/organization?$select=id", None);
    match http.send(req).await {
        Ok(resp) => graph::read_json(&resp).map(|_| ()).map_err(|e| (Stage::Graph, e)),
        Err(_) => Err((Stage::Graph, MicrosoftError::transport())),
    }
}

/// What gets sealed for an application, and its metadata.
struct Sealable {
    app_id: String,
    object_id: Option<String>,
    is_main: bool,
    credential_type: &'static str,
    expires_at: Option<String>,
    thumbprint: Option<String>,
    plaintext: Vec<u8>,
}

fn sealable_from(cred: &ValidCredential, app_id: &str) -> Option<Sealable> {
    match cred {
        ValidCredential::Secret(s) => Some(Sealable {
            app_id: app_id.to_owned(),
            object_id: None,
            is_main: true,
            credential_type: "secret",
            expires_at: None,
            thumbprint: None,
            plaintext: s.expose().as_bytes().to_vec(),
        }),
        ValidCredential::Certificate { pfx, password, parsed } => Some(Sealable {
            app_id: app_id.to_owned(),
            object_id: None,
            is_main: true,
            credential_type: "certificate",
            expires_at: Some(parsed.info.not_after.clone()),
            thumbprint: Some(parsed.info.thumbprint_sha1.clone()),
            plaintext: serde_json::to_vec(&serde_json::json!({
                "pfx_base64": STANDARD.encode(pfx.expose()),
                "password": password.expose(),
            }))
            .unwrap_or_default(),
        }),
        ValidCredential::Generated { .. } => None,
    }
}

fn insert_app(
    db: &D1Database,
    ring: &Keyring,
    account: &str,
    org_id: &str,
    s: &Sealable,
    active: bool,
) -> Res<worker::D1PreparedStatement> {
    let row_id = crate::ids::new_id();
    let (kid, blob) = ring.seal(&binding(account, org_id, &row_id, s.credential_type), &s.plaintext);
    let ts = now_rfc3339();
    db.prepare(
        "INSERT INTO applications (id, organization_id, app_id, object_id, is_main, active, credential_type, \
         credential_expires_at, certificate_thumbprint, key_id, secret_ciphertext, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)",
    )
    .bind(&[
        row_id.into(),
        org_id.into(),
        s.app_id.as_str().into(),
        s.object_id.as_deref().map(JsValue::from).unwrap_or(JsValue::NULL),
        (if s.is_main { 1.0 } else { 0.0 }).into(),
        (if active { 1.0 } else { 0.0 }).into(),
        s.credential_type.into(),
        s.expires_at.as_deref().map(JsValue::from).unwrap_or(JsValue::NULL),
        s.thumbprint.as_deref().map(JsValue::from).unwrap_or(JsValue::NULL),
        kid.into(),
        STANDARD.encode(blob).into(),
        ts.into(),
    ])
    .map_err(internal("binding"))
}

async fn load(db: &D1Database, account: &str, id: &str) -> Res<(OrganizationRow, Vec<ApplicationRow>)> {
    let org = db
        .prepare("SELECT * FROM organizations WHERE id = ?1 AND account_id = ?2")
        .bind(&[id.into(), account.into()])
        .map_err(internal("binding"))?
        .first::<OrganizationRow>(None)
        .await
        .map_err(internal("reading an organization"))?
        .ok_or(AppError::NoSuchObject)?;
    let apps = db
        .prepare(
            "SELECT id, organization_id, app_id, is_main, active, credential_type, credential_expires_at, \
             certificate_thumbprint FROM applications WHERE organization_id = ?1 ORDER BY is_main DESC, created_at",
        )
        .bind(&[id.into()])
        .map_err(internal("binding"))?
        .all()
        .await
        .map_err(internal("reading applications"))?
        .results::<ApplicationRow>()
        .map_err(internal("decoding applications"))?;
    Ok((org, apps))
}

fn json_status<T: serde::Serialize>(body: &T, status: u16) -> Res<Response> {
    Ok(Response::from_json(body).map_err(internal("serializing"))?.with_status(status))
}

/// `GET /api/organizations`.
pub async fn list(env: &Env, session: &Session) -> Res<Response> {
    let db = db(env)?;
    let orgs = db
        .prepare("SELECT * FROM organizations WHERE account_id = ?1 ORDER BY name COLLATE NOCASE, created_at")
        .bind(&[session.account.as_str().into()])
        .map_err(internal("binding"))?
        .all()
        .await
        .map_err(internal("listing"))?
        .results::<OrganizationRow>()
        .map_err(internal("decoding"))?;
    let apps = db
        .prepare(
            "SELECT a.id, a.organization_id, a.app_id, a.is_main, a.active, a.credential_type, a.credential_expires_at, \
             a.certificate_thumbprint FROM applications a JOIN organizations o ON o.id = a.organization_id \
             WHERE o.account_id = ?1",
        )
        .bind(&[session.account.as_str().into()])
        .map_err(internal("binding"))?
        .all()
        .await
        .map_err(internal("listing applications"))?
        .results::<ApplicationRow>()
        .map_err(internal("decoding"))?;
    let t = now() / 1000;
    let organizations = orgs
        .iter()
        .map(|o| {
            let mine: Vec<ApplicationRow> = apps.iter().filter(|a| a.organization_id == o.id).cloned().collect();
            model::to_api(o, &mine, t)
        })
        .collect();
    json_status(&OrganizationList { organizations }, 200)
}

/// `GET /api/organizations/{id}`.
pub async fn get(env: &Env, session: &Session, id: &str) -> Res<Response> {
    let (org, apps) = load(&db(env)?, &session.account, id).await?;
    json_status(&model::to_api(&org, &apps, now() / 1000), 200)
}

async fn signin_status(env: &Env, session: &Session, id: &str, op: &str) -> Res<(u16, String)> {
    let account = session.account.clone();
    let cmd = match op {
        "status" => Command::Status { account },
        "export" => Command::Export { account },
        "saved" => Command::Saved { account },
        _ => Command::Release { account },
    };
    let mut resp = signin_command(env, id, cmd).await?;
    let status = resp.status_code();
    let text = resp.text().await.map_err(internal("sign-in answer"))?;
    Ok((status, text))
}

/// Runs the 3 additional applications with `sign_in` (if not done yet) in the organization's
/// `cloud` and `tenant` (a sign-in elsewhere creates nothing), and waits for them.
async fn ensure_additional(
    env: &Env,
    session: &Session,
    sign_in: &str,
    cloud: CloudEnvironment,
    tenant: &str,
) -> Res<()> {
    let (status, text) = signin_status(env, session, sign_in, "status").await?;
    if status != 200 {
        return Err(error_from(status, &text));
    }
    let s: SignInStatus = serde_json::from_str(&text).map_err(|_| AppError::Internal)?;
    if s.result.as_ref().is_some_and(|r| r.applications >= 3) && s.state == shared::api::SignInState::Completed {
        return Ok(());
    }
    let cmd =
        Command::Additional { account: session.account.clone(), cloud: Some(cloud), tenant: Some(tenant.to_owned()) };
    let mut resp = signin_command(env, sign_in, cmd).await?;
    let status = resp.status_code();
    let text = resp.text().await.map_err(internal("sign-in answer"))?;
    if status != 200 {
        return Err(error_from(status, &text));
    }
    let deadline = now() + 180_000;
    loop {
        worker::Delay::from(std::time::Duration::from_millis(1000)).await;
        let (status, text) = signin_status(env, session, sign_in, "status").await?;
        if status != 200 {
            return Err(error_from(status, &text));
        }
        let s: SignInStatus = serde_json::from_str(&text).map_err(|_| AppError::Internal)?;
        match s.state {
            shared::api::SignInState::Completed => return Ok(()),
            shared::api::SignInState::Failed => {
                return Err(s.error.unwrap_or_else(|| ErrorDetail::new(ErrorCode::RegistrationFailed)).into())
            }
            _ if now() > deadline => return Err(ErrorCode::ReplicationDelay.into()),
            _ => {}
        }
    }
}

fn error_from(status: u16, text: &str) -> AppError {
    match serde_json::from_str::<shared::api::ErrorBody>(text) {
        Ok(b) => b.error.into(),
        Err(_) if status == 404 => AppError::NoSuchObject,
        Err(_) => AppError::Internal,
    }
}

/// The additional applications of `ex`, which must all be there (a sign-in that no longer holds
/// them cannot hand over fewer).
fn additional_of(ex: &Exported) -> Res<Vec<Sealable>> {
    let rows: Vec<Sealable> = generated_sealables(ex).into_iter().filter(|s| !s.is_main).collect();
    if rows.len() != usize::from(crate::signin::record::ADDITIONAL_APPLICATIONS) {
        return Err(FieldError::new(
            Field::ClientSecret,
            "The additional applications are no longer held by the sign-in. Sign in again to create them.",
        )
        .into());
    }
    Ok(rows)
}

/// The applications a sign-in registered, for the organization of `cloud` and `tenant`: the one
/// way applications are taken from a sign-in, so a sign-in in another tenant or cloud is refused.
async fn exported(env: &Env, session: &Session, sign_in: &str, cloud: CloudEnvironment, tenant: &str) -> Res<Exported> {
    let (status, text) = signin_status(env, session, sign_in, "export").await?;
    if status != 200 {
        if let Ok(body) = serde_json::from_str::<shared::api::ErrorBody>(&text) {
            if body.error.code == ErrorCode::SignInNotClaimed {
                return Err(body.error.into());
            }
        }
        return Err(FieldError::new(
            Field::ClientSecret,
            "The automatically registered applications are no longer held (the sign-in ended or was already saved). Start again from Step 1.",
        )
        .into());
    }
    let ex: Exported = serde_json::from_str(&text).map_err(|_| AppError::Internal)?;
    if ex.cloud != cloud || !ex.tenant_id.eq_ignore_ascii_case(tenant) {
        return Err(ErrorCode::SignInTenantMismatch.into());
    }
    Ok(ex)
}

fn generated_sealables(ex: &Exported) -> Vec<Sealable> {
    ex.apps
        .iter()
        .map(|a| Sealable {
            app_id: a.app_id.clone(),
            object_id: Some(a.object_id.clone()),
            is_main: a.index == 0,
            credential_type: "secret",
            expires_at: a.secret_expires_at.map(|s| crate::time::rfc3339_ms(s * 1000)),
            thumbprint: None,
            plaintext: a.secret.as_bytes().to_vec(),
        })
        .collect()
}

/// Whether a certificate in Step 3 replaces the secret of an automatic registration: the request
/// names the sign-in, and that sign-in created the main application. Returns its applications.
async fn switched_to_certificate(
    env: &Env,
    session: &Session,
    valid: &model::NewOrganization,
    sign_in: Option<&str>,
    app_id: &str,
) -> Res<Option<(String, Exported)>> {
    let (ValidCredential::Certificate { .. }, Some(sign_in)) = (&valid.credential, sign_in) else { return Ok(None) };
    if valid.multiple {
        ensure_additional(env, session, sign_in, valid.cloud, valid.tenant_id.as_str()).await?;
    }
    let ex = exported(env, session, sign_in, valid.cloud, valid.tenant_id.as_str()).await?;
    Ok(ex.apps.iter().any(|a| a.index == 0 && a.app_id == app_id).then(|| (sign_in.to_owned(), ex)))
}

/// `POST /api/organizations`.
pub async fn create(env: &Env, config: &Config, session: &Session, req: CreateOrganization) -> Res<Response> {
    let valid = model::validate_create(&req, now() / 1000)?;
    let ring = keyring(env)?;
    let endpoints = config.endpoints(valid.cloud);
    let tenant = valid.tenant_id.as_str();
    let app_id = valid.app_id.as_str();

    let mut rows: Vec<Sealable> = vec![];
    let mut sign_in_to_close: Option<String> = None;
    match &valid.credential {
        ValidCredential::Generated { sign_in_id } => {
            if valid.multiple {
                ensure_additional(env, session, sign_in_id, valid.cloud, tenant).await?;
            }
            let ex = exported(env, session, sign_in_id, valid.cloud, tenant).await?;
            if !ex.apps.iter().any(|a| a.index == 0 && a.app_id == app_id) {
                return Err(FieldError::new(
                    Field::ApplicationId,
                    "The tenant ID and application ID must be those of the automatic registration.",
                )
                .into());
            }
            // Verified by the registration already; checked once more right before it is stored.
            if let Some(main) = ex.apps.iter().find(|a| a.index == 0) {
                let secret = SecretString::new(main.secret.clone());
                check(&endpoints, tenant, app_id, Check::Secret(&secret), CREATED_PATIENCE_MS).await?;
            }
            if valid.multiple {
                additional_of(&ex)?;
            }
            rows = generated_sealables(&ex);
            sign_in_to_close = Some(sign_in_id.clone());
        }
        cred => {
            if let Some((sign_in, ex)) =
                switched_to_certificate(env, session, &valid, req.sign_in_id.as_deref(), app_id).await?
            {
                // Automatic registration, then Step 3 switched to a certificate: register it on the
                // created applications (removing the generated secrets) while the sign-in still holds
                // the admin's token, then check it like any certificate.
                let ValidCredential::Certificate { parsed, .. } = cred else {
                    unreachable!("checked by switched_to_certificate")
                };
                let (nbf, exp) = parsed.validity;
                let cmd = Command::UseCertificate {
                    account: session.account.clone(),
                    certificate: CertificateToRegister {
                        der_base64: STANDARD.encode(&parsed.certificate_der),
                        not_before: nbf,
                        not_after: exp,
                    },
                };
                let mut resp = signin_command(env, &sign_in, cmd).await?;
                if resp.status_code() != 200 {
                    let text = resp.text().await.map_err(internal("sign-in answer"))?;
                    return Err(error_from(resp.status_code(), &text));
                }
                check(&endpoints, tenant, app_id, Check::Certificate(parsed), CREATED_PATIENCE_MS).await?;
                for a in &ex.apps {
                    if let Some(mut row) = sealable_from(cred, &a.app_id) {
                        row.object_id = Some(a.object_id.clone());
                        row.is_main = a.index == 0;
                        rows.push(row);
                    }
                }
                sign_in_to_close = Some(sign_in);
            } else {
                let check_cred = Check::of(cred).ok_or(AppError::Internal)?;
                check(&endpoints, tenant, app_id, check_cred, TYPED_PATIENCE_MS).await?;
                rows.extend(sealable_from(cred, app_id));
                if valid.multiple {
                    if let Some(sign_in) = &req.sign_in_id {
                        ensure_additional(env, session, sign_in, valid.cloud, tenant).await?;
                        let ex = exported(env, session, sign_in, valid.cloud, tenant).await?;
                        rows.extend(additional_of(&ex)?);
                        sign_in_to_close = Some(sign_in.clone());
                    }
                }
            }
        }
    }

    let db = db(env)?;
    let org_id = crate::ids::new_id();
    let ts = now_rfc3339();
    let mut statements = vec![db
        .prepare(
            "INSERT INTO organizations (id, account_id, name, cloud, tenant_id, multiple_applications, created_at, updated_at, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)",
        )
        .bind(&[
            org_id.as_str().into(),
            session.account.as_str().into(),
            valid.name.as_str().into(),
            valid.cloud.as_str().into(),
            tenant.into(),
            (if valid.multiple { 1.0 } else { 0.0 }).into(),
            ts.into(),
        ])
        .map_err(internal("binding"))?];
    for row in &rows {
        statements.push(insert_app(&db, &ring, &session.account, &org_id, row, true)?);
    }
    if let Err(e) = db.batch(statements).await {
        let text = e.to_string();
        if crate::organizations::store::classify(&text) == StoreError::Unique {
            let existing = db
                .prepare("SELECT name FROM organizations WHERE account_id = ?1 AND tenant_id = ?2")
                .bind(&[session.account.as_str().into(), tenant.into()])
                .map_err(internal("binding"))?
                .first::<String>(Some("name"))
                .await
                .ok()
                .flatten()
                .unwrap_or_default();
            return Err(ErrorDetail {
                message: format!(
                    "This Microsoft 365 organization has already been added as \"{existing}\". Edit the existing entry instead."
                ),
                ..ErrorDetail::new(ErrorCode::OrganizationExists)
            }
            .into());
        }
        worker::console_error!("saving an organization failed: {text}");
        return Err(AppError::Internal);
    }
    if let Some(sign_in) = sign_in_to_close {
        // The applications belong to the organization now: the sign-in keeps them and forgets its secrets.
        hand_over(env, config, session, &sign_in).await;
    }
    let (org, apps) = load(&db, &session.account, &org_id).await?;
    json_status(&model::to_api(&org, &apps, now() / 1000), 201)
}

async fn open_secret(env: &Env, db: &D1Database, account: &str, app_row: &str) -> Res<(String, ValidCredentialOwned)> {
    #[derive(serde::Deserialize)]
    struct Sealed {
        organization_id: String,
        app_id: String,
        credential_type: String,
        key_id: String,
        secret_ciphertext: String,
    }
    let s = db
        .prepare("SELECT organization_id, app_id, credential_type, key_id, secret_ciphertext FROM applications WHERE id = ?1")
        .bind(&[app_row.into()])
        .map_err(internal("binding"))?
        .first::<Sealed>(None)
        .await
        .map_err(internal("reading a credential"))?
        .ok_or(AppError::NoSuchObject)?;
    let ring = keyring(env)?;
    let blob = STANDARD.decode(&s.secret_ciphertext).map_err(|_| AppError::Internal)?;
    let plain = ring
        .open(&s.key_id, &binding(account, &s.organization_id, app_row, &s.credential_type), &blob)
        .map_err(|e| {
            worker::console_error!("opening a sealed credential failed: {e:?}");
            AppError::Internal
        })?;
    let cred = if s.credential_type == "certificate" {
        let v: serde_json::Value = serde_json::from_slice(plain.expose()).map_err(|_| AppError::Internal)?;
        let pfx = STANDARD.decode(v["pfx_base64"].as_str().unwrap_or_default()).map_err(|_| AppError::Internal)?;
        let parsed = shared::certificate::parse_pfx(&pfx, v["password"].as_str().unwrap_or_default(), now() / 1000)
            .map_err(crate::certificates::pfx_error)?;
        ValidCredentialOwned::Certificate(Box::new(parsed))
    } else {
        ValidCredentialOwned::Secret(SecretString::new(String::from_utf8_lossy(plain.expose()).into_owned()))
    };
    Ok((s.app_id, cred))
}

enum ValidCredentialOwned {
    Secret(SecretString),
    Certificate(Box<ParsedPfx>),
}

/// `PATCH /api/organizations/{id}`.
pub async fn update(env: &Env, config: &Config, session: &Session, id: &str, req: UpdateOrganization) -> Res<Response> {
    let db = db(env)?;
    let (org, apps) = load(&db, &session.account, id).await?;
    if req.version != org.version {
        return Err(ErrorCode::EditConflict.into());
    }
    let name = match &req.name {
        Some(n) => OrganizationName::parse(n)?.as_str().to_owned(),
        None => org.name.clone(),
    };
    let cloud: shared::CloudEnvironment = org.cloud.parse().map_err(|_| AppError::Internal)?;
    let endpoints = config.endpoints(cloud);
    let ts = now_rfc3339();
    let mut statements = vec![];
    let main = apps.iter().find(|a| a.is_main == 1).ok_or(AppError::Internal)?;

    // Application ID or credential: checked against Microsoft again before saving.
    if req.application_id.is_some() || req.credential.is_some() {
        let app_id = match &req.application_id {
            Some(a) => shared::AppId::parse(a)?.as_str().to_owned(),
            None => main.app_id.clone(),
        };
        let sealable = match &req.credential {
            Some(c) => {
                let valid = model::validate_credential(c, now() / 1000)?;
                let check_cred = Check::of(&valid).ok_or_else(|| {
                    FieldError::new(Field::ClientSecret, "Enter the new application password or certificate.")
                })?;
                check(&endpoints, &org.tenant_id, &app_id, check_cred, TYPED_PATIENCE_MS).await?;
                sealable_from(&valid, &app_id)
            }
            None => {
                let (_, cred) = open_secret(env, &db, &session.account, &main.id).await?;
                check(&endpoints, &org.tenant_id, &app_id, Check::stored(&cred), TYPED_PATIENCE_MS).await?;
                None
            }
        };
        match sealable {
            Some(s) => {
                statements.push(
                    db.prepare("DELETE FROM applications WHERE id = ?1")
                        .bind(&[main.id.as_str().into()])
                        .map_err(internal("binding"))?,
                );
                statements.push(insert_app(&db, &keyring(env)?, &session.account, id, &s, true)?);
            }
            None => statements.push(
                db.prepare("UPDATE applications SET app_id = ?1, updated_at = ?2 WHERE id = ?3")
                    .bind(&[app_id.as_str().into(), ts.as_str().into(), main.id.as_str().into()])
                    .map_err(internal("binding"))?,
            ),
        }
    }

    let mut multiple = org.multiple_applications == 1;
    // The sign-in whose new applications this edit stores: told "saved" only once they are stored.
    let mut recreated_with: Option<String> = None;
    match (req.multiple_applications, req.reenable) {
        (Some(false), _) => {
            multiple = false;
            statements.push(
                db.prepare("UPDATE applications SET active = 0, updated_at = ?1 WHERE organization_id = ?2 AND is_main = 0")
                    .bind(&[ts.as_str().into(), id.into()])
                    .map_err(internal("binding"))?,
            );
        }
        (Some(true), _) if multiple => {}
        (Some(true), None) => {
            return Err(FieldError::new(
                Field::Body,
                "Choose how to turn multiple applications back on: \"Use existing applications\" or \"Recreate multiple applications\".",
            )
            .into())
        }
        (Some(true), Some(ReenableChoice::UseExisting)) => {
            let additional: Vec<&ApplicationRow> = apps.iter().filter(|a| a.is_main == 0).collect();
            if additional.is_empty() {
                return Err(FieldError::new(Field::Body, "There are no existing additional applications. Choose \"Recreate multiple applications\".").into());
            }
            let mut broken = vec![];
            for a in &additional {
                let (app_id, cred) = open_secret(env, &db, &session.account, &a.id).await?;
                if check(&endpoints, &org.tenant_id, &app_id, Check::stored(&cred), TYPED_PATIENCE_MS).await.is_err() {
                    broken.push(app_id);
                }
            }
            if !broken.is_empty() {
                return Err(ErrorDetail {
                    message: format!(
                        "These additional applications no longer work: {}. Choose \"Recreate multiple applications\" instead.",
                        broken.join(", ")
                    ),
                    ..ErrorDetail::new(ErrorCode::InvalidClientSecret)
                }
                .into());
            }
            multiple = true;
            statements.push(
                db.prepare("UPDATE applications SET active = 1, updated_at = ?1 WHERE organization_id = ?2 AND is_main = 0")
                    .bind(&[ts.as_str().into(), id.into()])
                    .map_err(internal("binding"))?,
            );
        }
        (Some(true), Some(ReenableChoice::Recreate)) => {
            let sign_in = req.sign_in_id.as_deref().ok_or_else(|| {
                FieldError::new(Field::Body, "Recreating the additional applications needs a sign-in as a Global Administrator: sign in with a device code first.")
            })?;
            ensure_additional(env, session, sign_in, cloud, &org.tenant_id).await?;
            let ex = exported(env, session, sign_in, cloud, &org.tenant_id).await?;
            statements.push(
                db.prepare("DELETE FROM applications WHERE organization_id = ?1 AND is_main = 0")
                    .bind(&[id.into()])
                    .map_err(internal("binding"))?,
            );
            let ring = keyring(env)?;
            for s in additional_of(&ex)? {
                statements.push(insert_app(&db, &ring, &session.account, id, &s, true)?);
            }
            multiple = true;
            recreated_with = Some(sign_in.to_owned());
        }
        (None, _) => {}
    }

    // The version guard runs first in the same batch (a D1 batch is one transaction): when another
    // edit has moved the version on, the guard fails and nothing of this edit is applied.
    statements.insert(
        0,
        db.prepare(
            "UPDATE organizations SET name = ?1, multiple_applications = ?2, updated_at = ?3, version = version + 1 \
             WHERE id = ?4 AND account_id = ?5 AND version = ?6",
        )
        .bind(&[
            name.as_str().into(),
            (if multiple { 1.0 } else { 0.0 }).into(),
            ts.as_str().into(),
            id.into(),
            session.account.as_str().into(),
            (req.version as f64).into(),
        ])
        .map_err(internal("binding"))?,
    );
    statements.insert(0, version_guard(&db, id, &session.account, req.version)?);
    if let Err(e) = db.batch(statements).await {
        let conflict = crate::organizations::store::classify(&e.to_string()) == StoreError::VersionMoved;
        if let Some(sign_in) = &recreated_with {
            // Nothing of this edit was stored: the new applications must not stay in the tenant.
            release(env, session, sign_in).await;
        }
        if conflict {
            return Err(ErrorCode::EditConflict.into());
        }
        worker::console_error!("updating an organization failed: {e}");
        return Err(AppError::Internal);
    }
    if let Some(sign_in) = recreated_with {
        hand_over(env, config, session, &sign_in).await;
    }
    let (org, apps) = load(&db, &session.account, id).await?;
    json_status(&model::to_api(&org, &apps, now() / 1000), 200)
}

/// A statement that fails (and so rolls the whole D1 batch back) unless organization `id` of
/// `account` is still at `version`.
fn version_guard(db: &D1Database, id: &str, account: &str, version: i64) -> Res<worker::D1PreparedStatement> {
    db.prepare(crate::organizations::store::VERSION_GUARD_SQL)
        .bind(&[id.into(), account.into(), (version as f64).into()])
        .map_err(internal("binding"))
}

/// Tells the sign-in that its applications are stored now (it keeps them and forgets its secrets).
/// Sent only after the database write succeeded, and retried; should every attempt fail, the
/// sign-in still asks D1 before it deletes anything at the end of its hold.
async fn hand_over(env: &Env, config: &Config, session: &Session, sign_in: &str) {
    for attempt in 1..=HAND_OVER_ATTEMPTS {
        let outcome = if config.dev.fail_saved_handover {
            Err(AppError::Internal)
        } else {
            signin_status(env, session, sign_in, "saved").await
        };
        match outcome {
            Ok((200, _)) => return,
            Ok((status, _)) => worker::console_warn!("signin {sign_in}: saved hand-over answered {status}"),
            Err(_) => worker::console_warn!("signin {sign_in}: saved hand-over failed (attempt {attempt})"),
        }
        worker::Delay::from(std::time::Duration::from_millis(250 * attempt as u64)).await;
    }
    worker::console_error!("signin {sign_in}: saved hand-over failed; the sign-in will find the organization in D1");
}

/// Tells the sign-in that the save failed for good: it deletes the applications it created now
/// instead of at the end of its hold (they are not stored anywhere).
async fn release(env: &Env, session: &Session, sign_in: &str) {
    if let Err(e) = signin_status(env, session, sign_in, "release").await {
        worker::console_warn!("signin {sign_in}: release failed: {e:?}");
    }
}

/// `DELETE /api/organizations/{id}` with `{"confirm": true}`.
pub async fn delete(env: &Env, session: &Session, id: &str, req: DeleteOrganization) -> Res<Response> {
    if !req.confirm {
        return Err(
            ErrorDetail { field: Some(Field::Confirm), ..ErrorDetail::new(ErrorCode::ConfirmationRequired) }.into()
        );
    }
    let db = db(env)?;
    load(&db, &session.account, id).await?;
    db.batch(vec![
        db.prepare("DELETE FROM applications WHERE organization_id = ?1")
            .bind(&[id.into()])
            .map_err(internal("binding"))?,
        db.prepare("DELETE FROM organizations WHERE id = ?1 AND account_id = ?2")
            .bind(&[id.into(), session.account.as_str().into()])
            .map_err(internal("binding"))?,
    ])
    .await
    .map_err(internal("deleting an organization"))?;
    Ok(Response::empty().map_err(internal("response"))?.with_status(204))
}
