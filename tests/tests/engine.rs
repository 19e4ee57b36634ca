//! The backup engine's API against the emulator: its own ES256 tokens (refused in every wrong
//! form with one answer, never a portal session, and never accepted on portal routes), the
//! account's organizations without a secret, tokens for Graph, SharePoint and Exchange minted
//! once and then cached (the emulator's log counts the calls, also for concurrent requests), a
//! workload's permissions, a revoked credential named and reflected in the health, the audit on
//! the edit page's endpoint with no token anywhere in D1 or the logs, and the account's rate limit.

use base64::Engine as _;
use serde_json::{json, Value};
use system_tests::emulator::{fixture, Emulator};
use system_tests::engine::{engine_keys, EngineKey};
use system_tests::portal::{unix_now, Api};
use system_tests::stack::Stack;

const ACCOUNT: &str = "acct-engine";
const OTHER: &str = "acct-engine-other";

struct World {
    emulator: Emulator,
    stack: Stack,
    key: EngineKey,
    org: Value,
}

fn start() -> World {
    start_with(&[])
}

fn start_with(extra: &[(&str, &str)]) -> World {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let key = EngineKey::new("engine-1");
    let mut vars = emulator.worker_vars();
    vars.push(engine_keys(&[(&key, &[ACCOUNT, OTHER])]));
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let stack = Stack::start_with(&vars);
    let api = Api::new(&stack.base_url, &stack.token(ACCOUNT));
    let org = system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));
    World { emulator, stack, key, org }
}

/// A call with an `Authorization` header (or none).
fn call(stack: &Stack, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, Value, String) {
    let mut req = ureq::request(method, &stack.url(path));
    if let Some(b) = bearer {
        req = req.set("authorization", &format!("Bearer {b}"));
    }
    let resp = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match resp {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = resp.status();
    let retry = resp.header("retry-after").unwrap_or_default().to_owned();
    let text = resp.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), retry)
}

fn token_path(org: &Value) -> String {
    format!("/api/engine/organizations/{}/token", org["id"].as_str().unwrap())
}

/// The claims of a JWT, unverified.
fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The emulator's client-credentials token requests of application `app_id`.
fn minted(emulator: &Emulator, app_id: &str) -> usize {
    emulator.requests().iter().filter(|r| r["grant_type"] == "client_credentials" && r["client_id"] == app_id).count()
}

