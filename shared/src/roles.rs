//! The Microsoft Entra directory roles that can do what a sign-in is for, least privilege first.
//!
//! Microsoft's rules (Learn: "Grant tenant-wide admin consent to an application", and "Microsoft
//! Entra built-in roles"):
//! - Application Administrator and Cloud Application Administrator create and manage app
//!   registrations and enterprise applications (service principals, credentials), and consent to
//!   application permissions of any API **except Microsoft Graph**;
//! - Privileged Role Administrator consents to any permission of any API, Graph's application
//!   permissions included, but does not create applications;
//! - Global Administrator does everything.
//!
//! The backup applications need Graph application permissions, so registering them (or repairing
//! them, or creating the additional ones) needs Privileged Role Administrator together with
//! Application Administrator or Cloud Application Administrator, or Global Administrator; deleting
//! them needs Application Administrator or Cloud Application Administrator, or Global
//! Administrator. Roles are read from the `wids` claim of the admin's token: the template IDs of
//! the roles active for the user (a role only eligible in Privileged Identity Management counts
//! once it is activated).

/// A built-in directory role the product's sign-ins can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryRole {
    /// Global Administrator.
    GlobalAdministrator,
    /// Privileged Role Administrator.
    PrivilegedRoleAdministrator,
    /// Application Administrator.
    ApplicationAdministrator,
    /// Cloud Application Administrator.
    CloudApplicationAdministrator,
}

impl DirectoryRole {
    /// Every role here.
    pub const ALL: [DirectoryRole; 4] = [
        DirectoryRole::GlobalAdministrator,
        DirectoryRole::PrivilegedRoleAdministrator,
        DirectoryRole::ApplicationAdministrator,
        DirectoryRole::CloudApplicationAdministrator,
    ];

    /// The role's template ID, the same in every tenant and cloud (Learn: "Microsoft Entra
    /// built-in roles").
    pub fn template_id(self) -> &'static str {
        match self {
            DirectoryRole::GlobalAdministrator => "62e90394-69f5-4237-9190-012177145e10",
            DirectoryRole::PrivilegedRoleAdministrator => "e8611ab8-c189-46e8-94e1-60213ab1f814",
            DirectoryRole::ApplicationAdministrator => "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            DirectoryRole::CloudApplicationAdministrator => "158c047a-c907-4556-b7ef-446551a6b5f7",
        }
    }

    /// The role of a template ID (any case), if it is one of these.
    pub fn from_template_id(id: &str) -> Option<DirectoryRole> {
        DirectoryRole::ALL.into_iter().find(|r| r.template_id().eq_ignore_ascii_case(id))
    }

    /// The role's name as the Microsoft Entra admin center shows it.
    pub fn name(self) -> &'static str {
        match self {
            DirectoryRole::GlobalAdministrator => "Global Administrator",
            DirectoryRole::PrivilegedRoleAdministrator => "Privileged Role Administrator",
            DirectoryRole::ApplicationAdministrator => "Application Administrator",
            DirectoryRole::CloudApplicationAdministrator => "Cloud Application Administrator",
        }
    }
}

/// What a sign-in is for, as far as roles go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTask {
    /// Creating or repairing applications and granting them Graph application permissions.
    Register,
    /// Deleting the organization's applications.
    Remove,
}

impl AdminTask {
    /// Whether `roles` can do the task.
    pub fn allowed(self, roles: &[DirectoryRole]) -> bool {
        use DirectoryRole::*;
        let has = |r: DirectoryRole| roles.contains(&r);
        let manages_apps = has(ApplicationAdministrator) || has(CloudApplicationAdministrator);
        has(GlobalAdministrator)
            || match self {
                AdminTask::Register => manages_apps && has(PrivilegedRoleAdministrator),
                AdminTask::Remove => manages_apps,
            }
    }

    /// The roles that can do the task, least privilege first, as a sentence's object.
    pub fn roles_needed(self) -> &'static str {
        match self {
            AdminTask::Register => {
                "Privileged Role Administrator together with Cloud Application Administrator or Application Administrator; or Global Administrator"
            }
            AdminTask::Remove => "Cloud Application Administrator or Application Administrator; or Global Administrator",
        }
    }

    /// Why an account was refused, naming the roles that would do.
    pub fn refusal(self) -> String {
        let what = match self {
            AdminTask::Register => "Registering the backup applications and granting their Microsoft Graph permissions",
            AdminTask::Remove => "Deleting the backup applications",
        };
        format!(
            "The account that signed in does not have the admin roles for this, so nothing was changed in Microsoft 365. {what} needs {}. Sign in again with such an account (activate an eligible role in Privileged Identity Management first).",
            self.roles_needed()
        )
    }
}

/// The roles among the template IDs of a token's `wids` claim (others are ignored).
pub fn roles_of(wids: &[String]) -> Vec<DirectoryRole> {
    wids.iter().filter_map(|w| DirectoryRole::from_template_id(w)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DirectoryRole::*;

    #[test]
    fn registration_needs_graph_consent_and_application_management() {
        let r = AdminTask::Register;
        assert!(r.allowed(&[GlobalAdministrator]));
        assert!(r.allowed(&[PrivilegedRoleAdministrator, CloudApplicationAdministrator]));
        assert!(r.allowed(&[ApplicationAdministrator, PrivilegedRoleAdministrator]));
        assert!(!r.allowed(&[ApplicationAdministrator]), "no consent to Graph application permissions");
        assert!(!r.allowed(&[CloudApplicationAdministrator, ApplicationAdministrator]));
        assert!(!r.allowed(&[PrivilegedRoleAdministrator]), "cannot create applications");
        assert!(!r.allowed(&[]));
    }

    #[test]
    fn removal_needs_application_management_only() {
        let r = AdminTask::Remove;
        assert!(r.allowed(&[CloudApplicationAdministrator]));
        assert!(r.allowed(&[ApplicationAdministrator]));
        assert!(r.allowed(&[GlobalAdministrator]));
        assert!(!r.allowed(&[PrivilegedRoleAdministrator]));
    }

    #[test]
    fn roles_are_read_from_template_ids_and_the_refusal_names_the_least_privileged_first() {
        let wids = ["E8611AB8-C189-46E8-94E1-60213AB1F814".to_owned(), "b79fbf4d-3ef9-4689-8143-76b194e85509".into()];
        assert_eq!(roles_of(&wids), [PrivilegedRoleAdministrator]);
        for role in DirectoryRole::ALL {
            assert_eq!(DirectoryRole::from_template_id(role.template_id()), Some(role));
        }
        let text = AdminTask::Register.refusal();
        assert!(text.find("Privileged Role Administrator") < text.find("Global Administrator"), "{text}");
        assert!(text.contains("nothing was changed"));
        assert_eq!(
            crate::ErrorCode::AdminRolesMissing.message(),
            text,
            "the catalogue's sentence is the registration's"
        );
    }
}
