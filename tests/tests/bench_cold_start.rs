//! Measures, for `make bench`, the Worker's cold start under `wrangler dev`: how long the first
//! request it answers takes (the Worker's module is loaded for it), beside later requests. Printed
//! as a `BUDGET` line; only correctness is asserted here (timing is reported, never asserted).

use std::time::{Duration, Instant};
use system_tests::stack::Stack;

#[test]
fn the_first_request_after_start_beside_later_ones() {
    let stack = Stack::start();
    let health = stack.url(shared::endpoints::HEALTH.path());
    let mut later: Vec<u128> = (0..20)
        .map(|_| {
            let sent = Instant::now();
            let resp = ureq::get(&health).timeout(Duration::from_secs(10)).call().expect("health answers");
            assert_eq!(resp.status(), 200);
            sent.elapsed().as_millis()
        })
        .collect();
    later.sort_unstable();
    println!(
        "BUDGET cold start: first request answered in {} ms; the next 20: median {} ms, slowest {} ms",
        stack.first_answer_ms,
        later[later.len() / 2],
        later[later.len() - 1]
    );
}
