//! The fixture: the directory the emulator starts with (tenants, users, the product's public clients,
//! Microsoft's resource service principals, and optionally ready-made applications).
//!
//! It is JSON so that tests and tools outside Rust can write one (`--fixture FILE`, or the body of
//! `POST /_emulator/reset`). Every list has a default, so `{}` is an empty directory with the standard
//! resource service principals; the built-in [`Fixture::builtin`] is what `make dev` and most tests use.
//! The format is documented in the crate README.

use serde::{Deserialize, Serialize};

use crate::cloud::Cloud;

/// The password of every built-in fixture user.
pub const DEFAULT_PASSWORD: &str = "Passw0rd!";
/// The display name of the product's public client in every cloud.
pub const PUBLIC_CLIENT_NAME: &str = "M365 Backup Onboarding";
/// Microsoft Graph's application ID (the same in every tenant and cloud).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's application ID.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// Office 365 SharePoint Online's application ID.
pub const SHAREPOINT_APP_ID: &str = "00000003-0000-0ff1-ce00-000000000000";

/// The whole fixture.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The product's multi-tenant public clients ("allow public client flows" on), usable in every
    /// tenant of their cloud.
    #[serde(default)]
    pub public_clients: Vec<PublicClientFixture>,
    /// Tenants with their users and applications.
    #[serde(default)]
    pub tenants: Vec<TenantFixture>,
    /// Microsoft's resource applications, instantiated as a service principal in every tenant. Defaults to
    /// Microsoft Graph, Exchange Online and SharePoint Online with their real app roles.
    #[serde(default = "default_resources")]
    pub resource_service_principals: Vec<ResourceFixture>,
    /// Partners with their admin agents and GDAP relationships (see [`crate::partner`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<crate::partner::PartnerFixture>,
}

/// A public client registered in one cloud.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicClientFixture {
    /// The cloud it is registered in.
    pub cloud: Cloud,
    /// Its application (client) ID.
    pub client_id: String,
    /// The name shown on the consent and final sign-in pages.
    #[serde(default = "default_public_client_name")]
    pub display_name: String,
    /// Redirect URIs of the "Mobile and desktop applications" platform (`publicClient`), the one the
    /// product's Credential method needs. The port of an `http://127.0.0.1` or `http://localhost` URI
    /// is ignored when a request is matched; the host is not.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Redirect URIs of the "Single-page application" platform (`spa`): a code issued for one is
    /// redeemed only cross-origin.
    #[serde(default)]
    pub spa_redirect_uris: Vec<String>,
    /// Redirect URIs of the "Web" platform (`web`): a code issued for one is redeemed only with a
    /// client secret or certificate.
    #[serde(default)]
    pub web_redirect_uris: Vec<String>,
}

/// A tenant (directory) in one cloud.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantFixture {
    /// The tenant ID (a GUID).
    pub id: String,
    /// The cloud the tenant lives in.
    pub cloud: Cloud,
    /// The organization's name (`GET /organization` `displayName`).
    pub display_name: String,
    /// Verified domains; the first is the initial and default domain.
    pub domains: Vec<String>,
    /// Users who can sign in.
    #[serde(default)]
    pub users: Vec<UserFixture>,
    /// Applications that exist before the test starts (with their service principal).
    #[serde(default)]
    pub applications: Vec<ApplicationFixture>,
    /// App role values this tenant's resource service principals do not offer (a tenant whose
    /// SharePoint lacks `Sites.FullControl.All`, say).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld_app_roles: Vec<String>,
    /// The tenant's default app management policy, in Microsoft's `tenantAppManagementPolicy`
    /// shape (`GET /policies/defaultAppManagementPolicy`); absent: Microsoft's default, disabled.
    /// `addPassword` enforces its `passwordAddition` and `passwordLifetime` restrictions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_management_policy: Option<serde_json::Value>,
}

/// A user.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserFixture {
    /// The sign-in name, e.g. `admin@contoso.onmicrosoft.com`.
    pub upn: String,
    /// The user's name.
    pub display_name: String,
    /// Directory roles by display name, e.g. `Global Administrator`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The password the sign-in page asks for.
    #[serde(default = "default_password")]
    pub password: String,
    /// The user's object ID; generated when absent.
    #[serde(default)]
    pub id: Option<String>,
}

/// An application registered before the test starts, with a service principal in its tenant.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationFixture {
    /// The application's name.
    pub display_name: String,
    /// The application (client) ID; generated when absent.
    #[serde(default)]
    pub app_id: Option<String>,
    /// Client secrets (their values), valid for two years from start-up.
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Certificates, PEM or base64 DER.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// Microsoft Graph application permissions (app role values) granted to it, e.g. `User.Read.All`.
    #[serde(default)]
    pub graph_roles: Vec<String>,
}

