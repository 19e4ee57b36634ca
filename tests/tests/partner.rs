//! A partner onboards its customers' tenants with one partner sign-in (GDAP), end to end against
//! the emulator's partner, its GDAP relationships and Partner Center: five customers, one whose
//! relationship lacks a role and one whose policy refuses the service's certificates; each
//! customer's failure is its own; retrying after the role is granted; a Worker restart in the middle
//! of a batch; another account; the refresh token forgotten at the end.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use system_tests::demo_portal::DemoPortal;
use system_tests::emulator::Emulator;
use system_tests::gdap::{customer, finished, partner_sign_in, trusted_ca_only, with_partner, AGENT, PAIR};
use system_tests::portal::Api;
use system_tests::process::wait_for;
use system_tests::stack::Stack;

fn row<'a>(batch: &'a Value, tenant: &str) -> &'a Value {
    batch["customers"].as_array().unwrap().iter().find(|c| c["tenant_id"] == tenant).unwrap()
}

fn applications_in(emulator: &Emulator, tenant: &str) -> Vec<Value> {
    emulator.applications().into_iter().filter(|a| a["tenant"] == tenant).collect()
}

fn consents(emulator: &Emulator) -> Vec<Value> {
    emulator.get("state")["partner_consents"].as_array().unwrap().clone()
}

