//! The Azure clouds an organization can live in, and their endpoints.
//!
//! Each cloud is a separate world: an application is registered per cloud, tokens of one cloud
//! are not valid in another, and scopes name the cloud's own Graph resource. The *resource*
//! identifiers (used in scopes and token audiences) are fixed per cloud; the *base URLs* that
//! requests go to can be overridden by configuration (the local emulator, a proxy) through
//! [`CloudEndpoints`], never by editing code.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An Azure cloud environment. The default is [`CloudEnvironment::Global`].
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloudEnvironment {
    /// The worldwide cloud; also serves US Government GCC (moderate).
    #[default]
    Global,
    /// Azure US Government, GCC High.
    #[serde(rename = "usgov_gcc_high")]
    UsGovGccHigh,
    /// Azure US Government, DoD.
    #[serde(rename = "usgov_dod")]
    UsGovDod,
    /// Azure China, operated by 21Vianet.
    China,
}

impl CloudEnvironment {
    /// All clouds, in the order the wizard lists them.
    pub const ALL: [CloudEnvironment; 4] =
        [CloudEnvironment::Global, CloudEnvironment::UsGovGccHigh, CloudEnvironment::UsGovDod, CloudEnvironment::China];

    /// The stable wire name (also the serde name), e.g. `usgov_gcc_high`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "global",
            CloudEnvironment::UsGovGccHigh => "usgov_gcc_high",
            CloudEnvironment::UsGovDod => "usgov_dod",
            CloudEnvironment::China => "china",
        }
    }

    /// The label the administrator reads.
    pub fn label(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "Global",
            CloudEnvironment::UsGovGccHigh => "US Government GCC High",
            CloudEnvironment::UsGovDod => "US Government DoD",
            CloudEnvironment::China => "China (operated by 21Vianet)",
        }
    }

    /// One sentence that helps the administrator choose.
    pub fn explanation(self) -> &'static str {
        match self {
            CloudEnvironment::Global => {
                "Most organizations, including US Government GCC (moderate). Choose this unless your tenant was created in a government or China cloud."
            }
            CloudEnvironment::UsGovGccHigh => {
                "For tenants in Azure US Government GCC High (portal.azure.us). Only the Device Code and Manual methods are available."
            }
            CloudEnvironment::UsGovDod => {
                "For US Department of Defense tenants in Azure US Government (portal.azure.us). Only the Device Code and Manual methods are available."
            }
            CloudEnvironment::China => {
                "For tenants in Azure China operated by 21Vianet (portal.azure.cn). Only the Device Code and Manual methods are available."
            }
        }
    }

    /// The official sign-in authority, e.g. `https://login.microsoftonline.com`.
    pub fn authority_host(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "https://login.microsoftonline.com",
            CloudEnvironment::UsGovGccHigh | CloudEnvironment::UsGovDod => "https://login.microsoftonline.us",
            CloudEnvironment::China => "https://login.partner.microsoftonline.cn",
        }
    }

    /// The official Microsoft Graph host, which is also the Graph resource identifier of the cloud.
    pub fn graph_host(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "https://graph.microsoft.com",
            CloudEnvironment::UsGovGccHigh => "https://graph.microsoft.us",
            CloudEnvironment::UsGovDod => "https://dod-graph.microsoft.us",
            CloudEnvironment::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Exchange Online's resource identifier in this cloud (its application-permission scope is
    /// `{exchange_host}/.default`).
    pub fn exchange_host(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "https://outlook.office365.com",
            CloudEnvironment::UsGovGccHigh => "https://outlook.office365.us",
            CloudEnvironment::UsGovDod => "https://outlook-dod.office365.us",
            CloudEnvironment::China => "https://partner.outlook.cn",
        }
    }

    /// The domain SharePoint Online's sites live under in this cloud (`contoso.sharepoint.com`).
    pub fn sharepoint_suffix(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "sharepoint.com",
            CloudEnvironment::UsGovGccHigh => "sharepoint.us",
            CloudEnvironment::UsGovDod => "sharepoint-mil.us",
            CloudEnvironment::China => "sharepoint.cn",
        }
    }

    /// The application-permission scope for Graph in this cloud: `{graph_host}/.default`.
    pub fn graph_default_scope(self) -> String {
        format!("{}/.default", self.graph_host())
    }

    /// A delegated Graph scope in this cloud, e.g. `https://graph.microsoft.us/Application.ReadWrite.All`.
    pub fn graph_delegated_scope(self, permission: &str) -> String {
        format!("{}/{permission}", self.graph_host())
    }

    /// The Azure portal of this cloud (where applications are registered).
    pub fn portal_host(self) -> &'static str {
        match self {
            CloudEnvironment::Global => "https://portal.azure.com",
            CloudEnvironment::UsGovGccHigh | CloudEnvironment::UsGovDod => "https://portal.azure.us",
            CloudEnvironment::China => "https://portal.azure.cn",
        }
    }

    /// The App registrations page of Microsoft Entra ID in this cloud's Azure portal.
    pub fn app_registrations_url(self) -> String {
        format!("{}/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade", self.portal_host())
    }

    /// The API permissions page of application `app` in this cloud's Azure portal.
    pub fn api_permissions_url(self, app: &crate::AppId) -> String {
        format!(
            "{}/#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/CallAnAPI/appId/{}",
            self.portal_host(),
            app.as_str()
        )
    }

    /// The admin-consent page for application `app` in `tenant` on this cloud's sign-in host: a
    /// Privileged Role Administrator or Global Administrator grants every permission configured on the
    /// application in one click (only they can grant Microsoft Graph's application permissions).
    pub fn admin_consent_url(self, tenant: &crate::TenantId, app: &crate::AppId) -> String {
        format!("{}/{}/adminconsent?client_id={}", self.authority_host(), tenant.as_str(), app.as_str())
    }
}

