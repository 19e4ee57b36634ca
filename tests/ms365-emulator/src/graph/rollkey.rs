//! `addKey` and `removeKey` on `/applications`: an application rolls its own certificates without any
//! permission, by proving possession of one of its current keys.
//!
//! Microsoft's rules (learn.microsoft.com/graph/application-rollkey-prooftoken): the `proof` is a JWT
//! signed with the private key of one of the application's *valid* certificates (so it no longer
//! works once every certificate has expired); `aud` is Microsoft Graph's app ID
//! `00000003-0000-0000-c000-000000000000`, the only audience the page names now (older copies said
//! `00000002-…`, which is refused here); `iss` is the application's object ID, not its app ID; `exp`
//! is at most `nbf` + 10 minutes. Callers with `Application.ReadWrite.*` may roll any application's
//! keys; an application token may roll only its own. A refused proof gets what Microsoft answers a
//! malformed one, as developers reported it to Microsoft's Graph documentation
//! (microsoftgraph/microsoft-graph-docs issues 10686 and 22076): 401 `Authentication_MissingOrMalformed`
//! "Access Token missing or malformed.", without a reason (the emulator logs none either).

use serde_json::{json, Map, Value};

use super::applications::{key_json, parse_key_credentials, refuse_new_keys};
use super::auth::{require, Caller, CallerKind, WRITE_APPS};
use super::error::GraphError;
use super::{GraphRequest, GraphResponse};
use crate::faults::ReplicationTarget;
use crate::identity::certs::{verify_signature, AssertionAlg};
use crate::identity::jwt::UnverifiedJwt;
use crate::state::{Application, State};
use crate::util::b64url_decode;

/// Microsoft Graph's app ID: the proof's audience.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The longest a proof may live.
const PROOF_LIFETIME_S: u64 = 600;
/// Clock skew allowed on `nbf` / `exp`.
const SKEW_S: u64 = 300;

/// Microsoft's answer to a proof it does not accept; `_why` names the rule for the reader of the code.
fn refused(_why: &str) -> GraphError {
    GraphError::new(401, "Authentication_MissingOrMalformed", "Access Token missing or malformed.")
}

/// The index of application `id` in the caller's tenant, if the caller may roll its keys.
fn rollable(state: &State, caller: &Caller, id: &str) -> Result<usize, GraphError> {
    let index = state
        .applications
        .iter()
        .position(|a| a.tenant_id == caller.tenant_id && a.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))?;
    let own = matches!(caller.kind, CallerKind::App { .. })
        && state.applications[index].app_id.eq_ignore_ascii_case(&caller.app_id);
    if !own {
        require(state, caller, &WRITE_APPS)?;
    }
    Ok(index)
}

/// Checks `proof` against `app`'s valid certificates at `now_ms`.
pub fn check_proof(state: &State, app: &Application, proof: &str, now_ms: u64) -> Result<(), GraphError> {
    let jwt = UnverifiedJwt::decode(proof).ok_or_else(|| refused("the proof is not a well-formed JWS"))?;
    let alg = jwt
        .header_str("alg")
        .and_then(AssertionAlg::from_jws)
        .ok_or_else(|| refused("the signing algorithm is not supported; use RS256 or PS256"))?;
    let by_s256 = jwt.header_str("x5t#S256").and_then(b64url_decode);
    let by_sha1 = jwt.header_str("x5t").and_then(b64url_decode);
    let named = |sha1: &[u8], sha256: &[u8]| match (&by_s256, &by_sha1) {
        (None, None) => true,
        _ => by_s256.as_deref() == Some(sha256) || by_sha1.as_deref() == Some(sha1),
    };
    let valid = app.keys.iter().filter(|k| {
        k.start_ms <= now_ms
            && now_ms < k.end_ms
            && !state.faults.still_replicating(ReplicationTarget::Credential, k.added_ms, now_ms)
    });
    let mut signed_by_valid_key = false;
    for key in valid.filter(|k| named(&k.sha1, &k.sha256)) {
        if verify_signature(&key.der, alg, jwt.signing_input.as_bytes(), &jwt.signature) {
            signed_by_valid_key = true;
            break;
        }
    }
    if !signed_by_valid_key {
        return Err(refused("the proof is not signed by a valid certificate of the application"));
    }
    let aud = jwt.claim_str("aud").unwrap_or("");
    if !aud.eq_ignore_ascii_case(GRAPH_APP_ID) {
        return Err(refused(&format!("the 'aud' claim must be '{GRAPH_APP_ID}'")));
    }
    if !jwt.claim_str("iss").unwrap_or("").eq_ignore_ascii_case(&app.id) {
        return Err(refused("the 'iss' claim must be the object ID of the application"));
    }
    let (Some(nbf), Some(exp)) = (jwt.claim_secs("nbf"), jwt.claim_secs("exp")) else {
        return Err(refused("the 'nbf' and 'exp' claims are required"));
    };
    if exp <= nbf || exp - nbf > PROOF_LIFETIME_S {
        return Err(refused("the proof must expire within 10 minutes of 'nbf'"));
    }
    let now = now_ms / 1000;
    if nbf > now + SKEW_S || now > exp + SKEW_S {
        return Err(refused("the proof is expired or not yet valid"));
    }
    Ok(())
}

