//! The sign-in Durable Object's behaviour with a fake platform and a fake Microsoft: every command
//! and the alarm, in milliseconds.

use super::*;
use crate::provisioning::manifest::RESOURCES;
use crate::provisioning::ItemId;
use crate::signin::command::Purpose;
use serde_json::{json, Value};
use shared::CloudEnvironment;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

const ACCOUNT: &str = "acct-1";
const EMULATOR: &str = "http://127.0.0.1:1";

fn config() -> Config {
    let vars: HashMap<&str, &str> = [
        ("DEV_MICROSOFT_BASE_URL", EMULATOR),
        ("PUBLIC_CLIENT_ID_GLOBAL", "public-client"),
        ("PUBLIC_CLIENT_ID_USGOV_GCC_HIGH", "public-client-us"),
    ]
    .into();
    Config::read(|k| vars.get(k).map(|v| v.to_string())).unwrap()
}

/// The platform: storage, alarm, clock, slots and the database's saved applications.
#[derive(Default)]
struct FakeHost {
    now: Cell<Millis>,
    record: RefCell<Option<SignInRecord>>,
    puts: Cell<u32>,
    alarm: Cell<Option<Millis>>,
    released: RefCell<Vec<String>>,
    slot_refused: Cell<bool>,
    held: RefCell<Vec<String>>,
    database_down: Cell<bool>,
    slept: Cell<u64>,
    warnings: RefCell<Vec<String>>,
    turn: Turn,
}

impl SignInHost for FakeHost {
    fn turn(&self) -> &Turn {
        &self.turn
    }
    fn now(&self) -> Millis {
        self.now.get()
    }
    fn fill_random(&self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(self.puts.get() as u8);
        }
    }
    async fn sleep(&self, ms: u64) {
        self.slept.set(self.slept.get() + ms);
        self.now.set(self.now.get() + ms as i64);
    }
    async fn load(&self) -> Result<Option<SignInRecord>, HostError> {
        Ok(self.record.borrow().clone())
    }
    async fn put(&self, rec: &SignInRecord) -> Result<(), HostError> {
        // Stored as the Durable Object stores it: serialized.
        let text = serde_json::to_string(rec).unwrap();
        *self.record.borrow_mut() = Some(serde_json::from_str(&text).unwrap());
        self.puts.set(self.puts.get() + 1);
        Ok(())
    }
    async fn set_alarm(&self, at: Option<Millis>) -> Result<(), HostError> {
        self.alarm.set(at);
        Ok(())
    }
    async fn delete_all(&self) -> Result<(), HostError> {
        *self.record.borrow_mut() = None;
        self.alarm.set(None);
        Ok(())
    }
    async fn claim_slot(&self, _id: &str, _account: &str) -> Result<bool, AppError> {
        Ok(!self.slot_refused.get())
    }
    async fn release_slot(&self, id: &str) {
        self.released.borrow_mut().push(id.to_owned());
    }
    async fn held_by_organizations(&self, app_ids: &[String]) -> Result<Vec<String>, HostError> {
        if self.database_down.get() {
            return Err(HostError("D1 unavailable".into()));
        }
        Ok(app_ids.iter().filter(|a| self.held.borrow().contains(a)).cloned().collect())
    }
    fn warn(&self, message: &str) {
        self.warnings.borrow_mut().push(message.to_owned());
    }
}

impl crate::keys::Signers for FakeHost {
    type Signer<'k> = crate::keys::fake::FakeSigner;
    fn signer<'k>(&'k self, _pkcs8: &'k [u8]) -> Self::Signer<'k> {
        crate::keys::fake::FakeSigner { fails: false }
    }

    async fn generate_key(&self) -> Result<(shared::secret::SecretBytes, Vec<u8>), String> {
        Ok(crate::keys::fake::key_pair(b"test pkcs8"))
    }
}

/// Microsoft: the device-code and token endpoints, Graph's `$batch` for one tenant, and the
/// credential check.
#[derive(Default)]
struct FakeMicrosoft {
    pending_polls: Cell<u32>,
    redeem_unavailable: Cell<u32>,
    created: Cell<u32>,
    deleted: RefCell<Vec<String>>,
    batch_ids: RefCell<Vec<ItemId>>,
    requests: RefCell<Vec<String>>,
    /// The `client_assertion` of each client-credentials token request.
    assertions: RefCell<Vec<String>>,
    /// The next device-code poll is answered only after this many turns of the executor (a slow
    /// Microsoft: other events reach the Durable Object meanwhile).
    slow_poll_turns: Cell<u32>,
    /// The signed-in account may not delete applications (Graph answers a removal 403).
    removal_denied: Cell<bool>,
}

/// Pending for `n` polls (waking itself each time), then ready: another future gets in meanwhile.
pub(crate) struct Turns(pub(crate) u32);

