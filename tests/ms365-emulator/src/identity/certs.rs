//! Certificates registered on applications (`keyCredentials`): what Graph needs to know about them
//! (thumbprints, validity, subject) and the signature check of client assertions made with their keys.
//!
//! Entra ID certificate credentials are RSA; the emulator accepts the two algorithms Microsoft's
//! libraries send, RS256 (with `x5t`) and PS256 (with `x5t#S256`).

use ring::signature;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use x509_parser::prelude::{FromDer as _, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::util::b64_decode;

/// What the emulator keeps about a certificate.
#[derive(Clone, Debug)]
pub struct CertInfo {
    /// SHA-1 of the DER.
    pub sha1: Vec<u8>,
    /// SHA-256 of the DER.
    pub sha256: Vec<u8>,
    /// The subject, e.g. `CN=backup`.
    pub subject: String,
    /// notBefore, ms since the epoch.
    pub not_before_ms: u64,
    /// notAfter, ms since the epoch.
    pub not_after_ms: u64,
}

/// A certificate given as PEM, or as base64 DER (Graph's `key`).
pub fn der_from_pem_or_base64(text: &str) -> Option<Vec<u8>> {
    if text.contains("-----BEGIN") {
        CertificateDer::from_pem_slice(text.as_bytes()).ok().map(|c| c.as_ref().to_vec())
    } else {
        b64_decode(text)
    }
}

/// Reads a DER certificate; refuses anything that is not an X.509 certificate with an RSA key.
pub fn inspect(der: &[u8]) -> Result<CertInfo, String> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| "not an X.509 certificate".to_string())?;
    if !rest.is_empty() {
        return Err("trailing data after the certificate".into());
    }
    if !matches!(cert.public_key().parsed(), Ok(PublicKey::RSA(_))) {
        return Err("the certificate's key is not an RSA key".into());
    }
    let ms = |secs: i64| u64::try_from(secs).unwrap_or(0).saturating_mul(1000);
    Ok(CertInfo {
        sha1: ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref().to_vec(),
        sha256: ring::digest::digest(&ring::digest::SHA256, der).as_ref().to_vec(),
        subject: cert.subject().to_string(),
        not_before_ms: ms(cert.validity().not_before.timestamp()),
        not_after_ms: ms(cert.validity().not_after.timestamp()),
    })
}

/// The JWS algorithms accepted in client assertions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256 (salt length 32).
    Ps256,
}

impl AssertionAlg {
    /// The algorithm named by a JWS `alg`, if accepted.
    pub fn from_jws(alg: &str) -> Option<AssertionAlg> {
        match alg {
            "RS256" => Some(AssertionAlg::Rs256),
            "PS256" => Some(AssertionAlg::Ps256),
            _ => None,
        }
    }
}

/// Whether `sig` over `message` verifies with the RSA key of the certificate `der`.
pub fn verify_signature(der: &[u8], alg: AssertionAlg, message: &[u8], sig: &[u8]) -> bool {
    let Ok((_, cert)) = X509Certificate::from_der(der) else { return false };
    let spki = &cert.public_key().subject_public_key.data;
    let algorithm: &dyn signature::VerificationAlgorithm = match alg {
        AssertionAlg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        AssertionAlg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
    };
    signature::UnparsedPublicKey::new(algorithm, spki.as_ref()).verify(message, sig).is_ok()
}