impl fmt::Display for CloudEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for CloudEnvironment {
    type Err = crate::validate::FieldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CloudEnvironment::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                crate::validate::FieldError::new(
                    crate::validate::Field::Cloud,
                    "Choose one of the listed Azure cloud environments: Global, US Government GCC High, US Government DoD or China.",
                )
            })
    }
}

/// Where requests for one cloud actually go. [`CloudEndpoints::official`] gives Microsoft's hosts;
/// configuration may replace the base URLs (for the local emulator or a proxy).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudEndpoints {
    /// The cloud these endpoints serve (fixes the resource identifiers used in scopes).
    pub cloud: CloudEnvironment,
    /// Base URL of the identity platform, without a trailing slash.
    pub authority_base: String,
    /// Base URL of Microsoft Graph, without a trailing slash.
    pub graph_base: String,
    /// Base URL of Partner Center's API, where the cloud has it (Global only).
    #[serde(default)]
    pub partner_center_base: Option<String>,
}

/// Partner Center's API: its host, the audience of its tokens (Learn: "Partner Center
/// authentication"). Only in the Global cloud.
pub const PARTNER_CENTER_HOST: &str = "https://api.partnercenter.microsoft.com";

impl CloudEndpoints {
    /// Microsoft's own endpoints for `cloud`.
    pub fn official(cloud: CloudEnvironment) -> Self {
        Self {
            cloud,
            authority_base: cloud.authority_host().to_owned(),
            graph_base: cloud.graph_host().to_owned(),
            partner_center_base: (cloud == CloudEnvironment::Global).then(|| PARTNER_CENTER_HOST.to_owned()),
        }
    }

    /// The same endpoints with Partner Center's base URL replaced (where the cloud has it).
    pub fn with_partner_center(mut self, base: &str) -> Self {
        if self.partner_center_base.is_some() {
            self.partner_center_base = Some(base.trim_end_matches('/').to_owned());
        }
        self
    }

