//! The backup engine's tokens under load: 10 organizations (each with its own account and its own
//! application, seeded straight into the local D1 with its secret sealed by the Worker's keyring),
//! 50 concurrent engine clients asking for Graph, SharePoint and Exchange tokens. Asserts no
//! error and at most one identity-platform call per application and resource; prints the
//! latency of the (mostly cached) token requests beside a direct client-credentials call to the
//! emulator, for `make bench` (`BENCH_ENGINE_REQUESTS=5000`; 1,000 in `make test`).

use edge::seal::Keyring;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use system_tests::emulator::{fixture, Emulator};
use system_tests::engine::{engine_keys, EngineKey};
use system_tests::stack::Stack;

const ORGANIZATIONS: usize = 10;
const CLIENTS: usize = 50;
const RESOURCES: [&str; 3] = ["graph", "sharepoint", "exchange"];

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn fifty_engine_clients_get_their_tokens_with_one_identity_call_per_application_and_resource() {
    let total: usize = std::env::var("BENCH_ENGINE_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let emulator = Emulator::start();
    let key = EngineKey::new("bench-engine");
    let accounts: Vec<String> = (0..ORGANIZATIONS).map(|i| format!("bench-engine-{i}")).collect();
    let account_refs: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let mut vars = emulator.worker_vars();
    vars.push(engine_keys(&[(&key, &account_refs)]));
    let stack = Stack::start_with(&vars);

    let ring = Keyring::parse(&stack.encryption_keys).unwrap();
    let mut apps = vec![];
    let mut statements = vec![];
    for (i, account) in accounts.iter().enumerate() {
        let (app_id, _, secret) = emulator.register_app(&format!("Engine bench app {i}"), None, true);
        let (org, row) = (format!("00000000-0000-4000-9000-{i:012}"), format!("engine-app-{i}"));
        let name = format!("Org {i}");
        statements.extend(system_tests::seeded_organization(&ring, account, &org, &name, &row, &app_id, &secret));
        apps.push((org, app_id, secret));
    }
    stack.local_d1(&statements.join(";"));
    emulator.delete("requests");
    let tokens: Vec<String> = accounts.iter().map(|a| key.token(a)).collect();

    let latencies = Mutex::new(Vec::with_capacity(total));
    let errors = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            s.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= total {
                    break;
                }
                let (o, r) = (n % ORGANIZATIONS, (n / ORGANIZATIONS) % RESOURCES.len());
                let url = stack.url(&format!("/api/engine/organizations/{}/token", apps[o].0));
                let t = Instant::now();
                let answer = ureq::post(&url)
                    .set("authorization", &format!("Bearer {}", tokens[o]))
                    .send_json(serde_json::json!({"resource": RESOURCES[r]}));
                let took = t.elapsed();
                match answer {
                    Ok(_) => latencies.lock().unwrap().push(took),
                    Err(e) => errors.lock().unwrap().push(format!("{e}")),
                }
            });
        }
    });
    let wall = started.elapsed();
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "{} errors, e.g. {:?}", errors.len(), &errors[..errors.len().min(3)]);
    let identity = emulator.requests().iter().filter(|r| r["grant_type"] == "client_credentials").count();
    assert!(identity <= ORGANIZATIONS * RESOURCES.len(), "{identity} identity calls");
    // The audit: every request is accounted for, issuances as rows of their own and cached tokens
    // counted per minute (written by the organizations' objects once their minute is over).
    let audited = || -> (usize, usize) {
        let out = stack.local_d1("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM engine_usage");
        let mut parts = out.trim().split('|').map(|p| p.trim().parse::<usize>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    };
    let rows_at_once = audited().0;
    let deadline = Instant::now() + Duration::from_secs(150);
    let (rows, counted) = loop {
        let (rows, counted) = audited();
        if counted >= total {
            break (rows, counted);
        }
        if Instant::now() > deadline {
            let log = stack.log();
            let log: Vec<&str> = log.lines().filter(|l| !l.contains("/token 200 OK")).collect();
            let log = log.join("\n");
            panic!(
                "{counted} of {total} requests audited after the minute; the log ends:\n{}",
                &log[log.len().saturating_sub(4000)..]
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(counted, total, "every request is audited once");

    // One client alone, the tokens cached: the latency without queueing behind 49 others.
    let mut alone = vec![];
    for i in 0..200 {
        let o = i % ORGANIZATIONS;
        let url = stack.url(&format!("/api/engine/organizations/{}/token", apps[o].0));
        let t = Instant::now();
        ureq::post(&url)
            .set("authorization", &format!("Bearer {}", tokens[o]))
            .send_json(serde_json::json!({"resource": "graph"}))
            .expect("a cached token");
        alone.push(t.elapsed());
    }
    alone.sort();

    // A direct client-credentials call to the emulator, for comparison.
    let mut direct = vec![];
    let token_url = format!("{}/{}/oauth2/v2.0/token", emulator.base_url, fixture::CONTOSO);
    for i in 0..200 {
        let (_, app_id, secret) = &apps[i % apps.len()];
        let t = Instant::now();
        ureq::post(&token_url)
            .send_form(&[
                ("grant_type", "client_credentials"),
                ("client_id", app_id),
                ("client_secret", secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .expect("a direct token");
        direct.push(t.elapsed());
    }
    let mut cached = latencies.into_inner().unwrap();
    cached.sort();
    direct.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (p50, p99, d50, d99) =
        (percentile(&cached, 0.5), percentile(&cached, 0.99), percentile(&direct, 0.5), percentile(&direct, 0.99));
    let (a50, a99) = (percentile(&alone, 0.5), percentile(&alone, 0.99));
    println!(
        "BUDGET engine audit: {rows} D1 rows for {total} requests ({:.1} per 1,000; {rows_at_once} written on the \
         request path, the rest by the objects' alarms), every request counted",
        rows as f64 * 1000.0 / total as f64
    );
    println!(
        "BUDGET engine tokens: {total} requests from {CLIENTS} clients for {ORGANIZATIONS} organizations x 3 resources \
         in {:.1} s ({:.0}/s), 0 errors, {identity} identity calls (budget <= {}); under that load a token took \
         p50 {:.1} ms, p99 {:.1} ms",
        wall.as_secs_f64(),
        total as f64 / wall.as_secs_f64(),
        ORGANIZATIONS * RESOURCES.len(),
        ms(p50),
        ms(p99),
    );
    println!(
        "BUDGET engine tokens, one client: a cached token p50 {:.1} ms, p99 {:.1} ms; a direct client-credentials \
         call to the emulator p50 {:.1} ms, p99 {:.1} ms; ratio p50 {:.1}x, p99 {:.1}x",
        ms(a50),
        ms(a99),
        ms(d50),
        ms(d99),
        ms(a50) / ms(d50),
        ms(a99) / ms(d99),
    );
}
