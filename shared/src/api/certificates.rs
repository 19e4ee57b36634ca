//! Certificates.

use super::*;

/// `POST /api/certificates/inspect`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InspectCertificate {
    /// The .pfx file, base64.
    #[serde(serialize_with = "serialize_exposed")]
    #[cfg_attr(feature = "schema", schemars(extend("minLength" = 1)))]
    pub pfx_base64: SecretString,
    /// Its password (may be empty).
    #[serde(serialize_with = "serialize_exposed")]
    pub password: SecretString,
}

/// The answer of `POST /api/certificates/inspect`.
pub type CertificatePreview = CertificateInfo;
