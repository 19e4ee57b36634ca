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

/// Held by every test of this file for its whole run: some time parsing, others generate the corpus
/// or parse the slowest file, and the timings must not include another test's work on the cores.
static TIMING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn timing() -> std::sync::MutexGuard<'static, ()> {
    TIMING.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[test]
fn every_corpus_file_is_opened_or_refused_as_expected() {
    let _serial = timing();
    let (dir, cases) = corpus();
    assert!(cases.len() >= 15, "the corpus covers every format and refusal");
    for case in &cases {
        let data = std::fs::read(dir.path().join(&case.file)).unwrap();
        // (How long each takes is `make bench`'s to report, not a test's to assert: the work cap that
        // bounds it is checked exactly in `the_work_cap_is_exact`.)
        let result = parse_pfx(&data, &case.password, now());
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
    let _serial = timing();
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
    let _serial = timing();
    let (dir, _) = corpus();
    let data = std::fs::read(dir.path().join("too-costly.pfx")).unwrap();
    let started = Instant::now();
    assert_eq!(parse_pfx(&data, "anything", now()).unwrap_err(), PfxError::TooCostly);
    assert!(started.elapsed() < Duration::from_millis(50), "refused before any key derivation");
}

/// Hand-built files for the shapes that hide key derivations from a look at the unencrypted
/// structure: secret bags, nested `safeContents` bags, and bags inside an encrypted safe. Built
/// here with the DER helpers below (no tool writes these shapes), all PBES2 / PBKDF2-SHA256 /
/// AES-256-CBC, without a MAC (the password is then not checked before the bags are decrypted).
mod hand_built {
    use der::asn1::OctetString;
    use der::oid::ObjectIdentifier;
    use der::{Any, Encode};
    use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
    use pkcs12::pbe_params::EncryptedPrivateKeyInfo;

    pub const PASSWORD: &str = "hand-built";
    const DATA: &str = "1.2.840.113549.1.7.1";
    const ENCRYPTED_DATA: &str = "1.2.840.113549.1.7.6";
    const KEY_BAG: &str = "1.2.840.113549.1.12.10.1.1";
    const SHROUDED_KEY_BAG: &str = "1.2.840.113549.1.12.10.1.2";
    const CERT_BAG: &str = "1.2.840.113549.1.12.10.1.3";
    const SECRET_BAG: &str = "1.2.840.113549.1.12.10.1.5";
    const SAFE_CONTENTS_BAG: &str = "1.2.840.113549.1.12.10.1.6";
    const X509_CERTIFICATE: &str = "1.2.840.113549.1.9.22.1";
    const PBES2: &str = "1.2.840.113549.1.5.13";

    /// A minimal PKCS#8 `PrivateKeyInfo` (an empty RSA key): enough for the library to accept the
    /// decrypted bytes, so that it goes on to the next bag.
    const TINY_PKCS8: &[u8] = &[
        0x30, 0x14, 0x02, 0x01, 0x00, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
        0x05, 0x00, 0x04, 0x00,
    ];

    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    fn explicit0(content: &[u8]) -> Vec<u8> {
        tlv(0xa0, content)
    }

    fn oid(dotted: &str) -> Vec<u8> {
        ObjectIdentifier::new_unwrap(dotted).to_der().unwrap()
    }

    /// PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) at `iterations`: the algorithm and `plain` encrypted.
    pub fn encrypt(iterations: u32, plain: &[u8]) -> (AlgorithmIdentifierOwned, Vec<u8>) {
        let params =
            pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &[7u8; 16], [9u8; 16]).unwrap();
        let ciphertext = params.encrypt(PASSWORD, plain).unwrap();
        let alg = AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap(PBES2),
            parameters: Some(Any::encode_from(&params).unwrap()),
        };
        (alg, ciphertext)
    }

    fn bag(id: &str, value: &[u8]) -> Vec<u8> {
        seq(&[oid(id), explicit0(value)])
    }

    fn encrypted_private_key_info(iterations: u32, pkcs8: &[u8]) -> Vec<u8> {
        let (alg, data) = encrypt(iterations, pkcs8);
        EncryptedPrivateKeyInfo { encryption_algorithm: alg, encrypted_data: OctetString::new(data).unwrap() }
            .to_der()
            .unwrap()
    }

    /// A pkcs8ShroudedKeyBag whose key derivation runs `iterations` times.
    pub fn shrouded_key_bag(iterations: u32, pkcs8: &[u8]) -> Vec<u8> {
        bag(SHROUDED_KEY_BAG, &encrypted_private_key_info(iterations, pkcs8))
    }

    /// A cheap shrouded key bag that the library accepts and moves past.
    pub fn tiny_key_bag(iterations: u32) -> Vec<u8> {
        shrouded_key_bag(iterations, TINY_PKCS8)
    }

    /// A secretBag holding an encrypted key, as Java's keytool writes secret-key entries: the
    /// library decrypts it (and ignores any failure, so every one costs its derivation).
    pub fn secret_bag(iterations: u32) -> Vec<u8> {
        let inner = encrypted_private_key_info(iterations, TINY_PKCS8);
        bag(SECRET_BAG, &seq(&[oid(SHROUDED_KEY_BAG), explicit0(&tlv(0x04, &inner))]))
    }

    /// A safeContentsBag: a whole SafeContents nested as one bag.
    pub fn safe_contents_bag(bags: &[Vec<u8>]) -> Vec<u8> {
        bag(SAFE_CONTENTS_BAG, &seq(bags))
    }

    pub fn key_bag(pkcs8: &[u8]) -> Vec<u8> {
        bag(KEY_BAG, pkcs8)
    }

    pub fn cert_bag(der: &[u8]) -> Vec<u8> {
        bag(CERT_BAG, &seq(&[oid(X509_CERTIFICATE), explicit0(&tlv(0x04, der))]))
    }

    /// A plain (`data`) safe.
    pub fn data_safe(bags: &[Vec<u8>]) -> Vec<u8> {
        seq(&[oid(DATA), explicit0(&tlv(0x04, &seq(bags)))])
    }

    /// An `encryptedData` safe, its SafeContents encrypted at `iterations`.
    pub fn encrypted_safe(iterations: u32, bags: &[Vec<u8>]) -> Vec<u8> {
        let (alg, ciphertext) = encrypt(iterations, &seq(bags));
        let content_info = seq(&[oid(DATA), alg.to_der().unwrap(), tlv(0x80, &ciphertext)]);
        let encrypted_data = seq(&[vec![0x02, 0x01, 0x00], content_info]);
        seq(&[oid(ENCRYPTED_DATA), explicit0(&encrypted_data)])
    }

    /// A PFX without a MAC around `safes`.
    pub fn pfx(safes: &[Vec<u8>]) -> Vec<u8> {
        let auth_safe = seq(&[oid(DATA), explicit0(&tlv(0x04, &seq(safes)))]);
        seq(&[vec![0x02, 0x01, 0x03], auth_safe])
    }

    pub fn pem_der(pem: &str) -> Vec<u8> {
        use base64::Engine as _;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }
}

