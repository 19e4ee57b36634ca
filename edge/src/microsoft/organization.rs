//! Graph's `GET /organization` (learn.microsoft.com/graph/api/organization-list): the tenant a
//! token belongs to, with the fields the product reads, requested and read here once. The answer
//! is a collection of one: `{"value": [{"id": …, "displayName": …, "verifiedDomains": [...]}]}`.

use super::graph::{self, BatchItem, Collection};
use super::{HttpRequest, HttpResponse, MicrosoftError};
use serde::Deserialize;
use shared::secret::SecretString;
use shared::CloudEndpoints;

/// Which fields to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// The tenant's ID: which tenant a token belongs to, and whether a token works at all.
    Id,
    /// The verified domains: the initial one names the tenant's SharePoint.
    Domains,
    /// What a registration shows of the tenant: ID, name and domains.
    Tenant,
}

impl Select {
    fn path(self) -> &'static str {
        match self {
            Select::Id => "/organization?$select=id",
            Select::Domains => "/organization?$select=verifiedDomains",
            Select::Tenant => "/organization?$select=id,displayName,verifiedDomains",
        }
    }
}

/// The tenant as `GET /organization` describes it (only the fields asked for are filled).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The tenant ID.
    #[serde(default)]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub display_name: String,
    /// Its verified domains.
    #[serde(default)]
    pub verified_domains: Vec<VerifiedDomain>,
}

/// One of the tenant's verified domains.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    /// The domain name.
    pub name: String,
    /// The `*.onmicrosoft.com` (or national cloud) domain the tenant was created with.
    #[serde(default)]
    pub is_initial: bool,
    /// The domain the tenant uses by default for new users.
    #[serde(default)]
    pub is_default: bool,
}

impl Organization {
    /// The initial domain (the first verified domain if none is marked initial).
    pub fn initial_domain(&self) -> Option<&str> {
        let domains = &self.verified_domains;
        domains.iter().find(|d| d.is_initial).or(domains.first()).map(|d| d.name.as_str())
    }

    /// The default domain (the first verified domain if none is marked default).
    pub fn default_domain(&self) -> Option<&str> {
        let domains = &self.verified_domains;
        domains.iter().find(|d| d.is_default).or(domains.first()).map(|d| d.name.as_str())
    }
}

/// `GET /organization` with `select` inside a `$batch` (answer: a collection of [`Organization`]).
pub fn batch_item(id: String, select: Select) -> BatchItem {
    BatchItem::get(id, select.path())
}

/// `GET /organization` with `select`, with `token`.
pub fn request(endpoints: &CloudEndpoints, token: &SecretString, select: Select) -> HttpRequest {
    graph::request(endpoints, token, http::Method::GET, select.path(), None)
}

/// Microsoft's answer: the organization, or Microsoft's refusal. An answer of another shape reads as
/// an organization with nothing known (empty ID, no domains).
pub fn read(resp: &HttpResponse) -> Result<Organization, MicrosoftError> {
    let body = graph::read_json(resp)?;
    Ok(Collection::<Organization>::deserialize(&body).ok().and_then(|c| c.value.into_iter().next()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> HttpResponse {
        http::Response::builder().status(200).body(body.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn the_tenant_and_its_initial_domain_are_read_from_the_collection() {
        let o = read(&answer(
            r#"{"value":[{"id":"t-1","verifiedDomains":[{"name":"contoso.com","isInitial":false},{"name":"contoso.onmicrosoft.com","isInitial":true}]}]}"#,
        ))
        .unwrap();
        assert_eq!(o.id, "t-1");
        assert_eq!(o.initial_domain(), Some("contoso.onmicrosoft.com"));
        let first = read(&answer(r#"{"value":[{"verifiedDomains":[{"name":"a.example"}]}]}"#)).unwrap();
        assert_eq!(first.initial_domain(), Some("a.example"));
        assert_eq!(read(&answer(r#"{"value":[]}"#)).unwrap(), Organization::default());
        assert_eq!(read(&answer("[1,2]")).unwrap(), Organization::default());
        let refused = http::Response::builder()
            .status(403)
            .body(br#"{"error":{"code":"Authorization_RequestDenied","message":"x"}}"#.to_vec())
            .unwrap();
        assert!(read(&refused).is_err());
    }

    #[test]
    fn the_request_asks_for_the_fields_it_reads() {
        let e = CloudEndpoints::official(shared::CloudEnvironment::Global);
        let t = SecretString::new("tok".into());
        assert_eq!(request(&e, &t, Select::Id).uri(), "https://graph.microsoft.com/v1.0/organization?$select=id");
        assert!(request(&e, &t, Select::Domains).uri().to_string().ends_with("$select=verifiedDomains"));
    }
}
