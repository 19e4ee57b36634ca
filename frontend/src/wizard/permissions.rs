//! The Manual method's permissions: what an application registered by hand needs in the chosen
//! cloud (copyable, with the API and type of each), where to register and consent in that cloud,
//! and, when a save found permissions missing, which ones, with "Check again" and "Save anyway".

use crate::api;
use crate::i18n::{pieces, t, tr, I18n, Piece};
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
    let i18n = I18n::get();
    view! {
        <table data-testid=testid>
            <thead><tr>
                <th scope="col">{t(key!("permissions.col.permission"))}</th>
                <th scope="col">{t(key!("permissions.col.api"))}</th>
                <th scope="col">{t(key!("permissions.col.type"))}</th>
                <th scope="col">{t(key!("permissions.col.why"))}</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|p| view! {
                    <tr><td class="mono" translate="no">{p.value.clone()}</td><td translate="no">{p.api.clone()}</td>
                        <td>{let kind = p.kind.clone(); move || i18n.permission_type(&kind)}</td><td>{move || i18n.permission_reason(&p)}</td></tr>
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
    let i18n = I18n::get();
    let cloud_name = move || vec![("cloud", I18n::get().msg(&super::logic::cloud_label(cloud)))];
    view! {
        <details class="permissions" data-testid="manual-permissions">
            <summary>{tr(key!("permissions.manual.summary"), cloud_name())}</summary>
            <p>
                {move || pieces(&i18n.t(key!("permissions.manual.register")), &["link"]).into_iter().map(|p| match p {
                    Piece::Text(s) => s.into_any(),
                    Piece::Value(_) => view! {
                        <a href=cloud.app_registrations_url() target="_blank" rel="noopener noreferrer" data-testid="app-registrations-link">
                            {tr(key!("permissions.manual.register_link"), cloud_name())}
                        </a>
                    }.into_any(),
                }).collect_view()}
            </p>
            {move || match list.get() {
                None => view! { <p class="hint">{t(key!("permissions.manual.loading"))}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error">{e}</p> }.into_any(),
                Some(Ok(l)) => view! {
                    <PermissionTable list=l testid="permission-list" />
                    <div class="code-row">
                        <button type="button" class="secondary" on:click=copy>{move || if copied.get() { i18n.t(key!("permissions.manual.copied")) } else { i18n.t(key!("permissions.manual.copy")) }}</button>
                        <span class="visually-hidden" aria-live="polite">{move || if copied.get() { i18n.t(key!("permissions.manual.copied_status")) } else { String::new() }}</span>
                    </div>
                }.into_any(),
            }}
            {move || match ids() {
                Some((t, a)) => view! {
                    <p data-testid="consent-links">
                        {pieces(&i18n.t(key!("permissions.consent.text")), &["consent_link", "permissions_link"]).into_iter().map(|p| match p {
                            Piece::Text(s) => s.into_any(),
                            Piece::Value(0) => view! {
                                <a href=cloud.admin_consent_url(&t, &a) target="_blank" rel="noopener noreferrer" data-testid="admin-consent-link">
                                    {i18n.t(key!("permissions.consent.link"))}
                                </a>
                            }.into_any(),
                            Piece::Value(_) => view! {
                                <a href=cloud.api_permissions_url(&a) target="_blank" rel="noopener noreferrer">{i18n.t(key!("permissions.consent.permissions_link"))}</a>
                            }.into_any(),
                        }).collect_view()}
                    </p>
                }.into_any(),
                None => view! {
                    <p class="hint">{i18n.t(key!("permissions.consent.needs_ids"))}</p>
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
            <h3 id="missing-heading">{t(key!("permissions.missing.heading"))}</h3>
            <p role="alert">{message}</p>
            <PermissionTable list=list testid="missing-list" />
            <div class="actions">
                <button type="button" data-testid="check-again" prop:disabled=move || saving.get()
                    on:click=move |_| on_check_again.run(())>{t(key!("permissions.missing.check_again"))}</button>
            </div>
            <div class="option">
                <input type="checkbox" id="acknowledge-missing" prop:checked=move || understood.get()
                    on:change=move |ev| understood.set(event_target_checked(&ev)) />
                <label for="acknowledge-missing">
                    {t(key!("permissions.missing.acknowledge"))}
                </label>
            </div>
            <button type="button" class="secondary" data-testid="save-anyway"
                prop:disabled=move || !understood.get() || saving.get()
                on:click=move |_| on_save_anyway.run(())>{t(key!("permissions.missing.save_anyway"))}</button>
        </section>
    }
}
