//! The application permissions the backup applications get, each with the reason the backup needs
//! it. Resolved by *value* at run time from the resource service principals in the tenant (public
//! GUID lists contain errors, and national clouds may differ).
//!
//! The manifest is versioned: each application registered by the service stores the version and
//! the permissions it was granted, so that organizations lacking a newer permission can be found.

use shared::api::{RequiredPermission, Workload};
use shared::CloudEnvironment;

/// The manifest's version. Raise it (and add a line to [`HISTORY`]) whenever a permission is added
/// or removed.
pub const MANIFEST_VERSION: u32 = 2;

/// What each version changed, newest last.
pub const HISTORY: &[(u32, &str)] = &[
    (1, "Microsoft Graph (12 permissions), SharePoint Sites.FullControl.All, Exchange full_access_as_app (EWS)"),
    (
        2,
        "2026-11: Microsoft Graph's mailbox import and export (MailboxItem.Read.All, MailboxItem.ImportExport.All, \
         MailboxFolder.ReadWrite.All) \
         in the Global cloud, as Exchange Web Services is blocked from 1 October 2026 and shut down on 1 April 2027",
    ),
];

/// Where a permission exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    /// In every cloud.
    Everywhere,
    /// Only in the Global cloud (Microsoft documents the API for the Global service only).
    GlobalOnly,
}

/// One application permission (an app role value) with the reason the backup needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    /// The app role's value, e.g. `User.Read.All`.
    pub value: &'static str,
    /// Why the backup needs it (shown to the admin).
    pub reason: &'static str,
    /// Where it exists.
    pub availability: Availability,
    /// The workloads that need it; empty for every application (the directory reads and the
    /// credential check).
    pub workloads: &'static [Workload],
}

const EXCHANGE_ONLY: &[Workload] = &[Workload::Exchange];
const FILES_ONLY: &[Workload] = &[Workload::Files];
const TEAMS_ONLY: &[Workload] = &[Workload::Teams];

const fn everywhere(value: &'static str, reason: &'static str, workloads: &'static [Workload]) -> Permission {
    Permission { value, reason, availability: Availability::Everywhere, workloads }
}

const fn global_only(value: &'static str, reason: &'static str, workloads: &'static [Workload]) -> Permission {
    Permission { value, reason, availability: Availability::GlobalOnly, workloads }
}

impl Permission {
    /// Whether the permission exists (and is asked for) in `cloud`.
    pub fn in_cloud(&self, cloud: CloudEnvironment) -> bool {
        self.availability == Availability::Everywhere || cloud == CloudEnvironment::Global
    }

    /// Whether an application for `workload` gets it (the main application gets every one).
    pub fn for_workload(&self, workload: Workload) -> bool {
        workload == Workload::All || self.workloads.is_empty() || self.workloads.contains(&workload)
    }
}

/// Whether the application for `workload` gets the permission `value` (unknown values: no).
pub fn grants(value: &str, workload: Workload) -> bool {
    RESOURCES.iter().flat_map(|r| r.permissions.iter()).any(|p| p.value == value && p.for_workload(workload))
}

/// A resource application (an API the backup calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Its well-known application ID, the same in every tenant and cloud.
    pub app_id: &'static str,
    /// Its name, for messages.
    pub name: &'static str,
    /// The application permissions (app role values) needed on it, with reasons.
    pub permissions: &'static [Permission],
}

impl Resource {
    /// The permissions asked for in `cloud`.
    pub fn permissions_in(&self, cloud: CloudEnvironment) -> impl Iterator<Item = &'static Permission> {
        self.permissions.iter().filter(move |p| p.in_cloud(cloud))
    }
}

/// Microsoft Graph.
pub const GRAPH: Resource = Resource {
    app_id: "00000003-0000-0000-c000-000000000000",
    name: "Microsoft Graph",
    permissions: &[
        everywhere("Organization.Read.All", "read the tenant's name and check that the credential works", &[]),
        everywhere("User.Read.All", "list the users whose mailboxes and OneDrive are backed up", &[]),
        everywhere("Group.Read.All", "list Microsoft 365 groups and their members", &[Workload::Files, Workload::Teams]),
        everywhere("Mail.ReadWrite", "back up and restore mail where Graph's mailbox export is not available", EXCHANGE_ONLY),
        everywhere("Calendars.ReadWrite", "back up and restore calendars", EXCHANGE_ONLY),
        everywhere("Contacts.ReadWrite", "back up and restore contacts", EXCHANGE_ONLY),
        everywhere("Files.ReadWrite.All", "back up and restore OneDrive files", FILES_ONLY),
        everywhere("Sites.ReadWrite.All", "back up and restore SharePoint sites and document libraries", FILES_ONLY),
        everywhere("Team.ReadBasic.All", "list the teams whose channels are backed up", TEAMS_ONLY),
        everywhere("Channel.ReadBasic.All", "list each team's channels to back up", TEAMS_ONLY),
        everywhere("ChannelMessage.Read.All", "back up Teams channel messages", TEAMS_ONLY),
        everywhere("Tasks.ReadWrite.All", "back up and restore Planner and To Do tasks", TEAMS_ONLY),
        global_only(
            "MailboxItem.Read.All",
            "find what changed in each mailbox folder since the last backup (mailboxItem delta has no other permission)", EXCHANGE_ONLY),
        global_only(
            "MailboxItem.ImportExport.All",
            "export mailbox items in full fidelity and restore them through import sessions (Graph's \
             replacement for EWS; it includes MailboxItem.Export.All, which alone could not restore)", EXCHANGE_ONLY),
        global_only("MailboxFolder.ReadWrite.All", "read and recreate the mailbox folder tree for export and import", EXCHANGE_ONLY),
    ],
};

