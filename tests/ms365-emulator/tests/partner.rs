//! Partners over HTTP as the product uses them: a partner's admin agent signs in once, lists the
//! GDAP relationships, consents the client into a customer through Partner Center, and gets tokens at
//! the customer's authority with the partner's refresh token; and every refusal on the way.

mod common;

use common::*;
use serde_json::{json, Value};

const PARTNER: &str = "7d1e2f30-4a5b-4c6d-8e9f-a0b1c2d3e4f5";
const AGENT: &str = "agent@partner.onmicrosoft.com";
const NOT_AGENT: &str = "sales@partner.onmicrosoft.com";
const ABLE: &str = "10000000-0000-4000-8000-000000000001";
const READER: &str = "10000000-0000-4000-8000-000000000002";
const ENDED: &str = "10000000-0000-4000-8000-000000000003";
const PARTNER_SCOPE: &str =
    "https://graph.microsoft.com/DelegatedAdminRelationship.Read.All openid profile offline_access";
const PC_SCOPE: &str = "https://api.partnercenter.microsoft.com/user_impersonation";

fn customer(id: &str, name: &str, domain: &str) -> Value {
    json!({"id": id, "cloud": "global", "display_name": name, "domains": [domain],
           "users": [{"upn": format!("admin@{domain}"), "display_name": "Admin", "roles": ["Global Administrator"]}]})
}

fn with_partner(emu: &Emulator) {
    with_partner_consenting(emu, true)
}

/// The partner, its administrator having consented Partner Center for everyone (`consented`) or not.
fn with_partner_consenting(emu: &Emulator, consented: bool) {
    let mut f = emu.get("/_emulator/fixture", None).json();
    let tenants = f["tenants"].as_array_mut().expect("tenants");
    tenants.push(
        json!({"id": PARTNER, "cloud": "global", "display_name": "Partner", "domains": ["partner.onmicrosoft.com"],
        "users": [{"upn": AGENT, "display_name": "Agent"}, {"upn": NOT_AGENT, "display_name": "Sales"}]}),
    );
    tenants.push(customer(ABLE, "Able Corp", "able.onmicrosoft.com"));
    tenants.push(customer(READER, "Reader Ltd", "reader.onmicrosoft.com"));
    tenants.push(customer(ENDED, "Ended Inc", "ended.onmicrosoft.com"));
    f["partners"] = json!([{
        "tenant_id": PARTNER,
        "admin_agents": [AGENT],
        "partner_center_consent": consented,
        "relationships": [
            {"customer_tenant_id": ABLE, "roles": ["Cloud Application Administrator", "Privileged Role Administrator"]},
            {"customer_tenant_id": READER, "roles": ["Privileged Role Administrator"]},
            {"customer_tenant_id": ENDED, "roles": ["Global Administrator"], "status": "expired"}
        ]
    }]);
    let r = emu.send_json("POST", "/_emulator/reset", None, &f);
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The partner agent's token response (device code at the partner's authority).
fn sign_in(emu: &Emulator, upn: &str) -> Value {
    let dc = emu.devicecode(PARTNER, GLOBAL_CLIENT, PARTNER_SCOPE).json();
    assert_eq!(emu.approve(dc["user_code"].as_str().unwrap_or_default(), upn).status, 200);
    let t = emu.poll(PARTNER, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default());
    assert_eq!(t.status, 200, "{}", t.text);
    t.json()
}

fn refresh(emu: &Emulator, tenant: &str, rt: &str, scope: &str) -> common::Resp {
    emu.form(
        &format!("/{tenant}/oauth2/v2.0/token"),
        &[("client_id", GLOBAL_CLIENT), ("grant_type", "refresh_token"), ("refresh_token", rt), ("scope", scope)],
    )
}

fn consent(emu: &Emulator, pc_token: &str, customer: &str) -> common::Resp {
    emu.send_json(
        "POST",
        &format!("/partnercenter/v1/customers/{customer}/applicationconsents"),
        Some(pc_token),
        &json!({
            "applicationId": GLOBAL_CLIENT,
            "displayName": "M365 Backup Onboarding",
            "applicationGrants": [{
                "enterpriseApplicationId": GRAPH_APP_ID,
                "scope": "Application.ReadWrite.All,AppRoleAssignment.ReadWrite.All,Organization.Read.All"
            }]
        }),
    )
}