#[test]
fn five_customers_with_one_sign_in_each_failure_its_own_and_a_retry_after_the_role_is_granted() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let names = ["Alpine Ski House", "Bellows College", "Coho Winery", "Datum Corporation", "Tailspin Toys"];
    // Coho Winery's relationship grants Privileged Role Administrator only; Datum's tenant refuses
    // self-signed certificates.
    with_partner(
        &emulator,
        &names,
        |n| if n == 2 { vec!["Privileged Role Administrator"] } else { PAIR.to_vec() },
        |n| (n == 3).then(trusted_ca_only),
    );
    let secret = system_tests::portal::random_secret();
    let portal = DemoPortal::start(&secret, 0);
    let mut vars = emulator.worker_vars();
    vars.push(("PORTAL_WEBHOOK_URL".into(), format!("{}/webhooks", portal.base)));
    vars.push(("PORTAL_WEBHOOK_SECRET".into(), secret));
    let stack = Stack::start_with(&vars);
    let api = Api::new(&stack.base_url, &stack.token("acct-partner"));

    // A partner sign-in is for the Global cloud only.
    let elsewhere = api.post(
        "/api/signins",
        json!({"cloud": "usgov_gcc_high", "method": "device_code", "purpose": {"kind": "partner"}}),
    );
    assert_eq!(elsewhere.status, 422, "{}", elsewhere.text);
    assert_eq!(elsewhere.body["error"]["code"], "partner_not_available");

    let sign_in = partner_sign_in(&emulator, &api);
    let list = api.get(&format!("/api/signins/{sign_in}/customers"));
    assert_eq!(list.status, 200, "{}", list.text);
    let customers = list.body["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 5, "{}", list.text);
    assert_eq!(customers[0]["name"], "Alpine Ski House", "by name");
    let coho = customers.iter().find(|c| c["tenant_id"] == customer(2)).unwrap();
    assert_eq!(coho["roles_enough"], false);
    assert_eq!(coho["roles"], json!(["Privileged Role Administrator"]));
    assert!(customers.iter().filter(|c| c["tenant_id"] != customer(2)).all(|c| c["roles_enough"] == true));
    assert!(customers.iter().all(|c| c["onboarded"] == false));
    // Nothing was asked of any customer yet.
    assert!(consents(&emulator).is_empty());

    // A choice outside the relationships is refused, and the sign-in is still usable after it.
    let outside = api.post(
        "/api/partner-batches",
        json!({"sign_in_id": sign_in, "customers": [customer(0), system_tests::emulator::fixture::CONTOSO]}),
    );
    assert_eq!(outside.status, 422, "{}", outside.text);
    assert_eq!(outside.body["error"]["field"], "customers");

    let all: Vec<String> = (0..5).map(customer).collect();
    let started = api.post("/api/partner-batches", json!({"sign_in_id": sign_in, "customers": all}));
    assert_eq!(started.status, 201, "{}", started.text);
    let batch = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(started.body["total"], 5);
    // The sign-in handed its token over: it cannot start another batch.
    let again = api.post("/api/partner-batches", json!({"sign_in_id": sign_in, "customers": [customer(0)]}));
    assert_ne!(again.status, 201, "{}", again.text);

    let done = finished(&api, &batch, Duration::from_secs(180));
    assert_eq!((done["saved"].as_u64(), done["failed"].as_u64()), (Some(3), Some(2)), "{done}");
    assert_eq!(row(&done, &customer(2))["error"]["code"], "partner_roles_missing", "{done}");
    assert_eq!(row(&done, &customer(3))["error"]["code"], "trusted_certificate_required", "{done}");
    for n in [0, 1, 4] {
        assert_eq!(row(&done, &customer(n))["state"], "saved", "{done}");
    }

    // The saved organizations carry the customers' names, and each was announced.
    let orgs = api.get("/api/organizations").body["organizations"].as_array().unwrap().clone();
    let mut saved: Vec<String> = orgs.iter().map(|o| o["name"].as_str().unwrap().to_owned()).collect();
    saved.sort();
    assert_eq!(saved, vec!["Alpine Ski House", "Bellows College", "Tailspin Toys"]);
    for o in &orgs {
        portal.wait_for_event("organization.added", o["id"].as_str().unwrap());
    }
    let summary = portal.wait_for("partner_batch.finished", |e| e["data"]["batch_id"] == batch.as_str());
    assert_eq!(summary["data"]["saved"], 3);
    assert_eq!(summary["data"]["failed"], 2);
    assert_eq!(summary["account"], "acct-partner");

    // Nothing is left in the failed tenants: no application, and no consent anywhere (those the
    // batch gave are withdrawn once each customer is settled).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(applications_in(&emulator, &customer(2)).is_empty() && applications_in(&emulator, &customer(3)).is_empty())
    {
        assert!(Instant::now() < deadline, "left behind: {:?}", emulator.applications());
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(consents(&emulator).is_empty(), "{:?}", consents(&emulator));
    assert_eq!(applications_in(&emulator, &customer(0)).len(), 1);

    // The partner's refresh tokens are nowhere in the stored state: not in D1, not in any
    // Durable Object (sealed or not: the batch forgot it).
    let stored = String::from_utf8_lossy(&stack.stored_bytes(|_| true)).into_owned();
    let issued = emulator.get("state")["refresh_tokens"].as_array().unwrap().clone();
    assert!(!issued.is_empty());
    for t in issued {
        assert!(!stored.contains(t.as_str().unwrap()), "a refresh token is in the stored state");
    }

    // Another account sees none of it.
    let other = Api::new(&stack.base_url, &stack.token("acct-other"));
    assert_eq!(other.get(&format!("/api/partner-batches/{batch}")).status, 404);
    assert_eq!(other.get("/api/partner-batches").body["batches"], json!([]));
    assert_eq!(other.get("/api/organizations").body["organizations"], json!([]));
    let theirs = other.post(&format!("/api/partner-batches/{batch}/retry"), json!({"sign_in_id": sign_in}));
    assert_eq!(theirs.status, 404, "{}", theirs.text);

    // The customer approves the role; a new partner sign-in retries the failed ones: Coho Winery
    // is saved, Datum's policy still refuses.
    emulator.control("gdap", json!({"customer_tenant_id": customer(2), "roles": PAIR}));
    let listed = api.get("/api/partner-batches");
    assert_eq!(listed.body["batches"][0]["id"], batch.as_str(), "{}", listed.text);
    let second = partner_sign_in(&emulator, &api);
    let retried = api.post(&format!("/api/partner-batches/{batch}/retry"), json!({"sign_in_id": second}));
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert_eq!(row(&retried.body, &customer(0))["state"], "saved", "saved customers are not run again");
    let done = finished(&api, &batch, Duration::from_secs(120));
    assert_eq!(row(&done, &customer(2))["state"], "saved", "{done}");
    assert_eq!(row(&done, &customer(3))["error"]["code"], "trusted_certificate_required", "{done}");
    assert_eq!((done["saved"].as_u64(), done["failed"].as_u64()), (Some(4), Some(1)), "{done}");
    assert_eq!(api.get("/api/organizations").body["organizations"].as_array().unwrap().len(), 4);
    // Customers already onboarded are listed as such and cannot be chosen again.
    let third = partner_sign_in(&emulator, &api);
    let list = api.get(&format!("/api/signins/{third}/customers"));
    let held = list.body["customers"].as_array().unwrap().iter().filter(|c| c["onboarded"] == true).count();
    assert_eq!(held, 4, "{}", list.text);
    let twice = api.post("/api/partner-batches", json!({"sign_in_id": third, "customers": [customer(0)]}));
    assert_eq!(twice.status, 422, "{}", twice.text);
    // Another account cannot use this account's partner sign-in, by ID, for anything.
    assert_eq!(other.get(&format!("/api/signins/{third}/customers")).status, 404);
    let stolen = other.post("/api/partner-batches", json!({"sign_in_id": third, "customers": [customer(3)]}));
    assert_eq!(stolen.status, 404, "{}", stolen.text);
    // A sign-in that is not a partner's lists no customers.
    let plain = system_tests::signed_in(
        &emulator,
        &api,
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "sign_in_only"}}),
        system_tests::emulator::fixture::ADMIN,
    );
    let id = plain["id"].as_str().unwrap();
    assert_eq!(api.get(&format!("/api/signins/{id}/customers")).status, 404);
}

