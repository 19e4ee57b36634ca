//! Application certificates: reading an uploaded .pfx (PKCS#12) with its password, and what Entra
//! needs from it (the `keyCredentials` entry, the client-assertion JWT).
//!
//! Opening a .pfx costs key derivations whose iteration counts the *file* chooses, and their
//! number too (one per encrypted safe and per encrypted bag), so a hostile file could burn the
//! Worker's CPU. [`parse_pfx`] bounds all of it by [`MAX_KDF_WORK`] before the library runs:
//!
//! 1. it walks the unencrypted structure and adds up the MAC, every encrypted safe (counted twice:
//!    it is decrypted here, then again by the library) and every shrouded key bag of the plain
//!    safes; above the cap the file is refused before any derivation runs;
//! 2. it decrypts each encrypted safe itself and adds the shrouded key bags found inside, refusing
//!    as soon as the total passes the cap, so the derivations it runs are the ones counted in 1;
//! 3. secret bags and nested `safeContents` bags, wherever they are, are refused outright: no
//!    certificate export tool writes them, the library decrypts every secret bag (ignoring
//!    failures) and skips nested bags, so neither has a place in a certificate credential.
//!
//! Only then does `p12-keystore` verify the MAC and decrypt, running exactly the derivations
//! counted. Real exports (Windows, PowerShell, OpenSSL, Key Vault, Java) use 2,000 to 10,000
//! iterations per derivation, 14,000 to 70,000 work units in all, far below the cap.
//!
//! Decryption and MAC checks are done by the pure-Rust `p12-keystore` crate. This module never signs
//! anything: signing is behind [`AssertionSigner`] so that the Worker signs with WebCrypto (the
//! `rsa` crate has an unfixed timing side channel, RUSTSEC-2023-0071).

use serde::{Deserialize, Serialize};

#[cfg(feature = "pfx")]
pub use reader::*;

/// What the administrator sees of a certificate before saving (`POST /api/certificates/inspect`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateInfo {
    /// SHA-1 thumbprint, upper-case hex, as the Azure portal shows it.
    pub thumbprint_sha1: String,
    /// SHA-256 thumbprint, upper-case hex.
    pub thumbprint_sha256: String,
    /// Subject distinguished name, e.g. `CN=backup, O=Contoso`.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number, upper-case hex.
    pub serial: String,
    /// Start of validity, RFC 3339 UTC.
    pub not_before: String,
    /// End of validity, RFC 3339 UTC.
    pub not_after: String,
    /// Key algorithm, `RSA`.
    pub key_type: String,
    /// Key size in bits.
    pub key_bits: u32,
}

/// Upper-case hex without separators.
pub fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into Unix seconds. Only UTC is accepted,
/// which is what Microsoft and this product write.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// Formats Unix seconds as RFC 3339 UTC (`2027-01-31T12:00:00Z`).
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(feature = "pfx")]
mod reader {
    use super::{hex_upper, rfc3339, CertificateInfo};
    use crate::errors::ErrorCode;
    use crate::secret::SecretBytes;
    use crate::validate::PFX_MAX_BYTES;
    use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
    use der::asn1::{ContextSpecific, OctetString};
    use der::oid::ObjectIdentifier;
    use der::{Decode, Encode};
    use pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned;
    use pkcs12::cms::content_info::ContentInfo;
    use pkcs12::cms::encrypted_data::EncryptedData;
    use pkcs12::kdf::Pkcs12KeyType as KeyType;
    use sha1::Digest as _;

    /// The most key-derivation work a .pfx may ask for, in hash-iteration units (a PBKDF2 or PKCS#12
    /// KDF iteration counts 2, a MAC iteration 1), counting every derivation opening it runs. About
    /// 0.1 s natively.
    pub const MAX_KDF_WORK: u64 = 400_000;

    /// The smallest RSA key Entra accepts for certificate credentials.
    pub const MIN_RSA_BITS: u32 = 2048;

    const OID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
    const OID_ENCRYPTED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.6");
    const OID_SHROUDED_KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
    const OID_SECRET_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.5");
    const OID_SAFE_CONTENTS_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.6");
    const OID_PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
    const OID_PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
    const OID_PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
    const OID_PBKDF2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.12");
    const OID_PKCS12_PBE_PREFIX: &str = "1.2.840.113549.1.12.1.";
    const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

