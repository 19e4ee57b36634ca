//! Microsoft Graph: authorization, the application registration sequence, errors in Graph's shape,
//! `$batch`, and the Graph-side faults.

mod common;

use common::*;
use serde_json::json;

#[test]
fn graph_refuses_missing_forged_and_underprivileged_tokens() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let none = emu.get("/v1.0/organization", None);
    assert_eq!(none.status, 401);
    let e = none.json();
    assert_eq!(e["error"]["code"], "InvalidAuthenticationToken");
    for k in ["date", "request-id", "client-request-id"] {
        assert!(e["error"]["innerError"][k].is_string(), "{k}");
    }
    assert_eq!(emu.get("/v1.0/organization", Some("a.b.c")).status, 401);

    // A non-admin user has the scopes but not the role.
    let user = emu.user_token(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES, USER);
    assert_eq!(emu.get("/v1.0/organization", Some(&user)).status, 200);
    let denied = emu.send_json("POST", "/v1.0/applications", Some(&user), &json!({"displayName": "x"}));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(denied.json()["error"]["message"], "Insufficient privileges to complete the operation.");

    // An app without roles cannot read users.
    let admin = emu.admin_token();
    let (_, app_id, secret, _) = emu.register_app(&admin, &[]);
    let t = emu.client_credentials(CONTOSO, &app_id, &secret, "https://graph.microsoft.com/.default").json();
    let app_token = t["access_token"].as_str().unwrap_or_default();
    assert_eq!(emu.get("/v1.0/users?$top=1", Some(app_token)).status, 403);
    assert_eq!(emu.get("/v1.0/organization", Some(app_token)).status, 403);
}

