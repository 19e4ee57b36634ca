//! App role assignments: how an application is granted an application permission (admin consent),
//! `POST /servicePrincipals/{resource}/appRoleAssignedTo`
//! (learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto).

use super::graph::{BatchItem, BatchResult};
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Assignment<'a> {
    principal_id: &'a str,
    resource_id: &'a str,
    app_role_id: &'a str,
}

/// Grants the app role `role_id` of the API whose service principal is `resource_sp` to the
/// service principal `principal` (answer: an [`Assigned`]).
pub fn assign(id: String, resource_sp: &str, principal: &str, role_id: &str) -> BatchItem {
    let body = Assignment { principal_id: principal, resource_id: resource_sp, app_role_id: role_id };
    BatchItem::with_body(id, "POST", format!("/servicePrincipals/{resource_sp}/appRoleAssignedTo"), body)
}

/// The assignment made.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assigned {
    /// The app role granted.
    pub app_role_id: String,
}

/// Whether Graph refused because the assignment exists already (a resumed or repeated grant):
/// Graph answers 400 with the message `Permission being assigned already exists on the object`
/// and no code of its own (`Request_BadRequest`), so its message is read here, once, at the seam.
pub fn already_assigned(answer: &BatchResult) -> bool {
    answer.status == 400 && answer.error_message().contains("already exists")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_assignment_names_principal_resource_and_role() {
        let item = assign("g0_1".into(), "res", "me", "role");
        assert_eq!(item.url, "/servicePrincipals/res/appRoleAssignedTo");
        assert_eq!(item.body.unwrap(), json!({"principalId": "me", "resourceId": "res", "appRoleId": "role"}));
    }

    #[test]
    fn only_a_400_saying_so_is_an_existing_assignment() {
        let answer = |status, message: &str| BatchResult {
            id: "g0_0".into(),
            status,
            headers: Default::default(),
            body: json!({"error": {"code": "Request_BadRequest", "message": message}}),
        };
        assert!(already_assigned(&answer(400, "Permission being assigned already exists on the object")));
        assert!(!already_assigned(&answer(400, "Invalid value specified for property")));
        assert!(!already_assigned(&answer(409, "already exists")));
    }
}