#[test]
fn tokens_for_each_resource_are_minted_once_cached_audited_and_never_stored() {
    let w = start();
    let app_id = w.org["application_id"].as_str().unwrap().to_owned();
    let engine = w.key.token(ACCOUNT);

    // The account's organizations, with no secret.
    let (status, list, _) = call(&w.stack, "GET", "/api/engine/organizations", Some(&engine), None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(list["organizations"][0]["applications"][0]["workload"], "all");
    let text = list.to_string();
    assert!(!text.contains("BEGIN") && !text.contains("secret_ciphertext"), "{text}");

    w.emulator.delete("requests");
    let path = token_path(&w.org);
    let (status, graph, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "graph"})));
    assert_eq!(status, 200, "{graph}");
    assert_eq!(graph["application_id"], app_id.as_str());
    let token = graph["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&token)["aud"], "https://graph.microsoft.com");
    assert!(claims(&token)["roles"].as_array().unwrap().iter().any(|r| r == "MailboxItem.ImportExport.All"));
    // It works at Microsoft (the emulator's Graph).
    let users = w.emulator.graph(&token, "GET", "/users?$select=id", None);
    assert!(!users["value"].as_array().unwrap().is_empty(), "{users}");

    // Ten more requests at once: the same token, no call to Microsoft.
    let again: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| {
                s.spawn(|| {
                    let (status, t, _) =
                        call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "graph"})));
                    assert_eq!(status, 200, "{t}");
                    t["access_token"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(again.iter().all(|t| *t == token));
    assert_eq!(minted(&w.emulator, &app_id), 1, "one call to the identity platform");

    let (status, sp, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "sharepoint"})));
    assert_eq!(status, 200, "{sp}");
    assert_eq!(sp["scope"], "https://contoso.sharepoint.com/.default");
    assert_eq!(claims(sp["access_token"].as_str().unwrap())["aud"], "https://contoso.sharepoint.com");
    let (status, ex, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "exchange"})));
    assert_eq!(status, 200, "{ex}");
    assert_eq!(claims(ex["access_token"].as_str().unwrap())["aud"], "https://outlook.office365.com");
    // Concurrent first requests for a new resource share one call too.
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                let (status, t, _) = call(
                    &w.stack,
                    "POST",
                    &path,
                    Some(&engine),
                    Some(json!({"resource": "graph", "workload": "teams"})),
                );
                assert_eq!(status, 200, "{t}");
            });
        }
    });
    assert_eq!(minted(&w.emulator, &app_id), 3, "graph, SharePoint and Exchange: one call each");

    // The audit: each request, newest first, on the portal's side only; no token in D1 or the logs.
    let portal = Api::new(&w.stack.base_url, &w.stack.token(ACCOUNT));
    let id = w.org["id"].as_str().unwrap();
    // Tokens from Microsoft are a row each at once; the 16 cached ones are counted per minute in
    // the organization's object and written as one row by its alarm when the minute is over.
    let cached = |usage: &Value| -> u64 {
        usage["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] == "cached")
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let usage = loop {
        let usage = portal.get(&format!("/api/organizations/{id}/usage"));
        assert_eq!(usage.status, 200, "{}", usage.text);
        if cached(&usage.body) >= 16 {
            break usage;
        }
        assert!(std::time::Instant::now() < deadline, "the cached tokens were not written: {}", usage.text);
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    assert_eq!(cached(&usage.body), 10 + 6, "{}", usage.text);
    let entries = usage.body["entries"].as_array().unwrap();
    assert!(entries.len() <= 3 + 2, "one row per minute for the cached ones: {}", usage.text);
    assert!(entries.iter().all(|e| e["key_id"] == "engine-1"), "{}", usage.text);
    assert_eq!(entries.iter().filter(|e| e["outcome"] == "issued").count(), 3);
    let d1 = w.stack.local_d1("SELECT * FROM engine_usage");
    for t in [&token, sp["access_token"].as_str().unwrap(), ex["access_token"].as_str().unwrap()] {
        let signature = t.rsplit('.').next().unwrap();
        assert!(!d1.contains(signature) && !usage.text.contains(signature), "a token in the audit");
        assert!(!w.stack.log().contains(signature), "a token in the logs");
    }
    // The engine's token is not a portal session, and another account sees no usage.
    assert_eq!(call(&w.stack, "GET", &format!("/api/organizations/{id}/usage"), Some(&engine), None).0, 401);
    let other = Api::new(&w.stack.base_url, &w.stack.token(OTHER));
    assert_eq!(other.get(&format!("/api/organizations/{id}/usage")).status, 404);
}

#[test]
fn every_wrong_engine_token_gets_the_same_answer_and_sessions_do_not_cross() {
    let w = start();
    let path = token_path(&w.org);
    let body = || Some(json!({"resource": "graph"}));
    let now = unix_now();
    let claims = |sub: &str, iat: i64, exp: i64| json!({"aud": shared::engine_token::ENGINE_AUDIENCE, "sub": sub, "iat": iat, "exp": exp});
    let stranger = EngineKey::new("engine-1");
    let unlisted = w.key.token("acct-not-listed");
    let wrong: Vec<(&str, Option<String>)> = vec![
        ("missing", None),
        ("expired", Some(w.key.sign("engine-1", claims(ACCOUNT, now - 300, now - 180)))),
        ("too long", Some(w.key.sign("engine-1", claims(ACCOUNT, now, now + 3600)))),
        // A lifetime that wraps to a negative one in i64 arithmetic, and one that never ends.
        ("never expires (wrapping lifetime)", Some(w.key.sign("engine-1", claims(ACCOUNT, -2, i64::MAX)))),
        ("issued at the start of time", Some(w.key.sign("engine-1", claims(ACCOUNT, i64::MIN, now + 60)))),
        ("expires at the end of time", Some(w.key.sign("engine-1", claims(ACCOUNT, now, i64::MAX)))),
        ("wrong key ID", Some(w.key.sign("engine-9", claims(ACCOUNT, now, now + 60)))),
        ("signed by an unknown key", Some(stranger.token(ACCOUNT))),
        ("another account", Some(unlisted)),
        ("a portal session", Some(w.stack.token(ACCOUNT))),
    ];
    let mut bodies = vec![];
    for (why, bearer) in &wrong {
        let (status, b, _) = call(&w.stack, "POST", &path, bearer.as_deref(), body());
        assert_eq!(status, 401, "{why}: {b}");
        assert_eq!(b["error"]["code"], "engine_unauthenticated", "{why}");
        bodies.push(b);
        let (status, _, _) = call(&w.stack, "GET", "/api/engine/organizations", bearer.as_deref(), None);
        assert_eq!(status, 401, "{why}");
    }
    assert!(bodies.windows(2).all(|p| p[0] == p[1]), "one answer whatever the reason");
    // An engine token on a portal route.
    let engine = w.key.token(ACCOUNT);
    assert_eq!(call(&w.stack, "GET", "/api/organizations", Some(&engine), None).0, 401);
    assert_eq!(
        call(
            &w.stack,
            "POST",
            "/api/signins",
            Some(&engine),
            Some(json!({"cloud": "global", "method": "device_code"}))
        )
        .0,
        401
    );
    // A listed key acting for another of its accounts does not see this account's organization.
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&w.key.token(OTHER)), body());
    assert_eq!(status, 404, "{b}");
    let (status, list, _) = call(&w.stack, "GET", "/api/engine/organizations", Some(&w.key.token(OTHER)), None);
    assert_eq!((status, list["organizations"].as_array().map(Vec::len)), (200, Some(0)));
    // Bad bodies are named.
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "ftp"})));
    assert_eq!(status, 400, "{b}");
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "graph", "extra": 1})));
    assert_eq!(status, 400, "{b}");
}