#[test]
fn an_admin_registers_an_application_end_to_end() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    let org = emu.get("/v1.0/organization", Some(&admin)).json();
    assert_eq!(org["value"][0]["id"], CONTOSO);
    assert_eq!(org["value"][0]["verifiedDomains"][0]["name"], "contoso.onmicrosoft.com");
    assert_eq!(org["value"][0]["verifiedDomains"][0]["isDefault"], true);

    let graph_sp = emu
        .get(
            &format!("/v1.0/servicePrincipals?$filter=appId eq '{GRAPH_APP_ID}'&$select=id,appId,appRoles")
                .replace(' ', "%20"),
            Some(&admin),
        )
        .json();
    let sp = &graph_sp["value"][0];
    assert_eq!(sp.as_object().map(|o| o.len()), Some(3), "{sp}");
    let role = |v: &str| {
        sp["appRoles"].as_array().into_iter().flatten().find(|r| r["value"] == v).cloned().unwrap_or_default()
    };
    assert_eq!(role("User.Read.All")["id"], "df021288-bdef-4463-88db-98f22de89214");
    assert_eq!(role("Organization.Read.All")["allowedMemberTypes"], json!(["Application"]));
    let exo = emu
        .get("/v1.0/servicePrincipals?$filter=appId%20eq%20'00000002-0000-0ff1-ce00-000000000000'", Some(&admin))
        .json();
    assert!(exo["value"][0]["appRoles"].to_string().contains("dc50a0fb-09a3-484d-be87-e023b12c6440"));

    let created = emu.send_json(
        "POST",
        "/v1.0/applications",
        Some(&admin),
        &json!({"displayName": "Backup", "signInAudience": "AzureADMyOrg",
                "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID, "resourceAccess": [{"id": "df021288-bdef-4463-88db-98f22de89214", "type": "Role"}]}]}),
    );
    assert_eq!(created.status, 201, "{}", created.text);
    let app = created.json();
    let id = app["id"].as_str().unwrap_or_default().to_string();
    assert!(app["appId"].is_string());
    let got = emu.get(&format!("/v1.0/applications/{id}"), Some(&admin)).json();
    assert_eq!(got["requiredResourceAccess"][0]["resourceAppId"], GRAPH_APP_ID);
    let filtered = emu
        .get(
            &format!("/v1.0/applications?$filter=appId%20eq%20'{}'", app["appId"].as_str().unwrap_or_default()),
            Some(&admin),
        )
        .json();
    assert_eq!(filtered["value"].as_array().map(Vec::len), Some(1));

    let sp = emu.send_json("POST", "/v1.0/servicePrincipals", Some(&admin), &json!({"appId": app["appId"]}));
    assert_eq!(sp.status, 201);
    assert_eq!(
        emu.send_json("POST", "/v1.0/servicePrincipals", Some(&admin), &json!({"appId": app["appId"]})).status,
        409
    );
    let sp_id = sp.json()["id"].as_str().unwrap_or_default().to_string();

    let pw = emu.send_json(
        "POST",
        &format!("/v1.0/applications/{id}/addPassword"),
        Some(&admin),
        &json!({"passwordCredential": {"displayName": "backup"}}),
    );
    let p = pw.json();
    for k in ["customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId", "secretText", "startDateTime"] {
        assert!(p.get(k).is_some(), "{k} in {p}");
    }
    assert_eq!(p["hint"].as_str(), p["secretText"].as_str().map(|s| &s[..3]));
    let listed = emu.get(&format!("/v1.0/applications/{id}"), Some(&admin)).json();
    assert_eq!(listed["passwordCredentials"][0]["secretText"], json!(null), "the value is never shown again");

    let resource_id = graph_sp["value"][0]["id"].as_str().unwrap_or_default().to_string();
    let grant = |role_id: &str| {
        emu.send_json(
            "POST",
            &format!("/v1.0/servicePrincipals/{resource_id}/appRoleAssignedTo"),
            Some(&admin),
            &json!({"principalId": sp_id, "resourceId": resource_id, "appRoleId": role_id}),
        )
    };
    assert_eq!(grant("df021288-bdef-4463-88db-98f22de89214").status, 201);
    assert_eq!(grant("df021288-bdef-4463-88db-98f22de89214").status, 400, "duplicate");
    assert_eq!(grant("00000000-0000-0000-0000-000000000001").status, 400, "unknown role");
    let assignments = emu.get(&format!("/v1.0/servicePrincipals/{sp_id}/appRoleAssignments"), Some(&admin)).json();
    assert_eq!(assignments["value"][0]["appRoleId"], "df021288-bdef-4463-88db-98f22de89214");

    // A non-admin cannot grant roles.
    let user = emu.user_token(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES, USER);
    let r = emu.send_json(
        "POST",
        &format!("/v1.0/servicePrincipals/{resource_id}/appRoleAssignedTo"),
        Some(&user),
        &json!({}),
    );
    assert_eq!(r.status, 403);

    let key_id = p["keyId"].as_str().unwrap_or_default();
    assert_eq!(
        emu.send_json(
            "POST",
            &format!("/v1.0/applications/{id}/removePassword"),
            Some(&admin),
            &json!({"keyId": key_id})
        )
        .status,
        204
    );
    assert_eq!(
        emu.send_json("PATCH", &format!("/v1.0/applications/{id}"), Some(&admin), &json!({"nonsense": 1})).status,
        400
    );
    assert_eq!(
        emu.send_json(
            "PATCH",
            &format!("/v1.0/applications/{id}"),
            Some(&admin),
            &json!({"keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA=="}]})
        )
        .status,
        400
    );
    assert_eq!(emu.delete(&format!("/v1.0/applications/{id}"), Some(&admin)).status, 204);
    assert_eq!(emu.get(&format!("/v1.0/applications/{id}"), Some(&admin)).status, 404);
    assert_eq!(
        emu.get(&format!("/v1.0/servicePrincipals/{sp_id}"), Some(&admin)).status,
        404,
        "the SP goes with the app"
    );
    assert_eq!(emu.get("/v1.0/applications?$filter=appId%20ne%20'x'", Some(&admin)).status, 400);
    assert_eq!(emu.get("/v1.0/nothing", Some(&admin)).status, 400);
}

#[test]
fn service_principals_wait_for_replication_and_secrets_can_be_forbidden() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    emu.faults(json!([{"kind": "replication_delay", "target": "service_principal", "ms": 800}, {"kind": "secrets_forbidden", "tenant": CONTOSO}]));
    let app = emu.send_json("POST", "/v1.0/applications", Some(&admin), &json!({"displayName": "Backup"})).json();
    let r = emu.send_json("POST", "/v1.0/servicePrincipals", Some(&admin), &json!({"appId": app["appId"]}));
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], "NoBackingApplicationObject");
    assert!(r.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .contains("does not reference a valid application object"));
    emu.send_json("POST", "/_emulator/clock", None, &json!({"advance_seconds": 1}));
    assert_eq!(
        emu.send_json("POST", "/v1.0/servicePrincipals", Some(&admin), &json!({"appId": app["appId"]})).status,
        201
    );
    let pw = emu.send_json(
        "POST",
        &format!("/v1.0/applications/{}/addPassword", app["id"].as_str().unwrap_or_default()),
        Some(&admin),
        &json!({}),
    );
    assert_eq!(pw.status, 400);
    assert_eq!(pw.json()["error"]["code"], "CredentialTypeNotAllowedAsPerAssignedPolicy");
}

