//! The holes a review found, each as the attack or the failure it was: a sign-in used
//! for another tenant's organization, a lost "saved" hand-over, an edit conflict during
//! "Recreate", concurrent edits, unlimited sign-in starts, unbounded bodies, unknown methods. The
//! real worker under `wrangler dev` against the Microsoft emulator.

use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};
use system_tests::contains_bytes as contains;
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::{Answer, Api};
use system_tests::stack::Stack;

/// Fast pacing so tests do not wait Microsoft's 5 s between polls.
const FAST: &[&str] = &["--device-code-interval", "1"];

fn start(extra_vars: &[(&str, &str)]) -> (Emulator, Stack) {
    let emulator = Emulator::start_with(FAST);
    let mut vars = emulator.worker_vars();
    vars.extend(extra_vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let stack = Stack::start_with(&vars);
    (emulator, stack)
}

fn wait_status(api: &Api, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    api.wait_status(id, limit, done)
}

/// A device-code sign-in in `cloud`, approved by `admin`, not confirmed (no application yet).
fn signed_in(emulator: &Emulator, api: &Api, cloud: &str, admin: &str) -> String {
    let started = api.post("/api/signins", json!({"cloud": cloud, "method": "device_code"}));
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), admin);
    wait_status(api, &id, Duration::from_secs(20), |s| s["state"] == "signed_in");
    id
}

/// An organization saved with the Manual method and a secret, for an application registered by hand:
/// its application ID, its secret and the saved organization.
fn manual_organization(emulator: &Emulator, api: &Api) -> (String, String, Value) {
    let (app_id, _, secret) = emulator.register_app("Backup manual", None, true);
    let created = api.post("/api/organizations", manual_body(&app_id, &secret, false, None));
    assert_eq!(created.status, 201, "{}", created.text);
    (app_id, secret, created.body)
}

fn manual_body(app_id: &str, secret: &str, multiple: bool, sign_in: Option<&str>) -> Value {
    let mut body = json!({"name": "Contoso", "cloud": "global", "tenant_id": fixture::CONTOSO,
        "application_id": app_id, "credential": {"type": "secret", "client_secret": secret},
        "create_multiple_applications": multiple});
    if let Some(id) = sign_in {
        body["sign_in_id"] = json!(id);
    }
    body
}

