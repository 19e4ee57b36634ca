//! The emulator's SharePoint Online behaves as SharePoint does for a backup application: app-only
//! tokens from a client secret are refused ("Unsupported app only token."), tokens from a
//! certificate open `/_api/web` when the application has a SharePoint permission. This is why a
//! backup of SharePoint needs a certificate (Step 3 offers the upload).

use edge::seal::{binding, Keyring, SealedCertificate};
use serde_json::{json, Value};
use shared::assertion::{AssertionAlg, ClientAssertion};
use shared::certificate::ParsedPfx;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use system_tests::emulator::{fixture, Emulator};
use system_tests::portal::Api;
use system_tests::stack::Stack;

/// Each assertion's `jti` is new (Microsoft refuses one seen before).
static NEXT_JTI: AtomicU32 = AtomicU32::new(0);

const CONTOSO_SHAREPOINT: &str = "https://contoso.sharepoint.com";

/// An application registered with a secret and the corpus certificate (openssl3-default.pfx), the
/// whole manifest granted when `grant`: its ID, its secret and the certificate.
fn app_with_certificate(emulator: &Emulator, name: &str, grant: bool) -> (String, String, ParsedPfx) {
    let cert = corpus_certificate();
    let der_b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &cert.certificate_der);
    let (app_id, _, secret) = emulator.register_app(name, Some(&der_b64), grant);
    (app_id, secret, cert)
}

/// The corpus certificate (openssl3-default.pfx): its certificate and PKCS#8 key.
fn corpus_certificate() -> ParsedPfx {
    system_tests::corpus_certificate("openssl3-default.pfx")
}

/// A client-credentials token for `scope`, with the secret or a signed certificate assertion.
fn token(emulator: &Emulator, app_id: &str, scope: &str, credential: Result<&str, &ParsedPfx>) -> Value {
    let url = format!("{}/{}/oauth2/v2.0/token", emulator.base_url, fixture::CONTOSO);
    let mut form = vec![("grant_type", "client_credentials".to_owned()), ("client_id", app_id.to_owned())];
    form.push(("scope", scope.to_owned()));
    match credential {
        Ok(secret) => form.push(("client_secret", secret.to_owned())),
        Err(cert) => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
            let audience = format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", fixture::CONTOSO);
            let assertion = ClientAssertion::new(
                AssertionAlg::RS256,
                &cert.certificate_der,
                app_id,
                &audience,
                &format!("jti-{now}-{}", NEXT_JTI.fetch_add(1, Ordering::Relaxed)),
                now,
            );
            form.push(("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".to_owned()));
            form.push(("client_assertion", system_tests::sign_rs256(assertion, cert.private_key_pkcs8.expose())));
        }
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    match ureq::post(&url).send_form(&pairs) {
        Ok(r) => r.into_json().unwrap(),
        Err(ureq::Error::Status(_, r)) => r.into_json().unwrap(),
        Err(e) => panic!("{e}"),
    }
}

/// `GET /_api/web` with `access_token`: the status, the diagnostics header and the body.
fn web(emulator: &Emulator, access_token: &str) -> (u16, String, Value) {
    let r = match ureq::get(&format!("{}/_api/web", emulator.base_url))
        .set("Authorization", &format!("Bearer {access_token}"))
        .set("Accept", "application/json")
        .call()
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{e}"),
    };
    let status = r.status();
    let diagnostics = r.header("x-ms-diagnostics").unwrap_or_default().to_owned();
    (status, diagnostics, r.into_json().unwrap_or(Value::Null))
}

