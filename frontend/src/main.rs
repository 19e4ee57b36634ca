//! Mounts the app; the components live in the library so that tests can import them.
//! (No panic hook: release builds abort on panic, and the hook's formatting code costs ~4 KB of
//! the first-load budget.)

fn main() {
    leptos::mount::mount_to_body(frontend::App);
}