    /// A usable certificate credential read from a .pfx.
    #[derive(Debug, Clone)]
    pub struct ParsedPfx {
        /// What the administrator sees.
        pub info: CertificateInfo,
        /// The leaf certificate (DER), the one that matches the private key.
        pub certificate_der: Vec<u8>,
        /// The private key, PKCS#8 DER (what WebCrypto's `importKey("pkcs8")` takes).
        pub private_key_pkcs8: SecretBytes,
        /// Validity as Unix seconds: (not before, not after).
        pub validity: (i64, i64),
    }

    /// Why a .pfx was refused.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum PfxError {
        /// The MAC or the decryption did not verify with the password.
        WrongPassword,
        /// Not PKCS#12; says what it looks like when recognizable.
        NotPfx(Option<&'static str>),
        /// No private key in the file.
        NoPrivateKey,
        /// The private key belongs to none of the certificates in the file.
        KeyWithoutCertificate,
        /// Not RSA, or RSA under 2048 bits.
        UnsupportedKey(String),
        /// Certificate expired (RFC 3339 end date).
        Expired(String),
        /// Certificate not valid yet (RFC 3339 start date).
        NotYetValid(String),
        /// Key derivation above [`MAX_KDF_WORK`], or a memory-hard KDF.
        TooCostly,
        /// Above the upload size limit.
        TooLarge,
        /// A PKCS#12 file that is damaged or truncated.
        Corrupt,
        /// An encryption or MAC algorithm this product does not read.
        UnsupportedFormat,
        /// Bags a certificate export never holds (secret bags, nested bags), whose decryption the
        /// work cap could not bound; says which.
        UnsupportedContent(&'static str),
    }

    impl PfxError {
        /// The catalogue entry.
        pub fn code(&self) -> ErrorCode {
            match self {
                PfxError::WrongPassword => ErrorCode::CertificateWrongPassword,
                PfxError::NotPfx(_) => ErrorCode::CertificateNotPfx,
                PfxError::NoPrivateKey | PfxError::KeyWithoutCertificate => ErrorCode::CertificateNoPrivateKey,
                PfxError::UnsupportedKey(_) => ErrorCode::CertificateUnsupportedKey,
                PfxError::Expired(_) => ErrorCode::CertificateExpired,
                PfxError::NotYetValid(_) => ErrorCode::CertificateNotYetValid,
                PfxError::TooCostly => ErrorCode::CertificateTooCostly,
                PfxError::TooLarge => ErrorCode::CertificateTooLarge,
                PfxError::Corrupt => ErrorCode::CertificateCorrupt,
                PfxError::UnsupportedFormat | PfxError::UnsupportedContent(_) => {
                    ErrorCode::CertificateUnsupportedFormat
                }
            }
        }

        /// The sentence the administrator reads, more specific than the catalogue's where it helps.
        pub fn message(&self) -> String {
            match self {
                PfxError::NotPfx(Some(kind)) => format!(
                    "This file is a {kind}, not a .pfx (PKCS#12) file. Export the certificate together with its private key as a .pfx file."
                ),
                PfxError::KeyWithoutCertificate => "The private key in the .pfx file does not belong to any certificate in it. Export the certificate together with its own private key.".to_owned(),
                PfxError::UnsupportedKey(what) => format!(
                    "The certificate's key is {what}. Microsoft Entra application certificates need an RSA key of at least {MIN_RSA_BITS} bits."
                ),
                PfxError::Expired(at) => format!("The certificate expired on {at}. Create or renew the certificate and upload the new .pfx file."),
                PfxError::NotYetValid(at) => format!("The certificate is valid only from {at}. Check its start date, or the clock of the computer that created it."),
                PfxError::UnsupportedContent(what) => format!(
                    "The .pfx file holds {what} besides the certificate and its private key, which this service does not open. Export the certificate again with only its private key and certificate chain (no extra secrets or keys)."
                ),
                other => other.code().message().to_owned(),
            }
        }
    }

    /// Opens a .pfx with `password` and returns the leaf certificate that matches its RSA private key.
    /// `now` (Unix seconds) decides expiry.
    pub fn parse_pfx(data: &[u8], password: &str, now: i64) -> Result<ParsedPfx, PfxError> {
        if data.len() > PFX_MAX_BYTES {
            return Err(PfxError::TooLarge);
        }
        let pfx = pkcs12::pfx::Pfx::from_der(data).map_err(|_| classify_unreadable(data))?;
        let has_mac = pfx.mac_data.is_some();
        check_kdf_work(&pfx, password)?;
        let archive =
            p12_keystore::Pkcs12Archive::from_pkcs12(data, password).map_err(|e| classify_library_error(e, has_mac))?;

        let Some(key) = archive.keys.first() else {
            return Err(PfxError::NoPrivateKey);
        };
        let modulus = rsa_key_modulus(key.key.as_der())?;
        let leaf = archive
            .certs
            .iter()
            .find_map(|bag| {
                let der = bag.cert.as_der();
                (certificate_modulus(der).as_deref() == Some(modulus.as_slice())).then(|| der.to_vec())
            })
            .ok_or(if archive.certs.is_empty() { PfxError::NoPrivateKey } else { PfxError::KeyWithoutCertificate })?;
        let private_key_pkcs8 = SecretBytes::new(key.key.as_der().to_vec());
        let (info, validity) = read_leaf(&leaf, private_key_pkcs8.expose(), now)?;
        Ok(ParsedPfx { info, private_key_pkcs8, certificate_der: leaf, validity })
    }

    /// The modulus of an RSA private key (PKCS#8 DER); other keys are refused by name.
    fn rsa_key_modulus(pkcs8: &[u8]) -> Result<Vec<u8>, PfxError> {
        let key_info = pkcs12::safe_bag::PrivateKeyInfo::from_der(pkcs8).map_err(|_| PfxError::Corrupt)?;
        if key_info.algorithm.oid != OID_RSA {
            return Err(PfxError::UnsupportedKey(key_algorithm_name(&key_info.algorithm.oid)));
        }
        rsa_private_modulus(key_info.private_key.as_bytes()).map(<[u8]>::to_vec).ok_or(PfxError::Corrupt)
    }

    /// The RSA modulus of a certificate's public key, without leading zeros.
    fn certificate_modulus(der: &[u8]) -> Option<Vec<u8>> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        match cert.public_key().parsed().ok()? {
            x509_parser::public_key::PublicKey::RSA(rsa) => Some(strip_zeros(rsa.modulus).to_vec()),
            _ => None,
        }
    }