    /// `{partner center}/v1/customers/{customer}/applicationconsents`, where the cloud has it.
    pub fn application_consents_url(&self, customer_tenant: &str) -> Option<String> {
        self.partner_center_base.as_ref().map(|b| format!("{b}/v1/customers/{customer_tenant}/applicationconsents"))
    }

    /// The same cloud with both base URLs replaced (trailing slashes are removed).
    pub fn with_bases(cloud: CloudEnvironment, authority_base: &str, graph_base: &str) -> Self {
        Self {
            cloud,
            authority_base: authority_base.trim_end_matches('/').to_owned(),
            graph_base: graph_base.trim_end_matches('/').to_owned(),
            partner_center_base: (cloud == CloudEnvironment::Global).then(|| PARTNER_CENTER_HOST.to_owned()),
        }
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/devicecode", self.authority_base)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token`.
    pub fn token_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.authority_base)
    }

    /// `{authority}/{tenant}/oauth2/v2.0/authorize`.
    pub fn authorize_url(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/authorize", self.authority_base)
    }

    /// The audience a client assertion must name: the *official* token endpoint of the tenant.
    /// Microsoft checks it against its own host, so an override of the base URL does not change it.
    pub fn assertion_audience(&self, tenant: &str) -> String {
        format!("{}/{tenant}/oauth2/v2.0/token", self.cloud.authority_host())
    }

    /// `{graph}/v1.0{path}`; `path` starts with `/`.
    pub fn graph_url(&self, path: &str) -> String {
        format!("{}/v1.0{path}", self.graph_base)
    }
}

