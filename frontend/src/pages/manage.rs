//! "Add & Manage Microsoft 365 Organizations": the account's organizations with their cloud,
//! tenant, application, credential type and expiry (warning under 30 days, expired), multiple
//! applications, health (with its reason and when it was checked; "Check now"); Add, Edit, Delete
//! (with confirmation). An empty state leads to Add.

use crate::api::{self, ApiFailure};
use crate::i18n::{msg, t, tr, Msg, When};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{DeleteOrganization, ExpiryState, Health, HealthStatus, Organization, OrganizationList};
use shared::endpoints::{CHECK_ORGANIZATION, DELETE_ORGANIZATION, LIST_ORGANIZATIONS};
use shared::ErrorCode;

/// The health's label, its badge class and its explanation, the app's own sentences written by
/// `show` (`|m| i18n.msg(m)` on the page, [`crate::i18n::english`] in tests).
pub fn health_text(h: &HealthStatus, show: impl Fn(&Msg) -> String) -> (String, &'static str, String) {
    let (label, class) = match h.state {
        Health::Unchecked => (key!("list.health.unchecked"), "badge"),
        Health::Healthy => (key!("list.health.healthy"), "badge ok"),
        Health::NeedsAttention => (key!("list.health.needs_attention"), "badge soon"),
        Health::Failing => (key!("list.health.failing"), "badge expired"),
    };
    let mut why = h.reason.map(|r| show(&Msg::new(super::health_reason(r)))).unwrap_or_default();
    if !h.permissions.is_empty() {
        why.push_str(&format!(" ({})", h.permissions.join(", ")));
    }
    if h.acknowledged {
        why.push(' ');
        why.push_str(&show(&Msg::new(key!("list.health.acknowledged"))));
    }
    if let Some(at) = &h.checked_at {
        why.push(' ');
        why.push_str(&show(&Msg::new(key!("list.health.checked")).when("at", When::DateTime(at.clone()))));
    }
    for w in &h.warnings {
        why.push(' ');
        why.push_str(&show(&Msg::new(super::health_warning(*w))));
    }
    (show(&Msg::new(label)), class, why.trim().to_owned())
}

fn expiry_text(o: &Organization) -> (Msg, &'static str) {
    let date = o.credential_expires_at.as_ref().map(|d| When::Date(d.clone()));
    match (o.expiry, date) {
        (ExpiryState::Expired, Some(d)) => (Msg::new(key!("list.expiry.expired")).when("date", d), "badge expired"),
        (ExpiryState::ExpiresSoon, Some(d)) => (Msg::new(key!("list.expiry.soon")).when("date", d), "badge soon"),
        (_, Some(d)) => (Msg::new(key!("list.expiry.until")).when("date", d), "badge"),
        (_, None) => (Msg::new(key!("list.expiry.unknown")), "badge"),
    }
}

/// The applications of `o` registered in the tenant (those turned off too), by ID, with the cloud's
/// App registrations page where an administrator removes them.
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

