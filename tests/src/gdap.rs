//! A partner with GDAP relationships in the emulator, and the partner's sign-in and batches through
//! the API: what the partner tests and the partner bench share.

use crate::emulator::Emulator;
use crate::portal::Api;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The partner's tenant.
pub const PARTNER: &str = "7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5";
/// The partner's admin agent (in its AdminAgents group).
pub const AGENT: &str = "agent@partner.onmicrosoft.com";
/// The least-privileged roles that register the backup applications.
pub const PAIR: [&str; 2] = ["Cloud Application Administrator", "Privileged Role Administrator"];

/// Customer `n`'s tenant ID.
pub fn customer(n: usize) -> String {
    format!("c0000000-0000-4000-8000-{n:012}")
}

/// The built-in fixture with a partner and `names.len()` customers: each with a relationship
/// granting `roles(n)`, and `policy(n)` as its app management policy.
pub fn with_partner(
    emulator: &Emulator,
    names: &[&str],
    roles: impl Fn(usize) -> Vec<&'static str>,
    policy: impl Fn(usize) -> Option<Value>,
) {
    let mut f = emulator.get("fixture");
    let tenants = f["tenants"].as_array_mut().unwrap();
    tenants.push(json!({"id": PARTNER, "cloud": "global", "display_name": "Fourth Coffee Partners",
        "domains": ["partner.onmicrosoft.com"], "users": [{"upn": AGENT, "display_name": "Partner Agent"}]}));
    let mut relationships = vec![];
    for (n, name) in names.iter().enumerate() {
        let domain = format!("customer{n}.onmicrosoft.com");
        let mut t = json!({"id": customer(n), "cloud": "global", "display_name": name, "domains": [domain],
            "users": [{"upn": format!("admin@{domain}"), "display_name": "Admin", "roles": ["Global Administrator"]}]});
        if let Some(p) = policy(n) {
            t["app_management_policy"] = p;
        }
        tenants.push(t);
        relationships.push(json!({"customer_tenant_id": customer(n), "roles": roles(n)}));
    }
    // The partner's administrator consented Partner Center for the product's client, as an operator
    // sets up a partner that signs in with a device code (see docs/operating.md).
    f["partners"] = json!([{"tenant_id": PARTNER, "admin_agents": [AGENT], "relationships": relationships,
                            "partner_center_consent": true}]);
    emulator.control("reset", f);
}

/// A policy that accepts only certificates from a trusted authority: the service's self-signed
/// ones are refused.
pub fn trusted_ca_only() -> Value {
    json!({
        "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "Default app management tenant policy",
        "isEnabled": true,
        "applicationRestrictions": {"passwordCredentials": [], "keyCredentials": [
            {"restrictionType": "trustedCertificateAuthority",
             "certificateBasedApplicationConfigurationIds": ["eec5ba11-2fc0-4113-83a2-ed986ed13743"],
             "restrictForAppsCreatedAfterDateTime": "2019-10-19T10:37:00Z"}]},
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}
    })
}

/// The partner admin's sign-in (device code), signed in.
pub fn partner_sign_in(emulator: &Emulator, api: &Api) -> String {
    let s = crate::signed_in(
        emulator,
        api,
        json!({"cloud": "global", "method": "device_code", "purpose": {"kind": "partner"}}),
        AGENT,
    );
    assert_eq!(s["state"], "signed_in", "{s}");
    s["id"].as_str().unwrap().to_owned()
}

/// Reads the batch until it finished.
pub fn finished(api: &Api, batch: &str, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let a = api.get(&format!("/api/partner-batches/{batch}"));
        assert_eq!(a.status, 200, "{}", a.text);
        if a.body["finished_at"].is_string() {
            return a.body;
        }
        assert!(Instant::now() < deadline, "the batch did not finish: {}", a.text);
        std::thread::sleep(Duration::from_millis(300));
    }
}
