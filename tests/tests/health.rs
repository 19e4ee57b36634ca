//! Health checks of saved organizations against the emulator: "Check now" and the Cron Trigger, a
//! deleted application failing after two checks, a transient 503 changing nothing, isolation.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

fn start() -> (Emulator, Stack) {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

/// An organization saved after an automatic registration (one application, every permission).
fn saved_organization(emulator: &Emulator, api: &Api) -> Value {
    system_tests::save_generated(api, &system_tests::automatic_registration(emulator, api))
}

fn check(api: &Api, id: &str) -> Value {
    let r = api.post(&format!("/api/organizations/{id}/check"), json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[test]
fn check_now_finds_a_working_organization_healthy_then_a_deleted_application_failing_after_two_checks() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-health"));
    let org = saved_organization(&emulator, &api);
    let id = org["id"].as_str().unwrap();
    assert_eq!(org["health"]["state"], "unchecked");

    let healthy = check(&api, id);
    assert_eq!(healthy["health"]["state"], "healthy", "{healthy}");
    assert!(healthy["health"]["checked_at"].is_string());
    assert_eq!(healthy["applications"][0]["health"]["state"], "healthy");

    // Another account can neither check nor see it.
    let other = Api::new(&stack.base_url, &stack.token("acct-other"));
    assert_eq!(other.post(&format!("/api/organizations/{id}/check"), json!({})).status, 404);

    // A 503 from Microsoft's token endpoint says nothing about the application.
    emulator.control("faults", json!({"kind": "throttle", "route": "token", "status": 503, "times": 1}));
    let transient = check(&api, id);
    assert_eq!(transient["health"]["state"], "healthy", "a transient error is not a failure: {transient}");

    // The administrator deletes the application in the tenant.
    let admin = emulator.admin_token(fixture::ADMIN);
    let app_id = org["application_id"].as_str().unwrap();
    let found = emulator.graph(&admin, "GET", &format!("/applications?$filter=appId eq '{app_id}'"), None);
    let object_id = found["value"][0]["id"].as_str().unwrap().to_owned();
    emulator.graph(&admin, "DELETE", &format!("/applications/{object_id}"), None);
    let once = check(&api, id);
    assert_eq!(once["health"]["state"], "needs_attention", "{once}");
    assert_eq!(once["health"]["reason"], "application_deleted");
    let twice = check(&api, id);
    assert_eq!(twice["health"]["state"], "failing", "{twice}");
    let listed = api.get("/api/organizations");
    assert_eq!(listed.body["organizations"][0]["health"]["state"], "failing", "{}", listed.text);
}

/// A request to Microsoft that does not answer is abandoned after `MICROSOFT_TIMEOUT_SECS` and
/// counts as Microsoft being unavailable: "Check now" answers, and the health stays as it was.
#[test]
fn a_microsoft_request_that_does_not_answer_is_abandoned_after_the_timeout() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let mut vars = emulator.worker_vars();
    vars.push(("MICROSOFT_TIMEOUT_SECS".to_owned(), "2".to_owned()));
    let stack = Stack::start_with(&vars);
    let api = Api::new(&stack.base_url, &stack.token("acct-timeout"));
    let org = saved_organization(&emulator, &api);
    let id = org["id"].as_str().unwrap();
    assert_eq!(check(&api, id)["health"]["state"], "healthy");

    // Microsoft's token endpoint takes 20 s to answer from now on.
    emulator.control("faults", json!({"kind": "latency", "route": "token", "ms": 20_000}));
    let started = Instant::now();
    let checked = check(&api, id);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "abandoned after 2 s, not after Microsoft's 20: {took:?}");
    assert_eq!(checked["health"]["state"], "healthy", "no answer is not a failure: {checked}");
}

/// "Check now" is limited per organization of an account: 10 a minute (`CHECK_RATE_LIMIT`). The
/// limiter's windows are whole minutes, so a run that crosses one may get up to 20 through.
#[test]
fn check_now_is_limited_per_organization() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-check-limit"));
    let id = saved_organization(&emulator, &api)["id"].as_str().unwrap().to_owned();
    let url = format!("/api/organizations/{id}/check");
    let limited =
        system_tests::portal::until_rate_limited(|| api.post(&url, json!({})), 10..=20, "checks_rate_limited");
    assert!(limited.body["error"]["message"].as_str().unwrap().contains("wait a minute"), "{}", limited.text);
    // The organization and its health are as they were.
    let shown = api.get(&format!("/api/organizations/{id}"));
    assert_eq!(shown.body["health"]["state"], "healthy", "{}", shown.text);
    // Counted per account and organization: another ID of this account, and this ID for another
    // account, are not limited (404: neither is theirs).
    let elsewhere = api.post("/api/organizations/00000000-0000-4000-8000-000000000000/check", json!({}));
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.text);
    let other = Api::new(&stack.base_url, &stack.token("acct-check-limit-2"));
    assert_eq!(other.post(&url, json!({})).status, 404);
}

