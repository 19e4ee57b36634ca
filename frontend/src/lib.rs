//! The administrator's app, a Leptos CSR app served by the Worker's assets binding.
//!
//! Components live here (and later one module per screen) so that `wasm-bindgen-test` can mount
//! them; `main.rs` only mounts [`App`]. All data comes from the edge API through the common
//! crate's contract types ([`shared::api`]).

use leptos::prelude::*;
use shared::api::{paths, HealthResponse, SessionInfo};

pub mod api;
pub mod session;

/// The whole app.
#[component]
pub fn App() -> impl IntoView {
    session::take_token_from_location();
    let health = LocalResource::new(|| api::get_json::<HealthResponse>(paths::HEALTH));
    let who = LocalResource::new(|| api::get_json::<SessionInfo>(paths::SESSION));
    view! {
        <main>
            <h1>"Add & Manage Microsoft 365 Organizations"</h1>
            <p data-testid="session">
                <Suspense fallback=|| ()>
                    {move || who.get().map(|r| match r {
                        Ok(s) => format!("Signed in for portal account {}.", s.account),
                        Err(e) => e.message(),
                    })}
                </Suspense>
            </p>
            <footer>
                <Suspense fallback=|| view! { <span>"Connecting to the service…"</span> }>
                    {move || health.get().map(|result| view! { <ServiceStatus result /> })}
                </Suspense>
            </footer>
        </main>
    }
}

/// The footer line that says which API version answered, or why none did.
#[component]
pub fn ServiceStatus(result: Result<HealthResponse, api::ApiFailure>) -> impl IntoView {
    match result {
        Ok(h) => view! {
            <span data-testid="api-version">{format!("{} API version {}", h.service, h.version)}</span>
        }
        .into_any(),
        Err(e) => view! {
            <span class="error" role="alert" data-testid="api-error">
                {format!("The service could not be reached: {}", e.message())}
            </span>
        }
        .into_any(),
    }
}
