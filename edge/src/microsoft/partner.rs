//! A partner acting in its customers' tenants through granular delegated admin privileges (GDAP):
//! the partner admin's sign-in scopes, the refresh-token grant (at the partner's authority for
//! Partner Center, at a customer's for its Graph), the customers with GDAP relationships (Graph
//! `tenantRelationships/delegatedAdminRelationships`), and Partner Center's consent API, which puts
//! the product's public client into a customer's tenant (Learn: "Control Panel Vendor APIs").

use super::graph::{json_request, read_error};
use super::identity::{read_oauth_failure_of, AccessToken, OAuthFailure, DELEGATED_PERMISSIONS};
use super::{form, retry_after, HttpRequest, HttpResponse, MicrosoftError};
use serde::{Deserialize, Serialize};
use shared::roles::{roles_of, AdminTask, DirectoryRole};
use shared::secret::SecretString;
use shared::{CloudEndpoints, ErrorCode};

/// The Graph permission that lists a partner's relationships (Learn: "List
/// delegatedAdminRelationships", least privileged).
pub const RELATIONSHIPS_PERMISSION: &str = "DelegatedAdminRelationship.Read.All";
/// Partner Center's delegated permission (Learn: "Partner Center authentication").
pub const PARTNER_CENTER_PERMISSION: &str = "user_impersonation";
/// Microsoft Graph's application ID, the resource of the consented permissions.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The largest page of relationships Graph gives (`$top` "supports up to 300 objects").
pub const RELATIONSHIPS_PAGE: u32 = 300;
/// Pages followed at most (a partner with more than 30,000 relationships is refused, not looped on).
pub const MAX_RELATIONSHIP_PAGES: usize = 100;

/// The partner admin's sign-in: reading the relationships, and a refresh token (`offline_access`)
/// to redeem for Partner Center and for each customer's Graph.
pub fn partner_scopes(endpoints: &CloudEndpoints) -> String {
    format!("{} offline_access", endpoints.cloud.graph_delegated_scope(RELATIONSHIPS_PERMISSION))
}

/// Partner Center's scope.
pub fn partner_center_scope() -> String {
    format!("{}/{PARTNER_CENTER_PERMISSION}", shared::cloud::PARTNER_CENTER_HOST)
}

/// The customer-tenant scope: the registration's delegated Graph permissions.
pub fn customer_scopes(endpoints: &CloudEndpoints) -> String {
    DELEGATED_PERMISSIONS.iter().map(|p| endpoints.cloud.graph_delegated_scope(p)).collect::<Vec<_>>().join(" ")
}

/// `POST {authority}/{tenant}/oauth2/v2.0/token` with `grant_type=refresh_token`.
pub fn refresh_request(
    endpoints: &CloudEndpoints,
    tenant: &str,
    client_id: &str,
    refresh_token: &SecretString,
    scope: &str,
) -> HttpRequest {
    http::Request::post(endpoints.token_url(tenant))
        .header(http::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(http::header::ACCEPT, "application/json")
        .body(form(&[
            ("client_id", client_id),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("scope", scope),
        ]))
        .expect("a POST with static headers is always valid")
}

/// A token and the refresh token that replaces the one redeemed.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The access token.
    pub access: AccessToken,
    /// The new refresh token (Microsoft rotates them; `None` when none came).
    pub refresh: Option<SecretString>,
}

#[derive(Deserialize)]
struct GrantBody {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// What a refresh-token request produced.
#[derive(Debug, Clone)]
pub enum GrantOutcome {
    /// Tokens.
    Granted(Grant),
    /// Refused, or a transient failure.
    Refused(OAuthFailure),
}

/// Reads a token response that may carry a refresh token.
pub fn read_grant(resp: &HttpResponse) -> GrantOutcome {
    if !resp.status().is_success() {
        return GrantOutcome::Refused(read_oauth_failure_of(resp));
    }
    let Ok(body) = serde_json::from_slice::<GrantBody>(resp.body()) else {
        return GrantOutcome::Refused(OAuthFailure {
            error: None,
            microsoft: MicrosoftError::unreadable(resp.status().as_u16()),
        });
    };
    GrantOutcome::Granted(Grant {
        access: AccessToken {
            access_token: SecretString::new(body.access_token),
            expires_in: body.expires_in.unwrap_or(3600),
            refresh_token: None,
        },
        refresh: body.refresh_token.map(SecretString::new),
    })
}

/// Graph's `delegatedAdminRelationshipStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RelationshipStatus {
    /// Being activated.
    Activating,
    /// In force: the partner's roles apply.
    Active,
    /// Waiting for the customer.
    ApprovalPending,
    /// Approved, not active yet.
    Approved,
    /// Created, not sent.
    Created,
    /// Past its end.
    Expired,
    /// Near its end, still in force.
    Expiring,
    /// Ended.
    Terminated,
    /// Ending.
    Terminating,
    /// Ending asked for.
    TerminationRequested,
    /// A status added after this was written.
    #[serde(other)]
    Unknown,
}

