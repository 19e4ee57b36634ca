//! Harness for whole-system tests: starts the real pieces (the worker under `wrangler dev`,
//! ChromeDriver with headless Chromium) on free ports, and stops them when dropped, also when a
//! test fails. A missing piece fails fast with a message that says how to get it.

pub mod browser;
pub mod demo_portal;
pub mod docs;
pub mod emulator;
pub mod engine;
pub mod gdap;
pub mod portal;
pub mod process;
pub mod stack;

use std::path::PathBuf;

/// The repository root (the parent of this crate's folder).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The .pfx corpus (`shared/tests/pfx_corpus.py`) written to a new temporary folder, and its
/// manifest (one entry per file: `file`, `password`, `sha1`, …).
pub fn pfx_corpus() -> (tempfile::TempDir, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let script = repo_root().join("shared/tests/pfx_corpus.py");
    let out = std::process::Command::new("python3").arg(script).arg(dir.path()).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();
    (dir, manifest)
}

/// The manifest entry of `file` in the corpus.
pub fn pfx_corpus_case(manifest: &serde_json::Value, file: &str) -> serde_json::Value {
    manifest.as_array().unwrap().iter().find(|c| c["file"] == file).unwrap_or_else(|| panic!("no {file}")).clone()
}

/// The certificate and PKCS#8 key of the corpus file `file` (one of the accepted ones).
pub fn corpus_certificate(file: &str) -> shared::certificate::ParsedPfx {
    let (corpus, manifest) = pfx_corpus();
    let case = pfx_corpus_case(&manifest, file);
    let pfx = std::fs::read(corpus.path().join(file)).unwrap();
    shared::certificate::parse_pfx(&pfx, case["password"].as_str().unwrap(), unix_now()).unwrap()
}

/// Now, Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Signs a JWS `assertion` (RS256) with the RSA key `pkcs8` and answers the complete JWT.
pub fn sign_rs256(assertion: shared::assertion::ClientAssertion, pkcs8: &[u8]) -> String {
    let signature = rs256_signature(pkcs8, assertion.signing_input());
    assertion.finish(&signature)
}

/// The RSASSA-PKCS1-v1_5 / SHA-256 signature of `message` with the RSA key `pkcs8`.
pub fn rs256_signature(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
    let key = RsaKeyPair::from_pkcs8(pkcs8).unwrap();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature).unwrap();
    signature
}

/// A TCP port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0")
}

/// The emulator (with `emulator_args`), the worker pointed at it, and a browser: what the browser
/// tests of the product start with.
pub async fn emulator_stack_browser(
    emulator_args: &'static [&'static str],
) -> (emulator::Emulator, stack::Stack, browser::Browser) {
    let emulator =
        tokio::task::spawn_blocking(move || emulator::Emulator::start_with(emulator_args)).await.expect("emulator");
    let vars = emulator.worker_vars();
    let stack = tokio::task::spawn_blocking(move || stack::Stack::start_with(&vars)).await.expect("stack");
    let browser = browser::Browser::start().await;
    (emulator, stack, browser)
}

/// On the edit page of the (only) organization listed: untick "Create multiple applications", save,
/// and wait for the list to say so.
pub async fn turn_multiple_applications_off(browser: &browser::Browser) {
    let c = &browser.client;
    browser::click_text(c, "Edit").await;
    browser::click(c, "#edit-multiple").await;
    browser::click_text(c, "Save changes").await;
    browser.wait_for_text("[data-testid=organizations]", "Off", std::time::Duration::from_secs(20)).await;
}

/// Saves the organization of a completed automatic registration (`status`, as
/// [`automatic_registration`] answers it) as "Contoso" with its generated credential, one
/// application; the saved organization.
pub fn save_generated(api: &portal::Api, status: &serde_json::Value) -> serde_json::Value {
    let r = &status["result"];
    let saved = api.post(
        "/api/organizations",
        serde_json::json!({"name": "Contoso", "cloud": "global", "tenant_id": r["tenant_id"],
               "application_id": r["application_id"], "credential": {"type": "generated", "sign_in_id": status["id"]},
               "create_multiple_applications": false}),
    );
    assert_eq!(saved.status, 201, "{}", saved.text);
    saved.body
}

/// A device-code sign-in for `api`'s account, approved at the emulator by its admin, waited for
/// until the registration of the main application ends; its status, which must be `completed`.
pub fn automatic_registration(emulator: &emulator::Emulator, api: &portal::Api) -> serde_json::Value {
    let s = device_code_sign_in(
        emulator,
        api,
        serde_json::json!({"cloud": "global", "method": "device_code"}),
        emulator::fixture::ADMIN,
    );
    assert_eq!(s["state"], "completed", "{s}");
    s
}