#[test]
fn a_partner_agent_onboards_a_customer_with_one_sign_in() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    with_partner(&emu);
    let t = sign_in(&emu, AGENT);
    let rt = t["refresh_token"].as_str().unwrap_or_default().to_string();
    let graph = t["access_token"].as_str().unwrap_or_default();

    // The relationships, in Graph's shape, paged.
    let page = emu.get("/v1.0/tenantRelationships/delegatedAdminRelationships?$top=2", Some(graph));
    assert_eq!(page.status, 200, "{}", page.text);
    let page = page.json();
    let first = &page["value"][0];
    assert_eq!(first["customer"]["tenantId"], ABLE);
    assert_eq!(first["customer"]["displayName"], "Able Corp");
    assert_eq!(first["status"], "active");
    let id = first["id"].as_str().unwrap_or_default();
    assert_eq!(id.len(), 73, "two GUIDs joined by '-': {id}");
    let roles: Vec<&str> = first["accessDetails"]["unifiedRoles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["roleDefinitionId"].as_str())
        .collect();
    assert!(roles.contains(&"158c047a-c907-4556-b7ef-446551a6b5f7"), "{roles:?}");
    let next = page["@odata.nextLink"].as_str().expect("a next page");
    let rest = next.strip_prefix("https://graph.microsoft.com").expect("on Graph's host");
    let page2 = emu.get(rest, Some(graph)).json();
    assert_eq!(page2["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(page2["value"][0]["status"], "expired");
    assert!(page2.get("@odata.nextLink").is_none());

    // Before Partner Center's consent the client cannot be signed in to at the customer.
    let early = refresh(&emu, ABLE, &rt, "https://graph.microsoft.com/.default");
    assert_eq!(early.status, 400);
    assert_eq!(aadsts(&early.json()), 65001);

    // A token for Partner Center from the same refresh token, then the consent.
    let pc = refresh(&emu, PARTNER, &rt, PC_SCOPE);
    assert_eq!(pc.status, 200, "{}", pc.text);
    let pc = pc.json();
    let pc_token = pc["access_token"].as_str().unwrap_or_default();
    assert_eq!(claims(pc_token)["aud"], "https://api.partnercenter.microsoft.com");
    let rt = pc["refresh_token"].as_str().unwrap_or_default().to_string();
    let given = consent(&emu, pc_token, ABLE);
    assert_eq!(given.status, 201, "{}", given.text);
    assert_eq!(given.json()["applicationId"], GLOBAL_CLIENT);
    assert_eq!(consent(&emu, pc_token, ABLE).status, 409, "a second consent");
    // Withdrawn, then given again.
    let path = format!("/partnercenter/v1/customers/{ABLE}/applicationconsents/{GLOBAL_CLIENT}");
    assert_eq!(emu.delete(&path, Some(pc_token)).status, 204);
    assert_eq!(emu.delete(&path, Some(pc_token)).status, 404);
    assert_eq!(consent(&emu, pc_token, ABLE).status, 201);

    // Now a token at the customer's authority: the customer's tid, the relationship's roles.
    let at = refresh(&emu, ABLE, &rt, "https://graph.microsoft.com/.default");
    assert_eq!(at.status, 200, "{}", at.text);
    let token = at.json()["access_token"].as_str().unwrap_or_default().to_string();
    let c = claims(&token);
    assert_eq!(c["tid"], ABLE);
    assert_eq!(c["idp"], json!(format!("https://sts.windows.net/{PARTNER}/")));
    let wids: Vec<&str> = c["wids"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(wids.contains(&"e8611ab8-c189-46e8-94e1-60213ab1f814"), "{wids:?}");
    let scp = c["scp"].as_str().unwrap_or_default();
    assert!(scp.contains("Application.ReadWrite.All") && !scp.contains("DelegatedAdminRelationship"), "{scp}");
    // And Graph serves the customer's tenant to the partner's agent, roles included.
    let org = emu.get("/v1.0/organization", Some(&token));
    assert_eq!(org.status, 200, "{}", org.text);
    assert_eq!(org.json()["value"][0]["id"], ABLE);
    let app = emu.send_json("POST", "/v1.0/applications", Some(&token), &json!({"displayName": "Backup"}));
    assert_eq!(app.status, 201, "{}", app.text);
    // A permission the consent did not give is refused.
    let more = refresh(&emu, ABLE, &rt, "https://graph.microsoft.com/Directory.ReadWrite.All");
    assert_eq!(more.status, 400);
    assert_eq!(aadsts(&more.json()), 65001);
}

#[test]
fn consent_needs_an_agent_an_active_relationship_and_a_consenting_role() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    with_partner(&emu);
    let rt = sign_in(&emu, AGENT)["refresh_token"].as_str().unwrap_or_default().to_string();
    let pc = refresh(&emu, PARTNER, &rt, PC_SCOPE).json();
    let pc_token = pc["access_token"].as_str().unwrap_or_default();
    assert_eq!(consent(&emu, pc_token, READER).status, 403, "Privileged Role Administrator cannot consent");
    assert_eq!(consent(&emu, pc_token, ENDED).status, 403, "an expired relationship");
    assert_eq!(consent(&emu, pc_token, CONTOSO).status, 403, "no relationship at all");
    // The refresh token of the expired relationship's agent gets nothing at that customer.
    let at =
        refresh(&emu, ENDED, pc["refresh_token"].as_str().unwrap_or_default(), "https://graph.microsoft.com/.default");
    assert_eq!(aadsts(&at.json()), 50020);
    // A Graph token is not a Partner Center token.
    let graph = refresh(&emu, PARTNER, &rt, "https://graph.microsoft.com/DelegatedAdminRelationship.Read.All").json();
    assert_eq!(consent(&emu, graph["access_token"].as_str().unwrap_or_default(), ABLE).status, 401);
    // A refused consent (the fault), then one allowed once it is cleared.
    emu.faults(json!({"kind": "consent_refused", "tenant": ABLE}));
    assert_eq!(consent(&emu, pc_token, ABLE).status, 403);
    assert_eq!(emu.delete("/_emulator/faults", None).status, 204);
    assert_eq!(consent(&emu, pc_token, ABLE).status, 201);
    // A user outside AdminAgents.
    let other = sign_in(&emu, NOT_AGENT)["refresh_token"].as_str().unwrap_or_default().to_string();
    let other_pc = refresh(&emu, PARTNER, &other, PC_SCOPE).json();
    assert_eq!(consent(&emu, other_pc["access_token"].as_str().unwrap_or_default(), READER).status, 403);
    // One token request names one resource.
    let mixed = refresh(&emu, PARTNER, &rt, &format!("{PC_SCOPE} https://graph.microsoft.com/User.Read"));
    assert_eq!(aadsts(&mixed.json()), 28000);
}

#[test]
fn partner_center_admits_fifty_requests_a_second_per_application() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    with_partner(&emu);
    let rt = sign_in(&emu, AGENT)["refresh_token"].as_str().unwrap_or_default().to_string();
    let pc = refresh(&emu, PARTNER, &rt, PC_SCOPE).json();
    let pc_token = pc["access_token"].as_str().unwrap_or_default();
    // Requests until one is refused; the refusal names when to come back. Fewer than 50 can pass
    // only when the second turned over meanwhile, so at least one of two runs sees 50.
    let mut refused = None;
    for _ in 0..120 {
        let r = consent(&emu, pc_token, READER);
        if r.status == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, 403);
    }
    let r = refused.expect("Partner Center throttles past 50 requests a second");
    assert_eq!(r.header("retry-after"), Some("1"));
}

#[test]
fn partner_center_tokens_need_a_consent_to_partner_center() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    with_partner_consenting(&emu, false);
    let rt = sign_in(&emu, AGENT)["refresh_token"].as_str().unwrap_or_default().to_string();
    let refused = refresh(&emu, PARTNER, &rt, PC_SCOPE);
    assert_eq!(refused.status, 400);
    assert_eq!(aadsts(&refused.json()), 65001);
    // A sign-in that names Partner Center's permission is the user's consent to it.
    let dc = emu.devicecode(PARTNER, GLOBAL_CLIENT, &format!("{PC_SCOPE} offline_access")).json();
    assert_eq!(emu.approve(dc["user_code"].as_str().unwrap_or_default(), AGENT).status, 200);
    assert_eq!(emu.poll(PARTNER, GLOBAL_CLIENT, dc["device_code"].as_str().unwrap_or_default()).status, 200);
    assert_eq!(refresh(&emu, PARTNER, &rt, PC_SCOPE).status, 200, "the earlier refresh token works now");
}
