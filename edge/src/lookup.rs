//! Which tenant and cloud a domain belongs to, from Microsoft's public OpenID configuration of the
//! domain (`{login host}/{domain}/v2.0/.well-known/openid-configuration`): the tenant ID is in its
//! `issuer`, the cloud in `cloud_instance_name` and the US Government sub-scope
//! ([`shared::cloud::cloud_from_discovery`]). The Global login host answers for Global and US
//! Government tenants; China's tenants are asked at China's host.

use crate::config::Config;
use crate::error::AppError;
use crate::microsoft::{HttpClient, HttpRequest, HttpResponse};
use serde_json::Value;
use shared::api::TenantLookup;
use shared::cloud::cloud_from_discovery;
use shared::{CloudEnvironment, Domain, ErrorCode, Field, FieldError};

/// The request for the OpenID configuration of `domain` at `authority_base`.
pub fn discovery_request(authority_base: &str, domain: &Domain) -> HttpRequest {
    http::Request::builder()
        .method(http::Method::GET)
        .uri(format!("{authority_base}/{}/v2.0/.well-known/openid-configuration", domain.as_str()))
        .header(http::header::ACCEPT, "application/json")
        .body(vec![])
        .expect("a valid request")
}

/// What one answer says: `Ok(Some)` found, `Ok(None)` not a tenant there, `Err` no usable answer.
pub fn read_discovery(domain: &Domain, resp: &HttpResponse) -> Result<Option<TenantLookup>, AppError> {
    let body: Value = serde_json::from_slice(resp.body()).unwrap_or(Value::Null);
    if resp.status() == 400 || resp.status() == 404 {
        // AADSTS90002: "Tenant '…' not found."
        return Ok(None);
    }
    if resp.status() != 200 {
        return Err(ErrorCode::MicrosoftUnavailable.into());
    }
    let tenant = body["issuer"]
        .as_str()
        .and_then(|i| i.trim_end_matches('/').rsplit('/').nth(1))
        .and_then(|t| shared::TenantId::parse(t).ok())
        .ok_or(AppError::from(ErrorCode::MicrosoftUnavailable))?;
    let Some((cloud, environment)) = cloud_from_discovery(
        body["cloud_instance_name"].as_str().unwrap_or_default(),
        body["tenant_region_scope"].as_str(),
        body["tenant_region_sub_scope"].as_str(),
    ) else {
        return Err(FieldError::new(
            Field::Domain,
            format!("{} belongs to a Microsoft cloud this service does not serve.", domain.as_str()),
        )
        .into());
    };
    Ok(Some(TenantLookup {
        domain: domain.as_str().to_owned(),
        tenant_id: tenant.as_str().to_owned(),
        cloud,
        message: format!("{} belongs to tenant {} in {environment}.", domain.as_str(), tenant.as_str()),
    }))
}

/// Looks `domain` up: the Global login host first, then China's.
pub async fn lookup<H: HttpClient>(http: &H, config: &Config, domain: &Domain) -> Result<TenantLookup, AppError> {
    let mut asked: Vec<String> = vec![];
    for cloud in [CloudEnvironment::Global, CloudEnvironment::China] {
        let base = config.endpoints(cloud).authority_base;
        if asked.contains(&base) {
            continue;
        }
        let resp = http.send(discovery_request(&base, domain)).await.map_err(|_| ErrorCode::MicrosoftUnavailable)?;
        if let Some(found) = read_discovery(domain, &resp)? {
            return Ok(found);
        }
        asked.push(base);
    }
    Err(FieldError::new(
        Field::Domain,
        format!(
            "Microsoft knows no organization with the domain {}. Check the spelling, or choose the cloud yourself.",
            domain.as_str()
        ),
    )
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::RefCell;

    /// Microsoft's login hosts: which tenants each knows.
    struct Hosts(RefCell<Vec<String>>);

    impl HttpClient for Hosts {
        async fn send(&self, r: HttpRequest) -> Result<HttpResponse, crate::microsoft::TransportError> {
            let url = r.uri().to_string();
            self.0.borrow_mut().push(url.clone());
            let answer = |status: u16, body: Value| {
                http::Response::builder().status(status).body(body.to_string().into_bytes()).unwrap()
            };
            let tenant = |tid: &str, host: &str, scope: &str, sub: Option<&str>| {
                let mut b = json!({"issuer": format!("https://login.{host}/{tid}/v2.0"),
                    "token_endpoint": format!("https://login.{host}/{tid}/oauth2/v2.0/token"),
                    "tenant_region_scope": scope, "cloud_instance_name": host});
                if let Some(s) = sub {
                    b["tenant_region_sub_scope"] = json!(s);
                }
                b
            };
            Ok(match url.as_str() {
                "https://login.microsoftonline.com/contoso.com/v2.0/.well-known/openid-configuration" => {
                    answer(200, tenant("8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60", "microsoftonline.com", "NA", None))
                }
                "https://login.microsoftonline.com/fabrikam.us/v2.0/.well-known/openid-configuration" => answer(
                    200,
                    tenant("7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "microsoftonline.us", "USGov", Some("DODCON")),
                ),
                "https://login.partner.microsoftonline.cn/tailspin.cn/v2.0/.well-known/openid-configuration" => answer(
                    200,
                    tenant("4c9a1e36-5d7f-4081-acb2-d3e4f5a6b703", "partner.microsoftonline.cn", "AS", None),
                ),
                _ => answer(400, json!({"error": "invalid_tenant", "error_codes": [90002]})),
            })
        }
    }

    fn config() -> Config {
        Config::read(|k| (k == "PORTAL_SESSION_SECRET").then(|| "x".repeat(32))).unwrap()
    }

    fn look(domain: &str) -> (Result<TenantLookup, AppError>, Vec<String>) {
        let hosts = Hosts(RefCell::new(vec![]));
        let r = futures_executor::block_on(lookup(&hosts, &config(), &Domain::parse(domain).unwrap()));
        (r, hosts.0.into_inner())
    }

    #[test]
    fn a_domain_gives_its_tenant_and_cloud_asking_china_only_when_the_global_host_does_not_know_it() {
        let (r, asked) = look("contoso.com");
        let found = r.unwrap();
        assert_eq!(
            (found.tenant_id.as_str(), found.cloud),
            ("8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60", CloudEnvironment::Global)
        );
        assert_eq!(asked.len(), 1);
        let found = look("fabrikam.us").0.unwrap();
        assert_eq!(found.cloud, CloudEnvironment::UsGovGccHigh);
        assert!(found.message.contains("US Government GCC High"), "{}", found.message);
        let (r, asked) = look("tailspin.cn");
        assert_eq!(r.unwrap().cloud, CloudEnvironment::China);
        assert_eq!(asked.len(), 2);
        let (r, _) = look("unknown.example");
        let e = r.unwrap_err();
        assert_eq!(e.body().error.field, Some(Field::Domain));
        assert!(e.body().error.message.contains("unknown.example"));
    }
}