#[test]
fn batch_runs_in_dependency_order_and_is_throttled_per_request() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    let body = json!({"requests": [
        {"id": "2", "method": "GET", "url": "/organization", "dependsOn": ["1"]},
        {"id": "1", "method": "POST", "url": "/applications", "headers": {"Content-Type": "application/json"}, "body": {"displayName": "Batched"}},
        {"id": "3", "method": "GET", "url": "applications?$select=id,displayName"}
    ]});
    // A request with a body but no Content-Type fails the whole batch, nothing is run.
    let untyped = json!({"requests": [
        {"id": "7", "method": "POST", "url": "/applications", "body": {"displayName": "Untyped"}}
    ]});
    let refused = emu.send_json("POST", "/v1.0/$batch", Some(&admin), &untyped);
    assert_eq!(refused.status, 400, "{}", refused.text);
    assert_eq!(
        refused.json()["error"]["message"],
        "Write request id : 7 does not contain Content-Type header or body."
    );
    let r = emu.send_json("POST", "/v1.0/$batch", Some(&admin), &body);
    assert_eq!(r.status, 200, "{}", r.text);
    let responses = r.json()["responses"].as_array().cloned().unwrap_or_default();
    let ids: Vec<&str> = responses.iter().filter_map(|x| x["id"].as_str()).collect();
    assert!(ids.iter().position(|i| *i == "1") < ids.iter().position(|i| *i == "2"), "{ids:?}");
    let by_id = |id: &str| responses.iter().find(|x| x["id"] == id).cloned().unwrap_or_default();
    assert_eq!(by_id("1")["status"], 201);
    assert_eq!(by_id("1")["body"]["displayName"], "Batched");
    assert_eq!(by_id("2")["status"], 200);
    assert!(by_id("3")["headers"].is_object());

    // A failed dependency gives 424.
    let r = emu.send_json(
        "POST",
        "/v1.0/$batch",
        Some(&admin),
        &json!({"requests": [
        {"id": "a", "method": "GET", "url": "/applications/00000000-0000-0000-0000-000000000000"},
        {"id": "b", "method": "GET", "url": "/organization", "dependsOn": ["a"]}]}),
    );
    let statuses: Vec<u64> =
        r.json()["responses"].as_array().into_iter().flatten().filter_map(|x| x["status"].as_u64()).collect();
    assert_eq!(statuses, vec![404, 424]);

    // More than 20 requests.
    let many: Vec<_> = (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/organization"})).collect();
    assert_eq!(emu.send_json("POST", "/v1.0/$batch", Some(&admin), &json!({"requests": many})).status, 400);

    // Throttling counts inner requests: the second inner request gets its own 429.
    emu.faults(json!({"kind": "throttle", "route": "/v1.0/organization", "status": 429, "retry_after": 3, "times": 1, "after": 1}));
    let r = emu.send_json(
        "POST",
        "/v1.0/$batch",
        Some(&admin),
        &json!({"requests": [
        {"id": "1", "method": "GET", "url": "/organization"},
        {"id": "2", "method": "GET", "url": "/organization"},
        {"id": "3", "method": "GET", "url": "/organization"}]}),
    );
    assert_eq!(r.status, 200);
    let rs = r.json()["responses"].clone();
    assert_eq!(rs[0]["status"], 200);
    assert_eq!(rs[1]["status"], 429);
    assert_eq!(rs[1]["headers"]["Retry-After"], "3");
    assert_eq!(rs[1]["body"]["error"]["code"], "TooManyRequests");
    assert_eq!(rs[2]["status"], 200);

    // The request log shows the inner requests.
    let log = emu.get("/_emulator/requests", None).json();
    let last = log["requests"].as_array().and_then(|a| a.last().cloned()).unwrap_or_default();
    assert_eq!(last["path"], "/v1.0/$batch");
    assert_eq!(last["batch"][1]["status"], 429);
    assert_eq!(last["client_id"], GLOBAL_CLIENT);
}

