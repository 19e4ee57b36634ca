//! The device-code sign-in broker and automatic registration, end to end: the real worker under
//! `wrangler dev` (local D1 and Durable Objects) against the Microsoft emulator.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::{token_with, Answer, Api};
use system_tests::stack::Stack;

fn start(args: &[&str]) -> (Emulator, Stack) {
    let emulator = Emulator::start_with(args);
    let stack = Stack::start_with(&emulator.worker_vars());
    (emulator, stack)
}

/// Fast pacing so tests do not wait Microsoft's 5 s between polls.
const FAST: &[&str] = &["--device-code-interval", "1"];

fn start_signin(api: &Api, cloud: &str) -> Answer {
    api.post("/api/signins", json!({"cloud": cloud, "method": "device_code"}))
}

/// Polls the status until `done` holds, failing with the last status after `limit`.
fn wait_status(api: &Api, id: &str, limit: Duration, done: impl Fn(&Value) -> bool) -> Value {
    api.wait_status(id, limit, done)
}

fn graph_requests(emulator: &Emulator) -> Vec<Value> {
    emulator.requests().into_iter().filter(|r| r["path"].as_str().is_some_and(|p| p.starts_with("/v1.0"))).collect()
}

/// Sequential round trips: a request that arrived after every earlier one was answered starts a
/// new round trip; requests overlapping in time ran in parallel.
fn round_trips(graph: &[Value]) -> usize {
    let mut spans: Vec<(i64, i64)> =
        graph.iter().map(|r| (r["t_ms"].as_i64().unwrap(), r["done_ms"].as_i64().unwrap())).collect();
    spans.sort();
    let mut trips = 0;
    let mut last_done = i64::MIN;
    for (start, done) in spans {
        if start >= last_done {
            trips += 1;
        }
        last_done = last_done.max(done);
    }
    trips
}

#[test]
fn health_needs_no_session_but_everything_else_does() {
    let stack = Stack::start();
    assert_eq!(ureq::get(&stack.url("/api/health")).call().unwrap().status(), 200);
    let secret = stack.session_secret.clone();
    let now = system_tests::portal::unix_now();
    let refused = [
        String::new(),
        "not-a-jwt".to_owned(),
        token_with(&secret, |c| c.exp = now - 300),
        token_with(&secret, |c| c.aud = "another-app".into()),
        token_with(&secret, |c| c.exp = now + 7200),
        token_with("a-different-secret-a-different-secret", |_| {}),
        {
            let t = token_with(&secret, |_| {});
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            parts[1] = parts[1].chars().rev().collect();
            parts.join(".")
        },
    ];
    for token in refused {
        let a = Api::new(&stack.base_url, &token).get("/api/session");
        assert_eq!(a.status, 401, "{token}: {}", a.text);
        assert_eq!(a.body["error"]["code"], "unauthenticated");
    }
    let a = Api::new(&stack.base_url, &stack.token("acct-1")).get("/api/session");
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["account"], "acct-1");
}