/// Office 365 SharePoint Online.
pub const SHAREPOINT: Resource = Resource {
    app_id: "00000003-0000-0ff1-ce00-000000000000",
    name: "Office 365 SharePoint Online",
    permissions: &[everywhere(
        "Sites.FullControl.All",
        "back up site settings and permissions, which Graph does not expose",
        FILES_ONLY,
    )],
};

/// Office 365 Exchange Online.
pub const EXCHANGE: Resource = Resource {
    app_id: "00000002-0000-0ff1-ce00-000000000000",
    name: "Office 365 Exchange Online",
    permissions: &[everywhere(
        "full_access_as_app",
        "back up in-place archives and public folders over EWS, and mailboxes in the national clouds, \
         which have no Graph mailbox export yet (a bridge: EWS in Exchange Online is blocked unless the \
         tenant allows the application, and shut down on 1 April 2027)",
        EXCHANGE_ONLY,
    )],
};

/// Every resource, in the order they are resolved.
pub const RESOURCES: [Resource; 3] = [GRAPH, SHAREPOINT, EXCHANGE];

/// How many app role assignments each application gets in `cloud`.
pub fn assignments_per_application(cloud: CloudEnvironment) -> usize {
    RESOURCES.iter().map(|r| r.permissions_in(cloud).count()).sum()
}

/// The app role values (every resource) an application of `workload` is granted in `cloud` under
/// the current manifest.
pub fn required_permissions(cloud: CloudEnvironment, workload: Workload) -> Vec<String> {
    RESOURCES
        .iter()
        .flat_map(|r| r.permissions_in(cloud))
        .filter(|p| p.for_workload(workload))
        .map(|p| p.value.to_owned())
        .collect()
}

/// Every permission an application of `workload` needs in `cloud`, as the administrator of an
/// application registered by hand grants them (API, type and reason).
pub fn permission_list(cloud: CloudEnvironment, workload: Workload) -> Vec<RequiredPermission> {
    RESOURCES
        .iter()
        .flat_map(|r| r.permissions_in(cloud).filter(|p| p.for_workload(workload)).map(move |p| (r, p)))
        .map(|(r, p)| RequiredPermission {
            value: p.value.to_owned(),
            api: r.name.to_owned(),
            kind: "Application".to_owned(),
            reason: p.reason.to_owned(),
        })
        .collect()
}

/// The permissions of [`permission_list`] that are not among `granted` (the `roles` of the
/// application's tokens for each resource; values are unique across resources).
pub fn missing_permissions(cloud: CloudEnvironment, workload: Workload, granted: &[String]) -> Vec<RequiredPermission> {
    permission_list(cloud, workload).into_iter().filter(|p| !granted.contains(&p.value)).collect()
}

/// Whether the manifest asks for Microsoft Graph's mailbox import and export in `cloud`
/// (otherwise mailboxes are backed up with `Mail.ReadWrite` and EWS).
pub fn graph_mailbox_export(cloud: CloudEnvironment) -> bool {
    GRAPH.permissions_in(cloud).any(|p| p.value == "MailboxItem.ImportExport.All")
}

#[cfg(test)]
mod tests {

