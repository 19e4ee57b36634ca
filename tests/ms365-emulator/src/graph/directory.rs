//! `GET /organization` (the tenant: ID, name, verified domains) and `GET /users`.

use serde_json::{json, Map, Value};

use super::auth::{require, Caller, READ_ORG, READ_USERS};
use super::error::GraphError;
use super::{collection, GraphRequest, GraphResponse};
use crate::state::State;
use crate::util::iso8601;

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// `GET /organization`.
pub fn organization(state: &State, caller: &Caller, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_ORG)?;
    let t = state.tenant(&caller.tenant_id).ok_or_else(|| GraphError::not_found(&caller.tenant_id))?;
    let domains: Vec<Value> = t
        .domains
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({
                "capabilities": if i == 0 { "Email, OfficeCommunicationsOnlineService" } else { "Email" },
                "isDefault": i == 0,
                "isInitial": i == 0,
                "name": d,
                "type": "Managed",
            })
        })
        .collect();
    let org = obj(json!({
        "id": t.id,
        "deletedDateTime": null,
        "displayName": t.display_name,
        "createdDateTime": iso8601(t.created_ms),
        "tenantType": "AAD",
        "countryLetterCode": if t.cloud == crate::cloud::Cloud::China { "CN" } else { "US" },
        "preferredLanguage": "en",
        "verifiedDomains": domains,
        "businessPhones": [],
        "technicalNotificationMails": [],
    }));
    collection(caller, req, "organization", vec![org])
}

/// `GET /users`.
pub fn users(state: &State, caller: &Caller, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_USERS)?;
    let t = state.tenant(&caller.tenant_id).ok_or_else(|| GraphError::not_found(&caller.tenant_id))?;
    let items = t
        .users
        .iter()
        .map(|u| {
            let mut names = u.display_name.splitn(2, ' ');
            obj(json!({
                "businessPhones": [],
                "displayName": u.display_name,
                "givenName": names.next(),
                "jobTitle": null,
                "mail": u.upn,
                "mobilePhone": null,
                "officeLocation": null,
                "preferredLanguage": "en-US",
                "surname": names.next(),
                "userPrincipalName": u.upn,
                "id": u.id,
            }))
        })
        .collect();
    collection(caller, req, "users", items)
}