    /// What a certificate credential is, read from its certificate (`leaf`, DER) and private key
    /// (`pkcs8`, DER), which must belong together; `now` (Unix seconds) decides expiry.
    pub(crate) fn read_leaf(leaf: &[u8], pkcs8: &[u8], now: i64) -> Result<(CertificateInfo, (i64, i64)), PfxError> {
        let modulus = rsa_key_modulus(pkcs8)?;
        if certificate_modulus(leaf).as_deref() != Some(modulus.as_slice()) {
            return Err(PfxError::KeyWithoutCertificate);
        }
        let (info, (not_before, not_after)) = describe_certificate(leaf)?;
        if info.key_bits < MIN_RSA_BITS {
            return Err(PfxError::UnsupportedKey(format!("RSA with {} bits", info.key_bits)));
        }
        if now > not_after {
            return Err(PfxError::Expired(rfc3339(not_after)));
        }
        if now < not_before {
            return Err(PfxError::NotYetValid(rfc3339(not_before)));
        }
        Ok((info, (not_before, not_after)))
    }

    /// What a certificate (DER) says of itself, and its validity in Unix seconds; its key must be
    /// RSA. Nothing is checked against a private key or the time.
    pub fn describe_certificate(leaf: &[u8]) -> Result<(CertificateInfo, (i64, i64)), PfxError> {
        let modulus = certificate_modulus(leaf).ok_or(PfxError::Corrupt)?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf).map_err(|_| PfxError::Corrupt)?;
        let bits = modulus_bits(&modulus);
        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        let info = CertificateInfo {
            thumbprint_sha1: hex_upper(&sha1::Sha1::digest(leaf)),
            thumbprint_sha256: hex_upper(&sha2::Sha256::digest(leaf)),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial: hex_upper(strip_zeros(cert.raw_serial())),
            not_before: rfc3339(not_before),
            not_after: rfc3339(not_after),
            key_type: "RSA".to_owned(),
            key_bits: bits,
        };
        Ok((info, (not_before, not_after)))
    }

    /// Refuses `pfx` unless every key derivation opening it takes (ours here and the library's)
    /// adds up to at most [`MAX_KDF_WORK`]; see the module documentation for the order of the steps.
    fn check_kdf_work(pfx: &pkcs12::pfx::Pfx, password: &str) -> Result<(), PfxError> {
        let (mut work, encrypted) = visible_kdf_work(pfx)?;
        if work > MAX_KDF_WORK {
            return Err(PfxError::TooCostly);
        }
        // Every derivation below was counted in `work`: each safe's own (twice), nothing else.
        for enc in &encrypted {
            let Some(ciphertext) = &enc.enc_content_info.encrypted_content else {
                continue;
            };
            let plain = decrypt(&enc.enc_content_info.content_enc_alg, ciphertext.as_bytes(), password)?;
            work = work.saturating_add(safe_contents_work(&plain).map_err(|e| match e {
                // What does not decode after decryption is almost always a wrong password (a MAC,
                // when there is one, would say the same).
                PfxError::Corrupt => PfxError::WrongPassword,
                other => other,
            })?);
            if work > MAX_KDF_WORK {
                return Err(PfxError::TooCostly);
            }
        }
        Ok(())
    }

    /// The key-derivation work the unencrypted structure of `pfx` shows (see [`MAX_KDF_WORK`]), and
    /// its encrypted safes, whose own derivations are counted twice and whose bags are not yet.
    fn visible_kdf_work(pfx: &pkcs12::pfx::Pfx) -> Result<(u64, Vec<EncryptedData>), PfxError> {
        let mut work = 0u64;
        if let Some(mac) = &pfx.mac_data {
            work += u64::try_from(mac.iterations).map_err(|_| PfxError::Corrupt)?;
        }
        if pfx.auth_safe.content_type != OID_DATA {
            return Err(PfxError::UnsupportedFormat);
        }
        let safes = octets_of(&pfx.auth_safe)?;
        let safes = Vec::<ContentInfo>::from_der(&safes).map_err(|_| PfxError::Corrupt)?;
        let mut encrypted = Vec::new();
        for safe in &safes {
            if safe.content_type == OID_DATA {
                work = work.saturating_add(safe_contents_work(&octets_of(safe)?)?);
            } else if safe.content_type == OID_ENCRYPTED_DATA {
                let content = safe.content.to_der().map_err(|_| PfxError::Corrupt)?;
                let enc = EncryptedData::from_der(&content).map_err(|_| PfxError::Corrupt)?;
                // Decrypted once here to count what it holds, once more by the library.
                work = work.saturating_add(algorithm_work(&enc.enc_content_info.content_enc_alg)?.saturating_mul(2));
                encrypted.push(enc);
            } else {
                return Err(PfxError::UnsupportedFormat);
            }
        }
        Ok((work, encrypted))
    }

    /// The key-derivation work of the bags in a SafeContents (DER): its shrouded key bags. Refuses
    /// the bags the library would decrypt or skip without a certificate export needing them.
    fn safe_contents_work(der: &[u8]) -> Result<u64, PfxError> {
        let bags = pkcs12::safe_bag::SafeContents::from_der(der).map_err(|_| PfxError::Corrupt)?;
        let mut work = 0u64;
        for bag in &bags {
            if bag.bag_id == OID_SHROUDED_KEY_BAG {
                let wrapped = ContextSpecific::<pkcs12::pbe_params::EncryptedPrivateKeyInfo>::from_der(&bag.bag_value)
                    .map_err(|_| PfxError::Corrupt)?;
                work = work.saturating_add(algorithm_work(&wrapped.value.encryption_algorithm)?);
            } else if bag.bag_id == OID_SECRET_BAG {
                return Err(PfxError::UnsupportedContent("a secret bag (an extra secret or key)"));
            } else if bag.bag_id == OID_SAFE_CONTENTS_BAG {
                return Err(PfxError::UnsupportedContent("nested bags (a safeContents bag)"));
            }
            // Key, certificate and CRL bags: nothing to derive.
        }
        Ok(work)
    }

    /// Decrypts an encrypted safe's content as `p12-keystore` does (same crates, same algorithms),
    /// after its derivation was counted.
    fn decrypt(alg: &AlgorithmIdentifierOwned, data: &[u8], password: &str) -> Result<Vec<u8>, PfxError> {
        let params = alg.parameters.as_ref().ok_or(PfxError::Corrupt)?.to_der().map_err(|_| PfxError::Corrupt)?;
        if alg.oid == OID_PBES2 {
            let params = pkcs5::pbes2::Parameters::from_der(&params).map_err(|_| PfxError::Corrupt)?;
            return params.decrypt(password.as_bytes(), data).map_err(|e| match e {
                pkcs5::Error::DecryptFailed => PfxError::WrongPassword,
                _ => PfxError::UnsupportedFormat,
            });
        }
        let p = pkcs12::pbe_params::Pkcs12PbeParams::from_der(&params).map_err(|_| PfxError::Corrupt)?;
        let (salt, rounds) = (p.salt.as_bytes(), p.iterations);
        let derive = |kind, len| {
            pkcs12::kdf::derive_key_utf8::<sha1::Sha1>(password, salt, kind, rounds, len).map_err(|_| PfxError::Corrupt)
        };
        let plain = if alg.oid == OID_PBE_SHA1_3DES {
            let (key, iv) = (derive(KeyType::EncryptionKey, 24)?, derive(KeyType::Iv, 8)?);
            cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
                .map_err(|_| PfxError::Corrupt)?
                .decrypt_padded_vec::<Pkcs7>(data)
        } else if alg.oid == OID_PBE_SHA1_RC2_40 {
            let (key, iv) = (derive(KeyType::EncryptionKey, 5)?, derive(KeyType::Iv, 8)?);
            cbc::Decryptor::<rc2::Rc2>::new_from_slices(&key, &iv)
                .map_err(|_| PfxError::Corrupt)?
                .decrypt_padded_vec::<Pkcs7>(data)
        } else {
            return Err(PfxError::UnsupportedFormat);
        };
        plain.map_err(|_| PfxError::WrongPassword)
    }

    fn octets_of(ci: &ContentInfo) -> Result<Vec<u8>, PfxError> {
        let der = ci.content.to_der().map_err(|_| PfxError::Corrupt)?;
        Ok(OctetString::from_der(&der).map_err(|_| PfxError::Corrupt)?.into_bytes().into_vec())
    }

    fn algorithm_work(alg: &pkcs12::cms::cert::x509::spki::AlgorithmIdentifierOwned) -> Result<u64, PfxError> {
        let params = alg.parameters.as_ref().ok_or(PfxError::Corrupt)?.to_der().map_err(|_| PfxError::Corrupt)?;
        if alg.oid == OID_PBES2 {
            let p = pkcs12::pbe_params::Pbes2Params::from_der(&params).map_err(|_| PfxError::Corrupt)?;
            if p.kdf.oid != OID_PBKDF2 {
                // scrypt and friends: memory-hard, never used by certificate export tools.
                return Err(PfxError::TooCostly);
            }
            let kdf = p.kdf.parameters.as_ref().ok_or(PfxError::Corrupt)?.to_der().map_err(|_| PfxError::Corrupt)?;
            let kdf = pkcs12::pbe_params::Pbkdf2Params::from_der(&kdf).map_err(|_| PfxError::Corrupt)?;
            Ok(u64::from(kdf.iteration_count) * 2)
        } else if alg.oid.to_string().starts_with(OID_PKCS12_PBE_PREFIX) {
            let p = pkcs12::pbe_params::Pkcs12PbeParams::from_der(&params).map_err(|_| PfxError::Corrupt)?;
            // Key and IV are two derivations.
            Ok(u64::try_from(p.iterations).map_err(|_| PfxError::Corrupt)? * 2)
        } else {
            Err(PfxError::UnsupportedFormat)
        }
    }

    fn classify_library_error(e: p12_keystore::error::Error, has_mac: bool) -> PfxError {
        use p12_keystore::error::Error as E;
        match e {
            E::MacError(_) => PfxError::WrongPassword,
            E::UnpadError | E::Pkcs5Error(_) if !has_mac => PfxError::WrongPassword,
            E::UnsupportedEncryptionScheme
            | E::UnsupportedMacAlgorithm
            | E::UnsupportedContentType
            | E::UnsupportedCertificateType => PfxError::UnsupportedFormat,
            E::InvalidParameters => PfxError::TooCostly,
            _ => PfxError::Corrupt,
        }
    }

    /// Says what a file that is not readable PKCS#12 looks like.
    fn classify_unreadable(data: &[u8]) -> PfxError {
        let head = &data[..data.len().min(64)];
        if let Ok(text) = std::str::from_utf8(head) {
            let text = text.trim_start();
            if text.starts_with("-----BEGIN") {
                return PfxError::NotPfx(Some(if text.contains("PRIVATE KEY") {
                    "PEM private key (text)"
                } else {
                    "PEM certificate (text)"
                }));
            }
        }
        if x509_parser::parse_x509_certificate(data).is_ok() {
            return PfxError::NotPfx(Some("DER certificate (.cer) without its private key"));
        }
        // SEQUENCE { INTEGER 3, ... }: a PKCS#12 header on a file that does not parse.
        let header_is_pfx = matches!(
            data,
            [0x30, 0x80, 0x02, 0x01, 0x03, ..]
                | [0x30, 0x81, _, 0x02, 0x01, 0x03, ..]
                | [0x30, 0x82, _, _, 0x02, 0x01, 0x03, ..]
                | [0x30, 0x83, _, _, _, 0x02, 0x01, 0x03, ..]
        );
        if header_is_pfx {
            PfxError::Corrupt
        } else {
            PfxError::NotPfx(None)
        }
    }

    fn key_algorithm_name(oid: &ObjectIdentifier) -> String {
        match oid.to_string().as_str() {
            "1.2.840.10045.2.1" => "an elliptic-curve (ECDSA) key".to_owned(),
            "1.3.101.112" => "an Ed25519 key".to_owned(),
            "1.2.840.10040.4.1" => "a DSA key".to_owned(),
            other => format!("of an unknown type ({other})"),
        }
    }

    /// The modulus of a PKCS#1 `RSAPrivateKey`, without leading zeros.
    fn rsa_private_modulus(pkcs1: &[u8]) -> Option<&[u8]> {
        let mut reader = der::SliceReader::new(pkcs1).ok()?;
        let header = der::Header::decode(&mut reader).ok()?;
        if header.tag() != der::Tag::Sequence {
            return None;
        }
        let _version = der::asn1::UintRef::decode(&mut reader).ok()?;
        let n = der::asn1::UintRef::decode(&mut reader).ok()?;
        Some(strip_zeros(n.as_bytes()))
    }

    fn strip_zeros(b: &[u8]) -> &[u8] {
        let first = b.iter().position(|x| *x != 0).unwrap_or(b.len());
        &b[first..]
    }

    pub(crate) fn modulus_bits(m: &[u8]) -> u32 {
        match m.first() {
            None => 0,
            Some(top) => (m.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
        }
    }
}

