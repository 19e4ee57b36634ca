#![cfg(target_arch = "wasm32")]
//! Component tests in headless Chromium (`wasm-bindgen-test`): mount a component, read the DOM.

use frontend::{api::ApiFailure, ServiceStatus};
use leptos::prelude::*;
use shared::api::{ComponentStatus, ErrorBody, HealthResponse};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn mount_fresh(f: impl FnOnce() -> AnyView + 'static) -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), f);
    handle.forget();
    host
}

use wasm_bindgen::JsCast;

#[wasm_bindgen_test]
fn shows_the_api_version_when_health_answers() {
    let host = mount_fresh(|| {
        let result = Ok(HealthResponse {
            service: "m365-onboarding".into(),
            version: "9.8.7".into(),
            database: ComponentStatus::Ok,
            portal_origins: vec![],
            dev_session_in_url: false,
            credential_clouds: vec![],
        });
        view! { <ServiceStatus result /> }.into_any()
    });
    let text = host.text_content().unwrap();
    assert!(text.contains("API version 9.8.7"), "rendered: {text}");
}

#[wasm_bindgen_test]
fn shows_the_error_sentence_when_health_fails() {
    let host = mount_fresh(|| {
        let result = Err(ApiFailure::Api(Box::new(ErrorBody::with_message(
            shared::ErrorCode::NotFound,
            "There is no such API endpoint.",
        ))));
        view! { <ServiceStatus result /> }.into_any()
    });
    let alert = host.query_selector("[role=alert]").unwrap().expect("an alert is rendered");
    assert!(alert.text_content().unwrap().contains("There is no such API endpoint."));
}

#[wasm_bindgen_test]
async fn step1_disables_credential_for_a_government_cloud_and_says_why() {
    use frontend::wizard::step1::Step1;
    use shared::{AddMethod, CloudEnvironment};
    let cloud = RwSignal::new(CloudEnvironment::Global);
    let method = RwSignal::new(AddMethod::DeviceCode);
    let host = mount_fresh(move || {
        view! { <Step1 cloud method busy=Signal::from(false) on_next=Callback::new(|_| ()) on_cancel=Callback::new(|_| ()) /> }
            .into_any()
    });
    let input = |id: &str| -> web_sys::HtmlInputElement {
        host.query_selector(&format!("#{id}")).unwrap().unwrap().unchecked_into()
    };
    assert!(input("method-device-code").checked());
    assert!(!input("method-credential").disabled(), "Credential is offered on Global");
    // Switching the cloud (as a click would) disables Credential with the reason.
    input("cloud-usgov_dod").click();
    leptos::task::tick().await;
    assert_eq!(cloud.get_untracked(), CloudEnvironment::UsGovDod);
    assert!(input("method-credential").disabled());
    let reason = host.query_selector("#method-credential-reason").unwrap().unwrap().text_content().unwrap();
    assert!(reason.contains("not set up for US Government clouds"), "{reason}");
    assert!(!input("method-manual").disabled());
    input("method-manual").click();
    leptos::task::tick().await;
    assert_eq!(method.get_untracked(), AddMethod::Manual);
}
