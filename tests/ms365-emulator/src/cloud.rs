//! The four Microsoft clouds and how a request is assigned to one.
//!
//! One emulator serves all four clouds on one host, so the cloud of a sign-in cannot come from the host
//! name as it does at Microsoft. It comes from the resource in the requested `scope` instead: the product
//! asks each cloud for scopes on that cloud's Graph host (`https://graph.microsoft.us/.default`), exactly
//! as it must at Microsoft. A bare scope (`Application.ReadWrite.All`, `openid`) means the Global cloud,
//! as it does at `login.microsoftonline.com`.

use serde::{Deserialize, Serialize};

/// A Microsoft cloud, in the wire form the product and the fixture use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    /// The worldwide cloud (includes plain GCC).
    Global,
    /// US Government GCC High.
    UsgovGccHigh,
    /// US Government DoD.
    UsgovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// Every cloud.
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::UsgovGccHigh, Cloud::UsgovDod, Cloud::China];

    /// The wire name (`global`, `usgov_gcc_high`, `usgov_dod`, `china`).
    pub fn wire_name(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsgovGccHigh => "usgov_gcc_high",
            Cloud::UsgovDod => "usgov_dod",
            Cloud::China => "china",
        }
    }

    /// The Microsoft Graph resource (and access-token audience) of the cloud, without a trailing slash.
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::UsgovGccHigh => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// The official sign-in authority host of the cloud (client assertions may name it in `aud`).
    pub fn authority_hosts(self) -> &'static [&'static str] {
        match self {
            Cloud::Global => &["https://login.microsoftonline.com"],
            Cloud::UsgovGccHigh | Cloud::UsgovDod => &["https://login.microsoftonline.us"],
            Cloud::China => &["https://login.partner.microsoftonline.cn", "https://login.chinacloudapi.cn"],
        }
    }

    /// The cloud-instance name Microsoft uses in AADSTS90038 messages.
    pub fn instance_name(self) -> &'static str {
        match self {
            Cloud::Global => "Prod",
            Cloud::UsgovGccHigh => "USGov",
            Cloud::UsgovDod => "USGovDoD",
            Cloud::China => "China",
        }
    }

    /// The DNS suffix of SharePoint Online sites in this cloud (`{tenant}.{suffix}`).
    pub fn exchange_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://outlook.office365.com",
            Cloud::UsgovGccHigh => "https://outlook.office365.us",
            Cloud::UsgovDod => "https://outlook-dod.office365.us",
            Cloud::China => "https://partner.outlook.cn",
        }
    }

    /// The domain SharePoint Online's sites live under in this cloud.
    pub fn sharepoint_suffix(self) -> &'static str {
        match self {
            Cloud::Global => "sharepoint.com",
            Cloud::UsgovGccHigh => "sharepoint.us",
            Cloud::UsgovDod => "sharepoint-mil.us",
            Cloud::China => "sharepoint.cn",
        }
    }

    /// The cloud whose Graph host is `resource` (an access-token `aud`, or the resource part of a scope).
    /// A trailing slash is tolerated, as Microsoft tolerates it.
    pub fn from_graph_resource(resource: &str) -> Option<Cloud> {
        let r = resource.trim_end_matches('/');
        Cloud::ALL.into_iter().find(|c| c.graph_host().eq_ignore_ascii_case(r))
    }
}

/// A client-credentials scope for SharePoint Online (`https://contoso.sharepoint.com/.default`):
/// its cloud and its resource (`https://contoso.sharepoint.com`, lower case). `None` for anything else.
pub fn sharepoint_default_scope(scope: &str) -> Option<(Cloud, String)> {
    let resource = scope.trim().strip_suffix("/.default")?.to_ascii_lowercase();
    let host = resource.strip_prefix("https://")?;
    let (label, suffix) = host.split_once('.')?;
    let valid = !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let cloud = Cloud::ALL.into_iter().find(|c| c.sharepoint_suffix() == suffix)?;
    valid.then_some((cloud, resource))
}

/// A client-credentials scope for Exchange Online (`https://outlook.office365.com/.default`, or a
/// national cloud's host): its cloud. `None` for anything else.
pub fn exchange_default_scope(scope: &str) -> Option<Cloud> {
    let resource = scope.trim().strip_suffix("/.default")?.trim_end_matches('/').to_ascii_lowercase();
    Cloud::ALL.into_iter().find(|c| c.exchange_host() == resource)
}