fn waits_until(what: &str, limit: Duration, probe: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !probe() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_sign_in_in_another_tenant_creates_nothing_there_and_is_not_saved() {
    let (emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-tenant"));
    let (app_id, _, secret) = emulator.register_app("Backup manual", None, true);
    // A sign-in in Fabrikam (US Government), used to save Contoso's (Global) typed credential with
    // "Create multiple applications": the additional applications would land in Fabrikam and be
    // filed under Contoso.
    let sign_in = signed_in(&emulator, &api, "usgov_gcc_high", "admin@fabrikamgov.onmicrosoft.us");
    let saved = api.post("/api/organizations", manual_body(&app_id, &secret, true, Some(&sign_in)));
    assert_eq!(saved.status, 409, "{}", saved.text);
    assert_eq!(saved.body["error"]["code"], "sign_in_tenant_mismatch", "{}", saved.text);
    assert_eq!(emulator.applications().len(), 1, "nothing created in the other tenant: {:?}", emulator.applications());
    assert_eq!(api.get("/api/organizations").body["organizations"].as_array().unwrap().len(), 0);
    // The same through the public route: it names no tenant, so it may run, but its applications
    // are never taken for an organization of another tenant.
    let status = api.get(&format!("/api/signins/{sign_in}"));
    assert_eq!(status.body["state"], "signed_in", "the refused save changed nothing: {}", status.text);
}

#[test]
fn a_lost_saved_hand_over_never_deletes_a_saved_organizations_applications() {
    // The "saved" call to the sign-in fails (injected) and the hold is 5 s instead of 30 minutes.
    let (emulator, stack) = start(&[("DEV_FAULTS", "saved-handover"), ("DEV_SIGNIN_HOLD_SECS", "5")]);
    let api = Api::new(&stack.base_url, &stack.token("acct-handover"));
    let sign_in = signed_in(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(api.post(&format!("/api/signins/{sign_in}/confirm"), json!({})).status, 200);
    let done =
        wait_status(&api, &sign_in, Duration::from_secs(60), |s| s["state"] == "completed" || s["state"] == "failed");
    assert_eq!(done["state"], "completed", "{done}");
    let r = &done["result"];
    let saved = api.post(
        "/api/organizations",
        json!({"name": "Contoso", "cloud": "global", "tenant_id": r["tenant_id"], "application_id": r["application_id"],
            "credential": {"type": "generated", "sign_in_id": sign_in}, "create_multiple_applications": false}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text);
    assert!(stack.log().contains("saved hand-over failed"), "the fault was injected");
    // At the end of the hold (5 s), the sign-in asked D1 and kept the saved organization's application.
    waits_until("the sign-in's hold ended", Duration::from_secs(45), || {
        stack.log().contains("belong to a saved organization")
    });
    assert_eq!(emulator.applications().len(), 1, "the saved application is still in the tenant");

    // Unsaved applications are still deleted at the end of their hold.
    let other = signed_in(&emulator, &api, "global", fixture::ADMIN);
    api.post(&format!("/api/signins/{other}/confirm"), json!({}));
    wait_status(&api, &other, Duration::from_secs(60), |s| s["state"] == "completed");
    assert_eq!(emulator.applications().len(), 2);
    waits_until("the unsaved application was deleted", Duration::from_secs(40), || emulator.applications().len() == 1);
}

#[test]
fn recreate_that_meets_an_edit_conflict_leaves_no_orphan() {
    let (emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-orphan"));
    let (_, _, created) = manual_organization(&emulator, &api);
    let org = created["id"].as_str().unwrap().to_owned();
    let sign_in = signed_in(&emulator, &api, "global", fixture::ADMIN);
    // "Recreate multiple applications" (registration takes seconds: every answer from Microsoft
    // takes 1 s here) while someone else renames the organization: the recreate loses the race.
    emulator.control("faults", json!({"kind": "latency", "ms": 1000}));
    let recreate = {
        let (base, token, org, sign_in) =
            (stack.base_url.clone(), stack.token("acct-orphan"), org.clone(), sign_in.clone());
        std::thread::spawn(move || {
            Api::new(&base, &token).patch(
                &format!("/api/organizations/{org}"),
                json!({"version": 1, "multiple_applications": true, "reenable": "recreate", "sign_in_id": sign_in}),
            )
        })
    };
    waits_until("the recreate is registering", Duration::from_secs(30), || {
        api.get(&format!("/api/signins/{sign_in}")).body["state"] == "registering"
    });
    let renamed = api.patch(&format!("/api/organizations/{org}"), json!({"version": 1, "name": "Renamed"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let recreated: Answer = recreate.join().unwrap();
    assert_eq!(recreated.status, 409, "{}", recreated.text);
    assert_eq!(recreated.body["error"]["code"], "edit_conflict");
    let stored = api.get(&format!("/api/organizations/{org}")).body;
    assert_eq!(stored["name"], "Renamed");
    assert_eq!(stored["active_applications"], 1, "nothing of the recreate was stored: {stored}");
    // The 3 new applications are stored nowhere: the sign-in deletes them now, not in 30 minutes.
    emulator.delete("faults");
    waits_until("the unsaved applications were deleted", Duration::from_secs(30), || {
        emulator.applications().len() == 1
    });
}

#[test]
fn ten_concurrent_edits_of_one_version_apply_exactly_one() {
    let (emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-race"));
    let (_, secret, created) = manual_organization(&emulator, &api);
    let org = created["id"].as_str().unwrap().to_owned();
    let edits: Vec<_> = (0..10)
        .map(|i| {
            let (base, token, org, secret) = (stack.base_url.clone(), stack.token("acct-race"), org.clone(), secret.clone());
            std::thread::spawn(move || {
                Api::new(&base, &token).patch(
                    &format!("/api/organizations/{org}"),
                    json!({"version": 1, "name": format!("Edit {i}"), "credential": {"type": "secret", "client_secret": secret}}),
                )
            })
        })
        .collect();
    let answers: Vec<Answer> = edits.into_iter().map(|t| t.join().unwrap()).collect();
    let applied = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(applied, 1, "{:?}", answers.iter().map(|a| (a.status, a.text.clone())).collect::<Vec<_>>());
    assert!(answers.iter().all(|a| a.status == 200 || a.body["error"]["code"] == "edit_conflict"));
    let stored = api.get(&format!("/api/organizations/{org}")).body;
    assert_eq!(stored["version"], 2, "{stored}");
    assert_eq!(stored["active_applications"], 1, "never two main applications: {stored}");
}

#[test]
fn sign_in_starts_are_rate_limited_per_account() {
    let (_emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-rate"));
    // A service provider onboarding tenant after tenant: 60 an hour, each cancelled in turn.
    for n in 0..60 {
        let a = api.post("/api/signins", json!({"cloud": "global", "method": "device_code"}));
        assert_eq!(a.status, 201, "start {n}: {}", a.text);
        assert_eq!(api.delete(&format!("/api/signins/{}", a.body["id"].as_str().unwrap())).status, 200);
    }
    let refused = ureq::post(&stack.url("/api/signins"))
        .set("authorization", &format!("Bearer {}", stack.token("acct-rate")))
        .send_json(json!({"cloud": "global", "method": "device_code"}));
    let Err(ureq::Error::Status(429, resp)) = refused else { panic!("the 61st start was not refused") };
    let retry_after: u64 = resp.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = resp.into_json().unwrap();
    assert_eq!(body["error"]["code"], "sign_ins_rate_limited", "{body}");
    // Per account: another account is not affected. The running list is the account's own.
    let other = Api::new(&stack.base_url, &stack.token("acct-rate-2"));
    let a = other.post("/api/signins", json!({"cloud": "global", "method": "device_code"}));
    assert_eq!(a.status, 201, "{}", a.text);
    let listed = other.get("/api/signins");
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body["limit"], 3);
    let ids: Vec<&str> =
        listed.body["sign_ins"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![a.body["id"].as_str().unwrap()]);
    assert_eq!(listed.body["sign_ins"][0]["method"], "device_code");
    assert_eq!(api.get("/api/signins").body["sign_ins"].as_array().unwrap().len(), 0, "cancelled ones are not listed");
}

/// A body of `len` bytes sent without a length (chunked), so only a streaming cap can stop it.
struct Endless(usize);

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.0);
        buf[..n].fill(b' ');
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn bodies_are_capped_while_read_and_unknown_methods_are_refused() {
    let (_emulator, stack) = start(&[]);
    let auth = format!("Bearer {}", stack.token("acct-bodies"));
    // Its own connection: one whose upload was cut off is not reused for the requests below.
    let big = ureq::AgentBuilder::new()
        .build()
        .post(&stack.url("/api/certificates/inspect"))
        .set("connection", "close")
        .set("authorization", &auth)
        .set("content-type", "application/json")
        // Twice the cap, without a length. (Far larger bodies are cut off as well, but the local
        // dev proxy in front of workerd may then answer 503 itself when the Worker answers before
        // the upload has finished; Cloudflare's edge does not.)
        .send(Endless(2 * shared::api::MAX_BODY_BYTES + 1));
    let Err(ureq::Error::Status(413, resp)) = big else {
        panic!("a chunked body over the cap was not refused: {big:?}")
    };
    let body: Value = resp.into_json().unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    // (A method the runtime does not know at all, e.g. `FOO`, is answered 501 by workerd itself.)
    for method in ["QUERY", "PROPFIND"] {
        let resp = ureq::request(method, &stack.url("/api/organizations")).set("authorization", &auth).call();
        let resp = match resp {
            Err(ureq::Error::Status(405, resp)) => resp,
            Err(ureq::Error::Status(code, resp)) => {
                panic!("{method} answered {code}: {}\n{}", resp.into_string().unwrap_or_default(), stack.log())
            }
            other => panic!("{method} was not refused: {other:?}"),
        };
        assert_eq!(resp.header("allow"), Some("GET, POST"), "{method}");
    }
}

#[test]
fn the_cron_trigger_deletes_sign_in_rows_past_retention() {
    let (_emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-retention"));
    let fresh = api.post("/api/signins", json!({"cloud": "global", "method": "device_code"}));
    assert_eq!(fresh.status, 201, "{}", fresh.text);
    let fresh = fresh.body["id"].as_str().unwrap().to_owned();
    // A row from a sign-in that started two days ago and ended long since.
    stack.local_d1(
        "INSERT INTO signins (id, account_id, cloud, created_at_ms, active_until_ms, method) \
         VALUES ('old-sign-in', 'acct-retention', 'global', 1000, 2000, 'device_code')",
    );
    assert!(stack.local_d1("SELECT id FROM signins").contains("old-sign-in"));
    let ran = ureq::get(&stack.url("/__scheduled?cron=23+*+*+*+*")).call();
    assert!(ran.is_ok(), "the scheduled handler ran: {ran:?}");
    waits_until("the housekeeping ran", Duration::from_secs(10), || stack.log().contains("housekeeping: deleted"));
    let left = stack.local_d1("SELECT id FROM signins");
    assert!(!left.contains("old-sign-in"), "the old row is gone: {left}");
    assert!(left.contains(&fresh), "a sign-in under way is kept: {left}");
}

/// Every file of the local Durable Objects' storage, concatenated (to look for secrets in clear).
fn durable_object_bytes(stack: &Stack) -> Vec<u8> {
    stack.stored_bytes(|p| p.components().any(|c| c.as_os_str() == "do"))
}

/// A sign-in that has registered an application holds the admin's token and the generated
/// certificate's private key until the save: both lie sealed in its Durable Object's storage,
/// never in the clear.
#[test]
fn a_sign_ins_token_and_private_keys_lie_sealed_in_its_storage() {
    let (emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-sealed"));
    let done = system_tests::automatic_registration(&emulator, &api);
    let stored = durable_object_bytes(&stack);
    assert!(contains(&stored, "sealed"), "the scan reads the sign-ins' storage");
    // Every token the emulator signs starts with the same JWT header.
    let any_token = emulator.admin_token(fixture::ADMIN);
    let jwt_header = any_token.split('.').next().unwrap();
    for clear in [
        jwt_header,
        "access_token",
        "device_code",
        "pkcs8_base64",
        // An RSA private key's PKCS#8 algorithm identifier, base64.
        "BgkqhkiG9w0BAQEFAASC",
    ] {
        assert!(!contains(&stored, clear), "{clear:?} lies in the clear in a Durable Object's storage");
    }
    // The sealed record still serves the save.
    system_tests::save_generated(&api, &done);
}

/// A sign-in made for deleting an organization's applications and then left alone (the delete
/// never comes) ends when its window closes, and its admin token is forgotten: it deletes nothing
/// afterwards. The tests' hold switch shortens the window to 5 s.
#[test]
fn a_removal_sign_in_left_alone_ends_and_forgets_its_token() {
    let (emulator, stack) = start(&[("DEV_SIGNIN_HOLD_SECS", "5")]);
    let api = Api::new(&stack.base_url, &stack.token("acct-left-alone"));
    let (app_id, _, created) = manual_organization(&emulator, &api);
    let org = created["id"].as_str().unwrap().to_owned();
    let started = api.post(
        "/api/signins",
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "remove", "organization_id": org}}),
    );
    assert_eq!(started.status, 201, "{}", started.text);
    let sign_in = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    wait_status(&api, &sign_in, Duration::from_secs(30), |s| s["state"] == "signed_in");
    // Nobody uses it: the alarm ends it.
    let ended = wait_status(&api, &sign_in, Duration::from_secs(30), |s| s["state"] != "signed_in");
    assert_eq!((ended["state"].as_str(), ended["error"]["code"].as_str()), (Some("expired"), Some("sign_in_unused")));
    let refused = api.delete_organization(&org, json!({"confirm": true, "remove_with_sign_in": sign_in}));
    assert_ne!(refused.status, 204, "{}", refused.text);
    assert!(emulator.applications().iter().any(|a| a["appId"] == app_id.as_str()), "nothing was deleted");
    assert_eq!(api.get(&format!("/api/organizations/{org}")).status, 200);
}

/// Delete carries the version the admin saw. A rename saved while the removal is deleting the
/// applications at Microsoft (each answer takes 2 s here) stops the delete from the service: 409,
/// and the organization stays with its new name, whichever of the two reached the service first.
#[test]
fn a_delete_that_meets_a_change_saved_meanwhile_is_refused_and_keeps_the_organization() {
    let (emulator, stack) = start(&[]);
    let api = Api::new(&stack.base_url, &stack.token("acct-delete-race"));
    let (_, _, created) = manual_organization(&emulator, &api);
    let org = created["id"].as_str().unwrap().to_owned();
    let seen = created["version"].clone();

    // A stale version deletes nothing.
    let renamed = api.patch(&format!("/api/organizations/{org}"), json!({"version": seen, "name": "Renamed first"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let stale = api.delete_json(&format!("/api/organizations/{org}"), json!({"confirm": true, "version": seen}));
    assert_eq!((stale.status, stale.body["error"]["code"].as_str()), (409, Some("edit_conflict")), "{}", stale.text);
    let seen = renamed.body["version"].clone();

    // The removal's sign-in, then a delete that takes seconds at Microsoft, and a rename meanwhile.
    let started = api.post(
        "/api/signins",
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "remove", "organization_id": org}}),
    );
    assert_eq!(started.status, 201, "{}", started.text);
    let sign_in = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    wait_status(&api, &sign_in, Duration::from_secs(30), |s| s["state"] == "signed_in");
    emulator.control("faults", json!({"kind": "latency", "ms": 2000, "route": "graph"}));
    let deleting = {
        let (base, token, org) = (stack.base_url.clone(), stack.token("acct-delete-race"), org.clone());
        let body = json!({"confirm": true, "version": seen, "remove_with_sign_in": sign_in});
        std::thread::spawn(move || Api::new(&base, &token).delete_json(&format!("/api/organizations/{org}"), body))
    };
    let renamed =
        api.patch(&format!("/api/organizations/{org}"), json!({"version": seen, "name": "Renamed meanwhile"}));
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let deleted = deleting.join().unwrap();
    assert_eq!(
        (deleted.status, deleted.body["error"]["code"].as_str()),
        (409, Some("edit_conflict")),
        "{}",
        deleted.text
    );
    emulator.delete("faults");
    let kept = api.get(&format!("/api/organizations/{org}"));
    assert_eq!((kept.status, kept.body["name"].as_str()), (200, Some("Renamed meanwhile")), "{}", kept.text);
}
