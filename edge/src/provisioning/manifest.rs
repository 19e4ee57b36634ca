//! The application permissions the backup applications get, each with the reason the backup needs
//! it. Resolved by *name* at run time from the resource service principals in the tenant (public
//! GUID lists contain errors, and national clouds may differ).

/// A resource application (an API the backup calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// Its well-known application ID, the same in every tenant and cloud.
    pub app_id: &'static str,
    /// Its name, for messages.
    pub name: &'static str,
    /// The application permissions (app role values) needed on it, with reasons.
    pub permissions: &'static [(&'static str, &'static str)],
}

/// Microsoft Graph.
pub const GRAPH: Resource = Resource {
    app_id: "00000003-0000-0000-c000-000000000000",
    name: "Microsoft Graph",
    permissions: &[
        ("Organization.Read.All", "read the tenant's name and check that the credential works"),
        ("User.Read.All", "list the users whose mailboxes and OneDrive are backed up"),
        ("Group.Read.All", "list Microsoft 365 groups and their members"),
        ("Mail.ReadWrite", "back up and restore mailboxes"),
        ("Calendars.ReadWrite", "back up and restore calendars"),
        ("Contacts.ReadWrite", "back up and restore contacts"),
        ("Files.ReadWrite.All", "back up and restore OneDrive files"),
        ("Sites.ReadWrite.All", "back up and restore SharePoint sites and document libraries"),
        ("Team.ReadBasic.All", "list Teams"),
        ("Channel.ReadBasic.All", "list Teams channels"),
        ("ChannelMessage.Read.All", "back up Teams channel messages"),
        ("Tasks.ReadWrite.All", "back up and restore Planner and To Do tasks"),
    ],
};

/// Office 365 SharePoint Online.
pub const SHAREPOINT: Resource = Resource {
    app_id: "00000003-0000-0ff1-ce00-000000000000",
    name: "Office 365 SharePoint Online",
    permissions: &[("Sites.FullControl.All", "back up site settings and permissions, which Graph does not expose")],
};

/// Office 365 Exchange Online.
pub const EXCHANGE: Resource = Resource {
    app_id: "00000002-0000-0ff1-ce00-000000000000",
    name: "Office 365 Exchange Online",
    permissions: &[(
        "full_access_as_app",
        "back up in-place archives and public folders over EWS, which Graph cannot read yet (EWS in Exchange Online is being retired in 2027: drop this then)",
    )],
};

/// Every resource, in the order they are resolved.
pub const RESOURCES: [Resource; 3] = [GRAPH, SHAREPOINT, EXCHANGE];

/// How many app role assignments each application gets.
pub fn assignments_per_application() -> usize {
    RESOURCES.iter().map(|r| r.permissions.len()).sum()
}
