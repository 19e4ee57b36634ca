//! `/applications`: create, read, list, update (including certificate `keyCredentials`), delete, and
//! the `addPassword`/`removePassword` actions (`addKey`/`removeKey` are in [`super::rollkey`]).
//!
//! Only the properties the product could plausibly send are writable; an unknown property is refused as
//! Graph refuses it. `keyCredentials` on PATCH replaces the whole list, as at Graph, so a product that
//! forgets to merge loses its old certificates here too. A new secret's value is returned once.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::auth::{require, Caller, READ_APPS, WRITE_APPS};
use super::error::GraphError;
use super::{collection, entity, GraphRequest, GraphResponse};
use crate::faults::ReplicationTarget;
use crate::identity::certs;
use crate::state::{Application, Emulator, KeyCredential, PasswordCredential, State};
use crate::util::{b64, b64_decode, iso8601, new_guid, parse_iso8601, random_string};

const TWO_YEARS_MS: u64 = 2 * 365 * 24 * 3600 * 1000;

/// Properties a client may set.
const WRITABLE: [&str; 16] = [
    "displayName",
    "signInAudience",
    "requiredResourceAccess",
    "web",
    "publicClient",
    "spa",
    "isFallbackPublicClient",
    "tags",
    "notes",
    "description",
    "identifierUris",
    "keyCredentials",
    "info",
    "api",
    "optionalClaims",
    "serviceManagementReference",
];

const AUDIENCES: [&str; 4] =
    ["AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"];

/// The Graph JSON of a secret (never with its value).
pub fn password_json(p: &PasswordCredential, secret_text: Option<&str>) -> Value {
    json!({
        "customKeyIdentifier": null,
        "displayName": p.display_name,
        "endDateTime": iso8601(p.end_ms),
        "hint": p.secret.chars().take(3).collect::<String>(),
        "keyId": p.key_id,
        "secretText": secret_text,
        "startDateTime": iso8601(p.start_ms),
    })
}

/// The Graph JSON of a certificate (`key` is not returned, as Graph does by default).
pub fn key_json(k: &KeyCredential) -> Value {
    json!({
        "customKeyIdentifier": k.custom_key_identifier,
        "displayName": k.display_name,
        "endDateTime": iso8601(k.end_ms),
        "key": null,
        "keyId": k.key_id,
        "startDateTime": iso8601(k.start_ms),
        "type": k.key_type,
        "usage": k.usage,
    })
}

/// The Graph JSON of an application.
pub fn application_json(state: &State, app: &Application) -> Map<String, Value> {
    let publisher = state.tenant(&app.tenant_id).and_then(|t| t.domains.first().cloned());
    let mut o = json!({
        "id": app.id,
        "deletedDateTime": null,
        "appId": app.app_id,
        "createdDateTime": iso8601(app.created_ms),
        "description": null,
        "displayName": app.display_name,
        "identifierUris": [],
        "isFallbackPublicClient": null,
        "notes": null,
        "publisherDomain": publisher,
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "api": {"requestedAccessTokenVersion": null, "oauth2PermissionScopes": []},
        "info": {"logoUrl": null, "marketingUrl": null, "privacyStatementUrl": null, "supportUrl": null, "termsOfServiceUrl": null},
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "spa": {"redirectUris": []},
        "web": {"homePageUrl": null, "logoutUrl": null, "redirectUris": []},
        "passwordCredentials": app.passwords.iter().map(|p| password_json(p, None)).collect::<Vec<_>>(),
        "keyCredentials": app.keys.iter().map(key_json).collect::<Vec<_>>(),
    })
    .as_object()
    .cloned()
    .unwrap_or_default();
    for (k, v) in &app.properties {
        o.insert(k.clone(), v.clone());
    }
    o
}

/// Resolves `applications(appId='...')` to an object ID.
pub fn resolve_key(state: &State, caller: &Caller, segment: &str) -> Result<String, GraphError> {
    let inner = segment
        .strip_prefix("applications(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| GraphError::bad_request(format!("Invalid key segment '{segment}'.")))?;
    let app_id = inner
        .strip_prefix("appId=")
        .map(|v| v.trim_matches('\''))
        .ok_or_else(|| GraphError::bad_request(format!("Invalid key segment '{segment}'.")))?;
    state
        .application_by_app_id(&caller.tenant_id, app_id)
        .map(|a| a.id.clone())
        .ok_or_else(|| GraphError::not_found(app_id))
}

/// `GET /applications`.
pub fn list(state: &State, caller: &Caller, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_APPS)?;
    let items = state
        .applications
        .iter()
        .filter(|a| a.tenant_id == caller.tenant_id)
        .map(|a| application_json(state, a))
        .collect();
    collection(caller, req, "applications", items)
}

