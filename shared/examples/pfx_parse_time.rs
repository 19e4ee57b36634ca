//! Times `parse_pfx` on one file: `cargo run --release -p shared --example pfx_parse_time -- FILE
//! PASSWORD [RUNS]`. `make bench` runs it on the corpus's `at-work-cap.pfx`, the worst file the
//! key-derivation work cap still accepts, and prints a `BUDGET` line.

use shared::certificate::{parse_pfx, MAX_KDF_WORK};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, file, password, rest @ ..] = args.as_slice() else {
        eprintln!("usage: pfx_parse_time FILE PASSWORD [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = rest.first().map_or(5, |r| r.parse().expect("RUNS is a number"));
    let data = std::fs::read(file).expect("readable file");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut ms: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            let result = parse_pfx(&data, password, now);
            let took = started.elapsed().as_secs_f64() * 1000.0;
            if let Err(e) = result {
                eprintln!("{file}: refused: {e:?}");
                std::process::exit(1);
            }
            took
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let name = std::path::Path::new(file).file_name().unwrap_or_default().to_string_lossy();
    println!(
        "BUDGET .pfx parse, {name} (work cap {MAX_KDF_WORK}): median {:.0} ms, min {:.0} ms over {} runs, native",
        ms[ms.len() / 2],
        ms[0],
        ms.len()
    );
}