impl RelationshipStatus {
    /// Whether the relationship's roles apply now.
    pub fn in_force(self) -> bool {
        matches!(self, RelationshipStatus::Active | RelationshipStatus::Expiring)
    }
}

/// A customer as a relationship names it (Graph leaves it, or its name, `null` until the
/// relationship has a customer).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelationshipCustomer {
    /// The customer's tenant ID.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tenant_id: String,
    /// The customer's name.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub display_name: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn null_as_default<'de, D: serde::Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnifiedRole {
    role_definition_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessDetails {
    #[serde(default, deserialize_with = "null_as_default")]
    unified_roles: Vec<UnifiedRole>,
}

/// One `delegatedAdminRelationship` (the fields used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationship {
    /// The relationship's ID.
    pub id: String,
    /// Its name.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub display_name: String,
    /// The customer.
    #[serde(default, deserialize_with = "null_as_default")]
    pub customer: RelationshipCustomer,
    #[serde(default, deserialize_with = "null_as_default")]
    access_details: AccessDetails,
    /// Its status.
    pub status: RelationshipStatus,
}

impl Relationship {
    /// The role template IDs the relationship grants.
    pub fn role_ids(&self) -> Vec<String> {
        self.access_details.unified_roles.iter().map(|r| r.role_definition_id.to_ascii_lowercase()).collect()
    }

    /// The roles of these that the product knows.
    pub fn roles(&self) -> Vec<DirectoryRole> {
        roles_of(&self.role_ids())
    }
}

/// A page of relationships and the next page's path and query on Graph (`None`: the last).
#[derive(Debug, Clone)]
pub struct RelationshipPage {
    /// The relationships.
    pub value: Vec<Relationship>,
    /// `/tenantRelationships/...?...$skiptoken=...`, relative to `{graph}/v1.0`.
    pub next: Option<String>,
}

/// The first page's path.
pub fn relationships_path() -> String {
    format!("/tenantRelationships/delegatedAdminRelationships?$top={RELATIONSHIPS_PAGE}")
}

/// `GET {graph}/v1.0{path}`.
pub fn relationships_request(endpoints: &CloudEndpoints, token: &SecretString, path: &str) -> HttpRequest {
    json_request(http::Method::GET, &endpoints.graph_url(path), token, None)
}

/// Reads a page. A `@odata.nextLink` is followed only on the cloud's own Graph host and version,
/// so a forged link never receives the partner's token elsewhere.
pub fn read_relationships(resp: &HttpResponse, endpoints: &CloudEndpoints) -> Result<RelationshipPage, MicrosoftError> {
    if !resp.status().is_success() {
        return Err(read_error(resp));
    }
    #[derive(Deserialize)]
    struct Page {
        value: Vec<Relationship>,
        #[serde(rename = "@odata.nextLink", default)]
        next_link: Option<String>,
    }
    let page: Page =
        serde_json::from_slice(resp.body()).map_err(|_| MicrosoftError::unreadable(resp.status().as_u16()))?;
    let next = match page.next_link {
        None => None,
        Some(link) => {
            let prefixes = [format!("{}/v1.0", endpoints.cloud.graph_host()), format!("{}/v1.0", endpoints.graph_base)];
            let rest = prefixes.iter().find_map(|p| link.strip_prefix(p.as_str()));
            match rest {
                Some(r) if r.starts_with("/tenantRelationships/delegatedAdminRelationships?") => Some(r.to_owned()),
                _ => return Err(MicrosoftError::unreadable(resp.status().as_u16())),
            }
        }
    };
    Ok(RelationshipPage { value: page.value, next })
}

/// Whether a relationship lets the partner register the backup applications in the customer's
/// tenant: the roles of [`AdminTask::Register`], in force.
pub fn enough_for_registration(r: &Relationship) -> bool {
    r.status.in_force() && AdminTask::Register.allowed(&r.roles())
}

/// The body of Partner Center's consent: the product's public client, with the registration's
/// delegated permissions on Microsoft Graph.
pub fn consent_request(
    endpoints: &CloudEndpoints,
    partner_center_token: &SecretString,
    customer_tenant: &str,
    client_id: &str,
    display_name: &str,
) -> Option<HttpRequest> {
    let url = endpoints.application_consents_url(customer_tenant)?;
    let body = serde_json::json!({
        "applicationId": client_id,
        "displayName": display_name,
        "applicationGrants": [{
            "enterpriseApplicationId": GRAPH_APP_ID,
            "scope": DELEGATED_PERMISSIONS.join(","),
        }],
    });
    Some(json_request(http::Method::POST, &url, partner_center_token, Some(&body)))
}

