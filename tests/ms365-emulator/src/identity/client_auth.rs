//! Authenticating a confidential client at the token endpoint: a client secret, or a signed JWT client
//! assertion (RFC 7523) made with a certificate registered on the application.
//!
//! Microsoft's rules, as the product meets them: the secret must be the secret's *value* and unexpired
//! (AADSTS7000215 / AADSTS7000222); the assertion's certificate is found by `x5t#S256` or `x5t`, its
//! signature must verify (AADSTS700027), `aud` must be this tenant's token endpoint, `iss` = `sub`
//! (AADSTS50048 when they differ) = client ID (AADSTS700021), `exp`/`nbf` within five minutes of skew (AADSTS700024), and a `jti` is accepted once.
//! Credentials younger than a `credential` replication delay are treated as not there yet.

use serde_json::Value;

use super::certs::{verify_signature, AssertionAlg};
use super::errors::OAuthError;
use super::jwt::UnverifiedJwt;
use super::tokens::ClientAuth;
use crate::cloud::Cloud;
use crate::faults::ReplicationTarget;
use crate::state::{Application, Emulator, State, Tenant};
use crate::util::{aad_timestamp, b64url_decode, form_get, hex_upper, iso8601};

/// The only accepted `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Allowed clock skew for assertions.
const SKEW_S: u64 = 300;

/// Checks the credential a confidential client sent for `app`.
#[allow(clippy::too_many_arguments)]
pub fn authenticate(
    emu: &Emulator,
    state: &mut State,
    cloud: Cloud,
    tenant: &Tenant,
    segment: &str,
    app: &Application,
    form: &[(String, String)],
    now_ms: u64,
) -> Result<ClientAuth, OAuthError> {
    if let Some(secret) = form_get(form, "client_secret") {
        check_secret(state, app, secret, now_ms)?;
        return Ok(ClientAuth::Secret);
    }
    if let Some(assertion) = form_get(form, "client_assertion") {
        if form_get(form, "client_assertion_type") != Some(JWT_BEARER) {
            return Err(OAuthError::new(
                "invalid_request",
                50_027,
                "Invalid JWT token. The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            ));
        }
        check_assertion(emu, state, cloud, tenant, segment, app, assertion, now_ms)?;
        return Ok(ClientAuth::Certificate);
    }
    Err(OAuthError::new(
        "invalid_client",
        7_000_218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    ))
}

fn check_secret(state: &State, app: &Application, secret: &str, now_ms: u64) -> Result<(), OAuthError> {
    let found = app.passwords.iter().find(|p| {
        same_secret(&p.secret, secret)
            && !state.faults.still_replicating(ReplicationTarget::Credential, p.added_ms, now_ms)
    });
    match found {
        Some(p) if now_ms >= p.end_ms => Err(OAuthError::new(
            "invalid_client",
            7_000_222,
            format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys \
                 for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added \
                 security: https://aka.ms/certCreds.",
                app.app_id
            ),
        )),
        Some(p) if now_ms >= p.start_ms => Ok(()),
        _ => Err(OAuthError::new(
            "invalid_client",
            7_000_215,
            format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret \
                 value, not the client secret ID, for a secret added to app '{}'.",
                app.app_id
            ),
        )),
    }
}

/// Compares secrets without stopping at the first difference.
fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn invalid_jwt(detail: &str) -> OAuthError {
    OAuthError::new("invalid_client", 50_027, format!("Invalid JWT token. {detail}"))
}

