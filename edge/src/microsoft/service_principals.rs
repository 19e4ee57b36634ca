//! Graph's `servicePrincipal` resource (learn.microsoft.com/graph/api/resources/serviceprincipal):
//! an API's service principal read for its app roles, an application's own created, looked up,
//! enabled again, or deleted.
//!
//! - list with `$filter=appId eq '…'` (…/serviceprincipal-list)
//! - create: `POST /servicePrincipals` (…/serviceprincipal-post-serviceprincipals)
//! - update: `PATCH /servicePrincipals/{id}` (…/serviceprincipal-update), `accountEnabled`
//! - delete: `DELETE /servicePrincipals(appId='{appId}')` (…/serviceprincipal-delete)

use super::graph::{odata_string, BatchItem};
use serde::{Deserialize, Serialize};

/// A service principal as the product reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    /// Its object ID.
    pub id: String,
    /// The app roles an API offers (its application permissions).
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// Whether users and applications may sign in to it (`null` when not asked for).
    #[serde(default)]
    pub account_enabled: Option<bool>,
}

/// One app role an API offers (…/resources/approle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AppRole {
    /// Its ID (what an assignment names).
    pub id: String,
    /// Its value, e.g. `User.Read.All` (`null` for a role without one).
    #[serde(default)]
    pub value: Option<String>,
}

impl ServicePrincipal {
    /// The ID of the app role with `value`.
    pub fn role(&self, value: &str) -> Option<&str> {
        self.app_roles.iter().find(|r| r.value.as_deref() == Some(value)).map(|r| r.id.as_str())
    }

    /// Whether it is disabled (`accountEnabled: false`; not asked for counts as enabled).
    pub fn disabled(&self) -> bool {
        self.account_enabled == Some(false)
    }
}

/// Reads the service principal of the API with application ID `app_id` in this tenant, with its
/// app roles (answer: a collection of [`ServicePrincipal`], empty when the tenant has none).
pub fn api(id: String, app_id: &str) -> BatchItem {
    BatchItem::get(
        id,
        format!("/servicePrincipals?$filter=appId eq {}&$select=id,appId,appRoles", odata_string(app_id)),
    )
}

/// Finds the service principal of application `app_id`, with whether it is enabled.
pub fn find_by_app_id(id: String, app_id: &str) -> BatchItem {
    BatchItem::get(
        id,
        format!("/servicePrincipals?$filter=appId eq {}&$select=id,accountEnabled", odata_string(app_id)),
    )
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct New<'a> {
    app_id: &'a str,
}

/// Creates the service principal of application `app_id` (answer: a [`ServicePrincipal`]).
pub fn create(id: String, app_id: &str) -> BatchItem {
    BatchItem::with_body(id, "POST", "/servicePrincipals", New { app_id })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Enable {
    account_enabled: bool,
}

/// Enables the service principal `sp_id` again.
pub fn enable(id: String, sp_id: &str) -> BatchItem {
    BatchItem::with_body(id, "PATCH", format!("/servicePrincipals/{sp_id}"), Enable { account_enabled: true })
}

/// Deletes the service principal of application `app_id` (404 when there is none).
pub fn delete_by_app_id(id: String, app_id: &shared::AppId) -> BatchItem {
    BatchItem::delete(id, format!("/servicePrincipals(appId='{app_id}')"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn roles_are_found_by_value_and_a_missing_flag_is_enabled() {
        let sp = ServicePrincipal::deserialize(&json!({"id": "sp", "appId": "a",
            "appRoles": [{"id": "r-1", "value": "User.Read.All"}, {"id": "r-2", "value": null}]}))
        .unwrap();
        assert_eq!(sp.role("User.Read.All"), Some("r-1"));
        assert_eq!(sp.role("Sites.FullControl.All"), None);
        assert!(!sp.disabled());
        let off = ServicePrincipal::deserialize(&json!({"id": "sp", "accountEnabled": false})).unwrap();
        assert!(off.disabled());
    }

    #[test]
    fn requests_have_graphs_shape() {
        assert_eq!(create("sp0".into(), "a-1").body.unwrap(), json!({"appId": "a-1"}));
        let e = enable("en0".into(), "s-1");
        assert_eq!(
            (e.method, e.url.as_str(), e.body.unwrap()),
            ("PATCH", "/servicePrincipals/s-1", json!({"accountEnabled": true}))
        );
    }
}