/// A resource application of Microsoft's and its app roles.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceFixture {
    /// Its application ID.
    pub app_id: String,
    /// Its name.
    pub display_name: String,
    /// Application permissions it offers.
    #[serde(default)]
    pub app_roles: Vec<AppRoleFixture>,
    /// Delegated permissions it offers.
    #[serde(default)]
    pub oauth2_permission_scopes: Vec<AppRoleFixture>,
}

/// One permission: its ID and value.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppRoleFixture {
    /// The permission's GUID.
    pub id: String,
    /// The permission's value, e.g. `User.Read.All`.
    pub value: String,
    /// Its display name; the value is used when absent.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The clouds whose resource offers it; empty for every cloud (Graph's mailbox import and
    /// export roles exist in the Global cloud only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clouds: Vec<Cloud>,
}

fn default_password() -> String {
    DEFAULT_PASSWORD.to_string()
}

fn default_public_client_name() -> String {
    PUBLIC_CLIENT_NAME.to_string()
}

fn roles(list: &[(&str, &str, &str)]) -> Vec<AppRoleFixture> {
    list.iter()
        .map(|(id, value, name)| AppRoleFixture {
            id: (*id).into(),
            value: (*value).into(),
            display_name: Some((*name).into()),
            clouds: Vec::new(),
        })
        .collect()
}

/// Like [`roles`], for roles that exist in the Global cloud only.
fn global_roles(list: &[(&str, &str, &str)]) -> Vec<AppRoleFixture> {
    roles(list).into_iter().map(|r| AppRoleFixture { clouds: vec![Cloud::Global], ..r }).collect()
}

/// Microsoft Graph, Exchange Online and SharePoint Online with the permissions the product uses; IDs are
/// Microsoft's real ones.
pub fn default_resources() -> Vec<ResourceFixture> {
    vec![
        ResourceFixture {
            app_id: GRAPH_APP_ID.into(),
            display_name: "Microsoft Graph".into(),
            app_roles: roles(&[
                ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", "Read all users' full profiles"),
                (
                    "741f803b-c850-494e-b5df-cde7c675a1ca",
                    "User.ReadWrite.All",
                    "Read and write all users' full profiles",
                ),
                ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All", "Read directory data"),
                ("19dbc75e-c2e2-444c-a770-ec69d8559fc7", "Directory.ReadWrite.All", "Read and write directory data"),
                ("5b567255-7703-4780-807c-7be8301ae99b", "Group.Read.All", "Read all groups"),
                (
                    "9492366f-7969-46a4-8d15-ed1a20078fff",
                    "Sites.ReadWrite.All",
                    "Read and write items in all site collections",
                ),
                (
                    "75359482-378d-4052-8f01-80520e7db3cd",
                    "Files.ReadWrite.All",
                    "Read and write files in all site collections",
                ),
                ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite", "Read and write mail in all mailboxes"),
                (
                    "ef54d2bf-783f-4e0f-bca1-3210c0444d99",
                    "Calendars.ReadWrite",
                    "Read and write calendars in all mailboxes",
                ),
                ("498476ce-e0fe-48b0-b801-37ba7e2685c6", "Organization.Read.All", "Read organization information"),
                (
                    "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
                    "Application.ReadWrite.All",
                    "Read and write all applications",
                ),
                ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All", "Read all applications"),
                (
                    "18a4783c-866b-4cc7-a460-3d5e5662c884",
                    "Application.ReadWrite.OwnedBy",
                    "Manage apps that this app creates or owns",
                ),
                (
                    "06b708a9-e830-4db3-a914-8e69da51d44f",
                    "AppRoleAssignment.ReadWrite.All",
                    "Manage app permission grants and app role assignments",
                ),
                (
                    "59a6b24b-4225-4393-8165-ebaec5f55d7a",
                    "Channel.ReadBasic.All",
                    "Read the names and descriptions of all channels",
                ),
                ("7b2449af-6ccd-4f4d-9f78-e550c193f0d1", "ChannelMessage.Read.All", "Read all channel messages"),
                ("2280dda6-0bfd-44ee-a2f4-cb867cfc4c1e", "Team.ReadBasic.All", "Get a list of all teams"),
                (
                    "6918b873-d17a-4dc1-b314-35f528134491",
                    "Contacts.ReadWrite",
                    "Read and write contacts in all mailboxes",
                ),
                (
                    "44e666d1-d276-445b-a5fc-8815eeb81d55",
                    "Tasks.ReadWrite.All",
                    "Read and write all users' tasks and tasklists",
                ),
                ("3aeca27b-ee3a-4c2b-8ded-80376e2134a4", "Notes.ReadWrite.All", "Read and write all OneNote notebooks"),
            ])
            .into_iter()
            // Graph's mailbox import and export: documented for the Global service only. Microsoft's
            // permission reference is the authority for these IDs; the product resolves roles by
            // value and never depends on them.
            .chain(global_roles(&[
                ("435644c6-a5b1-40bf-8de8-4a2af15b5570", "MailboxItem.Read.All", "Read all users' mailbox items"),
                (
                    "7aa9d49a-6b49-4dad-a3f9-3e4a2685049e",
                    "MailboxItem.ImportExport.All",
                    "Import and export all users' mailbox items",
                ),
                (
                    "3db474e9-6946-4e69-a614-738289b6a695",
                    "MailboxFolder.ReadWrite.All",
                    "Read and write all users' mailbox folders",
                ),
            ]))
            .collect(),
            oauth2_permission_scopes: roles(&[
                ("e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read", "Sign in and read user profile"),
                (
                    "bdfbf15f-ee85-4955-8675-146e8e5296b5",
                    "Application.ReadWrite.All",
                    "Read and write all applications",
                ),
                (
                    "84bccea3-f856-4a8a-967b-dbe0a3d53a64",
                    "AppRoleAssignment.ReadWrite.All",
                    "Manage app permission grants and app role assignments",
                ),
                ("4908d5b9-3fb2-4b1e-9336-1888b7937185", "Organization.Read.All", "Read organization information"),
                (
                    "b27add92-efb2-4f16-84f5-8108ba77985c",
                    "Policy.Read.ApplicationConfiguration",
                    "Read your organization's application configuration policies",
                ),
            ]),
        },
        ResourceFixture {
            app_id: EXCHANGE_APP_ID.into(),
            display_name: "Office 365 Exchange Online".into(),
            app_roles: roles(&[
                (
                    "dc890d15-9560-4a4c-9b7f-a736ec74ec40",
                    "full_access_as_app",
                    "Use Exchange Web Services with full access to all mailboxes",
                ),
                ("dc50a0fb-09a3-484d-be87-e023b12c6440", "Exchange.ManageAsApp", "Manage Exchange As Application"),
            ]),
            oauth2_permission_scopes: Vec::new(),
        },
        ResourceFixture {
            app_id: SHAREPOINT_APP_ID.into(),
            display_name: "Office 365 SharePoint Online".into(),
            app_roles: roles(&[
                (
                    "678536fe-1083-478a-9c59-b99265e6b0d3",
                    "Sites.FullControl.All",
                    "Have full control of all site collections",
                ),
                ("20d37865-089c-4dee-8c41-6967602d4ac8", "Sites.Selected", "Access selected site collections"),
            ]),
            oauth2_permission_scopes: Vec::new(),
        },
    ]
}