/// OpenID Connect scopes that are not permissions on a resource.
pub const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// Partner Center's API (Global cloud only): the audience of its tokens and the resource of its
/// `user_impersonation` scope (Learn: "Partner Center authentication").
pub const PARTNER_CENTER_RESOURCE: &str = "https://api.partnercenter.microsoft.com";

/// Which API a delegated scope is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Resource {
    /// The cloud's Microsoft Graph.
    #[default]
    Graph,
    /// Partner Center (Global only).
    PartnerCenter,
}

/// A `scope` parameter, split into its resource and its permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedScopes {
    /// The cloud whose Graph the permissions are for.
    pub cloud: Cloud,
    /// The API the permissions are on.
    pub resource: Resource,
    /// Short permission names on Graph (`Application.ReadWrite.All`, or `.default`), in request order.
    pub permissions: Vec<String>,
    /// The OpenID Connect scopes asked for (`openid`, `profile`, `offline_access`, `email`).
    pub oidc: Vec<String>,
}

impl RequestedScopes {
    /// Whether an OpenID Connect scope (e.g. `offline_access`) was requested.
    pub fn has_oidc(&self, name: &str) -> bool {
        self.oidc.iter().any(|s| s == name)
    }

    /// Whether the request is `{resource}/.default`.
    pub fn is_default(&self) -> bool {
        self.permissions.iter().any(|p| p == ".default")
    }
}

/// Why a `scope` parameter was refused; the token and devicecode endpoints turn these into AADSTS errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeError {
    /// No scope at all (AADSTS900144).
    Missing,
    /// A resource that is no Graph host the emulator knows (AADSTS500011).
    UnknownResource(String),
    /// Scopes for two resources (two clouds' Graph, or Graph and Partner Center) in one request
    /// (AADSTS28000).
    MixedClouds,
}

/// An authorization request's `scope` split into what the token is for and whether Partner Center's
/// permission is asked for consent only (Learn: "Desktop app that calls web APIs: Move to
/// production": consent to several resources up front, a token for one): the scopes of the first
/// resource named (and the OpenID Connect ones), and whether Partner Center's scopes came beside
/// them.
pub fn split_consent_only(scope: &str) -> (String, bool) {
    let is_pc = |item: &str| item.to_ascii_lowercase().starts_with(&format!("{PARTNER_CENTER_RESOURCE}/"));
    let items: Vec<&str> = scope.split_whitespace().collect();
    let graph_named = items.iter().any(|i| !is_pc(i) && !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(i)));
    let pc_named = items.iter().any(|i| is_pc(i));
    if graph_named && pc_named {
        (items.iter().filter(|i| !is_pc(i)).copied().collect::<Vec<_>>().join(" "), true)
    } else {
        (scope.to_string(), false)
    }
}