/// A device-code sign-in started with `start` (the body of `POST /api/signins`), not confirmed,
/// approved at the emulator by `user`, and waited for until it is signed in or failed; its last
/// status.
pub fn signed_in(
    emulator: &emulator::Emulator,
    api: &portal::Api,
    start: serde_json::Value,
    user: &str,
) -> serde_json::Value {
    let started = api.post("/api/signins", start);
    let id = started.body["id"].as_str().unwrap_or_else(|| panic!("{}", started.text)).to_owned();
    emulator.approve(started.body["user_code"].as_str().unwrap(), user);
    api.wait_status(&id, std::time::Duration::from_secs(30), |s| s["state"] == "signed_in" || s["state"] == "failed")
}

/// A device-code sign-in started with `start` (the body of `POST /api/signins`), confirmed,
/// approved at the emulator by `user`, and waited for until its registration ends (completed or
/// failed); its last status.
pub fn device_code_sign_in(
    emulator: &emulator::Emulator,
    api: &portal::Api,
    start: serde_json::Value,
    user: &str,
) -> serde_json::Value {
    let started = api.post("/api/signins", start);
    let id = started.body["id"].as_str().unwrap_or_else(|| panic!("{}", started.text)).to_owned();
    api.post(&format!("/api/signins/{id}/confirm"), serde_json::json!({}));
    emulator.approve(started.body["user_code"].as_str().unwrap(), user);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let s = api.get(&format!("/api/signins/{id}"));
        if s.body["state"] == "completed" || s.body["state"] == "failed" {
            return s.body;
        }
        assert!(std::time::Instant::now() < deadline, "{}", s.text);
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// The two statements that seed straight into the local D1 an organization `org` of `account`
/// (named `name`, in Contoso) with one main application `row`: `app_id` and its `secret`, sealed
/// with `ring` as the Worker seals it. For the benches, which need many organizations quickly.
pub fn seeded_organization(
    ring: &edge::seal::Keyring,
    account: &str,
    org: &str,
    name: &str,
    row: &str,
    app_id: &str,
    secret: &str,
) -> [String; 2] {
    let now = "2026-11-30T00:00:00Z";
    let binding = edge::seal::binding(account, org, row, "secret");
    let (key_id, blob) = ring.seal(&binding, secret.as_bytes());
    let blob = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, blob);
    [
        format!(
            "INSERT INTO organizations (id, account_id, name, cloud, tenant_id, multiple_applications, created_at, \
             updated_at, version) VALUES ('{org}', '{account}', '{name}', 'global', '{}', 0, '{now}', '{now}', 1)",
            emulator::fixture::CONTOSO
        ),
        format!(
            "INSERT INTO applications (id, organization_id, app_id, is_main, active, credential_type, key_id, \
             secret_ciphertext, created_at, updated_at) VALUES ('{row}', '{org}', '{app_id}', 1, 1, 'secret', \
             '{key_id}', '{blob}', '{now}', '{now}')"
        ),
    ]
}

/// Whether `needle` occurs in `hay` as bytes.
pub fn contains_bytes(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every permission of the manifest in the Global cloud except `except`.
pub fn all_but(except: &[&str]) -> Vec<String> {
    edge::provisioning::manifest::required_permissions(shared::CloudEnvironment::Global, shared::api::Workload::All)
        .into_iter()
        .filter(|p| !except.contains(&p.as_str()))
        .collect()
}

/// A hand-made application in Contoso with every permission but Graph's `Mail.ReadWrite` and
/// SharePoint's `Sites.FullControl.All`: (app ID, service principal ID, secret).
pub fn hand_made_without_two(emulator: &emulator::Emulator, name: &str) -> (String, String, String) {
    let (app_id, _, secret) = emulator.register_app(name, None, false);
    let sp = emulator.service_principal_of(&app_id);
    let granted = all_but(&["Mail.ReadWrite", "Sites.FullControl.All"]);
    emulator.grant(&sp, &granted.iter().map(String::as_str).collect::<Vec<_>>());
    (app_id, sp, secret)
}

/// A language's catalogue of the app (`frontend/locales/<tag>.json`): the tests read what the app
/// should show from it.
pub fn catalogue(tag: &str) -> serde_json::Value {
    let path = repo_root().join(format!("frontend/locales/{tag}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The text of `key` in the catalogue `cat`.
pub fn text<'a>(cat: &'a serde_json::Value, key: &str) -> &'a str {
    cat[key].as_str().unwrap_or_else(|| panic!("{key} is not a text"))
}
