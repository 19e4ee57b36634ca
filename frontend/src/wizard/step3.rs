//! Step 3: completion. Organization name, tenant ID and application ID (prefilled and read-only
//! after automatic registration), the credential (after automatic registration the certificate the
//! service created, with its details and a `.cer` download; or an application password; or a
//! certificate .pfx with a preview from the inspect endpoint), and "Create multiple applications". Fields are checked as the admin
//! types with the common crate's validators, so the messages are the server's.

use super::logic::Prefill;
use crate::api::{self, ApiFailure};
use crate::i18n::{t, I18n, Msg};
use base64::Engine as _;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::api::{CreateOrganization, CredentialInput, GeneratedCertificateView, InspectCertificate, Organization};
use shared::certificate::CertificateInfo;
use shared::endpoints::{CREATE_ORGANIZATION, INSPECT_CERTIFICATE};
use shared::secret::SecretString;
use shared::validate::{client_secret, PFX_MAX_BYTES};
use shared::{AppId, CloudEnvironment, Field, OrganizationName, TenantId};
use wasm_bindgen::JsCast;

fn check_field(field: Field, value: &str) -> Option<String> {
    let r = match field {
        Field::OrganizationName => OrganizationName::parse(value).map(|_| ()),
        Field::TenantId => TenantId::parse(value).map(|_| ()),
        Field::ApplicationId => AppId::parse(value).map(|_| ()),
        Field::ClientSecret => client_secret(&SecretString::new(value.to_owned())).map(|_| ()),
        _ => Ok(()),
    };
    r.err().map(|e| crate::i18n::I18n::get().field_error(&e))
}

/// One labelled text input with its live validation message.
#[component]
fn TextField(
    id: &'static str,
    /// The label, in the language shown (`t("…")`).
    #[prop(into)]
    label: TextProp,
    field: Field,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
    #[prop(optional)] readonly: bool,
    #[prop(optional)] secret: bool,
    /// Called with the value when the admin leaves the field after changing it.
    #[prop(optional)]
    on_leave: Option<Callback<String>>,
) -> impl IntoView {
    let err_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{move || label.get()}</label>
            <input id=id type=if secret { "password" } else { "text" } autocomplete="off" spellcheck="false"
                prop:value=move || value.get() readonly=readonly
                aria-invalid=move || error.get().is_some().to_string() aria-describedby=err_id.clone()
                on:input=move |ev| {
                    let v = event_target_value(&ev);
                    error.set(check_field(field, &v));
                    value.set(v);
                }
                on:change=move |ev| if let Some(f) = on_leave { f.run(event_target_value(&ev)) } />
            <p class="field-error" id=err_id role="alert">{move || error.get().unwrap_or_default()}</p>
        </div>
    }
}

/// A domain typed where the tenant ID goes (`contoso.com`) is turned into the tenant's ID.
fn tenant_from_domain(
    value: String,
    tenant: RwSignal<String>,
    error: RwSignal<Option<String>>,
    note: RwSignal<Option<String>>,
    i18n: I18n,
) {
    let v = value.trim().to_owned();
    if TenantId::parse(&v).is_ok() || !shared::validate::looks_like_domain(&v) {
        return;
    }
    note.set(Some(i18n.tr(key!("step3.tenant.looking"), &[("domain", v.clone())])));
    spawn_local(async move {
        let req = shared::api::TenantLookupRequest { domain: v.clone() };
        let answer = api::send(&shared::endpoints::TENANT_LOOKUP, "", &req).await;
        // The answer is used only if the field still holds the domain the admin left it with: once
        // something else was typed it neither fills the field nor reports an error at it.
        let still_there = tenant.get_untracked().trim() == v;
        match answer {
            Ok(found) if still_there => {
                tenant.set(found.tenant_id.clone());
                error.set(None);
                let i18n = crate::i18n::I18n::get();
                note.set(Some(
                    i18n.msg(&super::logic::lookup_found(&found, i18n.msg(&super::logic::cloud_label(found.cloud)))),
                ));
            }
            Err(e) if still_there => {
                note.set(None);
                error.set(Some(e.message()));
            }
            _ => note.set(None),
        }
    });
}

