//! The .pfx corpus: files written by real tools (generated at test time by `pfx_corpus.py` with
//! OpenSSL and Python's `cryptography`), each opened or refused as the manifest says, with
//! thumbprints checked against OpenSSL's.

use serde::Deserialize;
use shared::certificate::{parse_pfx, PfxError};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Deserialize)]
struct Case {
    file: String,
    password: String,
    expect: String,
    sha1: Option<String>,
    sha256: Option<String>,
    key_bits: Option<u32>,
}

fn corpus() -> (tempfile::TempDir, Vec<Case>) {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pfx_corpus.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(dir.path())
        .output()
        .expect("python3 must be installed (make setup installs the `cryptography` package)");
    assert!(out.status.success(), "generating the corpus failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let manifest = std::fs::read_to_string(dir.path().join("manifest.json")).unwrap();
    let cases = serde_json::from_str(&manifest).unwrap();
    (dir, cases)
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn every_corpus_file_is_opened_or_refused_as_expected() {
    let (dir, cases) = corpus();
    assert!(cases.len() >= 15, "the corpus covers every format and refusal");
    for case in &cases {
        let data = std::fs::read(dir.path().join(&case.file)).unwrap();
        let started = Instant::now();
        let result = parse_pfx(&data, &case.password, now());
        let took = started.elapsed();
        assert!(took < Duration::from_millis(900), "{} took {took:?}", case.file);
        match (case.expect.as_str(), result) {
            ("ok", Ok(parsed)) => {
                assert_eq!(Some(&parsed.info.thumbprint_sha1), case.sha1.as_ref(), "{}", case.file);
                assert_eq!(Some(&parsed.info.thumbprint_sha256), case.sha256.as_ref(), "{}", case.file);
                assert_eq!(Some(parsed.info.key_bits), case.key_bits, "{}", case.file);
                assert_eq!(parsed.info.key_type, "RSA");
                assert!(parsed.info.subject.contains("CN="), "{}", parsed.info.subject);
                assert!(!parsed.private_key_pkcs8.expose().is_empty());
            }
            ("ok", Err(e)) => panic!("{} was refused: {e:?}", case.file),
            (expect, Ok(_)) => panic!("{} was accepted, expected {expect}", case.file),
            (expect, Err(e)) => {
                let (code, detail) = expect.split_once(':').unwrap_or((expect, ""));
                assert_eq!(e.code().as_str(), code, "{}: {e:?}", case.file);
                assert!(e.message().contains(detail), "{}: {}", case.file, e.message());
            }
        }
    }
}

#[test]
fn the_leaf_matching_the_key_is_chosen_from_a_chain() {
    let (dir, cases) = corpus();
    for name in ["windows-3des-sha1.pfx", "keyvault-chain-no-password.pfx", "python-chain.pfx"] {
        let case = cases.iter().find(|c| c.file == name).unwrap();
        let data = std::fs::read(dir.path().join(name)).unwrap();
        let parsed = parse_pfx(&data, &case.password, now()).unwrap();
        assert!(parsed.info.subject.contains("m365-backup.contoso.com"), "{name}: {}", parsed.info.subject);
        assert!(parsed.info.issuer.contains("Contoso Issuing CA"), "{name}: {}", parsed.info.issuer);
    }
}

#[test]
fn a_hostile_iteration_count_is_refused_quickly() {
    let (dir, _) = corpus();
    let data = std::fs::read(dir.path().join("too-costly.pfx")).unwrap();
    let started = Instant::now();
    assert_eq!(parse_pfx(&data, "anything", now()).unwrap_err(), PfxError::TooCostly);
    assert!(started.elapsed() < Duration::from_millis(50), "refused before any key derivation");
}