#[test]
fn device_code_sign_in_registers_one_then_four_applications() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-happy"));
    let started = start_signin(&api, "global");
    assert_eq!(started.status, 201, "{}", started.text);
    assert!(!started.text.contains("\"device_code\":"), "the device code never reaches the browser");
    assert_eq!(started.body["method"], "device_code");
    let id = started.body["id"].as_str().unwrap().to_owned();
    let code = started.body["user_code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 9);
    assert!(started.body["verification_uri"].as_str().unwrap().ends_with("/devicelogin"));
    assert_eq!(started.body["state"], "waiting_for_sign_in");

    // Every answer takes 150 ms, as over a real network: requests sent in parallel then overlap in
    // the log, and sequential ones do not, so round trips can be counted from it.
    emulator.control("faults", json!({"kind": "latency", "ms": 150}));
    emulator.delete("requests");
    emulator.approve(&code, fixture::ADMIN);
    let signed_in = wait_status(&api, &id, Duration::from_secs(10), |s| s["state"] == "signed_in");
    assert!(signed_in["user_code"].is_null());
    let confirmed = api.post(&format!("/api/signins/{id}/confirm"), json!({}));
    assert_eq!(confirmed.status, 200, "{}", confirmed.text);
    let done = wait_status(&api, &id, Duration::from_secs(60), |s| s["state"] == "completed" || s["state"] == "failed");
    assert_eq!(done["state"], "completed", "{done}");
    let result = &done["result"];
    assert_eq!(result["tenant_id"], fixture::CONTOSO);
    assert_eq!(result["tenant_name"], "Contoso");
    assert_eq!(result["applications"], 1);
    assert_eq!(result["secret_stored"], true);
    assert!(done["progress"].as_array().unwrap().iter().all(|s| s["state"] == "done"), "{done}");

    let apps = emulator.applications();
    assert_eq!(apps.len(), 1, "{apps:?}");
    let graph = graph_requests(&emulator);
    assert!(
        !graph.is_empty() && graph.len() <= 8,
        "registering the main application took {} Graph requests: {:?}",
        graph.len(),
        emulator.requests()
    );
    println!("BUDGET main application: {} Graph requests, {} round trips", graph.len(), round_trips(&graph));
    assert!(round_trips(&graph) <= 5);

    emulator.delete("requests");
    let more = api.post(&format!("/api/signins/{id}/applications"), json!({}));
    assert_eq!(more.status, 200, "{}", more.text);
    let done = wait_status(&api, &id, Duration::from_secs(60), |s| {
        s["state"] == "completed" && s["result"]["applications"] == 4 || s["state"] == "failed"
    });
    assert_eq!(done["result"]["applications"], 4, "{done}");
    assert_eq!(emulator.applications().len(), 4);
    // The main application has every permission; each additional one its workload's only.
    let state = emulator.get("state");
    let mut per_principal: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for r in state["role_assignments"].as_array().unwrap() {
        let values = per_principal.entry(r["principalId"].as_str().unwrap().to_owned()).or_default();
        values.push(r["appRoleValue"].as_str().unwrap().to_owned());
    }
    let mut sizes: Vec<usize> = per_principal.values().map(Vec::len).collect();
    sizes.sort_unstable();
    assert_eq!(sizes.len(), 4, "{per_principal:?}");
    assert!(sizes[..3].iter().all(|s| *s < sizes[3]), "the additional applications are not clones: {sizes:?}");
    let with = |role: &str| per_principal.values().filter(|v| v.iter().any(|x| x == role)).count();
    assert_eq!(with("Sites.FullControl.All"), 2, "the main and the OneDrive/SharePoint application");
    assert_eq!(with("MailboxItem.ImportExport.All"), 2, "the main and the Exchange application");
    assert_eq!(with("Organization.Read.All"), 4, "every application can be checked");
    let log = stack.log();
    assert!(!log.contains("eyJ"), "no token (JWT) in the worker's log");
    assert!(!log.contains("device_code") && !log.contains("secretText"), "no device code or secret in the log");
    let graph = graph_requests(&emulator);
    assert!(
        !graph.is_empty() && graph.len() <= 10,
        "the 3 additional applications took {} Graph requests",
        graph.len()
    );
    println!("BUDGET 3 additional applications: {} Graph requests, {} round trips", graph.len(), round_trips(&graph));
    assert!(round_trips(&graph) <= 5);
}

