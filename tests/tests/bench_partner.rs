//! A partner's batch at scale: customers (`BENCH_PARTNER_CUSTOMERS`, 50 in `make bench`, 10 in
//! `make test`) onboarded with one application each from one partner sign-in under `wrangler dev`.
//! Prints the wall time and the requests per customer tenant for `make bench`, and asserts that
//! every customer is saved, with no error, and that each tenant costs no more Graph requests than the
//! single-tenant registration's budget.

use std::time::{Duration, Instant};
use system_tests::emulator::Emulator;
use system_tests::gdap::{finished, partner_sign_in, with_partner, PAIR};
use system_tests::portal::Api;
use system_tests::stack::Stack;

/// The single-tenant budget of the main application's registration, in Graph requests.
const GRAPH_PER_TENANT: f64 = 8.0;

#[test]
fn customers_onboarded_from_one_partner_sign_in() {
    let n: usize = std::env::var("BENCH_PARTNER_CUSTOMERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let names: Vec<String> = (0..n).map(|i| format!("Customer {i:03}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    with_partner(&emulator, &names, |_| PAIR.to_vec(), |_| None);
    let stack = Stack::start_with(&emulator.worker_vars());
    let api = Api::new(&stack.base_url, &stack.token("acct-bench-partner"));
    let sign_in = partner_sign_in(&emulator, &api);
    emulator.delete("requests");

    let started = Instant::now();
    let all: Vec<String> = (0..n).map(system_tests::gdap::customer).collect();
    let batch = api.post("/api/partner-batches", serde_json::json!({"sign_in_id": sign_in, "customers": all}));
    assert_eq!(batch.status, 201, "{}", batch.text);
    let id = batch.body["id"].as_str().unwrap().to_owned();
    let done = finished(&api, &id, Duration::from_secs(900));
    let secs = started.elapsed().as_secs_f64();
    assert_eq!((done["saved"].as_u64(), done["failed"].as_u64()), (Some(n as u64), Some(0)), "{done}");

    let log = emulator.requests();
    let path = |r: &serde_json::Value| r["path"].as_str().unwrap_or_default().to_owned();
    let graph = log.iter().filter(|r| path(r).starts_with("/v1.0") && !path(r).contains("tenantRelationships")).count();
    let tokens = log.iter().filter(|r| path(r).ends_with("/oauth2/v2.0/token")).count();
    let partner_center = log.iter().filter(|r| path(r).starts_with("/partnercenter")).count();
    let errors = log.iter().filter(|r| r["status"].as_u64().is_some_and(|s| s >= 400)).count();
    let per = |c: usize| c as f64 / n as f64;
    println!(
        "BUDGET partner batch: {n} customers saved from one partner sign-in in {secs:.1} s ({:.1} s per customer, 5 at once) under wrangler dev; \
         per customer tenant {:.2} Graph requests (budget <= {GRAPH_PER_TENANT}, the single-tenant registration's), \
         {:.2} token requests, {:.2} Partner Center requests (consent and its withdrawal); {errors} errors from Microsoft",
        secs / n as f64,
        per(graph),
        per(tokens),
        per(partner_center),
    );
    assert_eq!(
        errors,
        0,
        "Microsoft refused requests: {:?}",
        log.iter().filter(|r| r["status"].as_u64().is_some_and(|s| s >= 400)).collect::<Vec<_>>()
    );
    assert!(per(graph) <= GRAPH_PER_TENANT, "{} Graph requests per tenant", per(graph));
}