#[test]
fn without_a_consent_to_partner_center_the_partner_is_told_before_choosing_and_keeps_the_sign_in() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    // A partner whose administrator never consented Partner Center for the client.
    let mut fixture = emulator.get("fixture");
    let tenants = fixture["tenants"].as_array_mut().unwrap();
    tenants.push(json!({"id": system_tests::gdap::PARTNER, "cloud": "global", "display_name": "Partner",
        "domains": ["partner.onmicrosoft.com"], "users": [{"upn": AGENT, "display_name": "Agent"}]}));
    tenants.push(json!({"id": customer(0), "cloud": "global", "display_name": "Alpine Ski House",
        "domains": ["customer0.onmicrosoft.com"], "users": []}));
    fixture["partners"] = json!([{"tenant_id": system_tests::gdap::PARTNER, "admin_agents": [AGENT],
        "relationships": [{"customer_tenant_id": customer(0), "roles": PAIR}]}]);
    emulator.control("reset", fixture);
    let stack = Stack::start_with(&emulator.worker_vars());
    let api = Api::new(&stack.base_url, &stack.token("acct-no-pc"));
    let sign_in = partner_sign_in(&emulator, &api);
    let list = api.get(&format!("/api/signins/{sign_in}/customers"));
    assert_eq!(list.status, 409, "{}", list.text);
    assert_eq!(list.body["error"]["code"], "partner_center_consent_missing");
    let batch = api.post("/api/partner-batches", json!({"sign_in_id": sign_in, "customers": [customer(0)]}));
    assert_eq!(batch.body["error"]["code"], "partner_center_consent_missing", "{}", batch.text);
    // Nothing was asked of the customer, and the sign-in was not used up.
    assert!(emulator.get("state")["partner_consents"].as_array().unwrap().is_empty());
    assert_eq!(api.get(&format!("/api/signins/{sign_in}")).body["state"], "signed_in");
}

