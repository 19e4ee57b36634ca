//! Mounts the app; the components live in the library so that tests can import them.
//! (No panic hook: release builds abort on panic, and the hook's formatting code costs ~4 KB of
//! the first-load budget.)

fn main() {
    leptos::mount::mount_to_body(frontend::App);
    // The frame index.html drew until now goes in the same task, so no frame is painted without
    // either.
    frontend::remove_page_frame();
}