/// Opens `data` with the hand-built password; refusals must come before the costly derivations.
fn open_hand_built(data: &[u8]) -> (Result<shared::certificate::ParsedPfx, PfxError>, Duration) {
    let started = Instant::now();
    let result = parse_pfx(data, hand_built::PASSWORD, now());
    (result, started.elapsed())
}

/// What each hand-built hostile shape must be refused with: `(name, file, code, words in the message)`.
fn hostile_shapes() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    use hand_built::*;
    // 3 x 100,000 PBKDF2 iterations: 600,000 work units, well above the cap, and still quick
    // enough in a debug build to show what the unpatched code does with them.
    const COSTLY: u32 = 100_000;
    let costly_keys = || (0..3).map(|_| tiny_key_bag(COSTLY)).collect::<Vec<_>>();
    vec![
        (
            "secret bags in a plain safe",
            pfx(&[data_safe(&(0..3).map(|_| secret_bag(COSTLY)).collect::<Vec<_>>())]),
            "certificate_unsupported_format",
            "secret",
        ),
        (
            "a nested safeContents bag in a plain safe",
            pfx(&[data_safe(&[safe_contents_bag(&costly_keys())])]),
            "certificate_unsupported_format",
            "nested",
        ),
        (
            "key bags inside an encrypted safe",
            pfx(&[encrypted_safe(2048, &costly_keys())]),
            "certificate_too_costly",
            "",
        ),
        (
            "secret bags inside an encrypted safe",
            pfx(&[encrypted_safe(2048, &(0..3).map(|_| secret_bag(COSTLY)).collect::<Vec<_>>())]),
            "certificate_unsupported_format",
            "secret",
        ),
        (
            "a nested safeContents bag inside an encrypted safe",
            pfx(&[encrypted_safe(2048, &[safe_contents_bag(&costly_keys())])]),
            "certificate_unsupported_format",
            "nested",
        ),
        (
            "many cheap key bags inside an encrypted safe, together above the cap",
            pfx(&[encrypted_safe(2048, &(0..100).map(|_| tiny_key_bag(2048)).collect::<Vec<_>>())]),
            "certificate_too_costly",
            "",
        ),
    ]
}