#[test]
fn a_worker_restart_during_a_batch_does_not_stop_it() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let names = ["Fabrikam Residences", "Lamna Healthcare", "Margie's Travel"];
    with_partner(&emulator, &names, |_| PAIR.to_vec(), |_| None);
    let mut stack = Stack::start_with(&emulator.worker_vars());
    let api = Api::new(&stack.base_url, &stack.token("acct-restart"));
    let sign_in = partner_sign_in(&emulator, &api);
    let all: Vec<String> = (0..3).map(customer).collect();

    // Partner Center gives the consents and is slow to say so: the Worker goes away first.
    emulator.control("faults", json!({"kind": "latency", "route": "/partnercenter/", "ms": 2000, "answer_late": true}));
    let started = api.post("/api/partner-batches", json!({"sign_in_id": sign_in, "customers": all}));
    assert_eq!(started.status, 201, "{}", started.text);
    let batch = started.body["id"].as_str().unwrap().to_owned();
    wait_for("a consent given in a customer's tenant", Duration::from_secs(60), || {
        (!consents(&emulator).is_empty()).then_some(())
    });
    stack.restart();
    emulator.delete("faults");

    // Then Graph creates a customer application's service principal and is slow to say so: the
    // Worker goes away again.
    emulator.control("faults", json!({"kind": "latency", "route": "graph", "ms": 2000, "answer_late": true}));
    wait_for("a service principal of a customer's application", Duration::from_secs(90), || {
        let state = emulator.get("state");
        let apps: Vec<&str> = state["applications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| all.iter().any(|t| a["tenant"] == t.as_str()))
            .filter_map(|a| a["appId"].as_str())
            .collect();
        state["service_principals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|sp| apps.contains(&sp["appId"].as_str().unwrap_or("")))
            .then_some(())
    });
    let mid = api.get(&format!("/api/partner-batches/{batch}"));
    assert!(mid.body["finished_at"].is_null(), "the batch finished before the restart: {}", mid.text);
    stack.restart();
    emulator.delete("faults");

    let done = finished(&api, &batch, Duration::from_secs(180));
    assert_eq!(done["saved"], 3, "{done}\nThe Worker's log:\n{}", stack.log());
    assert_eq!(api.get("/api/organizations").body["organizations"].as_array().unwrap().len(), 3);
    // Nothing was made twice, and the consents the batch gave are withdrawn.
    for t in &all {
        assert_eq!(applications_in(&emulator, t).len(), 1, "{t}: {:?}", applications_in(&emulator, t));
    }
    assert!(consents(&emulator).is_empty(), "{:?}", consents(&emulator));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_partner_flow_in_the_browser_from_the_list_to_the_batch_passes_the_axe_scan_in_light_and_dark() {
    use fantoccini::Locator;
    use system_tests::browser::{click, click_text, one_time_code};
    let (emulator, stack, browser) = system_tests::emulator_stack_browser(&["--device-code-interval", "1"]).await;
    with_partner(
        &emulator,
        &["Alpine Ski House", "Bellows College", "Coho Winery"],
        |n| if n == 2 { vec!["Privileged Role Administrator"] } else { PAIR.to_vec() },
        |_| None,
    );
    let c = &browser.client;
    for theme in ["light", "dark"] {
        let axe = |screen: &str| format!("{screen} ({theme})");
        c.goto("about:blank").await.unwrap();
        c.goto(&stack.url(&format!("/#token={}", stack.token(&format!("acct-partner-{theme}"))))).await.unwrap();
        c.execute(&format!("document.documentElement.setAttribute('data-theme', '{theme}')"), vec![]).await.unwrap();
        browser.wait_for_text("[data-testid=empty-state]", "No Microsoft 365", Duration::from_secs(20)).await;
        click(c, "[data-testid=add-partner]").await;
        browser.wait_for_text("#partner-heading", "Sign in to your partner", Duration::from_secs(20)).await;
        let issues = browser.axe_serious().await;
        assert!(issues.is_empty(), "{}: {}", axe("the partner sign-in"), issues.join("\n"));
        click(c, "[data-testid=panel-device-code]").await;
        let code = one_time_code(c, "[data-testid=user-code]", None, Duration::from_secs(20)).await;
        emulator.approve(&code, AGENT);
        browser.wait_for_text("#partner-heading", "Choose your customers", Duration::from_secs(30)).await;
        browser.wait_for_text("[data-testid=customers]", "Coho Winery", Duration::from_secs(20)).await;
        let roles = browser.wait_for_text("[data-testid=customers]", "Not enough", Duration::from_secs(5)).await;
        assert!(roles.contains("Enough to add it."), "{roles}");
        let issues = browser.axe_serious().await;
        assert!(issues.is_empty(), "{}: {}", axe("the choice"), issues.join("\n"));
        // Search narrows the list; "Select all" then takes every customer again once cleared.
        c.find(Locator::Css("[data-testid=customer-search]")).await.unwrap().send_keys("bell").await.unwrap();
        let narrowed = browser.wait_for_text("[data-testid=customers] tbody", "Bellows", Duration::from_secs(5)).await;
        assert!(!narrowed.contains("Alpine"), "{narrowed}");
        c.find(Locator::Css("[data-testid=customer-search]")).await.unwrap().clear().await.unwrap();
        c.execute(
            "const i = document.querySelector('[data-testid=customer-search]'); i.value=''; i.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await
        .unwrap();
        browser.wait_for_text("[data-testid=customers] tbody", "Alpine", Duration::from_secs(5)).await;
        click(c, "[data-testid=select-all]").await;
        browser.wait_for_text("[data-testid=start-batch]", "Add 3 organizations", Duration::from_secs(5)).await;
        click(c, "[data-testid=start-batch]").await;
        browser.wait_for_text("#partner-heading", "Adding your customers", Duration::from_secs(30)).await;
        let summary = browser.wait_for_text("[data-testid=batch-summary]", "Done", Duration::from_secs(120)).await;
        assert!(summary.contains("2 added, 1 failed"), "{summary}");
        let table = browser.wait_for_text("[data-testid=batch]", "Failed", Duration::from_secs(5)).await;
        assert!(table.contains("GDAP relationship with this customer does not grant the roles"), "{table}");
        let issues = browser.axe_serious().await;
        assert!(issues.is_empty(), "{}: {}", axe("the batch"), issues.join("\n"));
        click_text(c, "Back to the list").await;
        let list = browser.wait_for_text("main", "Bellows College", Duration::from_secs(20)).await;
        assert!(list.contains("Alpine Ski House") && !list.contains("Coho Winery"), "{list}");
    }
    browser.close().await;
}
