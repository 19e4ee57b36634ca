//! Validated values: parsed once, trusted afterwards. Each refusal names the field and says what
//! form is expected, in the words the administrator reads, on both sides of the wire.
//!
//! Assumptions: identifiers are ASCII (a Unicode look-alike of a hex digit is refused, not
//! folded); names are stored as typed (trimmed) and escaped on output, so HTML in a name is data.

use crate::secret::SecretString;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The input fields the API and the wizard validate.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The Azure cloud environment.
    Cloud,
    /// The add method.
    Method,
    /// The organization's display name in this product.
    OrganizationName,
    /// The Microsoft Entra tenant ID.
    TenantId,
    /// The application (client) ID.
    ApplicationId,
    /// The application password (client secret).
    ClientSecret,
    /// The .pfx certificate file.
    Certificate,
    /// The .pfx file's password.
    CertificatePassword,
    /// The explicit confirmation some destructive requests require.
    Confirm,
    /// The sign-in a request uses (a repair's).
    SignInId,
    /// The organization a sign-in is to repair.
    RepairOrganizationId,
    /// The organization whose applications a sign-in is to delete from Microsoft 365.
    RemoveOrganizationId,
    /// A domain of the organization, to find its tenant and cloud.
    Domain,
    /// The customers a partner chose to onboard.
    Customers,
    /// The request body as a whole (malformed JSON, wrong content type, too large).
    Body,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 15] = [
        Field::Cloud,
        Field::Method,
        Field::OrganizationName,
        Field::TenantId,
        Field::ApplicationId,
        Field::ClientSecret,
        Field::Certificate,
        Field::CertificatePassword,
        Field::Confirm,
        Field::SignInId,
        Field::RepairOrganizationId,
        Field::RemoveOrganizationId,
        Field::Domain,
        Field::Customers,
        Field::Body,
    ];

    /// What to enter in the field, whatever was wrong with it: the sentence a translation of the
    /// app shows for a refusal of the field (English shows the validator's own, more precise one).
    pub fn instruction(self) -> &'static str {
        match self {
            Field::ApplicationId => "Enter the application ID: the Application (client) ID from App registrations, a GUID (not the Object ID or the name).",
            Field::Body => "The request could not be read. Reload the page and try again.",
            Field::Certificate => "Choose the application certificate: a .pfx file with one certificate and its private key, smaller than 64 KB.",
            Field::CertificatePassword => "Enter the password you set when the .pfx file was exported.",
            Field::ClientSecret => "Enter the application password: the Value of a client secret from Certificates & secrets (not its ID), without spaces.",
            Field::Cloud => "Choose the Azure cloud environment your organization was created in.",
            Field::Confirm => "Confirm that you want to do this.",
            Field::Customers => "Choose at least one customer with a GDAP relationship in force, each once.",
            Field::Domain => "Enter a domain of your organization, such as contoso.com or contoso.onmicrosoft.com: a name only, without https:// or a path.",
            Field::Method => "Choose a method to add the Microsoft 365 organization: Credential, Device Code or Manual.",
            Field::OrganizationName => "Enter a name for the organization, such as Contoso: at most 100 characters, without line breaks or invisible characters.",
            Field::RemoveOrganizationId => "This organization's applications cannot be deleted with this sign-in. Open the organization again and delete it from there.",
            Field::RepairOrganizationId => "This organization cannot be repaired with this sign-in. Open the organization again and repair it from there.",
            Field::SignInId => "This sign-in is not valid for this request. Sign in again.",
            Field::TenantId => "Enter the tenant ID: a GUID such as 00000000-0000-0000-0000-000000000000, not a domain name. Find it in the Microsoft Entra admin center, Overview, Tenant ID.",
        }
    }

    /// The wire name, as in error responses (`"tenant_id"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Cloud => "cloud",
            Field::Method => "method",
            Field::OrganizationName => "organization_name",
            Field::TenantId => "tenant_id",
            Field::ApplicationId => "application_id",
            Field::ClientSecret => "client_secret",
            Field::Certificate => "certificate",
            Field::CertificatePassword => "certificate_password",
            Field::Confirm => "confirm",
            Field::SignInId => "sign_in_id",
            Field::RepairOrganizationId => "repair_organization_id",
            Field::RemoveOrganizationId => "remove_organization_id",
            Field::Domain => "domain",
            Field::Customers => "customers",
            Field::Body => "body",
        }
    }

    /// The label of the field in the wizard.
    pub fn label(self) -> &'static str {
        match self {
            Field::Cloud => "Azure cloud environment",
            Field::Method => "Method",
            Field::OrganizationName => "Organization name",
            Field::TenantId => "Tenant ID",
            Field::ApplicationId => "Application ID",
            Field::ClientSecret => "Application password",
            Field::Certificate => "Application certificate",
            Field::CertificatePassword => "Certificate password",
            Field::Confirm => "Confirmation",
            Field::SignInId => "Sign-in",
            Field::RepairOrganizationId => "Organization to repair",
            Field::RemoveOrganizationId => "Organization to remove",
            Field::Domain => "Your organization's domain",
            Field::Customers => "Customers",
            Field::Body => "Request",
        }
    }
}