#[test]
fn sharepoint_refuses_a_secret_and_opens_to_a_certificate() {
    let emulator = Emulator::start();
    let (app_id, secret, cert) = app_with_certificate(&emulator, "Backup SharePoint", false);
    emulator.grant(&emulator.service_principal_of(&app_id), &["Sites.FullControl.All"]);
    let scope = format!("{CONTOSO_SHAREPOINT}/.default");

    // A secret gets a token (Microsoft issues it), which SharePoint then refuses.
    let with_secret = token(&emulator, &app_id, &scope, Ok(&secret));
    let access = with_secret["access_token"].as_str().unwrap_or_else(|| panic!("{with_secret}"));
    let (status, diagnostics, body) = web(&emulator, access);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error_description"], "Unsupported app only token.");
    assert!(diagnostics.contains("Unsupported app only token"), "{diagnostics}");

    // The certificate opens it.
    let with_cert = token(&emulator, &app_id, &scope, Err(&cert));
    let access = with_cert["access_token"].as_str().unwrap_or_else(|| panic!("{with_cert}"));
    let (status, _, body) = web(&emulator, access);
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["Title"].as_str(), body["Url"].as_str()), (Some("Contoso"), Some(CONTOSO_SHAREPOINT)));

    // A Graph token is not a SharePoint token.
    let graph = token(&emulator, &app_id, "https://graph.microsoft.com/.default", Err(&cert));
    assert_eq!(web(&emulator, graph["access_token"].as_str().unwrap()).0, 401);
    // Another tenant's SharePoint is not this tenant's resource.
    let other = token(&emulator, &app_id, "https://fabrikam.sharepoint.com/.default", Err(&cert));
    assert_eq!(other["error"], "invalid_resource", "{other}");
    assert!(other["error_codes"].to_string().contains("500011"), "{other}");
}

#[test]
fn a_certificate_without_a_sharepoint_permission_is_denied() {
    let emulator = Emulator::start();
    let (app_id, _, cert) = app_with_certificate(&emulator, "Backup without SharePoint", false);
    emulator.grant(&emulator.service_principal_of(&app_id), &["Organization.Read.All", "User.Read.All"]);
    let with_cert = token(&emulator, &app_id, &format!("{CONTOSO_SHAREPOINT}/.default"), Err(&cert));
    let (status, _, body) = web(&emulator, with_cert["access_token"].as_str().unwrap_or_else(|| panic!("{with_cert}")));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["message"]["value"].as_str().unwrap().starts_with("Access denied."), "{body}");
}

#[test]
fn sites_selected_alone_opens_no_site() {
    let emulator = Emulator::start();
    let (app_id, _, cert) = app_with_certificate(&emulator, "Backup with Sites.Selected", false);
    emulator.grant(&emulator.service_principal_of(&app_id), &["Sites.Selected"]);
    let with_cert = token(&emulator, &app_id, &format!("{CONTOSO_SHAREPOINT}/.default"), Err(&cert));
    let access = with_cert["access_token"].as_str().unwrap_or_else(|| panic!("{with_cert}"));
    let payload = access.split('.').nth(1).unwrap();
    let payload = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["roles"], json!(["Sites.Selected"]), "the token carries the permission");
    let (status, _, body) = web(&emulator, access);
    assert_eq!(status, 403, "no site was granted to the application: {body}");
}

/// The certificate the service generated during an automatic registration, as the vendor's backup
/// engine would hold it: the stored row opened with the worker's own keyring and code.
fn generated_credential(stack: &Stack, account: &str, app_id: &str) -> ParsedPfx {
    let row = stack.local_d1(&format!(
        "SELECT a.id, a.organization_id, a.key_id, a.secret_ciphertext, a.credential_type FROM applications a \
         JOIN organizations o ON o.id = a.organization_id WHERE o.account_id = '{account}' AND a.app_id = '{app_id}'"
    ));
    let cols: Vec<&str> = row.trim().split('|').collect();
    assert_eq!(cols.len(), 5, "one stored application: {row}");
    assert_eq!(cols[4], "certificate");
    let ring = Keyring::parse(&stack.encryption_keys).unwrap();
    let blob = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, cols[3]).unwrap();
    let plain = ring.open(cols[2], &binding(account, cols[1], cols[0], "certificate"), &blob).unwrap();
    let sealed = SealedCertificate::from_plaintext(plain.expose()).expect("a sealed certificate");
    assert_eq!(sealed.version, 2, "a generated certificate and its key, not a .pfx");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    sealed.open(now).unwrap()
}

