//! The API contract, checked by a peer's tool: Schemathesis (PyPI, pinned in
//! `scripts/requirements-test.txt`) runs every check, its stateful phase included, against the
//! document the Worker serves (`GET /api/openapi.json`), with the settings in
//! `tests/contract/schemathesis.toml` (fixed seed, bounded examples, and the operations whose 422
//! answers check what a schema cannot state). The document must say what the API does: 0 failures.

use system_tests::emulator::Emulator;
use system_tests::stack::Stack;

#[test]
fn schemathesis_finds_no_failure_with_every_check() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    let config = system_tests::repo_root().join("tests/contract/schemathesis.toml");
    let out = std::process::Command::new("python3")
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config)
        .arg("run")
        .arg(stack.url("/api/openapi.json"))
        .args(["--checks", "all", "--no-color"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {}", stack.token("acct-contract")))
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("running schemathesis (python3 -m schemathesis.cli): run `make setup`");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "schemathesis found failures:\n{text}");
    assert!(text.contains("Stateful") && text.contains("passed"), "the stateful phase ran:\n{text}");
    println!(
        "{}",
        text.lines().filter(|l| l.contains("generated") || l.contains("Links")).collect::<Vec<_>>().join("\n")
    );
}