/// A repair start runs a health check (a token request per application) before its sign-in: it
/// counts against the same per-organization limit as "Check now", so a loop of repair starts
/// cannot make the edge flood Microsoft with the tenant's applications' token requests.
#[test]
fn a_repair_start_counts_against_check_nows_limit() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-repair-limit"));
    let org = saved_organization(&emulator, &api);
    let id = org["id"].as_str().unwrap();
    let app_id = org["application_id"].as_str().unwrap();
    let checks = || {
        emulator
            .requests()
            .iter()
            .filter(|r| r["grant_type"] == "client_credentials" && r["client_id"] == app_id)
            .count()
    };
    let before = checks();
    let start =
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "repair", "organization_id": id}});
    let mut limited = vec![];
    for _ in 0..40 {
        let r = api.post("/api/signins", start.clone());
        if r.status == 429 && r.body["error"]["code"] == "checks_rate_limited" {
            limited.push(r);
        } else if r.status == 200 || r.status == 201 {
            let sign_in = r.body["id"].as_str().unwrap().to_owned();
            api.delete(&format!("/api/signins/{sign_in}"));
        }
    }
    let made = checks() - before;
    assert!(made <= 20, "40 repair starts made {made} checks at Microsoft; the limit is 10 a minute");
    assert!(limited.len() >= 20, "refused as Check now is: {} of 40", limited.len());
    assert!(limited[0].body["error"]["message"].as_str().unwrap().contains("wait a minute"), "{}", limited[0].text);
    // "Check now" shares the count.
    let r = api.post(&format!("/api/organizations/{id}/check"), json!({}));
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (429, Some("checks_rate_limited")), "{}", r.text);
}

#[test]
fn the_cron_trigger_checks_the_organizations_that_are_due() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-health-cron"));
    let org = saved_organization(&emulator, &api);
    let id = org["id"].as_str().unwrap();
    let ran = ureq::get(&stack.url("/__scheduled?cron=*/5+*+*+*+*")).call();
    assert!(ran.is_ok(), "{ran:?}\n{}", stack.log());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = api.get(&format!("/api/organizations/{id}"));
        if o.body["health"]["state"] == "healthy" {
            assert!(o.body["health"]["checked_at"].is_string());
            break;
        }
        assert!(Instant::now() < deadline, "not checked: {}\n{}", o.text, stack.log());
        std::thread::sleep(Duration::from_millis(300));
    }
    // Checked: the next check is a day away, so another run leaves it alone.
    let next = stack.local_d1(&format!("SELECT next_check_at_ms FROM organizations WHERE id = '{id}'"));
    let next: i64 = next.trim().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!(next > now + 23 * 3_600_000, "{next}");
}

#[test]
fn removed_consent_and_a_disabled_application_are_named() {
    let (emulator, stack) = start();
    let api = Api::new(&stack.base_url, &stack.token("acct-health-consent"));
    let org = saved_organization(&emulator, &api);
    let id = org["id"].as_str().unwrap();
    assert_eq!(check(&api, id)["health"]["state"], "healthy");

    // The administrator takes back the consent to one Graph permission.
    let admin = emulator.admin_token(fixture::ADMIN);
    let app_id = org["application_id"].as_str().unwrap();
    let sp = emulator.graph(&admin, "GET", &format!("/servicePrincipals?$filter=appId eq '{app_id}'"), None)["value"]
        [0]
    .clone();
    let assignments = emulator.graph(
        &admin,
        "GET",
        &format!("/servicePrincipals/{}/appRoleAssignments", sp["id"].as_str().unwrap()),
        None,
    );
    let graph = emulator.graph(
        &admin,
        "GET",
        "/servicePrincipals?$filter=appId eq '00000003-0000-0000-c000-000000000000'&$select=id,appRoles",
        None,
    )["value"][0]
        .clone();
    let mail =
        graph["appRoles"].as_array().unwrap().iter().find(|r| r["value"] == "Mail.ReadWrite").unwrap()["id"].clone();
    let assignment = assignments["value"].as_array().unwrap().iter().find(|a| a["appRoleId"] == mail).unwrap().clone();
    emulator.graph(
        &admin,
        "DELETE",
        &format!(
            "/servicePrincipals/{}/appRoleAssignedTo/{}",
            graph["id"].as_str().unwrap(),
            assignment["id"].as_str().unwrap()
        ),
        None,
    );
    let missing = check(&api, id);
    assert_eq!(missing["health"]["state"], "needs_attention", "{missing}");
    assert_eq!(missing["health"]["reason"], "permissions_missing");
    assert_eq!(missing["health"]["permissions"], json!(["Mail.ReadWrite"]));

    // The administrator disables the application in Enterprise applications.
    emulator.graph(
        &admin,
        "PATCH",
        &format!("/servicePrincipals/{}", sp["id"].as_str().unwrap()),
        Some(json!({"accountEnabled": false})),
    );
    let disabled = check(&api, id);
    assert_eq!(disabled["health"]["state"], "failing", "a second failed check in a row: {disabled}");
    assert_eq!(disabled["health"]["reason"], "service_principal_disabled");
}