#[test]
fn the_certificate_the_service_generated_opens_sharepoint_where_a_secret_is_refused() {
    let emulator = Emulator::start_with(&["--device-code-interval", "1"]);
    let stack = Stack::start_with(&emulator.worker_vars());
    let account = "acct-sharepoint";
    let api = Api::new(&stack.base_url, &stack.token(account));
    let status = system_tests::automatic_registration(&emulator, &api);
    let r = &status["result"];
    let app_id = r["application_id"].as_str().unwrap().to_owned();
    system_tests::save_generated(&api, &status);

    let cert = generated_credential(&stack, account, &app_id);
    assert_eq!(cert.info.thumbprint_sha1, r["certificates"][0]["info"]["thumbprint_sha1"].as_str().unwrap());
    let scope = format!("{CONTOSO_SHAREPOINT}/.default");
    let with_cert = token(&emulator, &app_id, &scope, Err(&cert));
    let access = with_cert["access_token"].as_str().unwrap_or_else(|| panic!("{with_cert}"));
    let (status, _, body) = web(&emulator, access);
    assert_eq!(status, 200, "the generated certificate opens SharePoint: {body}");

    // A secret on the same application (added by the admin in the Azure portal) is refused there.
    let admin = emulator.admin_token(fixture::ADMIN);
    let object_id = emulator.graph(&admin, "GET", &format!("/applications?$filter=appId eq '{app_id}'"), None)["value"]
        [0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = emulator.graph(&admin, "POST", &format!("/applications/{object_id}/addPassword"), Some(json!({})))
        ["secretText"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut with_secret = token(&emulator, &app_id, &scope, Ok(&secret));
    for _ in 0..40 {
        // (A new secret replicates for a moment before Entra accepts it.)
        if with_secret["access_token"].is_string() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        with_secret = token(&emulator, &app_id, &scope, Ok(&secret));
    }
    let access = with_secret["access_token"].as_str().unwrap_or_else(|| panic!("{with_secret}"));
    let (status, _, body) = web(&emulator, access);
    assert_eq!((status, body["error_description"].as_str()), (401, Some("Unsupported app only token.")));
}

#[test]
fn an_assertion_whose_subject_is_not_its_issuer_is_refused_with_aadsts50048() {
    use base64::Engine as _;
    let emulator = Emulator::start();
    let (app_id, _, cert) = app_with_certificate(&emulator, "Backup (assertion)", true);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let audience = format!("https://login.microsoftonline.com/{}/oauth2/v2.0/token", fixture::CONTOSO);
    let assertion =
        ClientAssertion::new(AssertionAlg::RS256, &cert.certificate_der, &app_id, &audience, "jti-sub", now);
    // The same assertion with another `sub`, signed again.
    let input = String::from_utf8(assertion.signing_input().to_vec()).unwrap();
    let (header, payload) = input.split_once('.').unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
    claims["sub"] = Value::String("00000000-0000-0000-0000-000000000001".into());
    let input = format!("{header}.{}", b64.encode(claims.to_string()));
    let signature = system_tests::rs256_signature(cert.private_key_pkcs8.expose(), input.as_bytes());
    let jwt = format!("{input}.{}", b64.encode(signature));
    let url = format!("{}/{}/oauth2/v2.0/token", emulator.base_url, fixture::CONTOSO);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", app_id.as_str()),
        ("scope", "https://graph.microsoft.com/.default"),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", jwt.as_str()),
    ];
    let answer: Value = match ureq::post(&url).send_form(&form) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.into_json().unwrap(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(answer["error"], "invalid_client", "{answer}");
    assert_eq!(answer["error_codes"][0], 50048, "{answer}");
}
