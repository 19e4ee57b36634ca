//! The Manual method's permissions: what an application registered by hand needs in the chosen
//! cloud (copyable, with the API and type of each), where to register and consent in that cloud,
//! and, when a save found permissions missing, which ones, with "Check again" and "Save anyway".

use crate::api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::RequiredPermission;
use shared::endpoints::CLOUD_PERMISSIONS;
use shared::{AppId, CloudEnvironment, TenantId};

/// The list as text for the clipboard: one `API<TAB>permission<TAB>type` line each.
fn as_text(list: &[RequiredPermission]) -> String {
    list.iter().map(|p| format!("{}\t{}\t{}\n", p.api, p.value, p.kind)).collect()
}

/// The permissions as a table: permission, API, type and why.
#[component]
fn PermissionTable(list: Vec<RequiredPermission>, testid: &'static str) -> impl IntoView {
    view! {
        <table data-testid=testid>
            <thead><tr><th scope="col">"Permission"</th><th scope="col">"API"</th><th scope="col">"Type"</th><th scope="col">"Why the backup needs it"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|p| view! {
                    <tr><td class="mono">{p.value}</td><td>{p.api}</td><td>{p.kind}</td><td>{p.reason}</td></tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// For the Manual method: the permissions the application needs in `cloud`, the Azure portal's
/// App registrations page of that cloud, and, once `tenant` and `app` are valid IDs, the
/// admin-consent link and the application's API permissions page.
#[component]
pub fn ManualPermissions(cloud: CloudEnvironment, tenant: RwSignal<String>, app: RwSignal<String>) -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<RequiredPermission>, String>>);
    spawn_local(async move {
        let r = api::fetch(&CLOUD_PERMISSIONS, cloud.as_str()).await;
        list.set(Some(r.map(|l| l.permissions).map_err(|e| e.message())));
    });
    let copied = RwSignal::new(false);
    let copy = move |_| {
        if let (Some(w), Some(Ok(l))) = (web_sys::window(), list.get_untracked()) {
            let _ = w.navigator().clipboard().write_text(&as_text(&l));
            copied.set(true);
        }
    };
    let ids = move || {
        let t = TenantId::parse(tenant.get().trim()).ok()?;
        let a = AppId::parse(app.get().trim()).ok()?;
        Some((t, a))
    };
    view! {
        <details class="permissions" data-testid="manual-permissions">
            <summary>"Permissions the application needs in " {cloud.label()}</summary>
            <p>
                "Register the application in "
                <a href=cloud.app_registrations_url() target="_blank" rel="noopener noreferrer" data-testid="app-registrations-link">
                    "App registrations (Azure portal, " {cloud.label()} ")"
                </a>
                ", add these application permissions under API permissions, then grant admin consent."
            </p>
            {move || match list.get() {
                None => view! { <p class="hint">"Loading the list…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(l)) => view! {
                    <PermissionTable list=l testid="permission-list" />
                    <div class="code-row">
                        <button type="button" class="secondary" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy the list" }}</button>
                        <span class="visually-hidden" aria-live="polite">{move || if copied.get() { "The list was copied." } else { "" }}</span>
                    </div>
                }.into_any(),
            }}
            {move || match ids() {
                Some((t, a)) => view! {
                    <p data-testid="consent-links">
                        <a href=cloud.admin_consent_url(&t, &a) target="_blank" rel="noopener noreferrer" data-testid="admin-consent-link">
                            "Grant admin consent for this application"
                        </a>
                        " (sign in as a Privileged Role Administrator or a Global Administrator: only they can grant Microsoft Graph's application permissions; it grants every permission configured on the application) or open its "
                        <a href=cloud.api_permissions_url(&a) target="_blank" rel="noopener noreferrer">"API permissions"</a>
                        "."
                    </p>
                }.into_any(),
                None => view! {
                    <p class="hint">"Enter the tenant ID and application ID above for the admin-consent link."</p>
                }.into_any(),
            }}
        </details>
    }
}

/// What a save found missing, with "Check again" and an explicit "Save anyway".
#[component]
pub fn MissingPermissions(
    message: String,
    list: Vec<RequiredPermission>,
    saving: Signal<bool>,
    on_check_again: Callback<()>,
    on_save_anyway: Callback<()>,
) -> impl IntoView {
    let understood = RwSignal::new(false);
    view! {
        <section class="missing" data-testid="missing-permissions" aria-labelledby="missing-heading">
            <h3 id="missing-heading">"Permissions missing"</h3>
            <p role="alert">{message}</p>
            <PermissionTable list=list testid="missing-list" />
            <div class="actions">
                <button type="button" data-testid="check-again" prop:disabled=move || saving.get()
                    on:click=move |_| on_check_again.run(())>"Check again"</button>
            </div>
            <div class="option">
                <input type="checkbox" id="acknowledge-missing" prop:checked=move || understood.get()
                    on:change=move |ev| understood.set(event_target_checked(&ev)) />
                <label for="acknowledge-missing">
                    "I understand that backups that need these permissions will fail until they are granted. The organization will show as needing attention."
                </label>
            </div>
            <button type="button" class="secondary" data-testid="save-anyway"
                prop:disabled=move || !understood.get() || saving.get()
                on:click=move |_| on_save_anyway.run(())>"Save anyway"</button>
        </section>
    }
}
