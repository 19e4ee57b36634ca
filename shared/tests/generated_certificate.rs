//! The certificates the service generates: built here over keys made by OpenSSL, signed with
//! `ring` (the Worker signs with WebCrypto), then read back by OpenSSL and by this crate.
#![cfg(not(target_arch = "wasm32"))]

use shared::certificate::{ParsedPfx, PfxError};
use shared::secret::SecretBytes;
use shared::selfsigned::UnsignedCertificate;
use std::path::Path;
use std::process::Command;

fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl must be installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A new RSA key: (PKCS#8 DER, SubjectPublicKeyInfo DER).
fn rsa_key(dir: &Path, name: &str, bits: u32) -> (Vec<u8>, Vec<u8>) {
    let key = format!("{name}.pk8");
    let bits = format!("rsa_keygen_bits:{bits}");
    // (OpenSSL 3.0 writes a DER key as PKCS#1: converted to PKCS#8, what WebCrypto exports.)
    openssl(dir, &["genpkey", "-algorithm", "RSA", "-pkeyopt", &bits, "-out", &format!("{name}.pem")]);
    openssl(dir, &["pkcs8", "-topk8", "-nocrypt", "-in", &format!("{name}.pem"), "-outform", "DER", "-out", &key]);
    openssl(
        dir,
        &["pkey", "-inform", "DER", "-in", &key, "-pubout", "-outform", "DER", "-out", &format!("{name}.spki")],
    );
    (std::fs::read(dir.join(&key)).unwrap(), std::fs::read(dir.join(format!("{name}.spki"))).unwrap())
}

fn sign(pkcs8: &[u8], message: &[u8]) -> Vec<u8> {
    let key = ring::signature::RsaKeyPair::from_pkcs8(pkcs8).unwrap();
    let mut signature = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), message, &mut signature).unwrap();
    signature
}

const NOW: i64 = 1_796_000_000; // 2026-11-30

#[test]
fn a_generated_certificate_is_a_valid_self_signed_x509_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (pkcs8, spki) = rsa_key(dir.path(), "k", 2048);
    let not_after = NOW + 730 * 86_400;
    let unsigned = UnsignedCertificate::new(&spki, "M365 Backup, Contoso", [0xab; 16], NOW - 300, not_after).unwrap();
    let tbs = unsigned.to_be_signed().to_vec();
    let der = unsigned.assemble(&sign(&pkcs8, &tbs)).unwrap();
    std::fs::write(dir.path().join("c.der"), &der).unwrap();

    // OpenSSL reads it and checks its self-signature.
    let text =
        String::from_utf8(openssl(dir.path(), &["x509", "-inform", "DER", "-in", "c.der", "-noout", "-text"])).unwrap();
    assert!(text.contains("Version: 3"), "{text}");
    assert!(text.contains("Signature Algorithm: sha256WithRSAEncryption"), "{text}");
    assert!(
        text.contains("Issuer: CN=M365 Backup\\, Contoso") || text.contains("Issuer: CN = \"M365 Backup, Contoso\""),
        "{text}"
    );
    assert!(
        text.contains("CA:FALSE")
            && text.contains("Digital Signature")
            && text.contains("TLS Web Client Authentication"),
        "{text}"
    );
    assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
    openssl(dir.path(), &["x509", "-inform", "DER", "-in", "c.der", "-out", "c.pem"]);
    let verified = openssl(dir.path(), &["verify", "-check_ss_sig", "-partial_chain", "-CAfile", "c.pem", "c.pem"]);
    assert!(String::from_utf8_lossy(&verified).contains("c.pem: OK"));

    // This crate reads it like the leaf of a .pfx, with OpenSSL's thumbprints.
    let parsed = ParsedPfx::from_parts(&der, SecretBytes::new(pkcs8.clone()), NOW).unwrap();
    let sha1 =
        String::from_utf8(openssl(dir.path(), &["x509", "-in", "c.pem", "-noout", "-fingerprint", "-sha1"])).unwrap();
    assert_eq!(sha1.trim().rsplit('=').next().unwrap().replace(':', ""), parsed.info.thumbprint_sha1);
    assert_eq!(parsed.validity, (NOW - 300, not_after));
    assert_eq!((parsed.info.key_bits, parsed.info.subject.as_str()), (2048, parsed.info.issuer.as_str()));
    assert!(!parsed.info.serial.starts_with('8') && parsed.info.serial.len() == 32, "{}", parsed.info.serial);
}

#[test]
fn a_key_that_is_not_the_certificates_or_too_small_or_a_certificate_out_of_date_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (pkcs8, spki) = rsa_key(dir.path(), "a", 2048);
    let (other, _) = rsa_key(dir.path(), "b", 2048);
    let unsigned = UnsignedCertificate::new(&spki, "x", [7; 16], NOW, NOW + 86_400).unwrap();
    let tbs = unsigned.to_be_signed().to_vec();
    let der = unsigned.assemble(&sign(&pkcs8, &tbs)).unwrap();
    assert_eq!(ParsedPfx::from_parts(&der, SecretBytes::new(other), NOW).unwrap_err(), PfxError::KeyWithoutCertificate);
    assert!(matches!(
        ParsedPfx::from_parts(&der, SecretBytes::new(pkcs8.clone()), NOW + 2 * 86_400),
        Err(PfxError::Expired(_))
    ));
    assert!(matches!(ParsedPfx::from_parts(&der, SecretBytes::new(pkcs8), NOW - 60), Err(PfxError::NotYetValid(_))));

    let (small, small_spki) = rsa_key(dir.path(), "s", 1024);
    let unsigned = UnsignedCertificate::new(&small_spki, "x", [7; 16], NOW, NOW + 86_400).unwrap();
    // (ring signs with 2048 bits or more; the size is refused before any signature is read.)
    let der = unsigned.assemble(&[0x5a; 128]).unwrap();
    assert!(matches!(ParsedPfx::from_parts(&der, SecretBytes::new(small), NOW), Err(PfxError::UnsupportedKey(_))));
}