fn user(upn: &str, name: &str, roles: &[&str]) -> UserFixture {
    UserFixture {
        upn: upn.into(),
        display_name: name.into(),
        roles: roles.iter().map(|r| (*r).to_string()).collect(),
        password: default_password(),
        id: None,
    }
}

fn tenant(id: &str, cloud: Cloud, name: &str, domain: &str, users: Vec<UserFixture>) -> TenantFixture {
    TenantFixture {
        id: id.into(),
        cloud,
        display_name: name.into(),
        domains: vec![domain.into()],
        users,
        applications: Vec::new(),
        withheld_app_roles: Vec::new(),
        app_management_policy: None,
    }
}

impl Fixture {
    /// The built-in fixture: the product's public client in each cloud, Contoso (Global) with a Global
    /// Administrator, a user without admin roles, the least-privileged pair of roles that can register
    /// the backup applications, and each of those roles alone; and one tenant with a Global
    /// Administrator in each other cloud.
    pub fn builtin() -> Fixture {
        const GA: &[&str] = &["Global Administrator"];
        let public = |cloud, n: u8| PublicClientFixture {
            cloud,
            client_id: format!("5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d0{n}"),
            display_name: default_public_client_name(),
            // As an operator registers it for local development (`make dev`, the whole-system tests).
            redirect_uris: vec!["http://127.0.0.1/api/signin/callback".to_string()],
            spa_redirect_uris: Vec::new(),
            web_redirect_uris: Vec::new(),
        };
        Fixture {
            public_clients: vec![
                public(Cloud::Global, 1),
                public(Cloud::UsgovGccHigh, 2),
                public(Cloud::UsgovDod, 3),
                public(Cloud::China, 4),
            ],
            tenants: vec![
                tenant(
                    "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60",
                    Cloud::Global,
                    "Contoso",
                    "contoso.onmicrosoft.com",
                    vec![
                        user("admin@contoso.onmicrosoft.com", "Megan Bowen", GA),
                        user("user@contoso.onmicrosoft.com", "Alex Wilber", &[]),
                        // The least-privileged pair that can register the backup applications.
                        user(
                            "apps-and-roles@contoso.onmicrosoft.com",
                            "Adele Vance",
                            &["Privileged Role Administrator", "Cloud Application Administrator"],
                        ),
                        // Manages applications, but cannot grant Microsoft Graph's app roles.
                        user("app-admin@contoso.onmicrosoft.com", "Lee Gu", &["Application Administrator"]),
                        // Grants any app role, but cannot create applications.
                        user(
                            "role-admin@contoso.onmicrosoft.com",
                            "Lidia Holloway",
                            &["Privileged Role Administrator"],
                        ),
                    ],
                ),
                tenant(
                    "2a7e9c14-3b5d-4e6f-8a90-b1c2d3e4f501",
                    Cloud::UsgovGccHigh,
                    "Fabrikam Government",
                    "fabrikamgov.onmicrosoft.us",
                    vec![user("admin@fabrikamgov.onmicrosoft.us", "Fabrikam Admin", GA)],
                ),
                tenant(
                    "3b8f0d25-4c6e-4f70-9ba1-c2d3e4f5a602",
                    Cloud::UsgovDod,
                    "Northwind DoD",
                    "northwinddod.onmicrosoft.us",
                    vec![user("admin@northwinddod.onmicrosoft.us", "Northwind Admin", GA)],
                ),
                tenant(
                    "4c9a1e36-5d7f-4081-acb2-d3e4f5a6b703",
                    Cloud::China,
                    "Tailspin China",
                    "tailspin.partner.onmschina.cn",
                    vec![user("admin@tailspin.partner.onmschina.cn", "Tailspin Admin", GA)],
                ),
            ],
            resource_service_principals: default_resources(),
            partners: Vec::new(),
        }
    }