#[test]
fn a_revoked_credential_is_named_and_the_health_changes() {
    let w = start();
    let app_id = w.org["application_id"].as_str().unwrap();
    // The administrator removes the application's certificate in the tenant.
    let admin = w.emulator.admin_token(fixture::ADMIN);
    let found = w.emulator.graph(&admin, "GET", &format!("/applications?$filter=appId eq '{app_id}'"), None);
    let oid = found["value"][0]["id"].as_str().unwrap();
    w.emulator.graph(&admin, "PATCH", &format!("/applications/{oid}"), Some(json!({"keyCredentials": []})));

    let (status, b, _) =
        call(&w.stack, "POST", &token_path(&w.org), Some(&w.key.token(ACCOUNT)), Some(json!({"resource": "graph"})));
    assert!(status == 401 || status == 422, "{status} {b}");
    assert_eq!(b["error"]["code"], "invalid_certificate", "{b}");
    let portal = Api::new(&w.stack.base_url, &w.stack.token(ACCOUNT));
    let org = portal.get(&format!("/api/organizations/{}", w.org["id"].as_str().unwrap()));
    assert_eq!(org.body["health"]["state"], "needs_attention", "{}", org.text);
    assert_eq!(org.body["health"]["reason"], "credential_wrong", "{}", org.text);
}

#[test]
fn the_accounts_token_requests_are_rate_limited() {
    let w = start();
    let path = token_path(&w.org);
    let engine = w.key.token(ACCOUNT);
    let limited = std::sync::Mutex::new(None::<(Value, String)>);
    let sent = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..16 {
            s.spawn(|| {
                while limited.lock().unwrap().is_none() && sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 4000
                {
                    let (status, b, retry) =
                        call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "graph"})));
                    if status == 429 {
                        *limited.lock().unwrap() = Some((b, retry));
                    } else {
                        assert_eq!(status, 200, "{b}");
                    }
                }
            });
        }
    });
    let (body, retry) = limited.into_inner().unwrap().expect("a 429 within 4,000 requests");
    assert_eq!(body["error"]["code"], "engine_rate_limited", "{body}");
    assert_eq!(retry, "10");
    // Another account's requests are counted apart (this organization is not its own: 404, not 429).
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&w.key.token(OTHER)), Some(json!({"resource": "graph"})));
    assert_eq!(status, 404, "{b}");
}

/// Each failed engine authentication costs a signature verification: failures are limited per
/// client address (30 a minute; a run that crosses a minute may get up to 60 through), and over
/// the limit the address is refused before any signature is checked, a valid token included,
/// until the window ends.
#[test]
fn failed_engine_authentications_are_limited_per_source() {
    let w = start();
    let path = token_path(&w.org);
    let stranger = EngineKey::new("engine-1");
    let mut failed = 0;
    let (body, retry) = loop {
        let (status, b, retry) = call(&w.stack, "POST", &path, Some(&stranger.token(ACCOUNT)), None);
        if status == 429 {
            break (b, retry);
        }
        assert_eq!(status, 401, "{b}");
        failed += 1;
        assert!(failed <= 60, "no limit after {failed} failed authentications");
    };
    assert!(failed >= 30, "limited after {failed}");
    assert_eq!(body["error"]["code"], "engine_authentication_rate_limited", "{body}");
    let retry: u64 = retry.parse().unwrap_or_else(|_| panic!("Retry-After: {retry:?}"));
    assert!((1..=60).contains(&retry), "{retry}");
    // The same address with a valid token: refused too, until the window ends.
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&w.key.token(ACCOUNT)), Some(json!({"resource": "graph"})));
    assert_eq!((status, b["error"]["code"].as_str()), (429, Some("engine_authentication_rate_limited")), "{b}");
    // Portal routes are not engine routes: a session still works.
    let api = system_tests::portal::Api::new(&w.stack.base_url, &w.stack.token(ACCOUNT));
    assert_eq!(api.get("/api/organizations").status, 200);
}

