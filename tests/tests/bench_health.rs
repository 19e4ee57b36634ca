//! The scheduled health checks at scale: organizations seeded straight into the local D1 (each with
//! its own account, its application's secret sealed with the Worker's keyring), one Cron Trigger
//! run, and the queue's consumers checking them all. Prints the throughput for `make bench`
//! (`BENCH_ORGANIZATIONS=1000`; 200 in `make test`) and asserts that every organization is checked
//! with at most one identity or Graph request per application.

use edge::seal::Keyring;
use std::time::{Duration, Instant};
use system_tests::emulator::Emulator;
use system_tests::stack::Stack;

#[test]
fn one_scheduled_run_checks_every_seeded_organization() {
    let n: usize = std::env::var("BENCH_ORGANIZATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let emulator = Emulator::start();
    let stack = Stack::start_with(&emulator.worker_vars());
    // A few real applications (with Organization.Read.All) shared by the organizations.
    let apps: Vec<(String, String)> = (0..4)
        .map(|i| {
            let (app_id, _, secret) = emulator.register_app(&format!("Bench app {i}"), None, true);
            (app_id, secret)
        })
        .collect();
    let ring = Keyring::parse(&stack.encryption_keys).unwrap();
    let mut statements = vec![];
    for i in 0..n {
        let (org, account, row) =
            (format!("00000000-0000-4000-8000-{i:012}"), format!("bench-{i}"), format!("app-{i}"));
        let (app_id, secret) = &apps[i % apps.len()];
        let name = format!("Org {i}");
        statements.extend(system_tests::seeded_organization(&ring, &account, &org, &name, &row, app_id, secret));
    }
    // One argument of at most 128 KiB each (the kernel's limit).
    for chunk in statements.chunks(100) {
        stack.local_d1(&chunk.join(";"));
    }
    let seeded = stack.local_d1("SELECT count(*) FROM organizations WHERE next_check_at_ms = 0");
    assert_eq!(seeded.trim(), n.to_string());
    emulator.delete("requests");

    let started = Instant::now();
    let ran = ureq::get(&stack.url("/__scheduled?cron=*/5+*+*+*+*")).call();
    assert!(ran.is_ok(), "{ran:?}");
    let deadline = started + Duration::from_secs(900);
    loop {
        let checked: usize =
            stack.local_d1("SELECT count(*) FROM applications WHERE checked_at IS NOT NULL").trim().parse().unwrap();
        if checked == n {
            break;
        }
        assert!(Instant::now() < deadline, "{checked} of {n} checked after 15 minutes\n{}", stack.log());
        std::thread::sleep(Duration::from_millis(250));
    }
    let secs = started.elapsed().as_secs_f64();
    let requests = emulator.requests().len();
    let per_org = requests as f64 / n as f64;
    println!(
        "BUDGET health checks: {n} organizations checked in {secs:.1} s = {:.0} per minute under wrangler dev; \
         {per_org:.2} identity/Graph requests per organization of one application (budget <= 2 per application)",
        n as f64 * 60.0 / secs
    );
    assert!(per_org <= 2.0, "{requests} requests for {n} organizations");
    let next = stack.local_d1("SELECT min(next_check_at_ms) FROM organizations");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as f64;
    assert!(next.trim().parse::<f64>().unwrap() > now_ms + 23.0 * 3_600_000.0, "every next check is a day away");
}