fn find<'a>(state: &'a State, caller: &Caller, id: &str) -> Result<&'a Application, GraphError> {
    state
        .applications
        .iter()
        .find(|a| a.tenant_id == caller.tenant_id && a.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))
}

/// Parses `keyCredentials`, keeping the age of certificates already registered (matched by `keyId` or
/// thumbprint) so that a PATCH does not restart their replication delay.
pub(super) fn parse_key_credentials(
    value: &Value,
    existing: &[KeyCredential],
    now: u64,
) -> Result<Vec<KeyCredential>, GraphError> {
    let list = value
        .as_array()
        .ok_or_else(|| GraphError::bad_request("Invalid value specified for property 'keyCredentials'."))?;
    let mut out = Vec::new();
    for item in list {
        let o = item
            .as_object()
            .ok_or_else(|| GraphError::bad_request("Invalid value specified for property 'keyCredentials'."))?;
        let key_id_in = o.get("keyId").and_then(Value::as_str);
        let key_b64 = o.get("key").and_then(Value::as_str);
        let Some(key_b64) = key_b64 else {
            // An existing certificate echoed back without its key (Graph hides `key` on GET).
            if let Some(old) = key_id_in.and_then(|k| existing.iter().find(|e| e.key_id.eq_ignore_ascii_case(k))) {
                out.push(old.clone());
                continue;
            }
            return Err(GraphError::bad_request("Property 'key' of resource 'KeyCredential' is required."));
        };
        let der = b64_decode(key_b64).or_else(|| certs::der_from_pem_or_base64(key_b64)).ok_or_else(|| {
            GraphError::bad_request("Invalid value specified for property 'key' of resource 'KeyCredential'.")
        })?;
        let info = certs::inspect(&der).map_err(|e| {
            GraphError::bad_request(format!(
                "Invalid value specified for property 'key' of resource 'KeyCredential': {e}."
            ))
        })?;
        let key_type = o.get("type").and_then(Value::as_str).unwrap_or("AsymmetricX509Cert");
        if key_type != "AsymmetricX509Cert" {
            return Err(GraphError::bad_request(format!(
                "Key credential type '{key_type}' is not supported; use AsymmetricX509Cert."
            )));
        }
        let usage = o.get("usage").and_then(Value::as_str).unwrap_or("Verify");
        if usage != "Verify" && usage != "Sign" {
            return Err(GraphError::bad_request(format!(
                "Invalid value '{usage}' for property 'usage' of resource 'KeyCredential'."
            )));
        }
        let date = |name: &str, default: u64| -> Result<u64, GraphError> {
            match o.get(name) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::String(s)) => parse_iso8601(s)
                    .ok_or_else(|| GraphError::bad_request(format!("Invalid value specified for property '{name}'."))),
                Some(_) => Err(GraphError::bad_request(format!("Invalid value specified for property '{name}'."))),
            }
        };
        let start_ms = date("startDateTime", info.not_before_ms)?;
        let end_ms = date("endDateTime", info.not_after_ms)?;
        let previous = existing
            .iter()
            .find(|e| e.sha1 == info.sha1 || key_id_in.is_some_and(|k| e.key_id.eq_ignore_ascii_case(k)));
        out.push(KeyCredential {
            key_id: key_id_in.filter(|k| crate::util::is_guid(k)).map(str::to_ascii_lowercase).unwrap_or_else(new_guid),
            display_name: Some(
                o.get("displayName")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| info.subject.clone()),
            ),
            custom_key_identifier: o
                .get("customKeyIdentifier")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| b64(&info.sha1)),
            key_type: key_type.into(),
            usage: usage.into(),
            sha1: info.sha1,
            sha256: info.sha256,
            start_ms,
            end_ms,
            der,
            added_ms: previous.map_or(now, |p| p.added_ms),
        });
    }
    Ok(out)
}

/// Refuses the write when a certificate `app` did not have `before` breaks the tenant's policy.
pub(super) fn refuse_new_keys(
    state: &State,
    tenant: &str,
    before: &[KeyCredential],
    app: &Application,
) -> Result<(), GraphError> {
    for k in app.keys.iter().filter(|k| !before.iter().any(|b| b.sha1 == k.sha1)) {
        if let Some(refusal) = super::policies::refuse_key(state, tenant, app.created_ms, k.start_ms, k.end_ms) {
            return Err(refusal);
        }
    }
    Ok(())
}