/// The list. `on_add` opens the wizard; `on_edit` the edit page.
#[component]
pub fn Manage(
    on_add: Callback<()>,
    on_edit: Callback<String>,
    on_deleted: Callback<String>,
    /// Opens "Add customers' organizations (partner)".
    #[prop(optional)]
    on_partner: Option<Callback<()>>,
) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let epoch = crate::context::SessionEpoch::from_context();
    let list = LocalResource::new(move || {
        version.track();
        if let Some(e) = epoch {
            e.track();
        }
        api::fetch::<OrganizationList>(&LIST_ORGANIZATIONS, "")
    });
    let confirming = RwSignal::new(None::<Organization>);
    // The organization just deleted, and whether its applications were deleted from the tenant too
    // (otherwise they stay until the admin removes them).
    let kept = RwSignal::new(None::<(Organization, bool)>);
    // The dialog's choice: delete the applications from Microsoft 365 too, with this sign-in.
    let remove = RwSignal::new(false);
    let removal_sign_in = RwSignal::new(None::<String>);
    let deleting = RwSignal::new(false);
    let dialog_error = RwSignal::new(None::<String>);
    // Bumped to start the removal's sign-in over (a new panel) after a refusal that used it up.
    let panel_key = RwSignal::new(0u32);
    let close_dialog = move || {
        confirming.set(None);
        remove.set(false);
        removal_sign_in.set(None);
        dialog_error.set(None);
    };
    let error = RwSignal::new(None::<String>);
    let checking = RwSignal::new(None::<String>);
    let check = move |id: String| {
        checking.set(Some(id.clone()));
        spawn_local(async move {
            let r: Result<Organization, ApiFailure> = api::fetch(&CHECK_ORGANIZATION, &id).await;
            checking.set(None);
            match r {
                Ok(o) => {
                    crate::embed::post(shared::embed::AppMessage::health(o.id, &o.health));
                    version.update(|v| *v += 1)
                }
                Err(e) => error.set(Some(e.message())),
            }
        });
    };
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
            // The dialog cannot change while deleting; this is still its organization's answer.
            let still_open = confirming.with_untracked(|c| c.as_ref().is_some_and(|c| c.id == o.id));
            match r {
                Ok(()) => {
                    if still_open {
                        close_dialog();
                    }
                    on_deleted.run(o.id.clone());
                    version.update(|v| *v += 1);
                    kept.set(Some((o, removed)));
                }
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
    let i18n = crate::i18n::runtime::I18n::get();
    view! {
        <section>
            <div class="toolbar">
                <button type="button" on:click=move |_| on_add.run(())>{t(key!("list.add"))}</button>
                {on_partner.map(|open| view! {
                    <button type="button" class="secondary" data-testid="add-partner"
                        on:click=move |_| open.run(())>{t(key!("list.add_partner"))}</button>
                })}
            </div>
            <p class="error" role="alert">{move || error.get().unwrap_or_default()}</p>
            {move || kept.get().map(|(o, removed)| if removed {
                view! {
                    <div class="notice" role="status" data-testid="removed-applications">
                        <p>{msg(Msg::new(key!("list.removed.deleted")).arg("name", o.name.clone()).count(o.applications.len() as f64))}</p>
                        <button type="button" class="secondary" on:click=move |_| kept.set(None)>{t(key!("common.dismiss"))}</button>
                    </div>
                }.into_any()
            } else {
                view! {
                    <div class="notice" role="status" data-testid="kept-applications">
                        <p>{tr(key!("list.removed.kept"), vec![("name", o.name.clone())])}</p>
                        <KeptApplications o=o.clone() />
                        <button type="button" class="secondary" on:click=move |_| kept.set(None)>{t(key!("common.dismiss"))}</button>
                    </div>
                }.into_any()
            })}
            <Suspense fallback=move || view! { <p>{t(key!("list.loading"))}</p> }>
                {move || list.get().map(|r| match r {
                    Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                    Ok(l) if l.organizations.is_empty() => view! {
                        <div class="empty" data-testid="empty-state">
                            <p>{t(key!("list.empty"))}</p>
                            <button type="button" on:click=move |_| on_add.run(())>{t(key!("list.add_first"))}</button>
                        </div>
                    }.into_any(),
                    Ok(l) => view! {
                        <table data-testid="organizations">
                            <caption class="visually-hidden">{t(key!("list.caption"))}</caption>
                            <thead><tr>
                                <th scope="col">{t(key!("list.col.name"))}</th><th scope="col">{t(key!("list.col.cloud"))}</th><th scope="col">{t(key!("list.col.tenant"))}</th>
                                <th scope="col">{t(key!("list.col.application"))}</th><th scope="col">{t(key!("list.col.credential"))}</th>
                                <th scope="col">{t(key!("list.col.multiple"))}</th><th scope="col">{t(key!("list.col.health"))}</th>
                                <th scope="col"><span class="visually-hidden">{t(key!("list.col.actions"))}</span></th>
                            </tr></thead>
                            <tbody>
                                {l.organizations.into_iter().map(|o| {
                                    let (expiry, class) = expiry_text(&o);
                                    let credential = match o.credential_type {
                                        shared::api::CredentialType::Secret => key!("list.credential.secret"),
                                        shared::api::CredentialType::Certificate => key!("list.credential.certificate"),
                                    };
                                    let multiple = if o.multiple_applications {
                                        Msg::new(key!("list.multiple.on")).count(o.active_applications as f64)
                                    } else {
                                        Msg::new(key!("list.multiple.off"))
                                    };
                                    let workloads = super::additional_workloads(&o, |m| crate::i18n::I18n::get().msg(m));
                                    let (edit_id, del, check_id) = (o.id.clone(), o.clone(), o.id.clone());
                                    let health_status = o.health.clone();
                                    let busy_id = o.id.clone();
                                    let label = o.name.clone();
                                    view! {
                                        <tr>
                                            <th scope="row">{o.name.clone()}</th>
                                            <td>{crate::i18n::msg(crate::wizard::logic::cloud_label(o.cloud))}</td>
                                            <td class="mono">{o.tenant_id.clone()}</td>
                                            <td class="mono">{o.application_id.clone()}</td>
                                            <td>{t(credential)}<br/><span class=class>{msg(expiry)}</span></td>
                                            <td>{msg(multiple)}<br/><span class="hint" data-testid="workloads">{workloads}</span></td>
                                            <td data-testid="health">{move || {
                                                let (health, health_class, why) = health_text(&health_status, |m| i18n.msg(m));
                                                view! { <span class=health_class>{health}</span><br/><span class="hint">{why}</span> }
                                            }}</td>
                                            <td class="row-actions">
                                                <button type="button" class="secondary" aria-label=tr(key!("list.check_now_label"), vec![("name", label.clone())])
                                                    prop:disabled=move || checking.get().as_deref() == Some(busy_id.as_str())
                                                    on:click=move |_| check(check_id.clone())>{t(key!("list.check_now"))}</button>
                                                <button type="button" class="secondary" aria-label=tr(key!("list.edit_label"), vec![("name", label.clone())])
                                                    on:click=move |_| on_edit.run(edit_id.clone())>{t(key!("list.edit"))}</button>
                                                <button type="button" class="danger" aria-label=tr(key!("list.delete_label"), vec![("name", o.name.clone())])
                                                    on:click=move |_| confirming.set(Some(del.clone()))>{t(key!("list.delete"))}</button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                })}
            </Suspense>
            {move || confirming.get().map(|o| {
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
                            <button type="button" class="secondary" prop:disabled=move || deleting.get() on:click=move |_| close_dialog()>{t(key!("common.cancel"))}</button>
                            <button type="button" class="danger" data-testid="confirm-delete"
                                prop:disabled=move || deleting.get() || (remove.get() && removal_sign_in.get().is_none())
                                on:click=move |_| delete(target.clone())>
                                {move || if remove.get() { i18n.t(key!("list.confirm.delete_and_remove")) } else { i18n.t(key!("list.delete")) }}
                            </button>
                        </div>
                    </div>
                }
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_warning_is_told_without_changing_the_badge() {
        let healthy = HealthStatus { state: Health::Healthy, ..Default::default() };
        let warned = HealthStatus { warnings: vec![shared::api::HealthWarning::EngineAuditFull], ..healthy.clone() };
        let (label, class, why) = health_text(&warned, crate::i18n::english);
        assert_eq!((label.as_str(), class), ("Healthy", "badge ok"));
        assert!(why.contains("ENGINE_AUDIT_MAX_ROWS"), "{why}");
        assert_eq!(health_text(&healthy, crate::i18n::english).2, "");
    }
}