/// An account whose audit reached `ENGINE_AUDIT_MAX_ROWS` (marked by the hourly Cron Trigger) gets
/// a named warning in its organizations' health; refusals are no longer recorded for it, the
/// tokens Microsoft issued still are.
#[test]
fn a_full_audit_is_named_in_the_health_and_still_records_issued_tokens() {
    let w = start_with(&[("ENGINE_AUDIT_MAX_ROWS", "3")]);
    let path = token_path(&w.org);
    let engine = w.key.token(ACCOUNT);
    let id = w.org["id"].as_str().unwrap();
    let portal = Api::new(&w.stack.base_url, &w.stack.token(ACCOUNT));
    let refused = || {
        let (status, b, _) = call(
            &w.stack,
            "POST",
            &path,
            Some(&engine),
            Some(json!({"resource": "sharepoint", "workload": "exchange"})),
        );
        assert_eq!((status, b["error"]["code"].as_str()), (409, Some("workload_not_granted")), "{b}");
    };
    for _ in 0..3 {
        refused();
    }
    assert!(portal.get(&format!("/api/organizations/{id}")).body["health"].get("warnings").is_none());
    let ran = ureq::get(&w.stack.url("/__scheduled?cron=7+*+*+*+*")).call();
    assert!(ran.is_ok(), "{ran:?}");
    let shown = portal.get(&format!("/api/organizations/{id}"));
    assert_eq!(shown.body["health"]["warnings"], json!(["engine_audit_full"]), "{}", shown.text);
    let rows = || portal.get(&format!("/api/organizations/{id}/usage")).body["entries"].as_array().unwrap().len();
    assert_eq!(rows(), 3);
    refused();
    assert_eq!(rows(), 3, "a refusal is no longer recorded");
    let (status, b, _) = call(&w.stack, "POST", &path, Some(&engine), Some(json!({"resource": "graph"})));
    assert_eq!(status, 200, "{b}");
    assert_eq!(rows(), 4, "an issued token still is");
}

/// The example backup engine (`examples/engine-client`) end to end: its own key listed in
/// `ENGINE_KEYS`, the organization onboarded with one sign-in, then Graph's users, a mailbox's
/// folders through Graph's mailbox API, and SharePoint's root site, all with tokens the edge minted.
#[test]
fn the_example_engine_client_reads_users_a_mailbox_and_sharepoint() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let (_, key) = engine_client::Key::generate("example-engine").unwrap();
    let mut vars = emulator.worker_vars();
    vars.push(("ENGINE_KEYS".into(), json!([key.public_jwk(&[ACCOUNT.to_owned()])]).to_string()));
    let stack = Stack::start_with(&vars);
    let api = Api::new(&stack.base_url, &stack.token(ACCOUNT));
    system_tests::save_generated(&api, &system_tests::automatic_registration(&emulator, &api));

    let config = engine_client::Config {
        edge: stack.base_url.clone(),
        account: ACCOUNT.into(),
        microsoft_base: Some(emulator.base_url.clone()),
    };
    emulator.delete("requests");
    let reports = engine_client::run(&config, &key).unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    // Every user of Contoso in the emulator's fixture.
    let state = emulator.get("state");
    let contoso = state["tenants"].as_array().unwrap().iter().find(|t| t["id"] == fixture::CONTOSO).unwrap();
    let users = contoso["users"].as_array().unwrap().len();
    assert!(users >= 2, "{contoso}");
    assert_eq!((r.name.as_str(), r.users), ("Contoso", users), "{r:?}");
    assert_eq!(r.mailbox_folders.as_ref().unwrap()[0], "Inbox", "{r:?}");
    assert!(r.sharepoint_title.is_ok(), "{r:?}");
    // Three tokens (Graph, SharePoint, and Graph again for the mailbox workload: the same
    // application and scope, cached), two calls to the identity platform for the application.
    let app_id = api.get("/api/organizations").body["organizations"][0]["application_id"].as_str().unwrap().to_owned();
    assert_eq!(minted(&emulator, &app_id), 2);
}
