//! The delete dialog of the organization list: keep the organization's applications in the tenant,
//! or delete them from Microsoft 365 too with a sign-in; loaded with its own wasm chunk when an
//! administrator chooses Delete.

use crate::api::{self, ApiFailure};
use crate::i18n::{msg, t, tr, Msg};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{DeleteOrganization, Organization};
use shared::endpoints::DELETE_ORGANIZATION;
use shared::ErrorCode;

/// Asks before deleting `o`; `on_close` when cancelled, `on_deleted` with whether its
/// applications were deleted from Microsoft 365 too.
#[component]
pub fn DeleteDialog(
    o: Organization,
    on_close: Callback<()>,
    on_deleted: Callback<(Organization, bool)>,
) -> impl IntoView {
    // The dialog's choice: delete the applications from Microsoft 365 too, with this sign-in.
    let remove = RwSignal::new(false);
    let removal_sign_in = RwSignal::new(None::<String>);
    let deleting = RwSignal::new(false);
    let dialog_error = RwSignal::new(None::<String>);
    // Bumped to start the removal's sign-in over (a new panel) after a refusal that used it up.
    let panel_key = RwSignal::new(0u32);
    let delete = move |o: Organization| {
        let remove_with_sign_in = if remove.get_untracked() { removal_sign_in.get_untracked() } else { None };
        let removed = remove_with_sign_in.is_some();
        deleting.set(true);
        dialog_error.set(None);
        spawn_local(async move {
            // The version the dialog showed: a change saved meanwhile stops the delete.
            let body = DeleteOrganization { confirm: true, version: o.version, remove_with_sign_in };
            let r: Result<(), ApiFailure> = api::send(&DELETE_ORGANIZATION, &o.id, &body).await.map(drop);
            deleting.set(false);
            match r {
                Ok(()) => on_deleted.run((o, removed)),
                // Nothing was deleted (or the organization stays while applications remain): the
                // dialog stays open to try again, with the same sign-in when it is still good.
                Err(e) => {
                    let keeps_sign_in =
                        matches!(e.code(), Some(ErrorCode::ApplicationsNotRemoved | ErrorCode::ApplicationsShared));
                    if removed && !keeps_sign_in {
                        removal_sign_in.set(None);
                        panel_key.update(|k| *k += 1);
                    }
                    dialog_error.set(Some(e.message()));
                }
            }
        });
    };
    let i18n = crate::i18n::I18n::get();
    let target = o.clone();
    let count = o.applications.len();
    let cloud = o.cloud;
    let id = StoredValue::new(o.id.clone());
    view! {
        <div class="dialog" role="alertdialog" aria-modal="true" aria-labelledby="confirm-title">
            <h2 id="confirm-title">{tr(key!("list.confirm.title"), vec![("name", o.name.clone())])}</h2>
            <p>{t(key!("list.confirm.intro"))}</p>
            <KeptApplications o=o.clone() />
            <fieldset>
                <legend>{t(key!("list.confirm.legend"))}</legend>
                <div class="option">
                    <input type="radio" name="delete-applications" id="delete-keep" prop:disabled=move || deleting.get()
                        prop:checked=move || !remove.get() on:change=move |_| { remove.set(false); removal_sign_in.set(None); } />
                    <label for="delete-keep">{t(key!("list.confirm.keep"))}</label>
                </div>
                <div class="option">
                    <input type="radio" name="delete-applications" id="delete-remove" prop:disabled=move || deleting.get()
                        prop:checked=move || remove.get() on:change=move |_| remove.set(true) />
                    <label for="delete-remove">{msg(Msg::new(key!("list.confirm.remove")).count(count as f64))}</label>
                </div>
            </fieldset>
            <Show when=move || remove.get()>
                {move || {
                    panel_key.track();
                    let on_signed_in = Callback::new(move |id| removal_sign_in.set(Some(id)));
                    view! {
                        <crate::chunks::Deferred load=move || crate::chunks::removal_sign_in(cloud, id.get_value(), on_signed_in) />
                    }
                }}
            </Show>
            <p class="error" role="alert" data-testid="delete-error">{move || dialog_error.get().unwrap_or_default()}</p>
            <div class="actions">
                <button type="button" class="secondary" prop:disabled=move || deleting.get() on:click=move |_| on_close.run(())>{t(key!("common.cancel"))}</button>
                <button type="button" class="danger" data-testid="confirm-delete"
                    prop:disabled=move || deleting.get() || (remove.get() && removal_sign_in.get().is_none())
                    on:click=move |_| delete(target.clone())>
                    {move || if remove.get() { i18n.t(key!("list.confirm.delete_and_remove")) } else { i18n.t(key!("list.delete")) }}
                </button>
            </div>
        </div>
    }
}

/// What a delete did: the organization's applications deleted from Microsoft 365 too
/// (`removed`), or kept in the tenant (listed, with where to remove them); `on_dismiss` closes it.
#[component]
pub fn DeletedNotice(o: Organization, removed: bool, on_dismiss: Callback<()>) -> impl IntoView {
    if removed {
        view! {
            <div class="notice" role="status" data-testid="removed-applications">
                <p>{msg(Msg::new(key!("list.removed.deleted")).arg("name", o.name.clone()).count(o.applications.len() as f64))}</p>
                <button type="button" class="secondary" on:click=move |_| on_dismiss.run(())>{t(key!("common.dismiss"))}</button>
            </div>
        }
        .into_any()
    } else {
        view! {
            <div class="notice" role="status" data-testid="kept-applications">
                <p>{tr(key!("list.removed.kept"), vec![("name", o.name.clone())])}</p>
                <KeptApplications o=o.clone() />
                <button type="button" class="secondary" on:click=move |_| on_dismiss.run(())>{t(key!("common.dismiss"))}</button>
            </div>
        }
        .into_any()
    }
}

/// The applications of a deleted organization, and where to remove them by hand.
#[component]
fn KeptApplications(o: Organization) -> impl IntoView {
    view! {
        <ul class="kept">
            {o.applications.iter().map(|a| view! {
                <li>
                    <span class="mono">{a.application_id.clone()}</span>
                    " "{tr(if a.active { key!("list.kept.workload") } else { key!("list.kept.workload_unused") },
                        vec![("workload", crate::i18n::I18n::get().t(super::workload(a.workload)))])}
                </li>
            }).collect_view()}
        </ul>
        <p><a href=o.cloud.app_registrations_url() target="_blank" rel="noopener noreferrer" data-testid="app-registrations-link">
            {tr(key!("list.kept.open_registrations"), vec![("cloud", crate::i18n::I18n::get().msg(&crate::wizard::logic::cloud_label(o.cloud)))])}
        </a></p>
    }
}