#[test]
fn polling_respects_the_interval() {
    let (emulator, stack) = start(&["--device-code-interval", "2"]);
    let api = Api::new(&stack.base_url, &stack.token("acct-pace"));
    let started = start_signin(&api, "global");
    let id = started.body["id"].as_str().unwrap().to_owned();
    // Three polls, as the emulator logged them (each arrival is the emulator's clock).
    let deadline = Instant::now() + Duration::from_secs(30);
    let polls: Vec<i64> = loop {
        let polls: Vec<i64> = emulator
            .requests()
            .iter()
            .filter(|r| r["grant_type"].as_str().is_some_and(|g| g.ends_with("device_code")))
            .map(|r| r["t_ms"].as_i64().unwrap())
            .collect();
        if polls.len() >= 3 {
            break polls;
        }
        assert!(Instant::now() < deadline, "it polls: {polls:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for w in polls.windows(2) {
        assert!(w[1] - w[0] >= 2000, "polled {} ms after the previous poll", w[1] - w[0]);
    }
    let code = api.get(&format!("/api/signins/{id}")).body["user_code"].as_str().unwrap().to_owned();
    let approved_at = Instant::now();
    emulator.approve(&code, fixture::ADMIN);
    wait_status(&api, &id, Duration::from_secs(10), |s| s["state"] == "signed_in");
    // At most one interval (and the 250 ms margin) until the next poll, then the token exchange and
    // this test's own 250 ms between reads; 2.5 s over the interval leaves room for a late alarm on
    // a busy machine, and still fails a poller that waits a second interval (or backs off).
    assert!(approved_at.elapsed() <= Duration::from_millis(4_500), "noticed within interval + 2.5 s");
}

#[test]
fn a_declined_sign_in_fails_with_the_catalogues_message() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-decline"));
    let started = start_signin(&api, "global");
    let id = started.body["id"].as_str().unwrap();
    emulator.decline(started.body["user_code"].as_str().unwrap());
    let s = wait_status(&api, id, Duration::from_secs(10), |s| s["state"] == "failed");
    assert_eq!(s["error"]["code"], "sign_in_declined");
}

#[test]
fn an_expired_code_can_be_renewed() {
    let (_emulator, stack) = start(&["--device-code-interval", "1", "--device-code-expires-in", "3"]);
    let api = Api::new(&stack.base_url, &stack.token("acct-expire"));
    let started = start_signin(&api, "global");
    let id = started.body["id"].as_str().unwrap();
    let first = started.body["user_code"].as_str().unwrap().to_owned();
    let s = wait_status(&api, id, Duration::from_secs(15), |s| s["state"] == "expired");
    assert_eq!(s["error"]["code"], "code_expired");
    assert!(s["user_code"].is_null());
    let renewed = api.post(&format!("/api/signins/{id}/renew"), json!({}));
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(renewed.body["state"], "waiting_for_sign_in");
    assert_ne!(renewed.body["user_code"].as_str().unwrap(), first);
}

#[test]
fn a_renewal_counts_against_the_limit_again() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-renew-limit"));
    let declined = start_signin(&api, "global");
    let id = declined.body["id"].as_str().unwrap().to_owned();
    emulator.decline(declined.body["user_code"].as_str().unwrap());
    wait_status(&api, &id, Duration::from_secs(10), |s| s["state"] == "failed");
    // The failed sign-in freed its slot; three others take all of them.
    for _ in 0..3 {
        assert_eq!(start_signin(&api, "global").status, 201);
    }
    let renewed = api.post(&format!("/api/signins/{id}/renew"), json!({}));
    assert_eq!(renewed.status, 429, "{}", renewed.text);
    assert_eq!(renewed.body["error"]["code"], "too_many_sign_ins");
}

#[test]
fn a_non_admin_account_cannot_register_and_nothing_is_left() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-user"));
    let started = start_signin(&api, "global");
    let id = started.body["id"].as_str().unwrap();
    api.post(&format!("/api/signins/{id}/confirm"), json!({}));
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::USER);
    let s = wait_status(&api, id, Duration::from_secs(30), |s| s["state"] == "failed" || s["state"] == "completed");
    assert_eq!(s["state"], "failed", "{s}");
    assert_eq!(s["error"]["code"], "admin_consent_required");
    assert!(s["error"]["message"].as_str().unwrap().contains("Global Administrator"));
    assert!(emulator.applications().is_empty());
}