/// What Microsoft's OpenID configuration of a tenant says about its cloud: `cloud_instance_name`
/// (`microsoftonline.com`, `microsoftonline.us`, `partner.microsoftonline.cn`) decides the cloud
/// (route by host, not by region), and in the US Government cloud `tenant_region_sub_scope`
/// tells GCC High (`DODCON`) from DoD (`DOD`). A Global tenant with the sub-scope `GCC` is US
/// Government GCC (moderate), which uses the Global cloud's endpoints. `None`: not a cloud this
/// product serves. Returns the cloud and how to name the tenant's environment.
pub fn cloud_from_discovery(
    cloud_instance_name: &str,
    region_scope: Option<&str>,
    region_sub_scope: Option<&str>,
) -> Option<(CloudEnvironment, &'static str)> {
    let sub = region_sub_scope.unwrap_or_default();
    match cloud_instance_name.trim().to_ascii_lowercase().as_str() {
        "microsoftonline.com" if sub.eq_ignore_ascii_case("GCC") => {
            Some((CloudEnvironment::Global, "US Government GCC (Global cloud endpoints)"))
        }
        "microsoftonline.com" => Some((CloudEnvironment::Global, "Global")),
        "microsoftonline.us" if sub.eq_ignore_ascii_case("DOD") => {
            Some((CloudEnvironment::UsGovDod, "US Government DoD"))
        }
        "microsoftonline.us" if sub.eq_ignore_ascii_case("DODCON") || region_scope == Some("USGov") => {
            Some((CloudEnvironment::UsGovGccHigh, "US Government GCC High"))
        }
        "microsoftonline.us" => Some((CloudEnvironment::UsGovGccHigh, "US Government GCC High")),
        "partner.microsoftonline.cn" => Some((CloudEnvironment::China, "China (21Vianet)")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_discovery_document_names_the_cloud_by_host_and_the_government_sub_scope() {
        use CloudEnvironment::*;
        let c = |name, scope, sub| cloud_from_discovery(name, scope, sub).map(|(c, _)| c);
        assert_eq!(c("microsoftonline.com", Some("NA"), None), Some(Global));
        assert_eq!(c("microsoftonline.com", Some("NA"), Some("GCC")), Some(Global), "GCC moderate is the Global cloud");
        assert_eq!(c("microsoftonline.us", Some("USGov"), Some("DODCON")), Some(UsGovGccHigh));
        assert_eq!(c("microsoftonline.us", Some("USGov"), Some("DOD")), Some(UsGovDod));
        assert_eq!(c("partner.microsoftonline.cn", None, None), Some(China));
        assert_eq!(c("microsoftonline.de", None, None), None, "a retired cloud");
        assert!(cloud_from_discovery("microsoftonline.com", None, Some("GCC")).unwrap().1.contains("GCC"));
    }

    use super::*;

    #[test]
    fn global_is_the_default() {
        assert_eq!(CloudEnvironment::default(), CloudEnvironment::Global);
    }

    #[test]
    fn wire_names_round_trip_through_serde_and_from_str() {
        for c in CloudEnvironment::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(c.as_str().parse::<CloudEnvironment>().unwrap(), c);
        }
        let err = "azure".parse::<CloudEnvironment>().unwrap_err();
        assert_eq!(err.field, crate::validate::Field::Cloud);
    }

    #[test]
    fn scopes_name_the_clouds_own_graph() {
        assert_eq!(CloudEnvironment::UsGovDod.graph_default_scope(), "https://dod-graph.microsoft.us/.default");
        assert_eq!(
            CloudEnvironment::China.graph_delegated_scope("Application.ReadWrite.All"),
            "https://microsoftgraph.chinacloudapi.cn/Application.ReadWrite.All"
        );
        assert_eq!(CloudEnvironment::UsGovGccHigh.authority_host(), CloudEnvironment::UsGovDod.authority_host());
    }

    #[test]
    fn the_admin_consent_and_portal_links_use_each_clouds_own_hosts() {
        let tenant = crate::TenantId::parse("72f988bf-86f1-41af-91ab-2d7cd011db47").unwrap();
        let app = crate::AppId::parse("11111111-2222-3333-4444-555555555555").unwrap();
        let consent = |c: CloudEnvironment| c.admin_consent_url(&tenant, &app);
        assert_eq!(
            consent(CloudEnvironment::Global),
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/adminconsent?client_id=11111111-2222-3333-4444-555555555555"
        );
        assert!(consent(CloudEnvironment::UsGovGccHigh).starts_with("https://login.microsoftonline.us/72f988bf-"));
        assert!(consent(CloudEnvironment::UsGovDod).starts_with("https://login.microsoftonline.us/72f988bf-"));
        assert!(consent(CloudEnvironment::China).starts_with("https://login.partner.microsoftonline.cn/72f988bf-"));
        assert!(CloudEnvironment::UsGovDod.app_registrations_url().starts_with("https://portal.azure.us/#view/"));
        assert!(CloudEnvironment::China.api_permissions_url(&app).starts_with("https://portal.azure.cn/#view/"));
        assert!(CloudEnvironment::Global
            .api_permissions_url(&app)
            .ends_with("/appId/11111111-2222-3333-4444-555555555555"));
    }

    #[test]
    fn overridden_bases_change_urls_but_not_the_assertion_audience() {
        let e = CloudEndpoints::with_bases(CloudEnvironment::Global, "http://127.0.0.1:8790/", "http://127.0.0.1:8790");
        assert_eq!(
            e.token_url("contoso.onmicrosoft.com"),
            "http://127.0.0.1:8790/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(e.device_code_url("organizations"), "http://127.0.0.1:8790/organizations/oauth2/v2.0/devicecode");
        assert_eq!(e.graph_url("/organization"), "http://127.0.0.1:8790/v1.0/organization");
        assert_eq!(e.assertion_audience("t"), "https://login.microsoftonline.com/t/oauth2/v2.0/token");
        assert_eq!(
            CloudEndpoints::official(CloudEnvironment::China).authorize_url("organizations"),
            "https://login.partner.microsoftonline.cn/organizations/oauth2/v2.0/authorize"
        );
    }
}
