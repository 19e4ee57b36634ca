//! `/servicePrincipals`: list (the product looks resource SPs up with `$filter=appId eq '...'` and
//! `$select=id,appId,appRoles`), create for a new application (which may fail with 400
//! `NoBackingApplicationObject` while Entra replicates), read, delete, and app role assignments
//! (`appRoleAssignedTo`, `appRoleAssignments`), which are how application permissions are granted.

use axum::http::Method;
use serde_json::{json, Map, Value};

use super::applications::replicating;
use super::auth::{require, Caller, GRANT_ROLES, READ_APPS, WRITE_APPS};
use super::error::GraphError;
use super::{collection, entity, GraphRequest, GraphResponse};
use crate::fixture::GRAPH_APP_ID;
use crate::state::{RoleAssignment, ServicePrincipal, State};
use crate::util::{iso8601, new_guid};

fn role_json(r: &crate::state::AppRole, member: &str) -> Value {
    json!({
        "allowedMemberTypes": [member],
        "description": r.display_name,
        "displayName": r.display_name,
        "id": r.id,
        "isEnabled": true,
        "origin": "Application",
        "value": r.value,
    })
}

/// The Graph JSON of a service principal.
pub fn sp_json(sp: &ServicePrincipal) -> Map<String, Value> {
    let scopes: Vec<Value> = sp
        .scopes
        .iter()
        .map(|s| {
            json!({
                "adminConsentDescription": s.display_name,
                "adminConsentDisplayName": s.display_name,
                "id": s.id,
                "isEnabled": true,
                "type": "Admin",
                "userConsentDescription": null,
                "userConsentDisplayName": null,
                "value": s.value,
            })
        })
        .collect();
    json!({
        "id": sp.id,
        "deletedDateTime": null,
        "accountEnabled": sp.account_enabled,
        "appDisplayName": sp.display_name,
        "appId": sp.app_id,
        "appOwnerOrganizationId": sp.app_owner_tenant_id,
        "appRoleAssignmentRequired": false,
        "displayName": sp.display_name,
        "servicePrincipalNames": [sp.app_id],
        "servicePrincipalType": "Application",
        "signInAudience": if sp.app_owner_tenant_id == sp.tenant_id { "AzureADMyOrg" } else { "AzureADMultipleOrgs" },
        "tags": [],
        "appRoles": sp.app_roles.iter().map(|r| role_json(r, "Application")).collect::<Vec<_>>(),
        "oauth2PermissionScopes": scopes,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn assignment_json(state: &State, ra: &RoleAssignment) -> Map<String, Value> {
    let name = |id: &str| state.service_principals.iter().find(|s| s.id == id).map(|s| s.display_name.clone());
    json!({
        "id": ra.id,
        "deletedDateTime": null,
        "appRoleId": ra.app_role_id,
        "createdDateTime": iso8601(ra.created_ms),
        "principalDisplayName": name(&ra.principal_id),
        "principalId": ra.principal_id,
        "principalType": "ServicePrincipal",
        "resourceDisplayName": name(&ra.resource_id),
        "resourceId": ra.resource_id,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

fn find<'a>(state: &'a State, caller: &Caller, id: &str) -> Result<&'a ServicePrincipal, GraphError> {
    state
        .service_principals
        .iter()
        .find(|s| s.tenant_id == caller.tenant_id && s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found(id))
}

/// `GET /servicePrincipals`.
pub fn list(state: &State, caller: &Caller, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_APPS)?;
    let items = state.service_principals.iter().filter(|s| s.tenant_id == caller.tenant_id).map(sp_json).collect();
    collection(caller, req, "servicePrincipals", items)
}

/// `POST /servicePrincipals` `{"appId": ...}`.
pub fn create(state: &mut State, caller: &Caller, req: &GraphRequest, now: u64) -> Result<GraphResponse, GraphError> {
    require(state, caller, &WRITE_APPS)?;
    let body = req.json_object()?;
    let app_id = body
        .get("appId")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| GraphError::bad_request("Property 'appId' is required for resource 'ServicePrincipal'."))?;
    if let Some(k) = body.keys().find(|k| {
        !k.starts_with('@')
            && !["appId", "accountEnabled", "tags", "notes", "appRoleAssignmentRequired"].contains(&k.as_str())
    }) {
        return Err(GraphError::bad_request(format!(
            "Property '{k}' does not exist as a declared property or extension property."
        )));
    }
    let no_backing = || {
        GraphError::new(
            400,
            "NoBackingApplicationObject",
            format!("The appId '{app_id}' of the service principal does not reference a valid application object."),
        )
    };
    if state.sp_by_app_id(&caller.tenant_id, &app_id).is_some() {
        return Err(GraphError::new(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            format!("The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."),
        ));
    }
    // The application: one of this tenant (subject to replication delay), another tenant's multi-tenant
    // application of the same cloud, or the product's public client.
    let (display_name, owner) = if let Some(app) = state.application_by_app_id(&caller.tenant_id, &app_id) {
        if replicating(state, app, now) {
            return Err(no_backing());
        }
        (app.display_name.clone(), app.tenant_id.clone())
    } else if let Some(p) = state.public_client(caller.cloud, &app_id) {
        (p.display_name.clone(), crate::state::MICROSOFT_TENANT_ID.to_string())
    } else if let Some(app) = state.applications.iter().find(|a| {
        a.app_id == app_id
            && a.properties.get("signInAudience").and_then(Value::as_str).is_some_and(|s| s != "AzureADMyOrg")
            && state.tenant(&a.tenant_id).is_some_and(|t| t.cloud == caller.cloud)
            && !replicating(state, a, now)
    }) {
        (app.display_name.clone(), app.tenant_id.clone())
    } else {
        return Err(no_backing());
    };
    let sp = ServicePrincipal {
        id: new_guid(),
        app_id,
        tenant_id: caller.tenant_id.clone(),
        display_name,
        app_roles: Vec::new(),
        scopes: Vec::new(),
        app_owner_tenant_id: owner,
        created_ms: now,
        account_enabled: true,
    };
    let json = sp_json(&sp);
    state.service_principals.push(sp);
    Ok(entity(caller, req, 201, "servicePrincipals/$entity", json))
}

/// `GET`, `PATCH` (`accountEnabled` and the other writable flags), `DELETE /servicePrincipals/{id}`.
pub fn one(state: &mut State, caller: &Caller, req: &GraphRequest, id: &str) -> Result<GraphResponse, GraphError> {
    match req.method {
        Method::PATCH => {
            require(state, caller, &WRITE_APPS)?;
            let body = req.json_object()?.clone();
            let sp_id = find(state, caller, id)?.id.clone();
            for (k, v) in &body {
                match k.as_str() {
                    k if k.starts_with('@') => {}
                    "accountEnabled" => {
                        let enabled = v.as_bool().ok_or_else(|| {
                            GraphError::bad_request(
                                "Invalid value specified for property 'accountEnabled' of resource 'ServicePrincipal'.",
                            )
                        })?;
                        if let Some(sp) = state.service_principals.iter_mut().find(|s| s.id == sp_id) {
                            sp.account_enabled = enabled;
                        }
                    }
                    "tags" | "notes" | "appRoleAssignmentRequired" => {}
                    other => {
                        return Err(GraphError::bad_request(format!(
                            "Property '{other}' does not exist as a declared property or extension property."
                        )))
                    }
                }
            }
            Ok(GraphResponse::no_content())
        }
        Method::GET => {
            require(state, caller, &READ_APPS)?;
            Ok(entity(caller, req, 200, "servicePrincipals/$entity", sp_json(find(state, caller, id)?)))
        }
        Method::DELETE => {
            require(state, caller, &WRITE_APPS)?;
            let sp_id = find(state, caller, id)?.id.clone();
            state.service_principals.retain(|s| s.id != sp_id);
            state.role_assignments.retain(|r| r.principal_id != sp_id && r.resource_id != sp_id);
            Ok(GraphResponse::no_content())
        }
        _ => Err(GraphError::method_not_allowed()),
    }
}

/// `DELETE /servicePrincipals/{resource}/appRoleAssignedTo/{assignment}`: an app role assignment
/// removed (admin consent taken back).
pub fn delete_assignment(
    state: &mut State,
    caller: &Caller,
    id: &str,
    assignment: &str,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &WRITE_APPS)?;
    let sp_id = find(state, caller, id)?.id.clone();
    let before = state.role_assignments.len();
    state.role_assignments.retain(|r| !(r.resource_id == sp_id && r.id.eq_ignore_ascii_case(assignment)));
    if state.role_assignments.len() == before {
        return Err(GraphError::not_found(assignment));
    }
    Ok(GraphResponse::no_content())
}

/// `/servicePrincipals/{id}/appRoleAssignedTo` (GET, POST) and `/appRoleAssignments` (GET).
pub fn relation(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    rel: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    match (rel, &req.method) {
        ("appRoleAssignedTo", &Method::POST) => grant(state, caller, req, id, now),
        ("appRoleAssignedTo", &Method::GET) | ("appRoleAssignments", &Method::GET) => {
            require(state, caller, &READ_APPS)?;
            let sp_id = find(state, caller, id)?.id.clone();
            let items = state
                .role_assignments
                .iter()
                .filter(|r| if rel == "appRoleAssignedTo" { r.resource_id == sp_id } else { r.principal_id == sp_id })
                .map(|r| assignment_json(state, r))
                .collect();
            collection(caller, req, &format!("servicePrincipals('{sp_id}')/{rel}"), items)
        }
        ("appRoleAssignedTo" | "appRoleAssignments", _) => Err(GraphError::method_not_allowed()),
        (other, _) => Err(GraphError::new(400, "BadRequest", format!("Resource not found for the segment '{other}'."))),
    }
}

fn grant(
    state: &mut State,
    caller: &Caller,
    req: &GraphRequest,
    id: &str,
    now: u64,
) -> Result<GraphResponse, GraphError> {
    require(state, caller, &GRANT_ROLES)?;
    require(state, caller, &super::auth::GRANT_ROLES_READ)?;
    let resource = find(state, caller, id)?.clone();
    require(state, caller, &super::auth::grant_roles_of(resource.app_id == GRAPH_APP_ID))?;
    let body = req.json_object()?;
    let field = |name: &str| {
        body.get(name).and_then(Value::as_str).map(str::to_ascii_lowercase).ok_or_else(|| {
            GraphError::bad_request(format!("Property '{name}' is required for resource 'AppRoleAssignment'."))
        })
    };
    let (principal_id, resource_id, app_role_id) = (field("principalId")?, field("resourceId")?, field("appRoleId")?);
    if resource_id != resource.id {
        return Err(GraphError::bad_request(
            "The resourceId of the app role assignment must be the service principal in the request URL.",
        ));
    }
    let principal = find(state, caller, &principal_id)?.clone();
    if !resource.app_roles.iter().any(|r| r.id == app_role_id) {
        return Err(GraphError::bad_request("Permission being assigned was not found on application"));
    }
    if state
        .role_assignments
        .iter()
        .any(|r| r.principal_id == principal.id && r.resource_id == resource.id && r.app_role_id == app_role_id)
    {
        return Err(GraphError::bad_request("Permission being assigned already exists on the object"));
    }
    let ra = RoleAssignment {
        id: new_guid(),
        tenant_id: caller.tenant_id.clone(),
        principal_id: principal.id,
        resource_id: resource.id.clone(),
        app_role_id,
        created_ms: now,
    };
    let json = assignment_json(state, &ra);
    state.role_assignments.push(ra);
    Ok(entity(caller, req, 201, &format!("servicePrincipals('{}')/appRoleAssignedTo/$entity", resource.id), json))
}
