//! Mounts the app; the components live in the library so that tests can import them.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(frontend::App);
}