/// `DELETE {partner center}/v1/customers/{customer}/applicationconsents/{client}`: withdraws the
/// consent (Learn: "Control Panel Vendor APIs", removing consent).
pub fn withdraw_request(
    endpoints: &CloudEndpoints,
    partner_center_token: &SecretString,
    customer_tenant: &str,
    client_id: &str,
) -> Option<HttpRequest> {
    let url = format!("{}/{client_id}", endpoints.application_consents_url(customer_tenant)?);
    Some(json_request(http::Method::DELETE, &url, partner_center_token, None))
}

/// Whether a withdrawal is done: withdrawn now (`2xx`) or not there (`404`).
pub fn read_withdraw(resp: &HttpResponse) -> Result<(), MicrosoftError> {
    match resp.status().as_u16() {
        200..=299 | 404 => Ok(()),
        status => Err(MicrosoftError {
            code: match status {
                429 => ErrorCode::Throttled,
                // The caller may not (any more): the relationship ended, the agent left Admin Agents.
                400..=499 => ErrorCode::PartnerConsentRefused,
                _ => ErrorCode::MicrosoftUnavailable,
            },
            status,
            correlation: Default::default(),
            retry_after: retry_after(resp),
        }),
    }
}

/// What Partner Center answered a consent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsentOutcome {
    /// Given now (`201`).
    Given,
    /// Given before (`409`): the client is in the tenant already.
    AlreadyGiven,
    /// Refused for this customer (`403`, `404`): the partner's roles, the customer's settings.
    Refused,
    /// Anything else: throttled, unavailable, the token refused.
    Failed(MicrosoftError),
}