#[test]
fn throttling_and_latency_on_direct_calls() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let admin = emu.admin_token();
    emu.faults(json!([{"kind": "throttle", "route": "graph", "status": 503, "retry_after": 2, "times": 1},
                      {"kind": "throttle", "route": "token", "status": 429, "times": 1}]));
    let r = emu.get("/v1.0/organization", Some(&admin));
    assert_eq!((r.status, r.header("retry-after")), (503, Some("2")));
    assert_eq!(emu.get("/v1.0/organization", Some(&admin)).status, 200);
    let t = emu.client_credentials(CONTOSO, GLOBAL_CLIENT, "x", "https://graph.microsoft.com/.default");
    assert_eq!((t.status, t.header("retry-after")), (429, Some("1")));
    assert_eq!(t.json()["error"], "temporarily_unavailable");

    assert_eq!(emu.delete("/_emulator/faults", None).status, 204);
    emu.faults(json!({"kind": "latency", "ms": 300, "route": "graph"}));
    let start = std::time::Instant::now();
    assert_eq!(emu.get("/v1.0/organization", Some(&admin)).status, 200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(
        emu.send_json("POST", "/_emulator/faults", None, &json!({"kind": "throttle", "route": "graph", "status": 500}))
            .status,
        400
    );
    assert_eq!(emu.send_json("POST", "/_emulator/faults", None, &json!({"kind": "gremlins"})).status, 400);
}

#[test]
fn directory_roles_allow_what_microsoft_documents_and_tokens_carry_them_in_wids() {
    let emu = Emulator::start(&["--device-code-interval", "0"]);
    let token = |upn: &str| emu.user_token(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES, upn);
    let (app_admin, role_admin, pair) = (
        token("app-admin@contoso.onmicrosoft.com"),
        token("role-admin@contoso.onmicrosoft.com"),
        token("apps-and-roles@contoso.onmicrosoft.com"),
    );
    let claims = |t: &str| -> serde_json::Value {
        use base64::Engine as _;
        let part = t.split('.').nth(1).unwrap_or_default();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap_or_default())
            .unwrap_or_default()
    };
    assert_eq!(claims(&app_admin)["wids"], json!(["9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"]));
    assert_eq!(
        claims(&pair)["wids"],
        json!(["e8611ab8-c189-46e8-94e1-60213ab1f814", "158c047a-c907-4556-b7ef-446551a6b5f7"])
    );
    assert!(claims(&token(USER)).get("wids").is_none(), "no role, no claim");

    // A Privileged Role Administrator alone cannot create applications.
    let denied = emu.send_json("POST", "/v1.0/applications", Some(&role_admin), &json!({"displayName": "x"}));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["error"]["code"], "Authorization_RequestDenied");

    // An Application Administrator creates it, but cannot grant Microsoft Graph's app roles;
    // Exchange Online's, yes.
    let (_, _, _, sp_id) = emu.register_app(&app_admin, &[]);
    let resource = |app_id: &str| {
        emu.get(&format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{app_id}'&$select=id,appRoles"), Some(&pair))
            .json()["value"][0]
            .clone()
    };
    let grant = |who: &str, sp: &serde_json::Value, role: &str| {
        let role_id =
            sp["appRoles"].as_array().into_iter().flatten().find(|r| r["value"] == role).map(|r| r["id"].clone());
        emu.send_json(
            "POST",
            &format!("/v1.0/servicePrincipals/{}/appRoleAssignedTo", sp["id"].as_str().unwrap_or_default()),
            Some(who),
            &json!({"principalId": sp_id, "resourceId": sp["id"], "appRoleId": role_id}),
        )
        .status
    };
    let graph = resource(GRAPH_APP_ID);
    let exchange = resource("00000002-0000-0ff1-ce00-000000000000");
    assert_eq!(grant(&app_admin, &graph, "User.Read.All"), 403, "Graph's application permissions");
    assert_eq!(grant(&app_admin, &exchange, "full_access_as_app"), 201, "another API's");
    // Granting needs reading applications too: AppRoleAssignment.ReadWrite.All alone is not enough,
    // even for a Global Administrator.
    let narrow =
        emu.user_token(CONTOSO, GLOBAL_CLIENT, "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All", ADMIN);
    assert_eq!(grant(&narrow, &graph, "User.Read.All"), 403);
    // The Privileged Role Administrator grants Graph's.
    assert_eq!(grant(&role_admin, &graph, "User.Read.All"), 201);
}
