//! "Add & Manage Microsoft 365 Organizations": the account's organizations with their cloud,
//! tenant, application, credential type and expiry (warning under 30 days, expired), multiple
//! applications, health (with its reason and when it was checked; "Check now"); Add, Edit, Delete
//! (with confirmation). An empty state leads to Add.

use crate::api::{self, ApiFailure};
use crate::i18n::{msg, t, tr, Msg, When};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{ExpiryState, Health, HealthStatus, Organization, OrganizationList};
use shared::endpoints::{CHECK_ORGANIZATION, LIST_ORGANIZATIONS};

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
    let deleted = Callback::new(move |(o, removed): (Organization, bool)| {
        confirming.set(None);
        on_deleted.run(o.id.clone());
        version.update(|v| *v += 1);
        kept.set(Some((o, removed)));
    });
    let closed = Callback::new(move |()| confirming.set(None));
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
            {move || kept.get().map(|(o, removed)| {
                let dismiss = Callback::new(move |()| kept.set(None));
                view! { <crate::chunks::Deferred load=move || crate::chunks::deleted_notice(o.clone(), removed, dismiss) /> }
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
            {move || confirming.get().map(|o| view! {
                <crate::chunks::Deferred load=move || crate::chunks::delete_dialog(o.clone(), closed, deleted) />
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