/// Reads a picked or dropped file into base64, refusing files over the limit before reading.
async fn read_file(file: web_sys::File) -> Result<(String, String), Msg> {
    if file.size() as usize > PFX_MAX_BYTES {
        return Err(Msg::new(key!("step3.pfx.too_large")).arg("size", (PFX_MAX_BYTES / 1024).to_string()));
    }
    let buf = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| Msg::new(key!("step3.pfx.unreadable")))?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    Ok((file.name(), base64::engine::general_purpose::STANDARD.encode(bytes)))
}

/// How the applications reach mailboxes in `cloud`, with the one PowerShell line that keeps
/// Exchange Web Services open for them until it is shut down (1 April 2027). `granted`: the
/// service registered them with its permission manifest (otherwise the administrator did).
#[component]
pub fn MailboxNote(cloud: CloudEnvironment, application_ids: Vec<String>, granted: bool) -> impl IntoView {
    let command = shared::mailbox::ews_allow_command(&application_ids);
    let copied = RwSignal::new(false);
    let text = command.clone();
    let copy = move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    let i18n = I18n::get();
    let (lead, ews) = if shared::mailbox::graph_mailbox_export(cloud) {
        (
            if granted { t(key!("step3.mailbox.granted")) } else { t(key!("step3.mailbox.give")) },
            t(key!("step3.mailbox.ews_blocked")),
        )
    } else {
        (t(key!("step3.mailbox.no_graph")), t(key!("step3.mailbox.allow_ews")))
    };
    view! {
        <div class="mailbox-note" data-testid="mailbox-note">
            <p>{lead}</p>
            <p>{ews}</p>
            <div class="code-row">
                <code class="command" data-testid="ews-allow-command">{command}</code>
                <button type="button" on:click=copy>{move || if copied.get() { i18n.t(key!("step3.mailbox.copied")) } else { i18n.t(key!("step3.mailbox.copy")) }}</button>
                <span class="visually-hidden" aria-live="polite">{move || if copied.get() { i18n.t(key!("step3.mailbox.copied_status")) } else { String::new() }}</span>
            </div>
        </div>
    }
}

/// Which credential Step 3 saves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// What the automatic registration created (a certificate; a secret for a registration from
    /// before certificates).
    Generated,
    /// An application password the administrator types.
    Password,
    /// A certificate the administrator uploads (.pfx).
    Pfx,
}

/// The certificates the service created: the main application's details, and each public
/// certificate as a `.cer` download.
#[component]
fn GeneratedCertificates(certificates: Vec<GeneratedCertificateView>) -> impl IntoView {
    let main = certificates.first().cloned();
    let several = certificates.len() > 1;
    let i18n = I18n::get();
    view! {
        <div class="generated" data-testid="generated-certificate">
            <p>{t(key!("step3.generated.intro"))}</p>
            {main.map(|c| view! {
                <dl class="preview">
                    <dt>{t(key!("step3.cert.subject"))}</dt><dd data-testid="generated-subject">{c.info.subject}</dd>
                    <dt>{t(key!("step3.cert.sha1"))}</dt><dd data-testid="generated-sha1">{c.info.thumbprint_sha1}</dd>
                    <dt>{t(key!("step3.cert.sha256"))}</dt><dd>{c.info.thumbprint_sha256}</dd>
                    <dt>{t(key!("step3.cert.expires"))}</dt>
                    <dd data-testid="generated-expiry">{let at = crate::i18n::When::DateTime(c.info.not_after); move || I18n::get().when(&at)}</dd>
                </dl>
            })}
            <ul class="downloads">
                {certificates.into_iter().enumerate().map(|(i, c)| {
                    let label = move || match (several, i) {
                        (false, _) => i18n.t(key!("step3.generated.download")),
                        (true, 0) => i18n.t(key!("step3.generated.download_main")),
                        (true, n) => i18n.tr(key!("step3.generated.download_other"), &[("number", (n + 1).to_string())]),
                    };
                    let href = format!("data:application/pkix-cert;base64,{}", c.certificate_base64);
                    let file = format!("{}.cer", c.application_id);
                    view! { <li><a href=href download=file data-testid="certificate-download">{label}</a></li> }
                }).collect_view()}
            </ul>
        </div>
    }
}