impl Future for Turns {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 == 0 {
            return std::task::Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

fn answer(status: u16, body: Value) -> crate::microsoft::HttpResponse {
    http::Response::builder().status(status).body(serde_json::to_vec(&body).unwrap()).unwrap()
}

impl FakeMicrosoft {
    fn item(&self, item: &Value) -> Value {
        let id: ItemId = item["id"].as_str().unwrap().parse().expect("an ID the product wrote");
        self.batch_ids.borrow_mut().push(id);
        let url = item["url"].as_str().unwrap();
        let (status, body) = match id {
            ItemId::Policy => (200, json!({"isEnabled": false})),
            ItemId::Organization => (
                200,
                json!({"value": [{"id": "tid-1", "displayName": "Contoso",
                    "verifiedDomains": [{"name": "contoso.com", "isDefault": true}]}]}),
            ),
            ItemId::Resource(i) => {
                let r = &RESOURCES[i];
                let roles: Vec<Value> = r
                    .permissions
                    .iter()
                    .map(|p| json!({"id": format!("role-{}", p.value), "value": p.value}))
                    .collect();
                (200, json!({"value": [{"id": format!("sp-{}", r.app_id), "appId": r.app_id, "appRoles": roles}]}))
            }
            ItemId::Create(_) => {
                let n = self.created.get();
                self.created.set(n + 1);
                let rra = item["body"]["requiredResourceAccess"].clone();
                (201, json!({"id": format!("obj{n}"), "appId": format!("app{n}"), "requiredResourceAccess": rra}))
            }
            ItemId::Find(_) => (200, json!({"value": []})),
            // A repair finds the organization's applications where they were, enabled.
            // ... except application 2, which an administrator deleted.
            ItemId::Lookup(2) => (200, json!({"value": []})),
            ItemId::Lookup(i) => {
                (200, json!({"value": [{"id": format!("kept-obj{i}"), "appId": format!("kept-app{i}")}]}))
            }
            ItemId::LookupServicePrincipal(i) => {
                (200, json!({"value": [{"id": format!("kept-sp{i}"), "accountEnabled": true}]}))
            }
            ItemId::Enable(_) => (204, Value::Null),
            ItemId::ServicePrincipal(i) => (201, json!({"id": format!("spn{i}")})),
            ItemId::Password(_) => panic!("the registration adds no client secret"),
            ItemId::Grant(..) => (201, json!({"appRoleId": item["body"]["appRoleId"]})),
            ItemId::Delete(_) => {
                self.deleted.borrow_mut().push(url.trim_start_matches("/applications/").to_owned());
                (204, Value::Null)
            }
            ItemId::Remove(_) | ItemId::RemoveServicePrincipal(_) if item["method"] != "DELETE" => {
                panic!("a removal that does not delete: {item}")
            }
            // Already gone in the tenant: Graph answers 404 (and its service principal went with it).
            ItemId::Remove(_) | ItemId::RemoveServicePrincipal(_) if self.removal_denied.get() => (
                403,
                json!({"error": {"code": "Authorization_RequestDenied",
                                 "message": "Insufficient privileges to complete the operation."}}),
            ),
            ItemId::RemoveServicePrincipal(_) => (404, json!({"error": {"code": "Request_ResourceNotFound"}})),
            ItemId::Remove(_) if self.deleted.borrow().iter().any(|d| d == url) => {
                (404, json!({"error": {"code": "Request_ResourceNotFound"}}))
            }
            ItemId::Remove(_) => {
                self.deleted.borrow_mut().push(url.to_owned());
                (204, Value::Null)
            }
            ItemId::Declare(_) | ItemId::KeyCredential(_) | ItemId::RemovePassword(_) => (204, Value::Null),
        };
        json!({"id": item["id"], "status": status, "body": body})
    }
}

impl HttpClient for FakeMicrosoft {
    async fn send(
        &self,
        request: crate::microsoft::HttpRequest,
    ) -> Result<crate::microsoft::HttpResponse, crate::microsoft::TransportError> {
        let path = request.uri().path().to_owned();
        let body = String::from_utf8(request.body().clone()).unwrap();
        self.requests.borrow_mut().push(format!("{} {path}", request.method()));
        let token = || answer(200, json!({"access_token": "admin-token", "expires_in": 3600, "token_type": "Bearer"}));
        Ok(if path.ends_with("/devicecode") {
            answer(
                200,
                json!({"device_code": "dc-secret", "user_code": "ABCD1234", "verification_uri":
                    "https://microsoft.com/devicelogin", "expires_in": 900, "interval": 5}),
            )
        } else if path.ends_with("/token") && body.contains("device_code") {
            Turns(self.slow_poll_turns.replace(0)).await;
            if self.pending_polls.get() > 0 {
                self.pending_polls.set(self.pending_polls.get() - 1);
                answer(400, json!({"error": "authorization_pending", "error_codes": [70016]}))
            } else {
                token()
            }
        } else if path.ends_with("/token") && body.contains("authorization_code") {
            if self.redeem_unavailable.get() > 0 {
                self.redeem_unavailable.set(self.redeem_unavailable.get() - 1);
                answer(503, json!({"error": "temporarily_unavailable"}))
            } else {
                token()
            }
        } else if path.ends_with("/token") {
            let form: std::collections::HashMap<String, String> =
                form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            self.assertions.borrow_mut().extend(form.get("client_assertion").cloned());
            token()
        } else if path.ends_with("/$batch") {
            let requests: Value = serde_json::from_str(&body).unwrap();
            let responses: Vec<Value> = requests["requests"].as_array().unwrap().iter().map(|i| self.item(i)).collect();
            answer(200, json!({ "responses": responses }))
        } else if path.ends_with("/organization") {
            answer(200, json!({"value": [{"id": "tid-1"}]}))
        } else {
            panic!("unexpected request {path}")
        })
    }
}

struct World {
    host: FakeHost,
    ms: FakeMicrosoft,
    config: Config,
}

impl World {
    fn new() -> Self {
        let host = FakeHost::default();
        host.now.set(Millis(1_000_000));
        Self { host, ms: FakeMicrosoft::default(), config: config() }
    }

