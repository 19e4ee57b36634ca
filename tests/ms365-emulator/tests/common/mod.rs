//! Test harness: starts the built emulator binary on port 0, reads its first stdout line, and kills it
//! when dropped; plus small HTTP helpers that never follow redirects and never panic on 4xx.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub const CONTOSO: &str = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a60";
pub const FABRIKAM_GOV: &str = "2a7e9c14-3b5d-4e6f-8a90-b1c2d3e4f501";
pub const GLOBAL_CLIENT: &str = "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d01";
pub const GCC_HIGH_CLIENT: &str = "5c2d3a1e-0b7f-4c52-9e55-0f6a3b7c1d02";
pub const ADMIN: &str = "admin@contoso.onmicrosoft.com";
pub const USER: &str = "user@contoso.onmicrosoft.com";
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub const ADMIN_SCOPES: &str = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All https://graph.microsoft.com/Organization.Read.All openid profile offline_access";

/// A running emulator.
pub struct Emulator {
    child: Child,
    pub base: String,
    agent: ureq::Agent,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn to_resp(r: Result<ureq::Response, ureq::Error>) -> Resp {
    let r = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = r.status();
    let headers =
        r.headers_names().into_iter().filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_string()))).collect();
    let text = r.into_string().unwrap_or_default();
    Resp { status, headers, text }
}

impl Emulator {
    pub fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ms365-emulator"))
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        let agent = ureq::AgentBuilder::new().redirects(0).build();
        Emulator { child, base, agent }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.agent.get(&self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        to_resp(req.call())
    }

    pub fn send_json(&self, method: &str, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let mut req = self.agent.request(method, &self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        to_resp(req.send_json(body.clone()))
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.agent.delete(&self.url(path));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        to_resp(req.call())
    }

    pub fn form(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        to_resp(self.agent.post(&self.url(path)).send_form(pairs))
    }

    /// A form post with an `Origin` header, as a browser sends it cross-origin.
    pub fn form_from(&self, origin: &str, path: &str, pairs: &[(&str, &str)]) -> Resp {
        to_resp(self.agent.post(&self.url(path)).set("Origin", origin).send_form(pairs))
    }

    pub fn devicecode(&self, tenant: &str, client: &str, scope: &str) -> Resp {
        self.form(&format!("/{tenant}/oauth2/v2.0/devicecode"), &[("client_id", client), ("scope", scope)])
    }

    pub fn poll(&self, tenant: &str, client: &str, device_code: &str) -> Resp {
        self.form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[
                ("client_id", client),
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
            ],
        )
    }

    pub fn approve(&self, user_code: &str, upn: &str) -> Resp {
        self.send_json("POST", "/_emulator/device/approve", None, &json!({"user_code": user_code, "user": upn}))
    }

    /// A delegated token for `upn` through the device code flow (the emulator must run with interval 0).
    pub fn user_token(&self, tenant: &str, client: &str, scope: &str, upn: &str) -> String {
        let dc = self.devicecode(tenant, client, scope).json();
        let approved = self.approve(dc["user_code"].as_str().unwrap_or_default(), upn);
        assert_eq!(approved.status, 200, "{}", approved.text);
        let t = self.poll(tenant, client, dc["device_code"].as_str().unwrap_or_default());
        assert_eq!(t.status, 200, "{}", t.text);
        t.json()["access_token"].as_str().unwrap_or_default().to_string()
    }

    pub fn admin_token(&self) -> String {
        self.user_token(CONTOSO, GLOBAL_CLIENT, ADMIN_SCOPES, ADMIN)
    }

    pub fn faults(&self, body: Value) {
        let r = self.send_json("POST", "/_emulator/faults", None, &body);
        assert_eq!(r.status, 200, "{}", r.text);
    }

    /// Registers an application with a service principal, a secret and the given Graph roles.
    /// Returns (object id, app id, secret, sp id).
    pub fn register_app(&self, admin: &str, roles: &[&str]) -> (String, String, String, String) {
        let app = self.send_json(
            "POST",
            "/v1.0/applications",
            Some(admin),
            &json!({"displayName": "Backup", "signInAudience": "AzureADMyOrg"}),
        );
        assert_eq!(app.status, 201, "{}", app.text);
        let (id, app_id) = (
            app.json()["id"].as_str().unwrap_or_default().to_string(),
            app.json()["appId"].as_str().unwrap_or_default().to_string(),
        );
        let sp = self.send_json("POST", "/v1.0/servicePrincipals", Some(admin), &json!({"appId": app_id}));
        assert_eq!(sp.status, 201, "{}", sp.text);
        let sp_id = sp.json()["id"].as_str().unwrap_or_default().to_string();
        let pw = self.send_json(
            "POST",
            &format!("/v1.0/applications/{id}/addPassword"),
            Some(admin),
            &json!({"passwordCredential": {"displayName": "test"}}),
        );
        assert_eq!(pw.status, 200, "{}", pw.text);
        let secret = pw.json()["secretText"].as_str().unwrap_or_default().to_string();
        let graph = self
            .get(
                &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{GRAPH_APP_ID}'&$select=id,appRoles"),
                Some(admin),
            )
            .json();
        let graph_sp = &graph["value"][0];
        for role in roles {
            let role_id = graph_sp["appRoles"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["value"] == *role)
                .map(|r| r["id"].clone())
                .unwrap_or_default();
            let ra = self.send_json(
                "POST",
                &format!("/v1.0/servicePrincipals/{}/appRoleAssignedTo", graph_sp["id"].as_str().unwrap_or_default()),
                Some(admin),
                &json!({"principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": role_id}),
            );
            assert_eq!(ra.status, 201, "{}", ra.text);
        }
        (id, app_id, secret, sp_id)
    }

    pub fn client_credentials(&self, tenant: &str, client: &str, secret: &str, scope: &str) -> Resp {
        self.form(
            &format!("/{tenant}/oauth2/v2.0/token"),
            &[("client_id", client), ("grant_type", "client_credentials"), ("client_secret", secret), ("scope", scope)],
        )
    }
}

/// The claims of a JWT, unverified.
pub fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1).unwrap_or_default();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The AADSTS code of an OAuth error body.
pub fn aadsts(body: &Value) -> u64 {
    body["error_codes"][0].as_u64().unwrap_or(0)
}