/// Checks and applies writable properties to `app`.
fn apply(app: &mut Application, body: &Map<String, Value>, now: u64) -> Result<(), GraphError> {
    for (k, v) in body {
        if k.starts_with('@') {
            continue;
        }
        if !WRITABLE.contains(&k.as_str()) {
            let read_only = ["id", "appId", "passwordCredentials", "createdDateTime", "publisherDomain"];
            return Err(if read_only.contains(&k.as_str()) {
                GraphError::bad_request(format!("Property '{k}' is read-only and cannot be set."))
            } else {
                GraphError::bad_request(format!(
                    "Property '{k}' does not exist as a declared property or extension property."
                ))
            });
        }
        match k.as_str() {
            "displayName" => {
                let name = v.as_str().map(str::trim).filter(|s| !s.is_empty() && s.len() <= 256).ok_or_else(|| {
                    GraphError::bad_request(
                        "Invalid value specified for property 'displayName' of resource 'Application'.",
                    )
                })?;
                app.display_name = name.to_string();
            }
            "signInAudience" => {
                if !v.as_str().is_some_and(|a| AUDIENCES.contains(&a)) {
                    return Err(GraphError::bad_request(
                        "Invalid value specified for property 'signInAudience' of resource 'Application'.",
                    ));
                }
                app.properties.insert(k.clone(), v.clone());
            }
            "requiredResourceAccess" => {
                validate_rra(v)?;
                app.properties.insert(k.clone(), v.clone());
            }
            "keyCredentials" => {
                app.keys = parse_key_credentials(v, &app.keys, now)?;
            }
            _ => {
                app.properties.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

fn validate_rra(v: &Value) -> Result<(), GraphError> {
    let bad = || {
        GraphError::bad_request(
            "Invalid value specified for property 'requiredResourceAccess' of resource 'Application'.",
        )
    };
    for r in v.as_array().ok_or_else(bad)? {
        if !r.get("resourceAppId").and_then(Value::as_str).is_some_and(crate::util::is_guid) {
            return Err(bad());
        }
        for a in r.get("resourceAccess").and_then(Value::as_array).ok_or_else(bad)? {
            let id_ok = a.get("id").and_then(Value::as_str).is_some_and(crate::util::is_guid);
            let type_ok = matches!(a.get("type").and_then(Value::as_str), Some("Role" | "Scope"));
            if !id_ok || !type_ok {
                return Err(bad());
            }
        }
    }
    Ok(())
}

/// `POST /applications`.
pub fn create(
    _emu: &Emulator,
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &WRITE_APPS)?;
    let body = req.json_object()?;
    if !body.contains_key("displayName") {
        return Err(GraphError::bad_request("Property 'displayName' is required for resource 'Application'."));
    }
    let mut app = Application {
        id: new_guid(),
        app_id: new_guid(),
        tenant_id: caller.tenant_id.clone(),
        display_name: String::new(),
        properties: Map::new(),
        passwords: Vec::new(),
        keys: Vec::new(),
        created_ms: now,
    };
    app.properties.insert("signInAudience".into(), json!("AzureADMyOrg"));
    apply(&mut app, body, now)?;
    refuse_new_keys(state, &caller.tenant_id, &[], &app)?;
    let json = application_json(state, &app);
    let id = app.id.clone();
    state.applications.push(app);
    let mut resp = entity(caller, req, 201, "applications/$entity", json);
    resp.headers.push((
        "Location".into(),
        format!(
            "{}/v2/{}/directoryObjects/{id}/Microsoft.DirectoryServices.Application",
            caller.cloud.graph_host(),
            caller.tenant_id
        ),
    ));
    Ok(resp)
}

/// `GET`, `PATCH`, `DELETE /applications/{id}`.
pub fn one(
    _emu: &Emulator,
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    match req.method {
        Method::GET => {
            require(state, caller, &READ_APPS)?;
            let app = find(state, caller, id)?;
            Ok(entity(caller, req, 200, "applications/$entity", application_json(state, app)))
        }
        Method::PATCH => {
            require(state, caller, &WRITE_APPS)?;
            let body = req.json_object()?.clone();
            let mut app = find(state, caller, id)?.clone();
            let before = app.keys.clone();
            apply(&mut app, &body, now)?;
            refuse_new_keys(state, &caller.tenant_id, &before, &app)?;
            if let Some(slot) = state.applications.iter_mut().find(|a| a.id == app.id) {
                *slot = app;
            }
            Ok(GraphResponse::no_content())
        }
        Method::DELETE => {
            require(state, caller, &WRITE_APPS)?;
            let app = find(state, caller, id)?.clone();
            state.applications.retain(|a| a.id != app.id);
            // Deleting an application deletes its service principal in the home tenant, and its grants.
            let sp_ids: Vec<String> = state
                .service_principals
                .iter()
                .filter(|s| s.tenant_id == app.tenant_id && s.app_id == app.app_id)
                .map(|s| s.id.clone())
                .collect();
            state.service_principals.retain(|s| !sp_ids.contains(&s.id));
            state.role_assignments.retain(|r| !sp_ids.contains(&r.principal_id) && !sp_ids.contains(&r.resource_id));
            Ok(GraphResponse::no_content())
        }
        _ => Err(GraphError::method_not_allowed()),
    }
}

/// `POST /applications/{id}/addPassword` and `/removePassword`.
pub fn action(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    action: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    if req.method != Method::POST {
        return Err(GraphError::method_not_allowed());
    }
    match action {
        "addPassword" => add_password(state, caller, req, id, now),
        "removePassword" => remove_password(state, caller, req, id),
        "addKey" => super::rollkey::add_key(state, caller, req, id, now),
        "removeKey" => super::rollkey::remove_key(state, caller, req, id, now),
        other => Err(GraphError::new(400, "BadRequest", format!("Resource not found for the segment '{other}'."))),
    }
}

fn add_password(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &WRITE_APPS)?;
    let app_index = state
        .applications
        .iter()
        .position(|a| a.tenant_id == caller.tenant_id && a.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))?;
    let tenant_names: Vec<String> = state
        .tenant(&caller.tenant_id)
        .map(|t| t.names().into_iter().map(str::to_string).collect())
        .unwrap_or_default();
    let names: Vec<&str> = tenant_names.iter().map(String::as_str).collect();
    if state.faults.secrets_forbidden(&names) {
        return Err(GraphError::bad_request("Credential type not allowed as per assigned policy.")
            .with_code("CredentialTypeNotAllowedAsPerAssignedPolicy"));
    }
    let empty = Map::new();
    let body = match &req.body {
        Ok(None) => &empty,
        _ => req.json_object()?,
    };
    let pc = match body.get("passwordCredential") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(GraphError::bad_request("Invalid value specified for property 'passwordCredential'.")),
    };
    let date = |name: &str| -> Result<Option<u64>, GraphError> {
        match pc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => parse_iso8601(s)
                .map(Some)
                .ok_or_else(|| GraphError::bad_request(format!("Invalid value specified for property '{name}'."))),
            Some(_) => Err(GraphError::bad_request(format!("Invalid value specified for property '{name}'."))),
        }
    };
    let start_ms = date("startDateTime")?.unwrap_or(now);
    let end_ms = date("endDateTime")?.unwrap_or(start_ms + TWO_YEARS_MS);
    if end_ms <= start_ms {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'endDateTime': it must be later than startDateTime.",
        ));
    }
    let created_ms = state.applications[app_index].created_ms;
    if let Some(refusal) = super::policies::refuse_password(state, &caller.tenant_id, created_ms, start_ms, end_ms) {
        return Err(refusal);
    }
    // Microsoft's secrets: three characters, a version marker, then the rest.
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let secret = format!(
        "{}8Q~{}",
        random_string(alphabet, 3),
        random_string(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-", 37)
    );
    let cred = PasswordCredential {
        key_id: new_guid(),
        display_name: pc.get("displayName").and_then(Value::as_str).map(str::to_string),
        secret: secret.clone(),
        start_ms,
        end_ms,
        added_ms: now,
    };
    let mut out = password_json(&cred, Some(&secret)).as_object().cloned().unwrap_or_default();
    out.insert("@odata.context".into(), super::context(caller, "microsoft.graph.passwordCredential"));
    state.applications[app_index].passwords.push(cred);
    Ok(GraphResponse::json(200, Value::Object(out)))
}

fn remove_password(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &WRITE_APPS)?;
    let key_id = req
        .json_object()?
        .get("keyId")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| GraphError::bad_request("Property 'keyId' is required."))?;
    let app = state
        .applications
        .iter_mut()
        .find(|a| a.tenant_id == caller.tenant_id && a.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))?;
    let before = app.passwords.len();
    app.passwords.retain(|p| !p.key_id.eq_ignore_ascii_case(&key_id));
    if app.passwords.len() == before {
        return Err(GraphError::bad_request(format!("No password credential found with keyId '{key_id}'.")));
    }
    Ok(GraphResponse::no_content())
}

/// Whether an application created at `created_ms` is still invisible to `POST /servicePrincipals`.
pub fn replicating(state: &State, app: &Application, now: u64) -> bool {
    state.faults.still_replicating(ReplicationTarget::ServicePrincipal, app.created_ms, now)
}