    fn service(&self) -> SignInService<'_, FakeHost, FakeMicrosoft> {
        SignInService::new(&self.host, &self.ms, &self.config)
    }

    fn send(&self, cmd: Command) -> Result<Reply, AppError> {
        futures_executor::block_on(self.service().handle(cmd))
    }

    fn status(&self) -> shared::api::SignInStatus {
        match self.send(Command::Status { account: ACCOUNT.into() }) {
            Ok(Reply::Status(s)) => *s,
            other => panic!("not a status: {other:?}"),
        }
    }

    fn start(&self, method: AddMethod) -> shared::api::SignInStatus {
        self.start_for(method, Purpose::Register)
    }

    /// A sign-in started for deleting organization [`ORG`]'s applications.
    fn start_removal(&self, method: AddMethod) -> shared::api::SignInStatus {
        self.start_for(method, Purpose::Remove(ORG.into()))
    }

    fn start_for(&self, method: AddMethod, purpose: Purpose) -> shared::api::SignInStatus {
        let cmd = Command::Start {
            account: ACCOUNT.into(),
            name: "si-1".into(),
            cloud: CloudEnvironment::Global,
            method,
            redirect_uri: Some("https://backup.example.com/api/signin/callback".into()),
            purpose,
        };
        match self.send(cmd) {
            Ok(Reply::Status(s)) => *s,
            other => panic!("not started: {other:?}"),
        }
    }

    /// Lets time pass to the next alarm and runs it.
    fn alarm(&self) {
        if let Some(at) = self.host.alarm.get() {
            self.host.now.set(self.host.now.get().max(at));
        }
        futures_executor::block_on(self.service().alarm()).unwrap();
    }

    fn alarms_until(&self, state: SignInState) {
        for _ in 0..50 {
            if self.record().state() == state {
                return;
            }
            self.alarm();
        }
        panic!("never reached {state:?}: {:?}", self.record().state());
    }

    fn record(&self) -> SignInRecord {
        self.host.record.borrow().clone().expect("a record")
    }

    fn code(&self, cmd: Command) -> ErrorCode {
        match self.send(cmd) {
            Err(e) => e.code(),
            Ok(r) => panic!("accepted: {r:?}"),
        }
    }

    /// A device-code sign-in started to repair an organization of tenant `tenant` whose main
    /// application works, whose application 1 needs a new credential and whose application 2 was
    /// deleted in the tenant.
    fn repair_sign_in(tenant: &str) -> Self {
        let w = World::new();
        let app = |index: u8, renew: bool| crate::provisioning::plan::RepairApp {
            index,
            app_id: format!("kept-app{index}"),
            renew,
        };
        let repair = crate::handover::RepairOrder {
            organization_id: "org-1".into(),
            tenant_id: tenant.into(),
            apps: vec![app(0, false), app(1, true), app(2, false)],
        };
        let cmd = Command::Start {
            account: ACCOUNT.into(),
            name: "si-1".into(),
            cloud: CloudEnvironment::Global,
            method: AddMethod::DeviceCode,
            redirect_uri: None,
            purpose: Purpose::Repair(repair),
        };
        w.send(cmd).unwrap();
        w.send(Command::Confirm { account: ACCOUNT.into(), claim: None }).unwrap();
        w
    }

