//! `POST /api/certificates/inspect` through the real worker: every file of the .pfx corpus (made by
//! OpenSSL and Python's `cryptography`) is described or refused as the manifest says.

use base64::Engine as _;
use serde_json::json;
use std::process::Command;
use system_tests::portal::Api;
use system_tests::stack::Stack;

#[test]
fn the_corpus_is_described_or_refused_with_the_right_field() {
    let dir = tempfile::tempdir().unwrap();
    let script = system_tests::repo_root().join("shared/tests/pfx_corpus.py");
    let out = Command::new("python3").arg(script).arg(dir.path()).output().expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("manifest.json")).unwrap()).unwrap();

    let stack = Stack::start();
    let api = Api::new(&stack.base_url, &stack.token("acct-certs"));
    for case in &manifest {
        let file = case["file"].as_str().unwrap();
        let password = case["password"].as_str().unwrap();
        let data = std::fs::read(dir.path().join(file)).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let a = api.post("/api/certificates/inspect", json!({"pfx_base64": b64, "password": password}));
        let expect = case["expect"].as_str().unwrap();
        if expect == "ok" {
            assert_eq!(a.status, 200, "{file}: {}", a.text);
            assert_eq!(a.body["thumbprint_sha1"], case["sha1"], "{file}");
            assert_eq!(a.body["thumbprint_sha256"], case["sha256"], "{file}");
            assert_eq!(a.body["key_type"], "RSA");
            assert_eq!(a.body["key_bits"], case["key_bits"]);
            for key in ["subject", "issuer", "not_before", "not_after"] {
                assert!(a.body[key].is_string(), "{file}: {key}");
            }
        } else {
            let code = expect.split(':').next().unwrap();
            assert!(a.status == 422 || a.status == 413, "{file}: {} {}", a.status, a.text);
            assert_eq!(a.body["error"]["code"], code, "{file}: {}", a.text);
            let field = if code == "certificate_wrong_password" { "certificate_password" } else { "certificate" };
            if a.status == 422 {
                assert_eq!(a.body["error"]["field"], field, "{file}");
            }
        }
        assert!(
            !a.text.contains(password) || password.is_empty() || a.text.contains("\"subject\""),
            "{file}: no echo of the password"
        );
        assert!(!a.text.contains("PRIVATE"), "{file}");
    }
    assert!(!stack.log().contains("Corpus-Passw0rd"), "passwords never reach the log");
}

#[test]
fn hostile_bodies_are_refused_cleanly() {
    let stack = Stack::start();
    let token = stack.token("acct-hostile");
    let url = stack.url("/api/certificates/inspect");
    let send = |ct: &str, body: Vec<u8>| match ureq::post(&url)
        .set("authorization", &format!("Bearer {token}"))
        .set("content-type", ct)
        .send_bytes(&body)
    {
        Ok(r) => (r.status(), r.into_string().unwrap()),
        Err(ureq::Error::Status(c, r)) => (c, r.into_string().unwrap()),
        Err(e) => panic!("{e}"),
    };
    let (status, body) = send("text/plain", b"{}".to_vec());
    assert_eq!(status, 415, "{body}");
    let (status, body) = send("application/json", b"{\"pfx_base64\":".to_vec());
    assert_eq!(status, 400, "{body}");
    let (status, body) = send("application/json", vec![b' '; 200 * 1024]);
    assert_eq!(status, 413, "{body}");
    let (status, body) = send("application/json", b"{\"pfx_base64\":\"!!!\",\"password\":\"\"}".to_vec());
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("\"field\":\"certificate\""), "{body}");
}