#[test]
fn another_account_cannot_see_a_sign_in_and_the_limit_is_enforced() {
    let (_emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-a"));
    let other = Api::new(&stack.base_url, &stack.token("acct-b"));
    let mut ids = vec![];
    for _ in 0..3 {
        let a = start_signin(&api, "global");
        assert_eq!(a.status, 201, "{}", a.text);
        ids.push(a.body["id"].as_str().unwrap().to_owned());
    }
    let fourth = start_signin(&api, "usgov_dod");
    assert_eq!(fourth.status, 429, "{}", fourth.text);
    assert_eq!(fourth.body["error"]["code"], "too_many_sign_ins");
    for id in &ids {
        for a in [
            other.get(&format!("/api/signins/{id}")),
            other.post(&format!("/api/signins/{id}/confirm"), json!({})),
            other.delete(&format!("/api/signins/{id}")),
            other.post(&format!("/api/signins/{id}/renew"), json!({})),
            other.post(&format!("/api/signins/{id}/applications"), json!({})),
        ] {
            assert_eq!(a.status, 404, "{}", a.text);
            assert!(!a.text.contains(id.as_str()));
        }
    }
    let listed = other.get("/api/signins");
    assert_eq!(listed.body["sign_ins"].as_array().map(Vec::len), Some(0), "another account's sign-ins are not listed");
    let cancelled = api.delete(&format!("/api/signins/{}", ids[0]));
    assert_eq!(cancelled.body["state"], "cancelled");
    assert_eq!(start_signin(&api, "china").status, 201, "a cancelled sign-in frees its slot");
    assert_eq!(start_signin(&other, "global").status, 201, "limits are per account");
}

#[test]
fn bad_requests_get_clear_errors() {
    let (_emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-bad"));
    let a = api.post("/api/signins", json!({"cloud": "mars", "method": "device_code"}));
    assert_eq!(a.status, 400);
    assert!(a.body["error"]["message"].as_str().unwrap().contains("mars"));
    let a = api.post("/api/signins", json!({"cloud": "china", "method": "credential"}));
    assert_eq!(a.status, 422);
    assert_eq!(a.body["error"]["field"], "method");
    let a = api.get("/api/signins/00000000-0000-4000-8000-000000000000");
    assert_eq!(a.status, 404);
}

/// Starts a sign-in, confirms it, approves it as the Contoso admin; returns its ID.
fn signed_in_and_confirmed(emulator: &Emulator, api: &Api) -> String {
    let started = start_signin(api, "global");
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    api.post(&format!("/api/signins/{id}/confirm"), json!({}));
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    id
}

fn finished(s: &Value) -> bool {
    s["state"] == "completed" || s["state"] == "failed"
}

#[test]
fn conditional_access_blocks_the_device_code_and_points_to_manual() {
    let (emulator, stack) = start(FAST);
    emulator.control("faults", json!({"kind": "conditional_access_block", "tenant": fixture::CONTOSO}));
    let api = Api::new(&stack.base_url, &stack.token("acct-ca"));
    let id = signed_in_and_confirmed(&emulator, &api);
    let s = wait_status(&api, &id, Duration::from_secs(15), finished);
    assert_eq!(s["error"]["code"], "blocked_by_conditional_access", "{s}");
    assert!(s["error"]["message"].as_str().unwrap().contains("Manual method"));
    assert!(s["error"]["microsoft"]["correlation_id"].is_string(), "Microsoft's correlation ID is passed on: {s}");
}

#[test]
fn a_tenant_that_refuses_every_secret_still_gets_its_certificates() {
    let (emulator, stack) = start(FAST);
    emulator.control("faults", json!({"kind": "secrets_forbidden", "tenant": fixture::CONTOSO}));
    let api = Api::new(&stack.base_url, &stack.token("acct-policy"));
    let id = signed_in_and_confirmed(&emulator, &api);
    let s = wait_status(&api, &id, Duration::from_secs(30), finished);
    assert_eq!(s["state"], "completed", "no secret is asked for: {s}");
    let apps = emulator.applications();
    assert!(apps[0]["passwordCredentials"].as_array().unwrap().is_empty());
    assert_eq!(apps[0]["keyCredentials"].as_array().unwrap().len(), 1);
    let shown = &s["result"]["certificates"][0];
    assert_eq!(shown["application_id"], apps[0]["appId"], "{s}");
    assert_eq!(
        shown["info"]["thumbprint_sha1"].as_str().unwrap().to_ascii_uppercase(),
        apps[0]["keyCredentials"][0]["thumbprint"].as_str().unwrap().to_ascii_uppercase()
    );
    assert!(!s.to_string().contains("PRIVATE") && s["result"]["certificates"][0].get("pkcs8_base64").is_none());
}

#[test]
fn throttling_and_unavailability_are_retried_after_retry_after() {
    let (emulator, stack) = start(FAST);
    emulator.control(
        "faults",
        json!([
            {"kind": "throttle", "route": "graph", "status": 429, "retry_after": 1, "times": 2},
            {"kind": "throttle", "route": "token", "status": 503, "retry_after": 1, "times": 2},
        ]),
    );
    let api = Api::new(&stack.base_url, &stack.token("acct-throttle"));
    let id = signed_in_and_confirmed(&emulator, &api);
    let s = wait_status(&api, &id, Duration::from_secs(60), finished);
    assert_eq!(s["state"], "completed", "{s}");
    let log = emulator.requests();
    assert!(log.iter().filter(|r| r["status"] == 429 || r["status"] == 503).count() >= 4, "the faults fired: {log:?}");
    assert_eq!(emulator.applications().len(), 1);
}

#[test]
fn replication_delay_of_twenty_seconds_is_waited_out() {
    let (emulator, stack) = start(FAST);
    emulator.control(
        "faults",
        json!([
            {"kind": "replication_delay", "target": "service_principal", "ms": 20000},
            {"kind": "replication_delay", "target": "credential", "ms": 20000},
        ]),
    );
    let api = Api::new(&stack.base_url, &stack.token("acct-replication"));
    let id = signed_in_and_confirmed(&emulator, &api);
    let waiting = wait_status(&api, &id, Duration::from_secs(30), |s| {
        s["progress"].as_array().is_some_and(|p| p.iter().any(|step| step["state"] == "waiting")) || finished(s)
    });
    assert_eq!(waiting["state"], "registering", "the admin sees that it waits for Microsoft: {waiting}");
    let s = wait_status(&api, &id, Duration::from_secs(150), finished);
    assert_eq!(s["state"], "completed", "{s}");
    assert_eq!(emulator.applications().len(), 1);
}

#[test]
fn a_worker_restart_during_registration_resumes_without_orphans() {
    let (emulator, mut stack) = start(FAST);
    emulator.control("faults", json!({"kind": "latency", "ms": 700, "route": "graph"}));
    let api = Api::new(&stack.base_url, &stack.token("acct-restart"));
    let id = signed_in_and_confirmed(&emulator, &api);
    wait_status(&api, &id, Duration::from_secs(20), |s| s["state"] == "registering");
    stack.restart();
    let api = Api::new(&stack.base_url, &stack.token("acct-restart"));
    let s = wait_status(&api, &id, Duration::from_secs(90), finished);
    assert_eq!(s["state"], "completed", "{s}");
    let apps = emulator.applications();
    assert_eq!(apps.len(), 1, "nothing was created twice: {apps:?}");
}

#[test]
fn two_sign_ins_for_the_same_tenant_at_once_each_register_their_own() {
    let (emulator, stack) = start(FAST);
    let a = Api::new(&stack.base_url, &stack.token("acct-twin-a"));
    let b = Api::new(&stack.base_url, &stack.token("acct-twin-b"));
    let ia = signed_in_and_confirmed(&emulator, &a);
    let ib = signed_in_and_confirmed(&emulator, &b);
    let sa = wait_status(&a, &ia, Duration::from_secs(60), finished);
    let sb = wait_status(&b, &ib, Duration::from_secs(60), finished);
    assert_eq!((sa["state"].as_str(), sb["state"].as_str()), (Some("completed"), Some("completed")), "{sa} {sb}");
    assert_ne!(sa["result"]["application_id"], sb["result"]["application_id"]);
    assert_eq!(emulator.applications().len(), 2);
}

/// A device-code sign-in of `user` in `cloud`, confirmed and approved, to its end.
fn registered(emulator: &Emulator, api: &Api, cloud: &str, user: &str) -> Value {
    let started = start_signin(api, cloud);
    assert_eq!(started.status, 201, "{}", started.text);
    let id = started.body["id"].as_str().unwrap().to_owned();
    api.post(&format!("/api/signins/{id}/confirm"), json!({}));
    emulator.approve(started.body["user_code"].as_str().unwrap(), user);
    wait_status(api, &id, Duration::from_secs(60), |s| s["state"] == "completed" || s["state"] == "failed")
}

/// The app role values granted in `tenant`.
fn granted_in(emulator: &Emulator, tenant: &str) -> Vec<String> {
    let state = emulator.get("state");
    state["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["tenant"] == tenant)
        .filter_map(|r| r["appRoleValue"].as_str().map(str::to_owned))
        .collect()
}

const GRAPH_MAILBOX: [&str; 3] =
    ["MailboxItem.Read.All", "MailboxItem.ImportExport.All", "MailboxFolder.ReadWrite.All"];

#[test]
fn the_2026_permission_set_follows_the_cloud() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-perms"));
    let done = registered(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(done["state"], "completed", "{done}");
    let global = granted_in(&emulator, fixture::CONTOSO);
    for role in GRAPH_MAILBOX.iter().chain(&["full_access_as_app", "Sites.FullControl.All", "User.Read.All"]) {
        assert!(global.iter().any(|g| g == role), "{role} granted in the Global cloud: {global:?}");
    }

    // GCC High has no Graph mailbox export: not asked for, and the registration still completes.
    let done = registered(&emulator, &api, "usgov_gcc_high", "admin@fabrikamgov.onmicrosoft.us");
    assert_eq!(done["state"], "completed", "{done}");
    let gov = granted_in(&emulator, "2a7e9c14-3b5d-4e6f-8a90-b1c2d3e4f501");
    assert!(!gov.is_empty() && gov.iter().all(|g| !GRAPH_MAILBOX.contains(&g.as_str())), "{gov:?}");
    assert!(gov.iter().any(|g| g == "full_access_as_app"), "EWS stays as the bridge: {gov:?}");
    assert_eq!(global.len(), gov.len() + GRAPH_MAILBOX.len());
}

#[test]
fn a_tenant_whose_sharepoint_lacks_a_permission_gets_its_name_and_keeps_nothing() {
    let (emulator, stack) = start(FAST);
    let mut fixture_json = emulator.get("fixture");
    let contoso =
        fixture_json["tenants"].as_array_mut().unwrap().iter_mut().find(|t| t["id"] == fixture::CONTOSO).unwrap();
    contoso["withheld_app_roles"] = json!(["Sites.FullControl.All"]);
    emulator.control("reset", fixture_json);

    let api = Api::new(&stack.base_url, &stack.token("acct-withheld"));
    let done = registered(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "permission_unavailable");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("Sites.FullControl.All (Office 365 SharePoint Online)"), "{message}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !emulator.applications().is_empty() {
        assert!(Instant::now() < deadline, "the created application was not deleted: {:?}", emulator.applications());
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(granted_in(&emulator, fixture::CONTOSO).is_empty(), "nothing was granted");
}

/// Restarts the emulator's state with Contoso under `policy` (Microsoft's tenantAppManagementPolicy).
fn contoso_with_policy(emulator: &Emulator, password_restrictions: Value, key_restrictions: Value) {
    let mut fixture_json = emulator.get("fixture");
    let contoso =
        fixture_json["tenants"].as_array_mut().unwrap().iter_mut().find(|t| t["id"] == fixture::CONTOSO).unwrap();
    contoso["app_management_policy"] = json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "Default app management tenant policy",
        "isEnabled": true,
        "applicationRestrictions": {"passwordCredentials": password_restrictions, "keyCredentials": key_restrictions},
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
    });
    emulator.control("reset", fixture_json);
}

#[test]
fn a_tenant_policy_that_caps_certificates_at_180_days_gets_one_inside_it() {
    let (emulator, stack) = start(FAST);
    contoso_with_policy(
        &emulator,
        json!([]),
        json!([{"restrictionType": "asymmetricKeyLifetime", "state": "enabled", "maxLifetime": "P180D",
                "restrictForAppsCreatedAfterDateTime": "2019-10-19T10:37:00Z"}]),
    );
    let api = Api::new(&stack.base_url, &stack.token("acct-policy-cap"));
    let done = registered(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(done["state"], "completed", "{done}");
    let apps = emulator.applications();
    let key = &apps[0]["keyCredentials"][0];
    let days = |field: &str| {
        let s = key[field].as_str().unwrap();
        let d = chrono_days(s);
        assert!(d > 0, "{s}");
        d
    };
    let lifetime = days("endDateTime") - days("startDateTime");
    assert!((170..=180).contains(&lifetime), "a certificate of {lifetime} days under a 180-day policy");
}

#[test]
fn a_tenant_policy_that_blocks_secrets_does_not_stop_the_certificates() {
    let (emulator, stack) = start(FAST);
    contoso_with_policy(
        &emulator,
        json!([{"restrictionType": "passwordAddition", "maxLifetime": null,
                "restrictForAppsCreatedAfterDateTime": "2019-10-19T10:37:00Z"}]),
        json!([]),
    );
    let api = Api::new(&stack.base_url, &stack.token("acct-policy-block"));
    let done = registered(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(done["state"], "completed", "{done}");
    assert!(emulator.applications()[0]["passwordCredentials"].as_array().unwrap().is_empty());
}

#[test]
fn a_tenant_policy_that_requires_a_trusted_authority_tells_the_admin_to_upload_a_pfx_and_leaves_nothing() {
    let (emulator, stack) = start(FAST);
    contoso_with_policy(
        &emulator,
        json!([]),
        json!([{"restrictionType": "trustedCertificateAuthority",
                "certificateBasedApplicationConfigurationIds": ["eec5ba11-2fc0-4113-83a2-ed986ed13743"],
                "restrictForAppsCreatedAfterDateTime": "2019-10-19T10:37:00Z"}]),
    );
    let api = Api::new(&stack.base_url, &stack.token("acct-policy-ca"));
    let done = registered(&emulator, &api, "global", fixture::ADMIN);
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["error"]["code"], "trusted_certificate_required");
    let message = done["error"]["message"].as_str().unwrap();
    assert!(message.contains("upload the .pfx") && message.contains("Manual method"), "{message}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !emulator.applications().is_empty() {
        assert!(Instant::now() < deadline, "left behind: {:?}", emulator.applications());
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Days since the epoch of an RFC 3339 date (`YYYY-MM-DD…`), by the civil calendar.
fn chrono_days(s: &str) -> i64 {
    let (y, m, d): (i64, i64, i64) = (s[0..4].parse().unwrap(), s[5..7].parse().unwrap(), s[8..10].parse().unwrap());
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Only a sign-in started for deleting an organization's applications deletes them: one for the
/// account's own organization, in its cloud. A sign-in started for anything else (here the
/// wizard's, signed in and not yet confirmed, as any user of the account can list it) is refused,
/// and the organization and its application stay.
#[test]
fn only_a_sign_in_started_for_the_removal_deletes_an_organizations_applications() {
    let (emulator, stack) = start(FAST);
    let api = Api::new(&stack.base_url, &stack.token("acct-removal"));
    let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    let id = org["id"].as_str().unwrap();
    let app_id = org["application_id"].as_str().unwrap();
    let held = |e: &Emulator| e.applications().iter().any(|a| a["appId"] == app_id);
    assert!(held(&emulator));

    // Started only for the account's own organization, in its cloud, and never with a repair.
    let removal = |body: Value, api: &Api| api.post("/api/signins", body);
    let other = Api::new(&stack.base_url, &stack.token("acct-removal-other"));
    let body =
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "remove", "organization_id": id}});
    assert_eq!(removal(body.clone(), &other).status, 404);
    let china = removal(
        json!({"cloud": "china", "method": "device_code", "purpose": {"kind": "remove", "organization_id": id}}),
        &api,
    );
    assert_eq!((china.status, china.body["error"]["field"].as_str()), (422, Some("cloud")), "{}", china.text);
    // A purpose names one organization, by the ID the service issued: anything else names none.
    let forged = json!({"cloud": "global", "method": "device_code",
                        "purpose": {"kind": "remove", "organization_id": format!("{id}' OR 1=1")}});
    let forged = removal(forged, &api);
    assert_eq!(
        (forged.status, forged.body["error"]["code"].as_str()),
        (400, Some("malformed_request")),
        "{}",
        forged.text
    );

    // The attack: another sign-in of the account, signed in by the tenant's admin.
    let started = start_signin(&api, "global");
    let wizard = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    wait_status(&api, &wizard, Duration::from_secs(20), |s| s["state"] == "signed_in");
    let refused = api.delete_organization(id, json!({"confirm": true, "remove_with_sign_in": wizard}));
    assert_eq!((refused.status, refused.body["error"]["code"].as_str()), (404, Some("not_found")), "{}", refused.text);
    assert!(held(&emulator), "the application is still in the tenant");
    assert_eq!(api.get(&format!("/api/organizations/{id}")).status, 200, "and the organization in the service");

    // The removal's own sign-in deletes it.
    let started = removal(body, &api);
    assert_eq!(started.status, 201, "{}", started.text);
    let sign_in = started.body["id"].as_str().unwrap().to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), fixture::ADMIN);
    wait_status(&api, &sign_in, Duration::from_secs(20), |s| s["state"] == "signed_in");
    let deleted = api.delete_organization(id, json!({"confirm": true, "remove_with_sign_in": sign_in}));
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(!held(&emulator), "the application is gone from the tenant");
}

#[test]
fn a_device_code_error_answered_with_200_is_named_as_with_400() {
    let (emulator, stack) = start(FAST);
    // The operator's public client is unknown to Microsoft (say, deleted): the device code request fails.
    emulator.reset_with_public_clients(|client| client["client_id"] = json!("11111111-2222-3333-4444-555555555555"));
    let api = Api::new(&stack.base_url, &stack.token("acct-dc-200"));
    let with_400 = start_signin(&api, "global");
    emulator.control("faults", json!({"kind": "device_code_errors_on_200"}));
    let with_200 = start_signin(&api, "global");
    let code = |a: &Answer| a.body["error"]["code"].as_str().map(str::to_owned);
    assert!(code(&with_400).is_some(), "{}", with_400.text);
    assert_ne!(code(&with_400).as_deref(), Some("microsoft_unavailable"), "{}", with_400.text);
    assert_eq!((with_200.status, code(&with_200)), (with_400.status, code(&with_400)), "{}", with_200.text);
    let statuses: Vec<u64> = emulator
        .requests()
        .iter()
        .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with("/devicecode")))
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [400, 200], "Microsoft's answers, as the emulator sent them");
}
