//! Harness for whole-system tests: starts the real pieces (the worker under `wrangler dev`,
//! ChromeDriver with headless Chromium) on free ports, and stops them when dropped, also when a
//! test fails. A missing piece fails fast with a message that says how to get it.

pub mod browser;
pub mod emulator;
pub mod portal;
pub mod process;
pub mod stack;

use std::path::PathBuf;

/// The repository root (the parent of this crate's folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

/// The emulator (with `emulator_args`), the worker pointed at it, and a browser: what the browser
/// tests of the product start with.
pub async fn emulator_stack_browser(
    emulator_args: &'static [&'static str],
) -> (emulator::Emulator, stack::Stack, browser::Browser) {
    let emulator =
        tokio::task::spawn_blocking(move || emulator::Emulator::start_with(emulator_args)).await.expect("emulator");
    let vars = emulator.worker_vars();
    let stack = tokio::task::spawn_blocking(move || stack::Stack::start_with(&vars)).await.expect("stack");
    let browser = browser::Browser::start().await;
    (emulator, stack, browser)
}