    /// The app shows these reasons in the administrator's language: its English catalogue holds
    /// each as `permission.<value>` (the source of the translations), exactly as here.
    #[test]
    fn the_apps_catalogue_has_every_reason_as_written_here() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/locales/en.json");
        let en: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut named: Vec<(String, String)> = en
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("permission.")?.to_owned(), v.as_str()?.to_owned())))
            .collect();
        named.sort();
        let mut here: Vec<(String, String)> = RESOURCES
            .iter()
            .flat_map(|r| r.permissions.iter())
            .map(|p| (p.value.to_owned(), p.reason.to_owned()))
            .collect();
        here.sort();
        assert_eq!(named, here);
    }

    use super::*;

    #[test]
    fn every_permission_has_a_reason_and_appears_once() {
        let mut seen = std::collections::HashSet::new();
        for r in RESOURCES {
            for p in r.permissions {
                assert!(p.reason.len() > 10, "{} needs a reason", p.value);
                assert!(seen.insert((r.app_id, p.value)), "{} twice", p.value);
            }
        }
        assert_eq!(HISTORY.last().map(|(v, _)| *v), Some(MANIFEST_VERSION), "the history names the version");
        // Values are unique across resources too: roles are matched by value.
        let values: std::collections::HashSet<&str> =
            RESOURCES.iter().flat_map(|r| r.permissions.iter()).map(|p| p.value).collect();
        assert_eq!(values.len(), RESOURCES.iter().map(|r| r.permissions.len()).sum::<usize>());
        let (version, what) = HISTORY[shared::mailbox::FIRST_MANIFEST_WITH_GRAPH_MAILBOX as usize - 1];
        assert!(version == shared::mailbox::FIRST_MANIFEST_WITH_GRAPH_MAILBOX && what.contains("MailboxItem"));
    }

    #[test]
    fn the_migration_records_version_1_as_it_was() {
        // Version 2 only added Global-only permissions: version 1 is every permission of every cloud.
        let sql = include_str!("../../../migrations/0004_granted_permissions.sql");
        let start = sql.find("'[").expect("the version 1 list") + 1;
        let end = start + sql[start..].find("]'").expect("its end") + 1;
        let recorded: Vec<String> = serde_json::from_str(&sql[start..end]).unwrap();
        let everywhere: Vec<&str> = RESOURCES
            .iter()
            .flat_map(|r| r.permissions.iter())
            .filter(|p| p.availability == Availability::Everywhere)
            .map(|p| p.value)
            .collect();
        assert_eq!(recorded, everywhere);
    }

    #[test]
    fn each_additional_application_gets_one_workload_and_the_main_one_everything() {
        let count =
            |w: Workload| RESOURCES.iter().flat_map(|r| r.permissions.iter()).filter(|p| p.for_workload(w)).count();
        let all = RESOURCES.iter().map(|r| r.permissions.len()).sum::<usize>();
        assert_eq!(count(Workload::All), all);
        for w in [Workload::Exchange, Workload::Files, Workload::Teams] {
            assert!(count(w) < all, "{w:?} is a subset");
            // Every application can be checked: its token must read the tenant.
            assert!(grants("Organization.Read.All", w) && grants("User.Read.All", w));
        }
        assert!(
            grants("Sites.FullControl.All", Workload::Files) && !grants("Sites.FullControl.All", Workload::Exchange)
        );
        assert!(
            grants("MailboxItem.ImportExport.All", Workload::Exchange) && !grants("Mail.ReadWrite", Workload::Teams)
        );
        // Together the three additional applications cover the whole manifest.
        let covered = RESOURCES
            .iter()
            .flat_map(|r| r.permissions.iter())
            .all(|p| [Workload::Exchange, Workload::Files, Workload::Teams].into_iter().any(|w| p.for_workload(w)));
        assert!(covered);
    }

    #[test]
    fn missing_permissions_are_named_with_their_api_and_reason() {
        let all = permission_list(CloudEnvironment::Global, Workload::All);
        assert_eq!(all.len(), assignments_per_application(CloudEnvironment::Global));
        let granted: Vec<String> = all
            .iter()
            .map(|p| p.value.clone())
            .filter(|v| v != "Sites.FullControl.All" && v != "MailboxItem.Read.All")
            .collect();
        let missing = missing_permissions(CloudEnvironment::Global, Workload::All, &granted);
        let named: Vec<(&str, &str)> = missing.iter().map(|p| (p.value.as_str(), p.api.as_str())).collect();
        assert_eq!(
            named,
            [("MailboxItem.Read.All", "Microsoft Graph"), ("Sites.FullControl.All", "Office 365 SharePoint Online")]
        );
        assert!(missing.iter().all(|p| p.kind == "Application" && p.reason.len() > 10));
        // A national cloud does not ask for what it does not offer.
        assert!(missing_permissions(CloudEnvironment::China, Workload::All, &granted)
            .iter()
            .all(|p| p.value == "Sites.FullControl.All"));
        assert!(missing_permissions(
            CloudEnvironment::Global,
            Workload::All,
            &all.iter().map(|p| p.value.clone()).collect::<Vec<_>>()
        )
        .is_empty());
    }

    #[test]
    fn the_mailbox_api_is_asked_for_in_the_global_cloud_only() {
        assert!(graph_mailbox_export(CloudEnvironment::Global));
        for cloud in CloudEnvironment::ALL {
            assert_eq!(graph_mailbox_export(cloud), shared::mailbox::graph_mailbox_export(cloud), "what the app says");
        }
        for cloud in [CloudEnvironment::UsGovGccHigh, CloudEnvironment::UsGovDod, CloudEnvironment::China] {
            assert!(!graph_mailbox_export(cloud));
            assert_eq!(assignments_per_application(cloud) + 3, assignments_per_application(CloudEnvironment::Global));
        }
    }
}