    fn completed_device_code_sign_in() -> Self {
        let w = World::new();
        w.start(AddMethod::DeviceCode);
        w.send(Command::Confirm { account: ACCOUNT.into(), claim: None }).unwrap();
        w.alarms_until(SignInState::Completed);
        w
    }
}

fn account() -> String {
    ACCOUNT.into()
}

#[test]
fn a_device_code_sign_in_registers_after_the_checkbox_and_a_save_keeps_what_it_took() {
    let w = World::new();
    w.ms.pending_polls.set(2);
    let s = w.start(AddMethod::DeviceCode);
    assert_eq!(s.state, SignInState::WaitingForSignIn);
    assert_eq!(s.user_code.as_deref(), Some("ABCD1234"));
    assert!(!serde_json::to_string(&s).unwrap().contains("dc-secret"), "the device code stays inside");
    w.send(Command::Confirm { account: account(), claim: None }).unwrap();
    assert_eq!(w.status().state, SignInState::WaitingForMicrosoft);
    w.alarms_until(SignInState::Completed);
    assert_eq!(w.ms.pending_polls.get(), 0, "polled through authorization_pending");
    assert!(w.host.released.borrow().contains(&"si-1".to_owned()), "a completed sign-in gives its slot back");
    let result = w.status().result.expect("a result");
    assert_eq!((result.tenant_id.as_str(), result.applications), ("tid-1", 1));

    let Ok(Reply::Exported(ex)) = w.send(Command::Export { account: account() }) else { panic!("no export") };
    assert_eq!((ex.tenant_id.as_str(), ex.apps.len()), ("tid-1", 1));
    let certificate = ex.apps[0].certificate.clone().expect("a generated certificate");
    assert!(ex.apps[0].secret.is_none(), "no client secret is made");
    assert_eq!(certificate.info.subject, "CN=M365 Backup");
    let key = certificate.pkcs8_base64.expose().to_owned();
    let requests = w.ms.requests.borrow().clone();
    assert!(requests.iter().filter(|r| r.ends_with("/token")).count() >= 2, "the certificate was checked");
    assert!(w.ms.assertions.borrow().iter().any(|a| a.split('.').count() == 3), "with a signed client assertion");
    assert!(!serde_json::to_string(&w.status()).unwrap().contains(&key), "the key never reaches the browser");
    let lease = w.record().holding().unwrap().save_lease_until.expect("held under a lease");
    assert!(w.record().discard_at().unwrap() >= lease, "nothing is deleted before the lease ends");
    // A save tried again (its database write failed) takes them again.
    assert!(matches!(w.send(Command::Export { account: account() }), Ok(Reply::Exported(_))));

    w.host.held.borrow_mut().push(ex.apps[0].app_id.clone());
    w.send(Command::Saved { account: account() }).unwrap();
    w.alarm();
    assert!(w.ms.deleted.borrow().is_empty(), "the saved application is kept");
    let rec = w.record();
    let main = rec.holding().unwrap().main.clone().unwrap();
    assert!(rec.token().is_none() && main.apps.iter().all(|a| a.secret().is_none() && a.certificate().is_none()));
    assert!(!serde_json::to_string(&rec).unwrap().contains(&key), "no private key is left in storage");
}

#[test]
fn a_checkbox_ticked_while_the_alarm_waits_for_microsoft_is_not_lost() {
    // The attack on the state machine: the alarm has read the record and waits for Microsoft's
    // answer; the admin's confirmation arrives and is stored; the alarm then writes back what it
    // read. A Durable Object delivers other events while an outbound fetch is in flight.
    let w = World::new();
    w.start(AddMethod::DeviceCode);
    w.ms.slow_poll_turns.set(3);
    if let Some(at) = w.host.alarm.get() {
        w.host.now.set(w.host.now.get().max(at));
    }
    let service = w.service();
    let (alarm, confirm) = futures_executor::block_on(futures_util::future::join(
        service.alarm(),
        service.handle(Command::Confirm { account: account(), claim: None }),
    ));
    alarm.unwrap();
    confirm.unwrap();
    assert_eq!(w.record().state(), SignInState::Registering, "signed in and confirmed: registration runs");
    w.alarms_until(SignInState::Completed);
}

#[test]
fn the_end_of_the_hold_deletes_what_no_organization_holds_and_waits_when_the_database_cannot_say() {
    let w = World::completed_device_code_sign_in();
    w.host.database_down.set(true);
    w.alarm();
    assert!(w.ms.deleted.borrow().is_empty(), "nothing is deleted without the database's answer");
    let retry = w.record().discard_at().expect("asked again later");
    assert_eq!(retry, w.host.now.get() + DISCARD_RETRY_MS);
    assert!(w.record().token().is_some(), "the token is kept to delete later");

    w.host.database_down.set(false);
    w.alarm();
    assert_eq!(*w.ms.deleted.borrow(), vec!["obj0".to_owned()]);
    assert!(w.record().token().is_none());
}

#[test]
fn another_accounts_commands_find_nothing() {
    let w = World::completed_device_code_sign_in();
    let other = || "acct-2".to_owned();
    let cert = CertificateToRegister { der_base64: String::new(), not_before: 0, not_after: 1 };
    let commands = [
        Command::Status { account: other() },
        Command::Confirm { account: other(), claim: None },
        Command::Renew { account: other(), redirect_uri: None },
        Command::Cancel { account: other() },
        Command::Additional { account: other(), cloud: None, tenant: None },
        Command::Export { account: other() },
        Command::Saved { account: other() },
        Command::Release { account: other() },
        Command::UseCertificate { account: other(), certificate: cert },
    ];
    let puts = w.host.puts.get();
    for cmd in commands {
        let name = cmd.name();
        assert!(matches!(w.send(cmd), Err(AppError::NoSuchObject)), "{name}");
    }
    assert_eq!(w.host.puts.get(), puts, "nothing was written");
}

#[test]
fn a_cancelled_sign_in_is_gone_for_the_public_operations_and_its_applications_are_deleted() {
    let w = World::completed_device_code_sign_in();
    w.send(Command::Cancel { account: account() }).unwrap();
    for cmd in [
        Command::Status { account: account() },
        Command::Confirm { account: account(), claim: None },
        Command::Renew { account: account(), redirect_uri: None },
        Command::Cancel { account: account() },
        Command::Additional { account: account(), cloud: None, tenant: None },
    ] {
        let name = cmd.name();
        assert!(matches!(w.send(cmd), Err(AppError::NoSuchObject)), "{name}");
    }
    assert_eq!(w.code(Command::Export { account: account() }), ErrorCode::NotFound);
    w.alarm();
    assert_eq!(*w.ms.deleted.borrow(), vec!["obj0".to_owned()]);
}

#[test]
fn reading_the_status_writes_nothing() {
    let w = World::new();
    w.start(AddMethod::DeviceCode);
    let puts = w.host.puts.get();
    w.host.now.set(w.host.now.get() + 3_600_000);
    assert_eq!(w.status().state, SignInState::Expired, "time is shown");
    assert_eq!(w.host.puts.get(), puts, "but only the alarm records it");
}

#[test]
fn a_renewal_needs_a_free_slot_and_an_ended_code() {
    let w = World::new();
    w.start(AddMethod::DeviceCode);
    assert_eq!(w.code(Command::Renew { account: account(), redirect_uri: None }), ErrorCode::AuthorizationPending);
    w.host.now.set(w.host.now.get() + 3_600_000);
    w.alarm();
    w.host.slot_refused.set(true);
    assert_eq!(w.code(Command::Renew { account: account(), redirect_uri: None }), ErrorCode::TooManySignIns);
    w.host.slot_refused.set(false);
    w.send(Command::Renew { account: account(), redirect_uri: None }).unwrap();
    assert_eq!(w.status().state, SignInState::WaitingForSignIn);
    assert_eq!(w.ms.requests.borrow().iter().filter(|r| r.ends_with("/devicecode")).count(), 2);
}

fn callback(w: &World, secret: &str, code: Option<&str>) -> CallbackOutcome {
    let answer = CallbackAnswer {
        state_secret: SecretString::new(secret.to_owned()),
        code: code.map(|c| SecretString::new(c.to_owned())),
        error: None,
        error_description: None,
    };
    match w.send(Command::Callback(answer)) {
        Ok(Reply::Callback(o)) => o,
        other => panic!("not a callback outcome: {other:?}"),
    }
}

fn state_secret(w: &World) -> String {
    match w.record().stage {
        crate::signin::record::Stage::Window { browser } => browser.state_secret.expose().to_owned(),
        other => panic!("no window: {other:?}"),
    }
}

#[test]
fn a_credential_sign_in_registers_only_once_its_owner_claims_the_answer() {
    let w = World::new();
    let s = w.start(AddMethod::Credential);
    assert!(s.authorize_url.is_some());
    let secret = state_secret(&w);

    let puts = w.host.puts.get();
    let forged = callback(&w, "not-the-secret", Some("code"));
    assert_eq!(forged.error.map(|e| e.code), Some(ErrorCode::StateMismatch));
    assert_eq!(w.host.puts.get(), puts, "a forged answer writes nothing");

    let outcome = callback(&w, &secret, Some("auth-code"));
    let (handle, _code) = outcome.claim.expect("a claim for the page");
    let replay = callback(&w, &secret, Some("auth-code"));
    assert_eq!(replay.error.map(|e| e.code), Some(ErrorCode::CodeAlreadyUsed), "an answer is used once");

    assert_eq!(
        w.code(Command::Additional { account: account(), cloud: None, tenant: None }),
        ErrorCode::SignInNotClaimed
    );
    assert_eq!(w.code(Command::Export { account: account() }), ErrorCode::SignInNotClaimed);
    let wrong = Command::Confirm { account: account(), claim: Some(SecretString::new("wrong".into())) };
    assert_eq!(w.code(wrong), ErrorCode::ConfirmationCodeWrong);
    w.send(Command::Confirm { account: account(), claim: Some(SecretString::new(handle)) }).unwrap();
    assert_eq!(w.status().state, SignInState::Registering);
    w.alarms_until(SignInState::Completed);
}

#[test]
fn a_sign_in_only_claim_registers_nothing_and_lets_a_save_create_the_additional_applications() {
    let w = World::new();
    w.start_for(AddMethod::Credential, Purpose::SignInOnly);
    let secret = state_secret(&w);
    let (handle, _code) = callback(&w, &secret, Some("auth-code")).claim.expect("a claim for the page");
    // Unclaimed, the answer is nobody's yet: no save may use it.
    let additional = || Command::Additional { account: account(), cloud: None, tenant: Some("tid-1".into()) };
    assert_eq!(w.code(additional()), ErrorCode::SignInNotClaimed);
    let claim = |c: &str| Command::Confirm { account: account(), claim: Some(SecretString::new(c.to_owned())) };
    assert_eq!(w.code(claim("wrong")), ErrorCode::ConfirmationCodeWrong, "a wrong claim is refused alike");
    w.send(claim(&handle)).unwrap();
    assert_eq!(w.status().state, SignInState::SignedIn, "claimed, and nothing registered");
    // The alarm runs now (not at its scheduled time, when the unused sign-in ends).
    futures_executor::block_on(w.service().alarm()).unwrap();
    assert!(w.ms.batch_ids.borrow().is_empty(), "no request reached the tenant, even after the alarm");
    assert_eq!(w.status().state, SignInState::SignedIn);
    assert_eq!(w.code(claim(&handle)), ErrorCode::AuthorizationPending, "a claim is used once");
    let register = Command::Confirm { account: account(), claim: Some(SecretString::new(handle)) };
    assert_eq!(w.code(register), ErrorCode::AuthorizationPending, "nor turned into a registration later");
    let renew = Command::Renew { account: account(), redirect_uri: Some("https://backup.example.com/cb".into()) };
    assert_eq!(w.code(renew), ErrorCode::AuthorizationPending, "the token handed over is not dropped for a new window");
    assert_eq!(w.status().state, SignInState::SignedIn);

    w.send(additional()).unwrap();
    w.alarms_until(SignInState::Completed);
    assert_eq!(w.status().result.unwrap().applications, 3, "only the 3 additional applications");
}

/// The organization a removal's sign-in is started for.
const ORG: &str = "org-1";

fn remove(tenant: &str, app_ids: &[&str]) -> Command {
    Command::Remove {
        account: account(),
        organization: ORG.into(),
        cloud: CloudEnvironment::Global,
        tenant: tenant.into(),
        app_ids: app_ids.iter().map(|a| a.to_string()).collect(),
    }
}

const A1: &str = "11111111-1111-4111-8111-111111111111";
const A2: &str = "22222222-2222-4222-8222-222222222222";

#[test]
fn removal_needs_a_sign_in_made_for_nothing_else_in_the_organizations_tenant_and_cloud() {
    // Before the admin has signed in, and an unclaimed window's answer: nothing is deleted.
    let w = World::new();
    w.start_removal(AddMethod::DeviceCode);
    assert_eq!(w.code(remove("tid-1", &[A1])), ErrorCode::AuthorizationPending);
    let w = World::new();
    w.start_removal(AddMethod::Credential);
    let secret = state_secret(&w);
    assert!(callback(&w, &secret, Some("auth-code")).claim.is_some());
    assert_eq!(w.code(remove("tid-1", &[A1])), ErrorCode::SignInNotClaimed);
    assert!(w.ms.deleted.borrow().is_empty());

    // A sign-in started for anything else, signed in and unconfirmed (the wizard's Step 2 before its
    // checkbox, a Manual save's panel): someone else of the account who lists the running sign-ins
    // cannot use that admin's token to delete applications.
    let w = World::new();
    w.start(AddMethod::DeviceCode);
    w.alarms_until(SignInState::SignedIn);
    assert_eq!(w.code(remove("tid-1", &[A1])), ErrorCode::NotFound);
    assert!(w.ms.deleted.borrow().is_empty() && w.ms.batch_ids.borrow().is_empty());

    // Signed in for removing another organization's applications, or in another tenant or cloud; or
    // by another account: nothing is deleted.
    let w = World::new();
    w.start_removal(AddMethod::DeviceCode);
    w.alarms_until(SignInState::SignedIn);
    let another = Command::Remove {
        account: account(),
        organization: "org-2".into(),
        cloud: CloudEnvironment::Global,
        tenant: "tid-1".into(),
        app_ids: vec![A1.into()],
    };
    assert_eq!(w.code(another), ErrorCode::NotFound);
    assert_eq!(w.code(remove("tid-2", &[A1])), ErrorCode::SignInTenantMismatch);
    let other_cloud = Command::Remove {
        account: account(),
        organization: ORG.into(),
        cloud: CloudEnvironment::China,
        tenant: "tid-1".into(),
        app_ids: vec![A1.into()],
    };
    assert_eq!(w.code(other_cloud), ErrorCode::SignInTenantMismatch);
    let stranger = Command::Remove {
        account: "acct-other".into(),
        organization: ORG.into(),
        cloud: CloudEnvironment::Global,
        tenant: "tid-1".into(),
        app_ids: vec![A1.into()],
    };
    assert!(matches!(w.send(stranger), Err(AppError::NoSuchObject)));
    assert!(w.ms.deleted.borrow().is_empty());

    // A sign-in that registered applications (the wizard's), or repairs an organization, is not
    // used to delete any.
    let w = World::completed_device_code_sign_in();
    assert_eq!(w.code(remove("tid-1", &[A1])), ErrorCode::NotFound);
    assert!(w.ms.deleted.borrow().is_empty());
    let w = World::repair_sign_in("tid-1");
    assert_eq!(w.code(remove("tid-1", &[A1])), ErrorCode::NotFound);
    assert!(w.ms.deleted.borrow().is_empty());
}

#[test]
fn a_removals_sign_in_registers_nothing() {
    // Device code: confirming it (the wizard's checkbox) or asking it for the additional
    // applications (a Manual save) is refused, and nothing is created.
    let w = World::new();
    w.start_removal(AddMethod::DeviceCode);
    let confirm = || Command::Confirm { account: account(), claim: None };
    assert_eq!(w.code(confirm()), ErrorCode::NotFound, "before Microsoft's answer");
    w.alarms_until(SignInState::SignedIn);
    assert_eq!(w.code(confirm()), ErrorCode::NotFound, "after it");
    let additional = Command::Additional { account: account(), cloud: None, tenant: None };
    assert_eq!(w.code(additional), ErrorCode::NotFound);
    assert_eq!(w.status().state, SignInState::SignedIn);
    assert_eq!(w.ms.created.get(), 0);

    // Credential: its answer is claimed only to prove it, never to register.
    let w = World::new();
    w.start_removal(AddMethod::Credential);
    let secret = state_secret(&w);
    let claim = callback(&w, &secret, Some("auth-code")).claim.unwrap().0;
    let prove = Command::Confirm { account: account(), claim: Some(SecretString::new(claim)) };
    w.send(prove).unwrap();
    assert_eq!(w.status().state, SignInState::SignedIn, "claimed, and nothing registered");
    let Ok(Reply::Removed(r)) = w.send(remove("tid-1", &[A1])) else { panic!("not removed") };
    assert!(r.not_removed.is_empty());
    assert_eq!(w.ms.created.get(), 0);
}

#[test]
fn removal_deletes_by_application_id_counts_gone_ones_and_ends_the_sign_in() {
    let w = World::new();
    w.start_removal(AddMethod::DeviceCode);
    w.alarms_until(SignInState::SignedIn);
    let odd = "x') or startswith(displayName,'";
    // The signed-in account's role may not delete applications: said so, nothing is deleted, and
    // the sign-in stays (a retry needs another account, but the record keeps its own time).
    w.ms.removal_denied.set(true);
    let Ok(Reply::Removed(r)) = w.send(remove("tid-1", &[A1])) else { panic!("not removed") };
    assert_eq!((r.not_removed, r.denied), (vec![A1.to_owned()], true));
    assert!(w.ms.deleted.borrow().is_empty());
    w.ms.removal_denied.set(false);
    // Not a GUID (never put into a URL): reported as still there, and the sign-in stays usable.
    let Ok(Reply::Removed(r)) = w.send(remove("TID-1", &[A1, odd])) else { panic!("not removed") };
    assert_eq!(r.not_removed, vec![odd.to_owned()]);
    assert!(!r.denied, "a refusal of another kind is not the role's");
    assert_eq!(w.status().state, SignInState::SignedIn, "kept for another try");
    assert_eq!(*w.ms.deleted.borrow(), vec![format!("/applications(appId='{A1}')")]);

    // Again: the one already gone (404, and no service principal of it here) counts as removed.
    let Ok(Reply::Removed(r)) = w.send(remove("tid-1", &[A1, A2])) else { panic!("not removed") };
    assert!(r.not_removed.is_empty());
    assert_eq!(w.ms.deleted.borrow().len(), 2);
    assert!(
        w.ms.batch_ids.borrow().contains(&ItemId::RemoveServicePrincipal(0)),
        "its service principal was looked for"
    );
    assert!(!w.ms.batch_ids.borrow().contains(&ItemId::RemoveServicePrincipal(1)));
    assert!(w.host.record.borrow().as_ref().unwrap().token().is_none(), "the token is dropped");
    assert!(matches!(w.send(remove("tid-1", &[A1])), Err(AppError::NoSuchObject)), "used up");
}

#[test]
fn a_code_redemption_is_retried_through_transient_answers_within_the_windows_patience() {
    let w = World::new();
    w.start(AddMethod::Credential);
    let secret = state_secret(&w);
    w.ms.redeem_unavailable.set(2);
    assert!(callback(&w, &secret, Some("auth-code")).claim.is_some());
    assert!(w.host.slept.get() <= 2 * MAX_REDEEM_WAIT_MS);

    let w = World::new();
    w.start(AddMethod::Credential);
    let secret = state_secret(&w);
    w.ms.redeem_unavailable.set(REDEEM_ATTEMPTS as u32);
    let outcome = callback(&w, &secret, Some("auth-code"));
    assert_eq!(outcome.error.map(|e| e.code), Some(ErrorCode::MicrosoftUnavailable));
    assert_eq!(w.status().state, SignInState::Failed);
}

#[test]
fn a_certificate_replaces_the_generated_secrets_and_nothing_is_exported_after() {
    let w = World::completed_device_code_sign_in();
    let der = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b"not really DER");
    let cert = CertificateToRegister { der_base64: der, not_before: 1, not_after: 2 };
    w.send(Command::UseCertificate { account: account(), certificate: cert }).unwrap();
    let ids = w.ms.batch_ids.borrow().clone();
    assert!(ids.contains(&ItemId::KeyCredential(0)), "the upload replaces the generated certificate");
    assert!(w.record().holding().unwrap().main.clone().unwrap().apps.iter().all(|a| a.certificate().is_none()));
    assert_eq!(w.code(Command::Export { account: account() }), ErrorCode::NotFound);
}