#[test]
fn hidden_key_derivations_are_counted_or_refused_before_they_run() {
    let _serial = timing();
    let mut failures = vec![];
    for (name, data, code, detail) in hostile_shapes() {
        assert!(data.len() < 64 * 1024, "{name}: {} bytes", data.len());
        let (result, took) = open_hand_built(&data);
        let outcome = match result {
            Ok(_) => Err("accepted".to_owned()),
            Err(e) if e.code().as_str() != code || !e.message().contains(detail) => {
                Err(format!("refused with {e:?}: {}", e.message()))
            }
            // At most the outer safe's 2,048 iterations (twice over) before the refusal.
            Err(_) if took > Duration::from_millis(300) => Err("refused, but after the hidden derivations".to_owned()),
            Err(_) => Ok(()),
        };
        if let Err(why) = outcome {
            failures.push(format!("{name}: {why} (took {took:?}; expected {code} {detail:?})"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_key_inside_an_encrypted_safe_is_counted_and_read() {
    let _serial = timing();
    use hand_built::*;
    let (dir, cases) = corpus();
    let case = cases.iter().find(|c| c.file == "python-chain.pfx").unwrap();
    let key = pem_der(&std::fs::read_to_string(dir.path().join("leaf-key.pem")).unwrap());
    let cert = pem_der(&std::fs::read_to_string(dir.path().join("leaf.pem")).unwrap());
    // Certificate and shrouded key together in one encrypted safe (a "double-encrypted" export).
    let data = pfx(&[encrypted_safe(2048, &[cert_bag(&cert), shrouded_key_bag(2048, &key)])]);
    let parsed = parse_pfx(&data, PASSWORD, now()).unwrap();
    assert_eq!(Some(&parsed.info.thumbprint_sha1), case.sha1.as_ref());
    // A plain key bag inside the encrypted safe costs nothing more.
    let data = pfx(&[encrypted_safe(2048, &[cert_bag(&cert), key_bag(&key)])]);
    assert_eq!(Some(&parse_pfx(&data, PASSWORD, now()).unwrap().info.thumbprint_sha1), case.sha1.as_ref());
    // The same with a wrong password: the encrypted safe does not open.
    assert_eq!(parse_pfx(&data, "wrong", now()).unwrap_err(), PfxError::WrongPassword);
}

#[test]
fn the_work_cap_is_exact() {
    let _serial = timing();
    let (dir, _) = corpus();
    let data = std::fs::read(dir.path().join("over-work-cap.pfx")).unwrap();
    let started = Instant::now();
    assert_eq!(parse_pfx(&data, "Corpus-Passw0rd!", now()).unwrap_err(), PfxError::TooCostly);
    assert!(started.elapsed() < Duration::from_millis(50), "refused before any key derivation");
    // The worst file accepted: slow in a debug build, so not in the timed corpus (`make bench` times it).
    let data = std::fs::read(dir.path().join("at-work-cap.pfx")).unwrap();
    let parsed = parse_pfx(&data, "Corpus-Passw0rd!", now()).unwrap();
    assert!(parsed.info.subject.contains("m365-backup.contoso.com"));
}
