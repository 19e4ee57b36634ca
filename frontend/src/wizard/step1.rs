//! Step 1: the Azure cloud environment and the add method. Options a cloud does not allow are
//! disabled, with the reason shown beside them.

use super::logic::{method_after_cloud_change, method_option};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{TenantLookup, TenantLookupRequest};
use shared::endpoints::TENANT_LOOKUP;
use shared::{AddMethod, CloudEnvironment};

/// How long a look-up may take before the page says so and lets the admin carry on by hand.
const SLOW_LOOKUP_MS: u64 = 3_000;

/// What the page says when the chosen cloud is not the one Microsoft named for the domain.
pub fn cloud_warning(found: &TenantLookup, chosen: CloudEnvironment) -> Option<String> {
    (found.cloud != chosen).then(|| {
        format!(
            "{} is in {}, but {} is chosen. An organization is reached only in its own cloud.",
            found.domain,
            found.cloud.label(),
            chosen.label()
        )
    })
}

/// "Your organization's domain": looks the domain up and preselects its cloud.
#[component]
fn DomainLookup(cloud: RwSignal<CloudEnvironment>, method: RwSignal<AddMethod>) -> impl IntoView {
    let domain = RwSignal::new(String::new());
    let found = RwSignal::new(None::<TenantLookup>);
    let message = RwSignal::new(None::<String>);
    let looking = RwSignal::new(0u32);
    let slow = RwSignal::new(false);
    let look_up = move || {
        let text = domain.get_untracked().trim().to_owned();
        if text.is_empty() {
            return;
        }
        if let Err(e) = shared::Domain::parse(&text) {
            message.set(Some(e.message));
            return;
        }
        let seq = looking.get_untracked() + 1;
        looking.set(seq);
        slow.set(false);
        message.set(None);
        set_timeout(
            move || {
                if looking.get_untracked() == seq {
                    slow.set(true);
                }
            },
            std::time::Duration::from_millis(SLOW_LOOKUP_MS),
        );
        spawn_local(async move {
            let r = crate::api::send(&TENANT_LOOKUP, "", &TenantLookupRequest { domain: text }).await;
            if looking.get_untracked() != seq {
                return; // a newer look-up, or the admin went on
            }
            looking.set(0);
            slow.set(false);
            match r {
                Ok(f) => {
                    cloud.set(f.cloud);
                    let clouds = crate::context::CredentialClouds::get();
                    method.update(|m| *m = method_after_cloud_change(*m, f.cloud, &clouds));
                    message.set(None);
                    found.set(Some(f));
                }
                Err(e) => {
                    found.set(None);
                    message.set(Some(e.message()));
                }
            }
        });
    };
    let i18n = crate::i18n::runtime::I18n::get();
    view! {
        <div class="field">
            <label for="org-domain">{move || i18n.t("step1.domain.label")}</label>
            <div class="code-row">
                <input id="org-domain" type="text" autocomplete="off" spellcheck="false" placeholder="contoso.onmicrosoft.com"
                    aria-describedby="org-domain-hint org-domain-result"
                    prop:value=move || domain.get() on:input=move |ev| domain.set(event_target_value(&ev))
                    on:change=move |_| look_up()
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); look_up(); } />
                <button type="button" class="secondary" data-testid="find-cloud" on:click=move |_| look_up()>{move || i18n.t("step1.domain.find")}</button>
            </div>
            <p class="hint" id="org-domain-hint">{move || i18n.t("step1.domain.hint")}</p>
            <div id="org-domain-result" role="status" aria-live="polite" data-testid="domain-result">
                {move || (looking.get() != 0 && !slow.get()).then(|| view! { <p class="hint">{i18n.t("step1.domain.looking")}</p> })}
                {move || slow.get().then(|| view! { <p class="hint">{i18n.t("step1.domain.slow")}</p> })}
                {move || found.get().map(|f| view! { <p>{f.message}</p> })}
                {move || found.get().and_then(|f| cloud_warning(&f, cloud.get())).map(|w| view! { <p class="reason" data-testid="cloud-warning">{w}</p> })}
                {move || message.get().map(|m| view! { <p class="error">{m}</p> })}
            </div>
        </div>
    }
}

/// Step 1. `on_next` is called with the chosen cloud and method.
#[component]
pub fn Step1(
    cloud: RwSignal<CloudEnvironment>,
    method: RwSignal<AddMethod>,
    busy: Signal<bool>,
    on_next: Callback<()>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let i18n = crate::i18n::runtime::I18n::get();
    view! {
        <form class="step" on:submit=move |ev| { ev.prevent_default(); on_next.run(()); }>
            <DomainLookup cloud method />
            <fieldset>
                <legend>{move || i18n.t("step1.cloud.legend")}</legend>
                <p class="hint">{move || i18n.t("step1.cloud.hint")}</p>
                {CloudEnvironment::ALL.into_iter().map(|c| {
                    let id = format!("cloud-{}", c.as_str());
                    view! {
                        <div class="option">
                            <input type="radio" name="cloud" id=id.clone() value=c.as_str()
                                prop:checked=move || cloud.get() == c
                                on:change=move |_| {
                                    cloud.set(c);
                                    let clouds = crate::context::CredentialClouds::get();
                                    method.update(|m| *m = method_after_cloud_change(*m, c, &clouds));
                                } />
                            <label for=id>{c.label()}</label>
                            <p class="hint">{c.explanation()}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <fieldset>
                <legend>{move || i18n.t("step1.method.legend")}</legend>
                {AddMethod::ALL.into_iter().map(|m| {
                    let id = match m {
                        AddMethod::Credential => "method-credential",
                        AddMethod::DeviceCode => "method-device-code",
                        AddMethod::Manual => "method-manual",
                    };
                    let option = move || method_option(m, cloud.get(), &crate::context::CredentialClouds::get());
                    let reason_id = format!("{id}-reason");
                    view! {
                        <div class="option">
                            <input type="radio" name="method" id=id
                                prop:checked=move || method.get() == m
                                prop:disabled=move || option().2.is_some()
                                aria-describedby=reason_id.clone()
                                on:change=move |_| method.set(m) />
                            <label for=id>{m.label()}</label>
                            <p class="hint">{m.description()}</p>
                            <p class="reason" id=reason_id>{move || option().2.unwrap_or_default()}</p>
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{move || i18n.t("common.cancel")}</button>
                <button type="submit" prop:disabled=move || busy.get()>{move || i18n.t("common.next")}</button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_cloud_than_the_domains_is_warned_about() {
        let found = TenantLookup {
            domain: "fabrikam.us".into(),
            tenant_id: "t".into(),
            cloud: CloudEnvironment::UsGovGccHigh,
            message: String::new(),
        };
        assert_eq!(cloud_warning(&found, CloudEnvironment::UsGovGccHigh), None);
        let w = cloud_warning(&found, CloudEnvironment::Global).unwrap();
        assert!(w.starts_with("fabrikam.us is in US Government"), "{w}");
    }
}
