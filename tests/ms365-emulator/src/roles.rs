//! Directory roles as Microsoft documents what they allow for applications (sources in README.md,
//! "Directory roles"):
//! - Global Administrator: everything here;
//! - Application Administrator and Cloud Application Administrator: create and manage
//!   applications and service principals and their credentials, and grant app roles of any API
//!   except Microsoft Graph;
//! - Privileged Role Administrator: grant app roles of any API, Microsoft Graph's included; it
//!   does not manage applications.
//!
//! A user's roles are fixture role names; delegated tokens carry their template IDs in `wids`.

/// A built-in role: its name in the fixture and its template ID (the same in every tenant).
pub struct BuiltInRole {
    /// The name as the Microsoft Entra admin center shows it.
    pub name: &'static str,
    /// The role template ID.
    pub template_id: &'static str,
}

/// The built-in roles the emulator knows, with the template IDs Learn's "Microsoft Entra built-in
/// roles" lists.
pub const BUILT_IN: [BuiltInRole; 4] = [
    BuiltInRole { name: "Global Administrator", template_id: "62e90394-69f5-4237-9190-012177145e10" },
    BuiltInRole { name: "Privileged Role Administrator", template_id: "e8611ab8-c189-46e8-94e1-60213ab1f814" },
    BuiltInRole { name: "Application Administrator", template_id: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3" },
    BuiltInRole { name: "Cloud Application Administrator", template_id: "158c047a-c907-4556-b7ef-446551a6b5f7" },
];

/// What a delegated caller does that needs a directory role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    /// Create, change or delete applications and service principals, or their credentials.
    ManageApplications,
    /// Grant an app role of Microsoft Graph.
    GrantGraphAppRoles,
    /// Grant an app role of another API (Exchange Online, SharePoint Online...).
    GrantOtherAppRoles,
}

/// The role names allowed to do `action`.
pub fn allowed_roles(action: AdminAction) -> &'static [&'static str] {
    match action {
        AdminAction::ManageApplications => {
            &["Global Administrator", "Application Administrator", "Cloud Application Administrator"]
        }
        AdminAction::GrantGraphAppRoles => &["Global Administrator", "Privileged Role Administrator"],
        AdminAction::GrantOtherAppRoles => &[
            "Global Administrator",
            "Privileged Role Administrator",
            "Application Administrator",
            "Cloud Application Administrator",
        ],
    }
}

/// Whether a user with the role names `roles` may do `action`.
pub fn may(roles: &[String], action: AdminAction) -> bool {
    roles.iter().any(|r| allowed_roles(action).iter().any(|a| a.eq_ignore_ascii_case(r)))
}

/// The template IDs of the built-in roles among `roles`, for a token's `wids` claim.
pub fn template_ids(roles: &[String]) -> Vec<&'static str> {
    BUILT_IN.iter().filter(|b| roles.iter().any(|r| r.eq_ignore_ascii_case(b.name))).map(|b| b.template_id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn an_application_administrator_cannot_grant_graphs_app_roles_and_a_privileged_role_administrator_cannot_create_applications(
    ) {
        let app_admin = r(&["Application Administrator"]);
        assert!(may(&app_admin, AdminAction::ManageApplications));
        assert!(may(&app_admin, AdminAction::GrantOtherAppRoles));
        assert!(!may(&app_admin, AdminAction::GrantGraphAppRoles));
        let pra = r(&["Privileged Role Administrator"]);
        assert!(!may(&pra, AdminAction::ManageApplications));
        assert!(may(&pra, AdminAction::GrantGraphAppRoles));
        let ga = r(&["Global Administrator"]);
        assert!([AdminAction::ManageApplications, AdminAction::GrantGraphAppRoles].iter().all(|a| may(&ga, *a)));
        assert_eq!(
            template_ids(&r(&["Cloud Application Administrator", "Reports Reader"])),
            ["158c047a-c907-4556-b7ef-446551a6b5f7"]
        );
    }
}
