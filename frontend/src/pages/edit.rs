//! Edit an organization: the name and "multiple applications" change without any credential;
//! turning multiple applications back on offers "Use existing applications" (checked again) or
//! "Recreate multiple applications" (a new device-code sign-in creates 3 new ones). A new
//! application password is checked against Microsoft before it is saved, and the page says so.

use crate::api::{self, ApiFailure};
use crate::i18n::{msg, t, tr, Msg, When};
use crate::wizard::signin_panel::SignInPanel;
use crate::wizard::step3::MailboxNote;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{
    CredentialInput, CredentialType, Organization, OrganizationApplication, ReenableChoice, UpdateOrganization,
};
use shared::endpoints::{CHECK_ORGANIZATION, GET_ORGANIZATION, UPDATE_ORGANIZATION};
use shared::secret::SecretString;

/// An application's credential as the page lists it: its kind and when it ends.
pub fn credential_text(a: &OrganizationApplication) -> Msg {
    match (a.credential_type, &a.credential_expires_at) {
        (CredentialType::Certificate, Some(end)) => {
            Msg::new(key!("edit.credential.certificate_ends")).when("date", When::Date(end.clone()))
        }
        (CredentialType::Secret, Some(end)) => {
            Msg::new(key!("edit.credential.secret_ends")).when("date", When::Date(end.clone()))
        }
        (CredentialType::Certificate, None) => Msg::new(key!("edit.credential.certificate")),
        (CredentialType::Secret, None) => Msg::new(key!("edit.credential.secret")),
    }
}

/// Granted against required permissions, naming what is missing (`None` for an application the
/// administrator registered, whose permissions the service did not grant).
pub fn permissions_text(a: &OrganizationApplication) -> Option<Msg> {
    if a.required_permissions.is_empty() {
        return None;
    }
    let missing: Vec<&str> =
        a.required_permissions.iter().filter(|p| !a.granted_permissions.contains(p)).map(String::as_str).collect();
    let granted = a.required_permissions.len() - missing.len();
    let total = a.required_permissions.len();
    let m = if missing.is_empty() {
        Msg::new(key!("edit.permissions.granted"))
    } else {
        Msg::new(key!("edit.permissions.missing")).arg("missing", missing.join(", "))
    };
    Some(m.arg("granted", granted.to_string()).count(total as f64))
}