/// Splits a space-separated `scope` value. See the module documentation for how the cloud is chosen.
pub fn parse_scopes(scope: &str) -> Result<RequestedScopes, ScopeError> {
    let mut cloud: Option<Cloud> = None;
    let mut resource_of: Option<Resource> = None;
    let mut permissions = Vec::new();
    let mut oidc = Vec::new();
    let mut set_cloud = |c: Cloud| -> Result<(), ScopeError> {
        match cloud {
            Some(existing) if existing != c => Err(ScopeError::MixedClouds),
            _ => {
                cloud = Some(c);
                Ok(())
            }
        }
    };
    for item in scope.split_whitespace() {
        if let Some(o) = OIDC_SCOPES.iter().find(|o| o.eq_ignore_ascii_case(item)) {
            if !oidc.iter().any(|x: &String| x == o) {
                oidc.push((*o).to_string());
            }
            continue;
        }
        let (c, r, name) = match item.find("://") {
            Some(scheme_end) => {
                let after = scheme_end + 3;
                let (resource, name) = match item[after..].find('/') {
                    Some(slash) => (&item[..after + slash], &item[after + slash + 1..]),
                    None => (item, ""),
                };
                if resource.trim_end_matches('/').eq_ignore_ascii_case(PARTNER_CENTER_RESOURCE) {
                    (Cloud::Global, Resource::PartnerCenter, name)
                } else {
                    let c = Cloud::from_graph_resource(resource)
                        .ok_or_else(|| ScopeError::UnknownResource(resource.to_string()))?;
                    (c, Resource::Graph, name)
                }
            }
            None => (Cloud::Global, Resource::Graph, item),
        };
        let (c, r, name) = (c, r, name);
        set_cloud(c)?;
        match resource_of {
            Some(existing) if existing != r => return Err(ScopeError::MixedClouds),
            _ => resource_of = Some(r),
        }
        if !name.is_empty() && !permissions.iter().any(|p: &String| p == name) {
            permissions.push(name.to_string());
        }
    }
    if permissions.is_empty() && oidc.is_empty() {
        return Err(ScopeError::Missing);
    }
    Ok(RequestedScopes {
        cloud: cloud.unwrap_or(Cloud::Global),
        resource: resource_of.unwrap_or_default(),
        permissions,
        oidc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharepoint_scopes_name_their_cloud_and_site_host() {
        assert_eq!(
            sharepoint_default_scope("https://Contoso.sharepoint.com/.default"),
            Some((Cloud::Global, "https://contoso.sharepoint.com".into()))
        );
        assert_eq!(
            sharepoint_default_scope("https://fabrikamgov.sharepoint.us/.default").map(|s| s.0),
            Some(Cloud::UsgovGccHigh)
        );
        assert_eq!(sharepoint_default_scope("https://contoso.sharepoint.com/AllSites.Read"), None);
        assert_eq!(sharepoint_default_scope("https://graph.microsoft.com/.default"), None);
        assert_eq!(exchange_default_scope("https://outlook.office365.com/.default"), Some(Cloud::Global));
        assert_eq!(exchange_default_scope("https://outlook-dod.office365.us/.default"), Some(Cloud::UsgovDod));
        assert_eq!(exchange_default_scope("https://outlook.office365.com/EWS.AccessAsUser.All"), None);
        assert_eq!(sharepoint_default_scope("https://evil.example/x.sharepoint.com/.default"), None);
    }

    #[test]
    fn the_graph_host_in_the_scope_picks_the_cloud() {
        let cases = [
            ("https://graph.microsoft.com/.default", Cloud::Global),
            ("https://graph.microsoft.us/Application.ReadWrite.All offline_access", Cloud::UsgovGccHigh),
            ("https://dod-graph.microsoft.us/.default", Cloud::UsgovDod),
            ("https://microsoftgraph.chinacloudapi.cn/Organization.Read.All openid", Cloud::China),
            ("Application.ReadWrite.All", Cloud::Global),
            ("openid profile offline_access", Cloud::Global),
        ];
        for (scope, cloud) in cases {
            assert_eq!(parse_scopes(scope).map(|s| s.cloud), Ok(cloud), "{scope}");
        }
    }

    #[test]
    fn permissions_and_oidc_scopes_are_separated() {
        let s = parse_scopes("https://graph.microsoft.us/Application.ReadWrite.All openid offline_access")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(s.permissions, vec!["Application.ReadWrite.All"]);
        assert!(s.has_oidc("openid") && s.has_oidc("offline_access") && !s.has_oidc("profile"));
    }

    #[test]
    fn bad_scopes_are_refused() {
        assert_eq!(parse_scopes("  "), Err(ScopeError::Missing));
        assert_eq!(
            parse_scopes("https://graph.microsoft.com/.default https://graph.microsoft.us/.default"),
            Err(ScopeError::MixedClouds)
        );
        assert_eq!(
            parse_scopes("https://evil.example/.default"),
            Err(ScopeError::UnknownResource("https://evil.example".into()))
        );
        assert_eq!(parse_scopes("https://"), Err(ScopeError::UnknownResource("https://".into())));
    }

    #[test]
    fn partner_centers_permission_beside_graphs_is_for_consent_only() {
        let pc = "https://api.partnercenter.microsoft.com/user_impersonation";
        let (token, extra) = split_consent_only(&format!("https://graph.microsoft.com/User.Read {pc} offline_access"));
        assert_eq!(token, "https://graph.microsoft.com/User.Read offline_access");
        assert!(extra);
        assert_eq!(split_consent_only(&format!("{pc} offline_access")), (format!("{pc} offline_access"), false));
        assert_eq!(split_consent_only("User.Read"), ("User.Read".to_string(), false));
    }
}