fn proof_of(body: &Map<String, Value>) -> Result<&str, GraphError> {
    body.get("proof")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| GraphError::bad_request("Property 'proof' is required."))
}

/// `POST /applications/{id}/addKey`.
pub fn add_key(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    let index = rollable(state, caller, id)?;
    let body = req.json_object()?;
    let proof = proof_of(body)?;
    if !matches!(body.get("passwordCredential"), None | Some(Value::Null)) {
        return Err(GraphError::bad_request(
            "A passwordCredential is only accepted with a key credential of type X509CertAndPassword.",
        ));
    }
    let kc = body
        .get("keyCredential")
        .filter(|v| v.is_object())
        .ok_or_else(|| GraphError::bad_request("Property 'keyCredential' is required."))?;
    if kc.get("usage").and_then(Value::as_str) != Some("Verify")
        || kc.get("type").and_then(Value::as_str) != Some("AsymmetricX509Cert")
        || kc.get("key").and_then(Value::as_str).is_none()
    {
        return Err(GraphError::bad_request(
            "The keyCredential's type, usage and key are required: type AsymmetricX509Cert with usage Verify.",
        ));
    }
    check_proof(state, &state.applications[index], proof, now)?;
    let mut parsed = parse_key_credentials(&json!([kc]), &[], now)?;
    let new = parsed.remove(0);
    let app = &state.applications[index];
    if app.keys.iter().any(|k| k.sha1 == new.sha1) {
        return Err(GraphError::bad_request("The key credential is already registered on the application."));
    }
    let before = app.keys.clone();
    let mut candidate = app.clone();
    candidate.keys.push(new.clone());
    refuse_new_keys(state, &caller.tenant_id, &before, &candidate)?;
    state.applications[index] = candidate;
    let mut out = key_json(&new).as_object().cloned().unwrap_or_default();
    out.insert("@odata.context".into(), super::context(caller, "microsoft.graph.keyCredential"));
    Ok(GraphResponse::json(200, Value::Object(out)))
}

/// `POST /applications/{id}/removeKey`.
pub fn remove_key(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    let index = rollable(state, caller, id)?;
    let body = req.json_object()?;
    let key_id = body
        .get("keyId")
        .and_then(Value::as_str)
        .ok_or_else(|| GraphError::bad_request("Property 'keyId' is required."))?
        .to_owned();
    let proof = proof_of(body)?;
    check_proof(state, &state.applications[index], proof, now)?;
    let app = &mut state.applications[index];
    let before = app.keys.len();
    app.keys.retain(|k| !k.key_id.eq_ignore_ascii_case(&key_id));
    if app.keys.len() == before {
        return Err(GraphError::bad_request(format!("No key credential found with keyId '{key_id}'.")));
    }
    Ok(GraphResponse::no_content())
}