/// Step 3. `on_saved` gets the stored organization.
#[component]
pub fn Step3(
    cloud: CloudEnvironment,
    prefill: Prefill,
    on_saved: Callback<Organization>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let i18n = I18n::get();
    let generated = prefill.sign_in_id.clone();
    let automatic = generated.is_some();
    let name = RwSignal::new(prefill.name.clone());
    let tenant = RwSignal::new(prefill.tenant_id.clone());
    let app = RwSignal::new(prefill.application_id.clone());
    let secret = RwSignal::new(String::new());
    let choice = RwSignal::new(if automatic { Choice::Generated } else { Choice::Password });
    let use_certificate = move || choice.get() == Choice::Pfx;
    let certificates = prefill.certificates.clone();
    let generated_certificate = !certificates.is_empty();
    let pfx = RwSignal::new(None::<(String, String)>);
    let pfx_password = RwSignal::new(String::new());
    let preview = RwSignal::new(None::<CertificateInfo>);
    let multiple = RwSignal::new(true);
    let errors: [RwSignal<Option<String>>; 6] = std::array::from_fn(|_| RwSignal::new(None));
    // A .pfx's errors sit at the field they are about: the file, or its password.
    let [name_err, tenant_err, app_err, secret_err, file_err, password_err] = errors;
    let certificate_error = move |field: Option<Field>, message: String| match field {
        Some(Field::CertificatePassword) => {
            password_err.set(Some(message));
            file_err.set(None);
        }
        _ => {
            file_err.set(Some(message));
            password_err.set(None);
        }
    };
    let general = RwSignal::new(None::<String>);
    let tenant_note = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);
    let tickets = super::waiting::Tickets::new();
    // What a save found missing on an application registered by hand, and what the admin chose to
    // save without ("Save anyway": the list shown). Both are forgotten when the application, the
    // tenant or the credential changes, so an acknowledgement never covers another application.
    let missing = RwSignal::new(None::<(String, Vec<shared::api::RequiredPermission>)>);
    let acknowledged = RwSignal::new(Vec::<String>::new());
    Effect::new(move |first: Option<()>| {
        tenant.track();
        app.track();
        secret.track();
        pfx.track();
        choice.track();
        if first.is_some() {
            missing.set(None);
            acknowledged.set(vec![]);
        }
    });

    let take_file = move |file: Option<web_sys::File>| {
        let Some(file) = file else { return };
        spawn_local(async move {
            match read_file(file).await {
                Ok(f) => {
                    pfx.set(Some(f));
                    file_err.set(None);
                    password_err.set(None);
                    preview.set(None);
                }
                Err(e) => file_err.set(Some(i18n.msg(&e))),
            }
        });
    };
    let inspect = move |_| {
        let Some((_, b64)) = pfx.get() else {
            file_err.set(Some(i18n.t(key!("step3.pfx.choose"))));
            return;
        };
        let body =
            InspectCertificate { pfx_base64: SecretString::new(b64), password: SecretString::new(pfx_password.get()) };
        spawn_local(async move {
            let r: Result<CertificateInfo, ApiFailure> = api::send(&INSPECT_CERTIFICATE, "", &body).await;
            match r {
                Ok(info) => {
                    file_err.set(None);
                    password_err.set(None);
                    preview.set(Some(info));
                }
                Err(e) => {
                    preview.set(None);
                    certificate_error(e.field(), e.message());
                }
            }
        });
    };
    let generated_for_save = generated.clone();
    // The Manual method with "Create multiple applications": Save checks the typed credential
    // first; the edge then asks for the sign-in that creates the 3 additional applications
    // (`sign_in_required`), and Save continues once it is done.
    let manual_sign_in = RwSignal::new(None::<String>);
    let needs_sign_in = RwSignal::new(false);
    let submit = Callback::new(move |_: ()| {
        general.set(None);
        name_err.set(check_field(Field::OrganizationName, &name.get()));
        tenant_err.set(check_field(Field::TenantId, &tenant.get()));
        app_err.set(check_field(Field::ApplicationId, &app.get()));
        let credential = match (&generated_for_save, choice.get()) {
            (Some(id), Choice::Generated) => CredentialInput::Generated { sign_in_id: id.clone() },
            (_, Choice::Password | Choice::Generated) => {
                secret_err.set(check_field(Field::ClientSecret, &secret.get()));
                CredentialInput::Secret { client_secret: SecretString::new(secret.get()) }
            }
            // After an automatic registration the certificate replaces the generated one on every
            // application the sign-in created (the save names the sign-in).
            (_, Choice::Pfx) => match pfx.get() {
                Some((_, b64)) => CredentialInput::Certificate {
                    pfx_base64: SecretString::new(b64),
                    password: SecretString::new(pfx_password.get()),
                },
                None => {
                    file_err.set(Some(i18n.t(key!("step3.pfx.choose"))));
                    return;
                }
            },
        };
        if errors.iter().any(|e| e.get().is_some()) {
            return;
        }
        let body = CreateOrganization {
            name: name.get(),
            cloud,
            tenant_id: tenant.get(),
            application_id: app.get(),
            credential,
            create_multiple_applications: multiple.get(),
            sign_in_id: generated_for_save.clone().or_else(|| manual_sign_in.get().filter(|_| multiple.get())),
            acknowledged_permissions: acknowledged.get_untracked(),
        };
        saving.set(true);
        let ticket = tickets.take();
        let used_sign_in = body.sign_in_id.clone();
        spawn_local(async move {
            let r: Result<Organization, ApiFailure> = api::send(&CREATE_ORGANIZATION, "", &body).await;
            if !tickets.current(ticket) {
                return;
            }
            saving.set(false);
            match r {
                Ok(org) => {
                    // Its applications belong to the organization now: leaving must not cancel it.
                    if let Some(id) = &used_sign_in {
                        crate::signins::saved(id);
                    }
                    on_saved.run(org)
                }
                Err(e) if e.code() == Some(shared::ErrorCode::PermissionsMissing) => {
                    missing.set(Some((e.message(), e.missing_permissions())));
                }
                // The typed credential works; now (and only now) the sign-in for the 3 additional
                // applications.
                // (An acknowledgement given before stays for the save after the sign-in.)
                Err(e) if e.code() == Some(shared::ErrorCode::SignInRequired) => {
                    missing.set(None);
                    needs_sign_in.set(true);
                    general.set(Some(e.message()));
                }
                Err(e) => {
                    missing.set(None);
                    let target = match e.field() {
                        Some(Field::OrganizationName) => Some(name_err),
                        Some(Field::TenantId) => Some(tenant_err),
                        Some(Field::ApplicationId) => Some(app_err),
                        Some(Field::ClientSecret) if choice.get_untracked() == Choice::Password => Some(secret_err),
                        Some(f @ (Field::Certificate | Field::CertificatePassword)) => {
                            certificate_error(Some(f), e.message());
                            return;
                        }
                        _ => None,
                    };
                    match target {
                        Some(t) => t.set(Some(e.message())),
                        None => general.set(Some(e.message())),
                    }
                }
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.run(());
    };

    view! {
        <form class="step" on:submit=save novalidate=true>
            <TextField id="org-name" label=t(key!("step3.field.org_name")) field=Field::OrganizationName value=name error=name_err />
            <TextField id="tenant-id" label=t(key!("step3.field.tenant_id")) field=Field::TenantId value=tenant error=tenant_err readonly=automatic
                on_leave=Callback::new(move |v: String| tenant_from_domain(v, tenant, tenant_err, tenant_note, i18n)) />
            <p class="hint" role="status" data-testid="tenant-note">{move || tenant_note.get().unwrap_or_default()}</p>
            <TextField id="application-id" label=t(key!("step3.field.app_id")) field=Field::ApplicationId value=app error=app_err readonly=automatic />
            {(!automatic).then(|| view! { <crate::chunks::Deferred load=move || crate::chunks::manual_permissions(cloud, tenant, app) /> })}
            {automatic.then(|| view! {
                <MailboxNote cloud=cloud application_ids=prefill.application_ids.clone() granted=true />
            })}
            {
                view! {
                    <fieldset>
                        <legend>{t(key!("step3.credential.legend"))}</legend>
                        {automatic.then(|| view! {
                            <div class="option">
                                <input type="radio" name="credential" id="cred-generated" prop:checked=move || choice.get() == Choice::Generated
                                    on:change=move |_| choice.set(Choice::Generated) />
                                <label for="cred-generated">{if generated_certificate { t(key!("step3.credential.generated_certificate")) } else { t(key!("step3.credential.generated_secret")) }}</label>
                            </div>
                        })}
                        <div class="option">
                            <input type="radio" name="credential" id="cred-secret" prop:checked=move || choice.get() == Choice::Password
                                on:change=move |_| choice.set(Choice::Password) />
                            <label for="cred-secret">{t(key!("step3.credential.password"))}</label>
                        </div>
                        <div class="option">
                            <input type="radio" name="credential" id="cred-certificate" prop:checked=move || choice.get() == Choice::Pfx
                                on:change=move |_| choice.set(Choice::Pfx) />
                            <label for="cred-certificate">{t(key!("step3.credential.pfx"))}</label>
                        </div>
                        <p class="hint">{t(key!("step3.credential.sharepoint_hint"))}</p>
                    </fieldset>
                    <Show when=move || choice.get() == Choice::Generated>
                        {if generated_certificate {
                            view! { <GeneratedCertificates certificates=certificates.clone() /> }.into_any()
                        } else {
                            view! {
                                <p class="generated" data-testid="generated-secret">
                                    {t(key!("step3.generated.secret"))}
                                </p>
                            }.into_any()
                        }}
                    </Show>
                    <Show when=move || choice.get() == Choice::Password>
                        <TextField id="client-secret" label=t(key!("step3.field.client_secret")) field=Field::ClientSecret value=secret error=secret_err secret=true />
                        {automatic.then(|| view! {
                            <p class="hint">{t(key!("step3.secret.automatic_hint"))}</p>
                        })}
                    </Show>
                    <Show when=use_certificate>
                        <div class="field drop-zone"
                            on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                            on:drop=move |ev: leptos::ev::DragEvent| {
                                ev.prevent_default();
                                take_file(ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)));
                            }>
                            <label for="pfx-file">{t(key!("step3.pfx.file_label"))}</label>
                            <input id="pfx-file" type="file" accept=".pfx,.p12,application/x-pkcs12"
                                aria-invalid=move || file_err.get().is_some().to_string() aria-describedby="pfx-file-error"
                                on:change=move |ev| {
                                    let input: Option<web_sys::HtmlInputElement> = ev.target().and_then(|t| t.dyn_into().ok());
                                    take_file(input.and_then(|i| i.files()).and_then(|f| f.get(0)));
                                } />
                            <p class="hint">{move || pfx.get().map(|(n, _)| i18n.tr(key!("step3.pfx.selected"), &[("name", n)])).unwrap_or_default()}</p>
                            <p class="field-error" id="pfx-file-error" role="alert" data-testid="pfx-file-error">{move || file_err.get().unwrap_or_default()}</p>
                        </div>
                        <div class="field">
                            <label for="pfx-password">{t(key!("step3.pfx.password"))}</label>
                            <input id="pfx-password" type="password" autocomplete="off" prop:value=move || pfx_password.get()
                                aria-invalid=move || password_err.get().is_some().to_string() aria-describedby="pfx-password-error"
                                on:input=move |ev| { pfx_password.set(event_target_value(&ev)); preview.set(None); password_err.set(None); } />
                            <p class="field-error" id="pfx-password-error" role="alert" data-testid="pfx-password-error">{move || password_err.get().unwrap_or_default()}</p>
                        </div>
                        <button type="button" class="secondary" on:click=inspect>{t(key!("step3.pfx.check"))}</button>
                        {move || preview.get().map(|c| view! {
                            <dl class="preview" data-testid="certificate-preview">
                                <dt>{t(key!("step3.cert.subject"))}</dt><dd>{c.subject}</dd>
                                <dt>{t(key!("step3.cert.thumbprint"))}</dt><dd>{c.thumbprint_sha1}</dd>
                                <dt>{t(key!("step3.cert.expires"))}</dt>
                                <dd>{let at = crate::i18n::When::DateTime(c.not_after); move || I18n::get().when(&at)}</dd>
                            </dl>
                        })}
                        {automatic.then(|| view! {
                            <p class="hint" data-testid="certificate-replaces">{t(key!("step3.pfx.replaces"))}</p>
                        })}
                    </Show>
                }
            }
            <div class="option">
                <input type="checkbox" id="multiple-apps" prop:checked=move || multiple.get()
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        multiple.set(on);
                        if !on && needs_sign_in.get_untracked() {
                            // The panel goes away and cancels its sign-in; Save adds the one application.
                            needs_sign_in.set(false);
                            manual_sign_in.set(None);
                            general.set(None);
                        }
                    } aria-describedby="multiple-apps-hint" />
                <label for="multiple-apps">{t(key!("step3.multiple.label"))}</label>
                <p class="hint" id="multiple-apps-hint">
                    {if automatic { t(key!("step3.multiple.hint")) } else { t(key!("step3.multiple.hint_manual")) }}
                </p>
            </div>
            <Show when=move || needs_sign_in.get()>
                <crate::wizard::signin_panel::SignInPanel cloud
                    on_signed_in=Callback::new(move |id| { manual_sign_in.set(Some(id)); submit.run(()); }) />
            </Show>
            {move || missing.get().map(|(message, list)| view! {
                <super::permissions::MissingPermissions message list saving=saving.into()
                    on_check_again=Callback::new(move |_| submit.run(()))
                    on_save_anyway=Callback::new(move |_| {
                        acknowledged.set(missing.get_untracked().map(|(_, l)| l.into_iter().map(|p| p.value).collect()).unwrap_or_default());
                        submit.run(());
                    }) />
            })}
            <Show when=move || saving.get()>
                <super::waiting::Waiting on_stop=Callback::new(move |_| {
                    tickets.stop();
                    saving.set(false);
                    general.set(Some(I18n::get().msg(&super::waiting::stopped())));
                }) />
            </Show>
            <p class="error" role="alert" data-testid="save-error">{move || general.get().unwrap_or_default()}</p>
            <div class="actions">
                <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>{t(key!("common.cancel"))}</button>
                <button type="submit" prop:disabled=move || saving.get()>{move || if saving.get() { i18n.t(key!("step3.saving")) } else { i18n.t(key!("step3.save")) }}</button>
            </div>
        </form>
    }
}
