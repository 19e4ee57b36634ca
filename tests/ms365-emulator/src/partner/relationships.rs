//! `GET /v1.0/tenantRelationships/delegatedAdminRelationships` (Learn: "List
//! delegatedAdminRelationships"; the shape: "delegatedAdminRelationship resource type"): the caller
//! tenant's relationships as a partner, with `$filter`, `$select` and `$top` (up to 300) and
//! `@odata.nextLink` pages carrying `$skiptoken`.

use serde_json::{json, Map, Value};

use crate::graph::auth::{require, Caller, Need};
use crate::graph::error::GraphError;
use crate::graph::{odata, GraphRequest, GraphResponse};
use crate::state::State;
use crate::util::iso8601;

/// What listing relationships needs.
pub const READ_RELATIONSHIPS: Need<'static> = Need {
    delegated: &["DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"],
    admin: None,
    application: &["DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All"],
};

/// The page size without `$top` (Learn does not give one; small enough that clients follow
/// `@odata.nextLink`).
pub const DEFAULT_PAGE: usize = 100;
/// The largest `$top` ("$top supports up to 300 objects").
pub const MAX_TOP: usize = 300;

const DAY_MS: u64 = 86_400_000;

/// One relationship as Graph shows it.
pub fn shape(state: &State, r: &super::Relationship) -> Map<String, Value> {
    let customer = state.tenant(&r.customer_tenant_id).map(|t| t.display_name.clone()).unwrap_or_default();
    let roles: Vec<Value> =
        crate::roles::template_ids(&r.roles).iter().map(|id| json!({ "roleDefinitionId": id })).collect();
    let v = json!({
        "@odata.etag": format!("W/\"JyI{}\"", &r.id[..8]),
        "id": r.id,
        "displayName": r.display_name,
        "duration": "P730D",
        "customer": { "tenantId": r.customer_tenant_id, "displayName": customer },
        "accessDetails": { "unifiedRoles": roles },
        "status": r.status,
        "autoExtendDuration": "P180D",
        "createdDateTime": iso8601(r.created_ms),
        "lastModifiedDateTime": iso8601(r.created_ms),
        "activatedDateTime": if r.status == "active" { json!(iso8601(r.created_ms)) } else { Value::Null },
        "endDateTime": iso8601(r.created_ms + 730 * DAY_MS),
    });
    v.as_object().cloned().unwrap_or_default()
}

/// The list.
pub fn list(state: &State, caller: &Caller, req: &GraphRequest) -> Result<GraphResponse, GraphError> {
    require(state, caller, &READ_RELATIONSHIPS)?;
    let clauses = match req.query("$filter") {
        Some(f) => odata::parse_filter(f)?,
        None => Vec::new(),
    };
    let page = match req.query("$top") {
        None => DEFAULT_PAGE,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_TOP).contains(&n) => n,
            _ => {
                return Err(GraphError::new(
                    400,
                    "BadRequest",
                    format!("Invalid page size specified: '{v}'. Must be between 1 and {MAX_TOP} inclusive."),
                ))
            }
        },
    };
    let skip = match req.query("$skiptoken") {
        None => 0,
        Some(t) => t.parse::<usize>().map_err(|_| GraphError::bad_request("The $skiptoken is not valid."))?,
    };
    let all: Vec<Map<String, Value>> = state
        .partner
        .relationships
        .iter()
        .filter(|r| r.partner_tenant_id == caller.tenant_id)
        .map(|r| shape(state, r))
        .filter(|o| odata::matches(o, &clauses))
        .collect();
    let value: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(page)
        .cloned()
        .map(|o| Value::Object(odata::select(o, req.query("$select"))))
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        crate::graph::context(caller, "tenantRelationships/delegatedAdminRelationships"),
    );
    body.insert("value".into(), Value::Array(value));
    if skip + page < all.len() {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in req.query.iter().filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken")) {
            query.append_pair(k, v);
        }
        query.append_pair("$skiptoken", &(skip + page).to_string());
        body.insert(
            "@odata.nextLink".into(),
            json!(format!(
                "{}/v1.0/tenantRelationships/delegatedAdminRelationships?{}",
                caller.cloud.graph_host(),
                query.finish()
            )),
        );
    }
    Ok(GraphResponse::json(200, Value::Object(body)))
}