#[allow(clippy::too_many_arguments)]
fn check_assertion(
    emu: &Emulator,
    state: &mut State,
    cloud: Cloud,
    tenant: &Tenant,
    segment: &str,
    app: &Application,
    assertion: &str,
    now_ms: u64,
) -> Result<(), OAuthError> {
    let jwt = UnverifiedJwt::decode(assertion).ok_or_else(|| invalid_jwt("The token is not a well-formed JWS."))?;
    let alg = jwt.header_str("alg").and_then(AssertionAlg::from_jws).ok_or_else(|| {
        OAuthError::new(
            "invalid_client",
            700_027,
            "Client assertion failed signature validation. [Reason - The signing algorithm is not supported; use RS256 or PS256.]",
        )
    })?;
    let by_s256 = jwt.header_str("x5t#S256").and_then(b64url_decode);
    let by_sha1 = jwt.header_str("x5t").and_then(b64url_decode);
    let thumb_hex = by_s256.as_deref().or(by_sha1.as_deref()).map(hex_upper).unwrap_or_default();
    let key = app.keys.iter().find(|k| {
        (by_s256.as_deref() == Some(k.sha256.as_slice()) || by_sha1.as_deref() == Some(k.sha1.as_slice()))
            && !state.faults.still_replicating(ReplicationTarget::Credential, k.added_ms, now_ms)
    });
    let Some(key) = key else {
        return Err(OAuthError::new(
            "invalid_client",
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. \
                 [Reason - The key was not found., Thumbprint of key used by client: '{thumb_hex}', Please visit the \
                 Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{}'. Review \
                 the documentation at https://docs.microsoft.com/en-us/graph/deployments if you are using a national \
                 cloud.]",
                app.app_id
            ),
        ));
    };
    if !verify_signature(&key.der, alg, jwt.signing_input.as_bytes(), &jwt.signature) {
        return Err(OAuthError::new(
            "invalid_client",
            700_027,
            format!(
                "Client assertion failed signature validation. [Reason - The provided signature value did not match \
                 the expected signature value., Thumbprint of key used by client: '{thumb_hex}', Found key \
                 'Start={}, End={}']",
                iso8601(key.start_ms),
                iso8601(key.end_ms)
            ),
        ));
    }
    if now_ms >= key.end_ms {
        return Err(OAuthError::new(
            "invalid_client",
            700_027,
            format!("Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '{thumb_hex}']"),
        ));
    }
    // Claims.
    let client_id = &app.app_id;
    let iss = jwt.claim_str("iss").unwrap_or("");
    let sub = jwt.claim_str("sub").unwrap_or("");
    // Learn, AADSTS error codes: 50048 SubjectMismatchesIssuer.
    if !iss.eq_ignore_ascii_case(sub) {
        return Err(OAuthError::new(
            "invalid_client",
            50_048,
            "Subject mismatches Issuer claim in the client assertion. Contact the tenant admin.",
        ));
    }
    if !iss.eq_ignore_ascii_case(client_id) {
        return Err(OAuthError::new(
            "invalid_client",
            700_021,
            "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation \
             at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
        ));
    }
    let audiences: Vec<&str> = match jwt.claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let mut names: Vec<&str> = tenant.names();
    names.push(segment);
    let bases: Vec<&str> =
        cloud.authority_hosts().iter().copied().chain(std::iter::once(emu.config.public_base.as_str())).collect();
    let aud_ok = audiences.iter().any(|aud| {
        let aud = aud.trim_end_matches('/');
        bases.iter().any(|b| {
            names.iter().any(|n| aud.eq_ignore_ascii_case(&format!("{b}/{n}/oauth2/v2.0/token")))
                || aud.eq_ignore_ascii_case(&format!("{b}/{}/oauth2/token", tenant.id))
        })
    });
    if !aud_ok {
        return Err(invalid_jwt(&format!(
            "The 'aud' claim must be the token endpoint of the tenant, e.g. '{}/{}/oauth2/v2.0/token'.",
            cloud.authority_hosts().first().copied().unwrap_or(""),
            tenant.id
        )));
    }
    let now = now_ms / 1000;
    let exp = jwt.claim_secs("exp").ok_or_else(|| invalid_jwt("The 'exp' claim is missing."))?;
    let nbf = jwt.claim_secs("nbf").unwrap_or(0);
    if now > exp.saturating_add(SKEW_S) || nbf > now.saturating_add(SKEW_S) {
        return Err(OAuthError::new(
            "invalid_client",
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, \
                 expiry time of assertion {}. Review the documentation at \
                 https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
                iso8601(now_ms),
                aad_timestamp(nbf.saturating_mul(1000)),
                aad_timestamp(exp.saturating_mul(1000))
            ),
        ));
    }
    let jti =
        jwt.claim_str("jti").filter(|j| !j.is_empty()).ok_or_else(|| invalid_jwt("The 'jti' claim is missing."))?;
    let replay_key = format!("{client_id}:{jti}");
    if state.seen_jtis.contains_key(&replay_key) && !emu.config.allow_assertion_replay {
        return Err(invalid_jwt("The assertion's 'jti' has been used before; an assertion can be used only once."));
    }
    state.seen_jtis.insert(replay_key, exp.saturating_add(SKEW_S).saturating_mul(1000));
    Ok(())
}