/// A refused input: which field, and the sentence that says what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field that was refused.
    pub field: Field,
    /// What is wrong and what form is expected.
    pub message: String,
}

impl FieldError {
    /// A refusal of `field` with `message`.
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

impl std::error::Error for FieldError {}

/// The expected form of a GUID, as both sides describe it.
pub const GUID_FORMAT: &str =
    "a GUID of the form xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (32 hexadecimal digits and 4 hyphens)";

/// Shortest and longest organization name, in characters.
pub const ORGANIZATION_NAME_LENGTH: (usize, usize) = (1, 100);

/// The characters `str::trim` removes (Unicode `White_Space`), as a regular-expression class.
macro_rules! ws_body {
    () => {
        r"\t\n\u000B\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

/// The same, as a class.
macro_rules! ws {
    () => {
        concat!("[", ws_body!(), "]")
    };
}

/// The characters a name may not contain (control characters and the invisible or text-direction
/// ones of `is_deceptive`), as the body of a regular-expression class.
macro_rules! refused_in_names {
    () => {
        r"\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\uFFF9-\uFFFB"
    };
}

macro_rules! guid {
    () => {
        r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
    };
}

/// What [`OrganizationName::parse`] accepts, as a regular expression (ECMA-262, as the OpenAPI
/// document states it): 1 to 100 characters between optional white space, none of them a control,
/// invisible or text-direction character, the first and last not white space.
pub const ORGANIZATION_NAME_PATTERN: &str = concat!(
    "^",
    ws!(),
    "*[^",
    refused_in_names!(),
    ws_body!(),
    "](?:[^",
    refused_in_names!(),
    "]{0,98}[^",
    refused_in_names!(),
    ws_body!(),
    "])?",
    ws!(),
    "*$"
);

/// What [`Domain::parse`] accepts, as a regular expression (with a longest length of 253): labels
/// of letters, digits and inner hyphens (1 to 63 characters), a top-level label of 2 to 63 letters,
/// trailing dots and surrounding white space allowed.
pub const DOMAIN_PATTERN: &str =
    concat!("^", ws!(), r"*(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.*", ws!(), "*$");

/// The longest domain accepted, in characters.
pub const DOMAIN_MAX_LENGTH: usize = 253;

/// What a tenant or application ID field accepts, as a regular expression: a GUID, optionally in
/// braces, between optional white space.
pub const GUID_PATTERN: &str = concat!("^", ws!(), r"*(?:\{", guid!(), r"\}|", guid!(), ")", ws!(), "*$");

/// An ID the service issued (a sign-in's, an organization's), as a regular expression.
pub const ISSUED_ID_PATTERN: &str = concat!("^", guid!(), "$");

/// The longest client secret accepted (Entra's are about 40 characters).
pub const CLIENT_SECRET_MAX_LENGTH: usize = 256;

/// The longest certificate password accepted.
pub const CERTIFICATE_PASSWORD_MAX_LENGTH: usize = 256;

/// The largest .pfx accepted, in bytes (a certificate with its chain is a few KB).
pub const PFX_MAX_BYTES: usize = 64 * 1024;

/// Parses a GUID: ASCII hex, hyphenated 8-4-4-4-12, optionally in braces; returns it lower-case.
fn parse_guid(input: &str) -> Option<String> {
    let s = input.trim();
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    let bytes = s.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    for (i, b) in bytes.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        };
        if !ok {
            return None;
        }
    }
    Some(s.to_ascii_lowercase())
}

macro_rules! guid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The GUID, lower-case and hyphenated.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
            }
        }
    };
}

