//! The screens the organization list does not need, each in a wasm chunk of its own.
//!
//! Every function here is a split point. Built with the `split` feature (the Trunk hook
//! `scripts/split-app.sh` does), each is a `#[wasm_split]` function, which the hook moves, with
//! whatever only it reaches, out of the main module into a chunk that is fetched the first time the
//! screen opens. Without the feature (the unit tests, natively and in the browser) each is a plain
//! `async fn`: a module with split points but not split cannot be instantiated. The split points
//! only build a screen from props computed by the caller; the screens themselves stay ordinary
//! components in [`crate::pages`] and [`crate::wizard`].
//!
//! A chunk can fail to arrive (offline, a proxy that blocks it, a deploy in between): the load is
//! `fallible`, [`Deferred`] says "This part of the page could not be loaded" with a Retry, and a
//! failed load is not remembered, so Retry fetches the chunk again.

use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;
use shared::api::Organization;
use shared::CloudEnvironment;
use std::future::Future;

/// A chunk that could not be fetched or instantiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkUnavailable;

impl From<SplitLoaderError> for ChunkUnavailable {
    fn from(_: SplitLoaderError) -> Self {
        ChunkUnavailable
    }
}

/// What a split point gives: the screen, or why it is not here.
pub type Loaded = Result<AnyView, ChunkUnavailable>;

/// A split point: `chunk` names the chunk, the body builds the screen.
macro_rules! split_point {
    ($(#[$doc:meta])* $chunk:ident: fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        #[cfg(feature = "split")]
        #[::leptos::wasm_split::wasm_split($chunk, wasm_split_path = ::leptos::wasm_split, fallible)]
        pub fn $name($($arg: $ty),*) -> Loaded $body

        $(#[$doc])*
        #[cfg(not(feature = "split"))]
        pub async fn $name($($arg: $ty),*) -> Loaded $body
    };
}

split_point! {
    /// The add wizard: its three steps, the sign-in and its model, Manual and its checks.
    wizard: fn wizard(on_done: Callback<Option<String>>) {
        Ok(view! { <crate::Wizard on_done /> }.into_any())
    }
}

split_point! {
    /// Adding a partner's customers' organizations: the partner sign-in, the choice, the batch.
    partner: fn partner(on_done: Callback<()>) {
        Ok(view! { <crate::pages::partner::PartnerOnboarding on_done /> }.into_any())
    }
}

split_point! {
    /// The edit page of one organization, with Repair and its recent use.
    edit: fn edit(id: String, on_done: Callback<Option<Organization>>) {
        Ok(view! { <crate::pages::edit::Edit id on_done /> }.into_any())
    }
}

split_point! {
    /// The delete dialog: keep the organization's applications or delete them from Microsoft 365.
    delete: fn delete_dialog(o: Organization, on_close: Callback<()>, on_deleted: Callback<(Organization, bool)>) {
        Ok(view! { <crate::pages::delete::DeleteDialog o on_close on_deleted /> }.into_any())
    }
}

split_point! {
    /// What a delete did, with the applications kept in the tenant (in the delete dialog's chunk).
    delete: fn deleted_notice(o: Organization, removed: bool, on_dismiss: Callback<()>) {
        Ok(view! { <crate::pages::delete::DeletedNotice o removed on_dismiss /> }.into_any())
    }
}

split_point! {
    /// The delete dialog's sign-in that deletes the organization's applications from Microsoft 365.
    removal: fn removal_sign_in(cloud: CloudEnvironment, organization: String, on_signed_in: Callback<String>) {
        Ok(view! {
            <crate::wizard::signin_panel::SignInPanel cloud removes=organization on_signed_in
                intro=key!("chunk.removal.intro") />
        }
        .into_any())
    }
}

split_point! {
    /// Manual's list of the permissions to grant, with the consent link (only Manual shows it).
    manual_permissions: fn manual_permissions(cloud: CloudEnvironment, tenant: RwSignal<String>, app: RwSignal<String>) {
        Ok(view! { <crate::wizard::permissions::ManualPermissions cloud tenant app /> }.into_any())
    }
}

/// What [`languages`] gives: a future that loads the language the portal asked for.
pub type LanguageLoad = std::pin::Pin<Box<dyn Future<Output = crate::i18n::runtime::Shown>>>;

/// A language other than English: its negotiation, its catalogue's fetch and reading, and the
/// pseudo-locale ([`crate::i18n::languages`]). A split function cannot be `async`, so it hands
/// back the load as a future made in the chunk.
#[cfg(feature = "split")]
#[::leptos::wasm_split::wasm_split(languages, wasm_split_path = ::leptos::wasm_split, fallible)]
pub fn languages(requested: String, assets: String) -> Result<LanguageLoad, ChunkUnavailable> {
    Ok(Box::pin(crate::i18n::languages::load(requested, assets)))
}

/// A language other than English (not split: the unit tests).
#[cfg(not(feature = "split"))]
pub async fn languages(requested: String, assets: String) -> Result<LanguageLoad, ChunkUnavailable> {
    Ok(Box::pin(crate::i18n::languages::load(requested, assets)))
}

/// The screen `load` builds, once its chunk is here: a short "Loading…" meanwhile, and when the
/// chunk cannot be fetched, a sentence and Retry instead of a blank panel.
#[component]
pub fn Deferred<F, Fut>(load: F) -> impl IntoView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Loaded> + Send + 'static,
{
    let attempt = RwSignal::new(0u32);
    view! {
        <Suspense fallback=move || view! { <p class="hint" role="status" data-testid="chunk-loading">{crate::i18n::t(key!("chunk.loading"))}</p> }>
            {move || {
                attempt.track();
                let screen = load();
                Suspend::new(async move {
                    match screen.await {
                        Ok(view) => view,
                        Err(ChunkUnavailable) => view! {
                            <div class="notice" role="alert" data-testid="chunk-failed">
                                <p>{crate::i18n::t(key!("chunk.unavailable"))}</p>
                                <button type="button" on:click=move |_| attempt.update(|n| *n += 1)>{crate::i18n::t(key!("common.retry"))}</button>
                            </div>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