#[test]
fn additional_applications_are_refused_for_another_cloud_and_registered_in_the_same_tenant() {
    let w = World::completed_device_code_sign_in();
    let other_cloud =
        Command::Additional { account: account(), cloud: Some(CloudEnvironment::UsGovGccHigh), tenant: None };
    assert_eq!(w.code(other_cloud), ErrorCode::SignInTenantMismatch);
    let other_tenant = Command::Additional { account: account(), cloud: None, tenant: Some("tid-2".into()) };
    assert_eq!(w.code(other_tenant), ErrorCode::SignInTenantMismatch);
    w.send(Command::Additional { account: account(), cloud: None, tenant: Some("TID-1".into()) }).unwrap();
    w.alarms_until(SignInState::Completed);
    assert_eq!(w.status().result.unwrap().applications, 4);
}

#[test]
fn a_record_past_its_retention_deletes_itself() {
    let w = World::completed_device_code_sign_in();
    w.alarm(); // the hold ends
    w.host.now.set(w.host.now.get() + crate::signin::limits::RETENTION_MS);
    w.alarm();
    assert!(w.host.record.borrow().is_none());
    assert!(matches!(w.send(Command::Status { account: account() }), Err(AppError::NoSuchObject)));
}

#[test]
fn a_repair_sign_in_exports_for_its_organization_and_never_deletes_what_was_there() {
    let w = World::repair_sign_in("tid-1");
    w.alarms_until(SignInState::Completed);
    let Ok(Reply::Exported(ex)) = w.send(Command::Export { account: account() }) else { panic!("not exported") };
    assert_eq!(ex.repair_of.as_deref(), Some("org-1"));
    let apps: Vec<(u8, &str, &str, bool)> =
        ex.apps.iter().map(|a| (a.index, a.app_id.as_str(), a.object_id.as_str(), a.certificate.is_some())).collect();
    assert_eq!(
        apps,
        vec![(0, "kept-app0", "kept-obj0", false), (1, "kept-app1", "kept-obj1", true), (2, "app0", "obj0", true)],
        "kept as it was, a new certificate where the credential failed, the deleted one created again"
    );
    // Nothing but the repair: no more applications, no certificate of the admin's on the old ones.
    assert_eq!(w.code(Command::Additional { account: account(), cloud: None, tenant: None }), ErrorCode::NotFound);
    let cert = CertificateToRegister { der_base64: "AA==".into(), not_before: 0, not_after: 1 };
    assert_eq!(w.code(Command::UseCertificate { account: account(), certificate: cert }), ErrorCode::NotFound);

    // Never saved: at the end of the hold only the application the repair created is deleted.
    w.send(Command::Release { account: account() }).unwrap();
    w.alarm();
    assert_eq!(*w.ms.deleted.borrow(), vec!["obj0".to_owned()]);
}

#[test]
fn a_repair_sign_in_in_another_tenant_changes_nothing_there() {
    let w = World::repair_sign_in("other-tenant");
    w.alarms_until(SignInState::Failed);
    assert_eq!(w.status().error.unwrap().code, ErrorCode::SignInTenantMismatch);
    assert!(w.ms.deleted.borrow().is_empty());
    let writes: Vec<ItemId> =
        w.ms.batch_ids
            .borrow()
            .iter()
            .copied()
            .filter(|id| {
                !matches!(
                    id,
                    ItemId::Organization
                        | ItemId::Resource(_)
                        | ItemId::Policy
                        | ItemId::Lookup(_)
                        | ItemId::LookupServicePrincipal(_)
                )
            })
            .collect();
    assert!(writes.is_empty(), "only reads: {writes:?}");
}