guid_newtype!(
    /// A Microsoft Entra tenant ID (directory ID).
    TenantId
);
guid_newtype!(
    /// An application (client) ID.
    AppId
);

impl TenantId {
    /// Parses a tenant ID; a domain name gets a message that explains where to find the GUID.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                Field::TenantId,
                "Enter the tenant ID. Find it in the Microsoft Entra admin center, Overview, Tenant ID.",
            ));
        }
        if let Some(g) = parse_guid(s) {
            return Ok(TenantId(g));
        }
        if looks_like_domain(s) {
            return Err(FieldError::new(
                Field::TenantId,
                format!(
                    "The tenant ID is a GUID, not a domain name such as contoso.onmicrosoft.com. \
                     Find it in the Microsoft Entra admin center, Overview, Tenant ID: {GUID_FORMAT}."
                ),
            ));
        }
        Err(FieldError::new(
            Field::TenantId,
            format!("The tenant ID must be {GUID_FORMAT}. Find it in the Microsoft Entra admin center, Overview, Tenant ID."),
        ))
    }
}

impl AppId {
    /// Parses an application (client) ID.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(FieldError::new(
                Field::ApplicationId,
                "Enter the application ID. Find it in the Microsoft Entra admin center, App registrations, Application (client) ID.",
            ));
        }
        parse_guid(s).map(AppId).ok_or_else(|| {
            FieldError::new(
                Field::ApplicationId,
                format!("The application ID must be {GUID_FORMAT}. Copy the Application (client) ID from App registrations, not the Object ID or the name."),
            )
        })
    }
}

/// A DNS domain of an organization (`contoso.com`, `contoso.onmicrosoft.com`), lower case: a host
/// name, never a URL (no scheme, path, port, user or IP address), so that it can only name a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    /// Parses a domain.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim().trim_end_matches('.').to_ascii_lowercase();
        let refuse = |m: &str| Err(FieldError::new(Field::Domain, m.to_owned()));
        if s.is_empty() {
            return refuse("Enter a domain of your organization, for example contoso.onmicrosoft.com or contoso.com.");
        }
        if s.contains("://") || s.contains('/') || s.contains('@') || s.contains(':') {
            return refuse("Enter only the domain, for example contoso.com: no https://, path, port or e-mail name.");
        }
        let labels: Vec<&str> = s.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let top_is_letters = labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
        if s.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !top_is_letters {
            return refuse("This is not a domain name. Enter a domain such as contoso.com or contoso.onmicrosoft.com.");
        }
        Ok(Domain(s))
    }

    /// The domain, lower case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// Whether `s` reads as a domain name rather than a tenant ID (the Manual method turns it into one).
