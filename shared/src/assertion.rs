//! What Entra needs from an application certificate: the Graph `keyCredentials` entry that
//! registers it, and the client-assertion JWT that proves possession of its key.
//!
//! Signing is not done here. [`ClientAssertion`] produces the JWS signing input; the caller signs
//! it with whatever holds the key (the Worker: WebCrypto `RSA-PSS` / `RSASSA-PKCS1-v1_5` with the
//! PKCS#8 key from the .pfx) and passes the signature to [`ClientAssertion::finish`]. The
//! [`AssertionSigner`] trait names that seam for code that wants to be generic over it.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha1::Digest as _;
use std::future::Future;

/// How long a client assertion is valid, in seconds (Microsoft accepts 5 to 10 minutes).
pub const ASSERTION_LIFETIME_SECS: i64 = 600;
/// The audience of a proof of possession for `addKey` / `removeKey`: Microsoft Graph's app ID.
pub const PROOF_AUDIENCE: &str = "00000003-0000-0000-c000-000000000000";

/// The JWS algorithm of a client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AssertionAlg {
    /// RSASSA-PSS with SHA-256 (Microsoft's current documentation), header `x5t#S256`.
    PS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (MSAL's long-time default), header `x5t`.
    RS256,
}

/// Something that signs a JWS signing input with the certificate's private key.
pub trait AssertionSigner {
    /// Why signing failed.
    type Error;
    /// Signs `signing_input` with `alg`; returns the raw signature bytes.
    fn sign(&self, alg: AssertionAlg, signing_input: &[u8]) -> impl Future<Output = Result<Vec<u8>, Self::Error>>;
}

/// A client assertion waiting for its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAssertion {
    alg: AssertionAlg,
    signing_input: String,
}

#[derive(Serialize)]
struct Header<'a> {
    alg: AssertionAlg,
    typ: &'static str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: &'a str,
    x5t: &'a str,
}

/// A proof of possession's claims (learn.microsoft.com/graph/application-rollkey-prooftoken).
#[derive(Serialize)]
struct ProofClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    nbf: i64,
    exp: i64,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: &'a str,
    nbf: i64,
    iat: i64,
    exp: i64,
}

impl ClientAssertion {
    /// The assertion for `client_id` at `audience` (the tenant's official token endpoint, see
    /// [`crate::CloudEndpoints::assertion_audience`]), naming the certificate by both thumbprints.
    /// `jti` must be unique per assertion; `now` is Unix seconds.
    pub fn new(
        alg: AssertionAlg,
        certificate_der: &[u8],
        client_id: &str,
        audience: &str,
        jti: &str,
        now: i64,
    ) -> Self {
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti,
            nbf: now,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        Self::build(alg, certificate_der, &claims)
    }

    /// The proof of possession with which application object `application_object_id` rolls its own
    /// keys (`addKey` / `removeKey`): signed by one of its current certificates, `aud` Microsoft
    /// Graph, `iss` the application's *object* ID, valid for 10 minutes from `now` (Unix seconds).
    pub fn proof_of_possession(
        alg: AssertionAlg,
        certificate_der: &[u8],
        application_object_id: &str,
        now: i64,
    ) -> Self {
        let claims = ProofClaims {
            aud: PROOF_AUDIENCE,
            iss: application_object_id,
            nbf: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        Self::build(alg, certificate_der, &claims)
    }

    fn build(alg: AssertionAlg, certificate_der: &[u8], claims: &impl Serialize) -> Self {
        let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(certificate_der));
        let x5t_s256 = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(certificate_der));
        let header = Header { alg, typ: "JWT", x5t_s256: &x5t_s256, x5t: &x5t };
        // Serializing these plain structs cannot fail.
        let header = serde_json::to_vec(&header).unwrap_or_default();
        let claims = serde_json::to_vec(claims).unwrap_or_default();
        let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
        Self { alg, signing_input }
    }

    /// The algorithm to sign with.
    pub fn alg(&self) -> AssertionAlg {
        self.alg
    }

    /// The bytes to sign.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The complete JWT, given the signature over [`Self::signing_input`].
    pub fn finish(self, signature: &[u8]) -> String {
        format!("{}.{}", self.signing_input, URL_SAFE_NO_PAD.encode(signature))
    }

    /// Signs with `signer` and returns the complete JWT.
    pub async fn sign_with<S: AssertionSigner>(self, signer: &S) -> Result<String, S::Error> {
        let signature = signer.sign(self.alg, self.signing_input()).await?;
        Ok(self.finish(&signature))
    }
}