    /// Checks what serde cannot: GUIDs, unique IDs, domains and sign-in names, non-empty domain lists.
    pub fn validate(&self) -> Result<(), String> {
        use std::collections::HashSet;
        let mut ids = HashSet::new();
        let mut domains = HashSet::new();
        let mut upns = HashSet::new();
        for pc in &self.public_clients {
            if !crate::util::is_guid(&pc.client_id) {
                return Err(format!("public client id '{}' is not a GUID", pc.client_id));
            }
        }
        for t in &self.tenants {
            if !crate::util::is_guid(&t.id) {
                return Err(format!("tenant id '{}' is not a GUID", t.id));
            }
            if !ids.insert(t.id.to_ascii_lowercase()) {
                return Err(format!("tenant id '{}' appears twice", t.id));
            }
            if t.domains.is_empty() {
                return Err(format!("tenant '{}' has no domain", t.display_name));
            }
            for d in &t.domains {
                if !domains.insert(d.to_ascii_lowercase()) {
                    return Err(format!("domain '{d}' appears twice"));
                }
            }
            for u in &t.users {
                if !u.upn.contains('@') || !upns.insert(u.upn.to_ascii_lowercase()) {
                    return Err(format!("user '{}' is invalid or appears twice", u.upn));
                }
                if let Some(id) = &u.id {
                    if !crate::util::is_guid(id) {
                        return Err(format!("user id '{id}' is not a GUID"));
                    }
                }
            }
            for a in &t.applications {
                if let Some(id) = &a.app_id {
                    if !crate::util::is_guid(id) {
                        return Err(format!("application app_id '{id}' is not a GUID"));
                    }
                }
            }
        }
        for r in &self.resource_service_principals {
            for role in r.app_roles.iter().chain(&r.oauth2_permission_scopes) {
                if !crate::util::is_guid(&role.id) {
                    return Err(format!("permission id '{}' of {} is not a GUID", role.id, r.display_name));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_fixture_is_valid_and_round_trips_through_json() {
        let f = Fixture::builtin();
        assert_eq!(f.validate(), Ok(()));
        let json = serde_json::to_string(&f).unwrap_or_default();
        let back: Fixture = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back.tenants.len(), 4);
        assert_eq!(back.public_clients.len(), 4);
    }

    #[test]
    fn an_empty_fixture_still_has_microsofts_resources() {
        let f: Fixture = serde_json::from_str("{}").unwrap_or_default();
        assert_eq!(f.resource_service_principals.len(), 3);
    }

    #[test]
    fn duplicate_tenants_are_refused() {
        let mut f = Fixture::builtin();
        let first = f.tenants[0].clone();
        f.tenants.push(first);
        assert!(f.validate().is_err());
    }
}