pub fn looks_like_domain(s: &str) -> bool {
    let labels: Vec<&str> = s.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// Characters that are invisible or reorder text: refused in names so a name reads as it is.
fn is_deceptive(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The organization's display name in this product: trimmed, 1 to 100 characters, no control
/// or invisible characters. HTML is allowed and stays data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrganizationName(String);

impl OrganizationName {
    /// Parses a name as typed.
    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let (min, max) = ORGANIZATION_NAME_LENGTH;
        let len = s.chars().count();
        if len < min {
            return Err(FieldError::new(
                Field::OrganizationName,
                "Enter a name for the organization, such as Contoso.",
            ));
        }
        if len > max {
            return Err(FieldError::new(
                Field::OrganizationName,
                format!("The organization name can have at most {max} characters; it has {len}. Shorten it."),
            ));
        }
        if s.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                Field::OrganizationName,
                "The organization name cannot contain line breaks, tabs or other control characters.",
            ));
        }
        if s.chars().any(is_deceptive) {
            return Err(FieldError::new(
                Field::OrganizationName,
                "The organization name cannot contain invisible or text-direction characters. Retype it instead of pasting.",
            ));
        }
        Ok(OrganizationName(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganizationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for OrganizationName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(|e| serde::de::Error::custom(e.message))
    }
}

/// Validates an application password (client secret) as typed: the *value*, not the secret's ID.
pub fn client_secret(input: &SecretString) -> Result<SecretString, FieldError> {
    let s = input.expose().trim();
    if s.is_empty() {
        return Err(FieldError::new(
            Field::ClientSecret,
            "Enter the application password: the Value of a client secret from Certificates & secrets.",
        ));
    }
    if s.chars().count() > CLIENT_SECRET_MAX_LENGTH {
        return Err(FieldError::new(
            Field::ClientSecret,
            format!("The application password can have at most {CLIENT_SECRET_MAX_LENGTH} characters. Copy only the secret's Value."),
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii()) {
        return Err(FieldError::new(
            Field::ClientSecret,
            "The application password cannot contain spaces or special characters. Copy only the secret's Value.",
        ));
    }
    if parse_guid(s).is_some() {
        return Err(FieldError::new(
            Field::ClientSecret,
            "This looks like the secret's ID, not its value. In Certificates & secrets, copy the Value column (it is shown only when the secret is created).",
        ));
    }
    Ok(SecretString::new(s.to_owned()))
}

/// Validates a .pfx password: may be empty (some exports have none), bounded, no NUL.
pub fn certificate_password(input: &SecretString) -> Result<SecretString, FieldError> {
    let s = input.expose();
    if s.chars().count() > CERTIFICATE_PASSWORD_MAX_LENGTH {
        return Err(FieldError::new(
            Field::CertificatePassword,
            format!("The certificate password can have at most {CERTIFICATE_PASSWORD_MAX_LENGTH} characters."),
        ));
    }
    if s.contains('\0') {
        return Err(FieldError::new(
            Field::CertificatePassword,
            "The certificate password cannot contain NUL characters.",
        ));
    }
    Ok(input.clone())
}

/// Decodes an uploaded .pfx sent as base64 and checks its size; the bytes are secret.
pub fn pfx_upload(base64_text: &SecretString) -> Result<crate::secret::SecretBytes, FieldError> {
    let text = base64_text.expose().trim();
    if text.is_empty() {
        return Err(FieldError::new(Field::Certificate, "Choose the application certificate (.pfx file)."));
    }
    // Base64 is 4/3 of the bytes: refuse before decoding anything oversized.
    if text.len() > PFX_MAX_BYTES.div_ceil(3) * 4 + 4 {
        return Err(too_large());
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| {
        FieldError::new(
            Field::Certificate,
            "The certificate upload is damaged (not valid base64). Choose the .pfx file again.",
        )
    })?;
    if bytes.len() > PFX_MAX_BYTES {
        return Err(too_large());
    }
    Ok(crate::secret::SecretBytes::new(bytes))
}

fn too_large() -> FieldError {
    FieldError::new(
        Field::Certificate,
        format!("The certificate file is larger than {} KB. A .pfx with one certificate and its key is a few KB: export it without extra certificates.", PFX_MAX_BYTES / 1024),
    )
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