/// A Graph `keyCredential` for an application certificate (`PATCH /applications/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// Always `AsymmetricX509Cert`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always `Verify`.
    pub usage: String,
    /// The certificate, base64 DER.
    pub key: String,
    /// The name shown in the Azure portal.
    pub display_name: String,
    /// Start of validity, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    /// End of validity, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
    /// Its ID in Entra, when the client chooses it ([`key_id_for_certificate`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// The `keyId` this product gives the certificate `certificate_der` in Entra: a version-4-shaped
/// GUID made of the first 16 bytes of its SHA-256, so that the key can be removed later
/// (`removeKey` takes the ID) with nothing stored beside the certificate.
pub fn key_id_for_certificate(certificate_der: &[u8]) -> String {
    let d = sha2::Sha256::digest(certificate_der);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

impl KeyCredential {
    /// The entry for `certificate_der` valid over `validity` (Unix seconds).
    pub fn for_certificate(certificate_der: &[u8], display_name: &str, validity: (i64, i64)) -> Self {
        Self {
            kind: "AsymmetricX509Cert".to_owned(),
            usage: "Verify".to_owned(),
            key: STANDARD.encode(certificate_der),
            display_name: display_name.to_owned(),
            start_date_time: Some(crate::certificate::rfc3339(validity.0)),
            end_date_time: Some(crate::certificate::rfc3339(validity.1)),
            key_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_of_possession_names_graph_the_application_object_and_ten_minutes() {
        let proof = ClientAssertion::proof_of_possession(AssertionAlg::RS256, b"der", "object-id", 1_000);
        let input = std::str::from_utf8(proof.signing_input()).unwrap();
        let (h, c) = input.split_once('.').unwrap();
        let claims = decode(c);
        assert_eq!(claims, serde_json::json!({"aud": PROOF_AUDIENCE, "iss": "object-id", "nbf": 1_000, "exp": 1_600}));
        assert_eq!(decode(h)["x5t"], URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(b"der")));
    }

    #[test]
    fn a_certificates_key_id_is_a_guid_fixed_by_the_certificate() {
        let id = key_id_for_certificate(b"one certificate");
        assert_eq!(id, key_id_for_certificate(b"one certificate"));
        assert_ne!(id, key_id_for_certificate(b"another certificate"));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4", "version 4 shape");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "RFC 4122 variant");
    }

    fn decode(part: &str) -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    }

    #[test]
    fn assertion_has_microsofts_header_and_claims() {
        let cert = b"not really DER, only hashed";
        let a = ClientAssertion::new(
            AssertionAlg::PS256,
            cert,
            "11111111-2222-3333-4444-555555555555",
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            "jti-1",
            1_700_000_000,
        );
        let input = String::from_utf8(a.signing_input().to_vec()).unwrap();
        let (h, c) = input.split_once('.').unwrap();
        let header = decode(h);
        assert_eq!(header["alg"], "PS256");
        assert_eq!(header["typ"], "JWT");
        assert_eq!(header["x5t"], URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(cert)));
        assert_eq!(header["x5t#S256"], URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(cert)));
        let claims = decode(c);
        assert_eq!(claims["iss"], "11111111-2222-3333-4444-555555555555");
        assert_eq!(claims["sub"], claims["iss"]);
        assert_eq!(claims["aud"], "https://login.microsoftonline.com/t/oauth2/v2.0/token");
        assert_eq!(claims["jti"], "jti-1");
        assert_eq!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(), ASSERTION_LIFETIME_SECS);
        let jwt = a.finish(&[1, 2, 3]);
        assert_eq!(jwt.split('.').count(), 3);
        assert!(jwt.ends_with(".AQID"));
    }

    #[test]
    fn key_credential_matches_graphs_shape() {
        let k = KeyCredential::for_certificate(&[0x30, 0x82], "M365 Backup", (0, 86_400));
        let json = serde_json::to_value(&k).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"type": "AsymmetricX509Cert", "usage": "Verify", "key": "MII=",
                "displayName": "M365 Backup", "startDateTime": "1970-01-01T00:00:00Z",
                "endDateTime": "1970-01-02T00:00:00Z"})
        );
    }
}