/// The edit page for organization `id`.
#[component]
pub fn Edit(id: String, on_done: Callback<Option<Organization>>) -> impl IntoView {
    let load_id = id.clone();
    let org = LocalResource::new(move || {
        let id = load_id.clone();
        async move { api::fetch(&GET_ORGANIZATION, &id).await }
    });
    let name = RwSignal::new(String::new());
    let multiple = RwSignal::new(false);
    let new_secret = RwSignal::new(String::new());
    let choice = RwSignal::new(ReenableChoice::UseExisting);
    let recreate_sign_in = RwSignal::new(None::<String>);
    let message = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let tickets = crate::wizard::waiting::Tickets::new();
    let i18n = crate::i18n::I18n::get();
    let checking = RwSignal::new(false);
    let repairing = RwSignal::new(false);
    let check_id = id.clone();
    let check = move |_| {
        let id = check_id.clone();
        checking.set(true);
        spawn_local(async move {
            let r: Result<Organization, ApiFailure> = api::fetch(&CHECK_ORGANIZATION, &id).await;
            checking.set(false);
            match r {
                Ok(o) => {
                    crate::embed::post(shared::embed::AppMessage::health(o.id, &o.health));
                    org.refetch();
                }
                Err(e) => message.set(Some(e.message())),
            }
        });
    };
    Effect::new(move |_| {
        if let Some(Ok(o)) = org.get() {
            name.set(o.name.clone());
            multiple.set(o.multiple_applications);
        }
    });
    // The sign-in panel goes away (and cancels its sign-in) when "Recreate" is no longer chosen:
    // forget its ID, so that a later Save cannot name a cancelled sign-in.
    Effect::new(move |_| {
        if !(multiple.get() && choice.get() == ReenableChoice::Recreate) {
            recreate_sign_in.set(None);
        }
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(Ok(current)) = org.get() else { return };
        let turning_on = multiple.get() && !current.multiple_applications;
        if turning_on && choice.get() == ReenableChoice::Recreate && recreate_sign_in.get().is_none() {
            message.set(Some(i18n.t(key!("edit.sign_in_first"))));
            return;
        }
        let body = UpdateOrganization {
            version: current.version,
            name: (name.get() != current.name).then(|| name.get()),
            multiple_applications: (multiple.get() != current.multiple_applications).then(|| multiple.get()),
            reenable: turning_on.then(|| choice.get()),
            sign_in_id: (turning_on && choice.get() == ReenableChoice::Recreate)
                .then(|| recreate_sign_in.get())
                .flatten(),
            application_id: None,
            credential: (!new_secret.get().is_empty())
                .then(|| CredentialInput::Secret { client_secret: SecretString::new(new_secret.get()) }),
            acknowledged_permissions: vec![],
        };
        let id = id.clone();
        let used_sign_in = body.sign_in_id.clone();
        saving.set(true);
        message.set(None);
        let ticket = tickets.take();
        spawn_local(async move {
            let r: Result<Organization, ApiFailure> = api::send(&UPDATE_ORGANIZATION, &id, &body).await;
            if !tickets.current(ticket) {
                return;
            }
            saving.set(false);
            match r {
                Ok(o) => {
                    // Its applications are stored now: closing the page must not cancel it.
                    if let Some(id) = &used_sign_in {
                        crate::signins::saved(id);
                    }
                    on_done.run(Some(o))
                }
                Err(e) => message.set(Some(e.message())),
            }
        });
    };
    view! {
        <Suspense fallback=|| view! { <p>{t(key!("edit.loading"))}</p> }>
            {move || org.get().map(|r| match r {
                Err(e) => view! { <p class="error" role="alert">{e.message()}</p> }.into_any(),
                Ok(o) => { let usage_id = o.id.clone(); view! {
                    <form class="step" on:submit=save.clone() novalidate=true>
                        <h2 id="edit-heading" data-testid="edit-heading">{o.name.clone()}</h2>
                        <p class="hint">{tr(key!("edit.tenant"), vec![("tenant", o.tenant_id.clone()), ("cloud", crate::i18n::I18n::get().msg(&crate::wizard::logic::cloud_label(o.cloud)))])}</p>
                        <table class="applications" data-testid="applications" aria-labelledby="applications-caption">
                            <caption id="applications-caption">{t(key!("edit.applications.caption"))}</caption>
                            <thead><tr>
                                <th scope="col">{t(key!("edit.col.application"))}</th><th scope="col">{t(key!("list.col.application"))}</th>
                                <th scope="col">{t(key!("list.col.credential"))}</th><th scope="col">{t(key!("edit.col.permissions"))}</th><th scope="col">{t(key!("list.col.health"))}</th>
                            </tr></thead>
                            <tbody>
                            {o.applications.iter().map(|a| {
                                let role = match (a.main, a.active) {
                                    (true, true) => key!("edit.role.main"),
                                    (true, false) => key!("edit.role.main_unused"),
                                    (false, true) => key!("edit.role.additional"),
                                    (false, false) => key!("edit.role.additional_unused"),
                                };
                                let health_status = a.health.clone();
                                let permissions = permissions_text(a).unwrap_or_else(|| Msg::new(key!("edit.permissions.by_administrator")));
                                view! {
                                    <tr>
                                        <th scope="row">{t(role)}<br/><span class="hint">{t(super::workload(a.workload))}</span></th>
                                        <td class="mono">{a.application_id.clone()}</td>
                                        <td data-testid="application-details">{msg(credential_text(a))}</td>
                                        <td>{msg(permissions)}</td>
                                        <td>{move || {
                                            let (health, class, why) = super::manage::health_text(&health_status, |m| i18n.msg(m));
                                            view! { <span class=class>{health}</span><br/><span class="hint">{why}</span> }
                                        }}</td>
                                    </tr>
                                }
                            }).collect_view()}
                            </tbody>
                        </table>
                        <div class="actions">
                            <button type="button" class="secondary" data-testid="edit-check-now"
                                prop:disabled=move || checking.get() on:click=check.clone()>{t(key!("list.check_now"))}</button>
                            {super::repair::offers_repair(&o.health).then(|| view! {
                                <button type="button" data-testid="edit-repair" prop:disabled=move || repairing.get()
                                    on:click=move |_| repairing.set(true)>{t(key!("edit.repair"))}</button>
                            })}
                        </div>
                        <Show when=move || repairing.get()>
                            <super::repair::RepairPanel organization=o.id.clone() version=o.version cloud=o.cloud
                                on_repaired=Callback::new(move |o| on_done.run(Some(o)))
                                on_cancel=Callback::new(move |_| repairing.set(false)) />
                        </Show>
                        <super::usage::RecentUse id=usage_id />
                        <MailboxNote cloud=o.cloud granted=o.manifest_version.is_some_and(|v| v >= shared::mailbox::FIRST_MANIFEST_WITH_GRAPH_MAILBOX)
                            application_ids=o.applications.iter().filter(|a| a.active).map(|a| a.application_id.clone()).collect() />
                        <div class="field">
                            <label for="edit-name">{t(key!("edit.name"))}</label>
                            <input id="edit-name" type="text" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                        </div>
                        <div class="option">
                            <input type="checkbox" id="edit-multiple" prop:checked=move || multiple.get()
                                on:change=move |ev| multiple.set(event_target_checked(&ev)) />
                            <label for="edit-multiple">{t(key!("edit.multiple.label"))}</label>
                            <p class="hint">{t(key!("edit.multiple.hint"))}</p>
                            <Show when=move || multiple.get() && !o.multiple_applications>
                                <fieldset>
                                    <legend>{t(key!("edit.reenable.legend"))}</legend>
                                    <div class="option">
                                        <input type="radio" name="reenable" id="reenable-existing"
                                            prop:checked=move || choice.get() == ReenableChoice::UseExisting
                                            on:change=move |_| choice.set(ReenableChoice::UseExisting) />
                                        <label for="reenable-existing">{t(key!("edit.reenable.existing"))}</label>
                                        <p class="hint">{t(key!("edit.reenable.existing_hint"))}</p>
                                    </div>
                                    <div class="option">
                                        <input type="radio" name="reenable" id="reenable-recreate"
                                            prop:checked=move || choice.get() == ReenableChoice::Recreate
                                            on:change=move |_| choice.set(ReenableChoice::Recreate) />
                                        <label for="reenable-recreate">{t(key!("edit.reenable.recreate"))}</label>
                                        <p class="hint">{t(key!("edit.reenable.recreate_hint"))}</p>
                                    </div>
                                </fieldset>
                                <Show when=move || choice.get() == ReenableChoice::Recreate>
                                    <SignInPanel cloud=o.cloud on_signed_in=Callback::new(move |id| recreate_sign_in.set(Some(id))) />
                                </Show>
                            </Show>
                        </div>
                        <div class="field">
                            <label for="edit-secret">{t(key!("edit.secret.label"))}</label>
                            <input id="edit-secret" type="password" autocomplete="off" prop:value=move || new_secret.get()
                                on:input=move |ev| new_secret.set(event_target_value(&ev)) aria-describedby="edit-secret-hint" />
                            <p class="hint" id="edit-secret-hint">{t(key!("edit.secret.hint"))}</p>
                        </div>
                        <Show when=move || saving.get()>
                            <crate::wizard::waiting::Waiting on_stop=Callback::new(move |_| {
                                tickets.stop();
                                saving.set(false);
                                message.set(Some(i18n.msg(&crate::wizard::waiting::stopped())));
                            }) />
                        </Show>
                        <p class="error" role="alert">{move || message.get().unwrap_or_default()}</p>
                        <div class="actions">
                            <button type="button" class="secondary" on:click=move |_| on_done.run(None)>{t(key!("common.cancel"))}</button>
                            <button type="submit" prop:disabled=move || saving.get()>{t(key!("edit.save"))}</button>
                        </div>
                    </form>
                }.into_any() },
            })}
        </Suspense>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(required: &[&str], granted: &[&str]) -> OrganizationApplication {
        OrganizationApplication {
            application_id: "a".into(),
            main: true,
            workload: shared::api::Workload::All,
            active: true,
            credential_type: CredentialType::Certificate,
            credential_expires_at: Some("2028-11-29T04:42:09Z".into()),
            certificate_thumbprint: None,
            required_permissions: required.iter().map(|s| (*s).to_owned()).collect(),
            granted_permissions: granted.iter().map(|s| (*s).to_owned()).collect(),
            health: Default::default(),
        }
    }

    #[test]
    fn each_application_shows_its_credential_and_granted_against_required_permissions() {
        let a = app(&["User.Read.All", "Mail.ReadWrite", "MailboxItem.Read.All"], &["User.Read.All", "Mail.ReadWrite"]);
        let english = crate::i18n::english;
        assert_eq!(english(&credential_text(&a)), "certificate, ends 2028-11-29");
        assert_eq!(
            permissions_text(&a).map(|m| english(&m)).as_deref(),
            Some("2 of 3 permissions granted; not granted: MailboxItem.Read.All")
        );
        let all = app(&["User.Read.All"], &["User.Read.All"]);
        assert_eq!(permissions_text(&all).map(|m| english(&m)).as_deref(), Some("1 of 1 permissions granted"));
        let typed = OrganizationApplication {
            credential_type: CredentialType::Secret,
            credential_expires_at: None,
            ..app(&[], &[])
        };
        assert_eq!(
            (english(&credential_text(&typed)).as_str(), permissions_text(&typed)),
            ("application password", None)
        );
    }
}