#[cfg(all(test, feature = "pfx"))]
mod tests {
    use super::reader::modulus_bits;
    use super::*;
    use crate::validate::PFX_MAX_BYTES;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn modulus_bits_counts_from_the_top_bit() {
        assert_eq!(modulus_bits(&[0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[0x01, 0]), 9);
        assert_eq!(modulus_bits(&[]), 0);
    }

    fn err(data: &[u8]) -> PfxError {
        parse_pfx(data, "", 0).unwrap_err()
    }

    #[test]
    fn unreadable_input_is_classified() {
        assert_eq!(err(b"-----BEGIN CERTIFICATE-----\nMIIB"), PfxError::NotPfx(Some("PEM certificate (text)")));
        assert_eq!(err(b"-----BEGIN PRIVATE KEY-----\n"), PfxError::NotPfx(Some("PEM private key (text)")));
        assert_eq!(err(b"hello"), PfxError::NotPfx(None));
        assert_eq!(err(&[0x30, 0x82, 0x09, 0x00, 0x02, 0x01, 0x03, 0x30]), PfxError::Corrupt);
        assert_eq!(err(&vec![0u8; PFX_MAX_BYTES + 1]), PfxError::TooLarge);
        assert_eq!(err(&[]), PfxError::NotPfx(None));
    }

    #[test]
    fn every_error_has_a_catalogue_code_and_a_sentence() {
        let all = [
            PfxError::WrongPassword,
            PfxError::NotPfx(None),
            PfxError::NotPfx(Some("PEM certificate (text)")),
            PfxError::NoPrivateKey,
            PfxError::KeyWithoutCertificate,
            PfxError::UnsupportedKey("RSA with 1024 bits".into()),
            PfxError::Expired("2020-01-01T00:00:00Z".into()),
            PfxError::NotYetValid("2030-01-01T00:00:00Z".into()),
            PfxError::TooCostly,
            PfxError::TooLarge,
            PfxError::Corrupt,
            PfxError::UnsupportedFormat,
            PfxError::UnsupportedContent("a secret bag (an extra secret or key)"),
        ];
        for e in all {
            assert!(e.code().as_str().starts_with("certificate_"), "{e:?}");
            assert!(e.message().ends_with('.'), "{e:?}");
        }
    }
}