/// Reads Partner Center's answer (its error bodies are not relied on: Learn does not list them).
pub fn read_consent(resp: &HttpResponse) -> ConsentOutcome {
    let status = resp.status().as_u16();
    match status {
        200..=299 => ConsentOutcome::Given,
        409 => ConsentOutcome::AlreadyGiven,
        403 | 404 => ConsentOutcome::Refused,
        _ => ConsentOutcome::Failed(MicrosoftError {
            code: match status {
                429 => ErrorCode::Throttled,
                401 => ErrorCode::PartnerConsentRefused,
                _ => ErrorCode::MicrosoftUnavailable,
            },
            status,
            correlation: Default::default(),
            retry_after: retry_after(resp),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::CloudEnvironment;

    fn resp(status: u16, body: &str) -> HttpResponse {
        http::Response::builder().status(status).body(body.as_bytes().to_vec()).unwrap()
    }

    fn emulator() -> CloudEndpoints {
        CloudEndpoints::with_bases(CloudEnvironment::Global, "http://127.0.0.1:9", "http://127.0.0.1:9")
            .with_partner_center("http://127.0.0.1:9/partnercenter")
    }

    const PAGE: &str = r#"{"@odata.context":"x","value":[
      {"@odata.etag":"W/\"1\"","id":"a-b","displayName":"GDAP Able","duration":"P730D",
       "customer":{"tenantId":"10000000-0000-4000-8000-000000000001","displayName":"Able Corp"},
       "accessDetails":{"unifiedRoles":[{"roleDefinitionId":"158c047a-c907-4556-b7ef-446551a6b5f7"},
                                        {"roleDefinitionId":"E8611AB8-C189-46E8-94E1-60213AB1F814"},
                                        {"roleDefinitionId":"88d8e3e3-8f55-4a1e-953a-9b9898b8876b"}]},
       "status":"active","autoExtendDuration":"P180D"},
      {"id":"c-d","customer":{"tenantId":"t2","displayName":"Reader"},
       "accessDetails":{"unifiedRoles":[{"roleDefinitionId":"e8611ab8-c189-46e8-94e1-60213ab1f814"}]},"status":"active"},
      {"id":"e-f","customer":{"tenantId":"t3","displayName":"Ended"},
       "accessDetails":{"unifiedRoles":[{"roleDefinitionId":"62e90394-69f5-4237-9190-012177145e10"}]},"status":"expired"},
      {"id":"g-h","customer":{"tenantId":"t4"},"status":"someNewStatus"},
      {"id":"i-j","displayName":null,"customer":null,"accessDetails":null,"status":"created"},
      {"id":"k-l","customer":{"tenantId":null,"displayName":null},"accessDetails":{"unifiedRoles":null},"status":"approvalPending"}],
      "@odata.nextLink":"https://graph.microsoft.com/v1.0/tenantRelationships/delegatedAdminRelationships?$top=300&$skiptoken=4"}"#;

    #[test]
    fn relationships_are_read_with_their_roles_and_whether_they_are_enough() {
        let page = read_relationships(&resp(200, PAGE), &emulator()).unwrap();
        assert_eq!(page.value.len(), 6, "relationships without a customer yet are read, not refused");
        assert_eq!(page.value[4].customer.tenant_id, "");
        assert_eq!(page.value[0].customer.display_name, "Able Corp");
        assert!(
            enough_for_registration(&page.value[0]),
            "Cloud Application Administrator + Privileged Role Administrator"
        );
        assert!(!enough_for_registration(&page.value[1]), "Privileged Role Administrator alone");
        assert!(!enough_for_registration(&page.value[2]), "expired");
        assert_eq!(page.value[3].status, RelationshipStatus::Unknown);
        assert_eq!(
            page.next.as_deref(),
            Some("/tenantRelationships/delegatedAdminRelationships?$top=300&$skiptoken=4")
        );
    }

    #[test]
    fn a_next_link_elsewhere_is_not_followed() {
        for link in [
            "https://evil.example/v1.0/tenantRelationships/delegatedAdminRelationships?$skiptoken=1",
            "https://graph.microsoft.com/v1.0/users?$skiptoken=1",
            "https://graph.microsoft.com.evil.example/v1.0/tenantRelationships/delegatedAdminRelationships?x",
        ] {
            let body = format!(r#"{{"value":[],"@odata.nextLink":"{link}"}}"#);
            assert!(read_relationships(&resp(200, &body), &emulator()).is_err(), "{link}");
        }
    }

    #[test]
    fn the_consent_names_the_client_and_only_the_registrations_graph_permissions() {
        let token = SecretString::new("pc".into());
        let req = consent_request(&emulator(), &token, "t1", "client", "Backup onboarding").unwrap();
        assert_eq!(req.uri().to_string(), "http://127.0.0.1:9/partnercenter/v1/customers/t1/applicationconsents");
        let body: serde_json::Value = serde_json::from_slice(req.body()).unwrap();
        assert_eq!(body["applicationId"], "client");
        assert_eq!(body["applicationGrants"][0]["enterpriseApplicationId"], GRAPH_APP_ID);
        assert_eq!(
            body["applicationGrants"][0]["scope"],
            "Application.ReadWrite.All,AppRoleAssignment.ReadWrite.All,Organization.Read.All,Policy.Read.ApplicationConfiguration"
        );
        let official = CloudEndpoints::official(CloudEnvironment::Global);
        assert!(consent_request(&official, &token, "t1", "c", "n")
            .unwrap()
            .uri()
            .to_string()
            .starts_with("https://api.partnercenter.microsoft.com/v1/customers/"));
        for cloud in [CloudEnvironment::UsGovGccHigh, CloudEnvironment::UsGovDod, CloudEnvironment::China] {
            assert!(consent_request(&CloudEndpoints::official(cloud), &token, "t1", "c", "n").is_none(), "{cloud:?}");
        }
    }

    #[test]
    fn consent_answers_are_read_by_status() {
        assert_eq!(read_consent(&resp(201, "{}")), ConsentOutcome::Given);
        assert!(read_withdraw(&resp(204, "")).is_ok() && read_withdraw(&resp(404, "{}")).is_ok());
        assert!(!read_withdraw(&resp(403, "{}")).unwrap_err().is_transient(), "the caller may not: final");
        assert!(read_withdraw(&resp(503, "{}")).unwrap_err().is_transient());
        assert_eq!(read_consent(&resp(409, "{}")), ConsentOutcome::AlreadyGiven);
        assert_eq!(read_consent(&resp(403, "{}")), ConsentOutcome::Refused);
        let throttled = http::Response::builder().status(429).header("retry-after", "1").body(vec![]).unwrap();
        match read_consent(&throttled) {
            ConsentOutcome::Failed(e) => {
                assert!(e.is_transient());
                assert_eq!(e.retry_after, Some(1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_grant_keeps_the_new_refresh_token() {
        let body = r#"{"token_type":"Bearer","access_token":"a","expires_in":4000,"refresh_token":"r2"}"#;
        let GrantOutcome::Granted(g) = read_grant(&resp(200, body)) else { panic!("a grant") };
        assert_eq!(g.refresh.as_ref().map(SecretString::expose), Some("r2"));
        let GrantOutcome::Refused(refused) =
            read_grant(&resp(400, r#"{"error":"invalid_grant","error_codes":[65001]}"#))
        else {
            panic!("a refusal")
        };
        assert_eq!(refused.microsoft.code, ErrorCode::AdminConsentRequired);
    }
}
