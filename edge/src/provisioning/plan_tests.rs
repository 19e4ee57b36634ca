//! The registration's state machine, natively: each phase against Graph's answers.

use super::*;
use crate::provisioning::manifest::assignments_per_application;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};
use shared::api::{StepState, Workload};
use shared::selfsigned::GENERATED_LIFETIME_DAYS;
use std::collections::HashMap;

pub(crate) fn fake_certificate(o: &CertificateOrder) -> GeneratedCertificate {
    GeneratedCertificate {
        der_base64: STANDARD.encode(format!("certificate {}", o.index)),
        pkcs8_base64: SecretString::new(STANDARD.encode(format!("key {}", o.index))),
        info: CertificateInfo {
            thumbprint_sha1: format!("SHA1{}", o.index),
            thumbprint_sha256: format!("SHA256{}", o.index),
            subject: format!("CN={}", o.common_name),
            issuer: format!("CN={}", o.common_name),
            serial: "01".into(),
            not_before: crate::time::rfc3339_ms(Millis(o.not_before * 1000)),
            not_after: crate::time::rfc3339_ms(Millis(o.not_after * 1000)),
            key_type: "RSA".into(),
            key_bits: 2048,
        },
        not_before: o.not_before,
        not_after: o.not_after,
    }
}

/// A strict, tiny stand-in for a tenant's Graph: answers each batch item like Graph would, and
/// can hold back new objects (replication delay) or refuse (no admin role).
#[derive(Default)]
struct FakeTenant {
    apps: HashMap<String, (String, Vec<String>)>, // object id -> (app id, tags)
    sps: Vec<String>,
    assignments: usize,
    sp_not_replicated_for: u32,
    verify_refusals: u32,
    forbid_create: bool,
    /// `PATCH` with `keyCredentials` is refused with this code (a policy Microsoft enforces).
    refuse_keys: Option<&'static str>,
    deleted: Vec<String>,
    patched: usize,
    /// App role values the tenant's resources do not offer (a national cloud's Graph).
    withheld: Vec<&'static str>,
    /// The default app management policy (`None`: Microsoft's default, disabled).
    policy: Option<Value>,
    /// The sign-in may not read the policy (403).
    policy_denied: bool,
    /// The `keyCredentials` of each `PATCH` that sets them.
    keys: Vec<Value>,
    /// The certificates ordered.
    orders: Vec<CertificateOrder>,
    /// Lookups of these resources' service principals answer 429 once.
    throttle_resources: Vec<&'static str>,
    /// Application IDs whose service principal is disabled.
    disabled: Vec<String>,
    /// (principal, role ID) assigned already (a new assignment answers "already exists").
    existing_grants: Vec<(String, String)>,
    /// `PATCH /servicePrincipals/{id}` bodies.
    sp_patches: Vec<(String, Value)>,
    /// The runtime never records what it sends (a run from before it did, or a lost write).
    unrecorded: bool,
}

impl FakeTenant {
    fn answer(&mut self, item: &BatchItem) -> BatchResult {
        let ok =
            |status: u16, body: Value| BatchResult { id: item.id.clone(), status, headers: Default::default(), body };
        let err = |status: u16, code: &str, msg: &str| {
            ok(status, json!({"error": {"code": code, "message": msg, "innerError": {"request-id": "r"}}}))
        };
        let url = item.url.as_str();
        match (item.method, url) {
            ("GET", u) if u.starts_with("/organization") => ok(
                200,
                json!({"value": [{"id": "tid", "displayName": "Contoso", "verifiedDomains": [
                    {"name": "contoso.onmicrosoft.com", "isDefault": false},
                    {"name": "contoso.com", "isDefault": true}]}]}),
            ),
            ("GET", "/policies/defaultAppManagementPolicy") => {
                if self.policy_denied {
                    return err(
                        403,
                        "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.",
                    );
                }
                ok(200, self.policy.clone().unwrap_or_else(|| json!({"isEnabled": false})))
            }
            ("GET", u) if u.starts_with("/servicePrincipals?") && u.contains("accountEnabled") => {
                let found: Vec<Value> = self
                    .sps
                    .iter()
                    .filter(|a| u.contains(&format!("'{a}'")))
                    .map(|a| json!({"id": format!("sp-{a}"), "accountEnabled": !self.disabled.contains(a)}))
                    .collect();
                ok(200, json!({"value": found}))
            }
            ("PATCH", u) if u.starts_with("/servicePrincipals/") => {
                let app = u.trim_start_matches("/servicePrincipals/sp-").to_owned();
                self.disabled.retain(|a| *a != app);
                self.sp_patches.push((app, item.body.clone().unwrap()));
                ok(204, Value::Null)
            }
            ("GET", u) if u.starts_with("/servicePrincipals?") => {
                let r = RESOURCES.iter().find(|r| u.contains(r.app_id)).unwrap();
                if let Some(n) = self.throttle_resources.iter().position(|a| *a == r.app_id) {
                    self.throttle_resources.remove(n);
                    return err(429, "TooManyRequests", "Too many requests.");
                }
                let roles: Vec<Value> = r
                    .permissions
                    .iter()
                    .filter(|p| !self.withheld.contains(&p.value))
                    .map(|p| json!({"id": format!("role-{}", p.value), "value": p.value}))
                    .collect();
                ok(200, json!({"value": [{"id": format!("sp-{}", r.app_id), "appId": r.app_id, "appRoles": roles}]}))
            }
            ("POST", "/applications") => {
                if self.forbid_create {
                    return err(
                        403,
                        "Authorization_RequestDenied",
                        "Insufficient privileges to complete the operation.",
                    );
                }
                let n = self.apps.len();
                let tags = item.body.as_ref().unwrap()["tags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().to_owned())
                    .collect();
                self.apps.insert(format!("obj{n}"), (format!("app{n}"), tags));
                let rra = item.body.as_ref().unwrap()["requiredResourceAccess"].clone();
                ok(201, json!({"id": format!("obj{n}"), "appId": format!("app{n}"), "requiredResourceAccess": rra}))
            }
            ("PATCH", u) if u.starts_with("/applications/") => {
                self.patched += 1;
                if let Some(keys) = item.body.as_ref().and_then(|b| b.get("keyCredentials")) {
                    if let Some(code) = self.refuse_keys {
                        return err(
                            400,
                            code,
                            "Credential lifetime exceeds the max value allowed as per assigned policy.",
                        );
                    }
                    self.keys.push(keys.clone());
                }
                ok(204, Value::Null)
            }
            ("GET", u) if u.starts_with("/applications?") => {
                let found: Vec<Value> = self
                    .apps
                    .iter()
                    .filter(|(_, (aid, tags))| {
                        tags.iter().any(|t| u.contains(&format!("'{t}'"))) || u.contains(&format!("appId eq '{aid}'"))
                    })
                    .map(|(oid, (aid, _))| json!({"id": oid, "appId": aid}))
                    .collect();
                ok(200, json!({"value": found}))
            }
            ("POST", "/servicePrincipals") => {
                if self.sp_not_replicated_for > 0 {
                    self.sp_not_replicated_for -= 1;
                    return err(
                        400,
                        "NoBackingApplicationObject",
                        "The appId of the service principal does not reference a valid application object.",
                    );
                }
                let app = item.body.as_ref().unwrap()["appId"].as_str().unwrap().to_owned();
                if self.sps.contains(&app) {
                    // One service principal per application and tenant: the unique key is taken.
                    return err(
                        409,
                        "Request_MultipleObjectsWithSameKeyValue",
                        "The service principal cannot be created, updated, or restored because the service principal name is already in use.",
                    );
                }
                self.sps.push(app.clone());
                ok(201, json!({"id": format!("sp-{app}"), "appId": app}))
            }
            ("POST", u) if u.ends_with("/appRoleAssignedTo") => {
                let body = item.body.as_ref().unwrap();
                let pair =
                    (body["principalId"].as_str().unwrap().to_owned(), body["appRoleId"].as_str().unwrap().to_owned());
                if self.existing_grants.contains(&pair) {
                    return err(400, "Request_BadRequest", "Permission being assigned already exists on the object");
                }
                self.assignments += 1;
                ok(201, json!({"appRoleId": item.body.as_ref().unwrap()["appRoleId"]}))
            }
            ("DELETE", u) => {
                let oid = u.trim_start_matches("/applications/").to_owned();
                self.apps.remove(&oid);
                self.deleted.push(oid);
                ok(204, Value::Null)
            }
            other => panic!("unexpected request {other:?}"),
        }
    }

    /// The tenant's answers to the batches of a [`Work::Graph`], in order.
    fn answers(&mut self, batches: &[Vec<BatchItem>]) -> Vec<Result<Vec<BatchResult>, MicrosoftError>> {
        batches.iter().map(|b| Ok(b.iter().map(|i| self.answer(i)).collect())).collect()
    }

    /// Drives `reg` to the end; returns the simulated time taken.
    fn run(&mut self, reg: &mut Registration) -> Millis {
        let mut now = 0;
        for _ in 0..200 {
            match reg.next(Millis(now)) {
                Work::Graph(batches) => {
                    if !self.unrecorded {
                        reg.mark_sent();
                    }
                    assert!(batches.iter().all(|b| b.len() <= MAX_BATCH && !b.is_empty()));
                    let answers = self.answers(&batches);
                    reg.on_batches(answers, Millis(now));
                }
                Work::Certificates(orders) => {
                    self.orders.extend(orders.iter().cloned());
                    reg.on_certificates(Ok(orders.iter().map(|o| (o.index, fake_certificate(o))).collect()));
                }
                Work::Verify(indexes) => {
                    for i in indexes {
                        let outcome = if self.verify_refusals > 0 {
                            self.verify_refusals -= 1;
                            VerifyOutcome::Refused(MicrosoftError {
                                code: ErrorCode::InvalidClientSecret,
                                status: 401,
                                correlation: Default::default(),
                                retry_after: None,
                            })
                        } else {
                            VerifyOutcome::Works
                        };
                        reg.on_verified(i, outcome, Millis(now));
                    }
                }
                Work::WaitUntil(t) => now = t.ms(),
                Work::Done | Work::Failed(_) => return Millis(now),
            }
            now += 50;
        }
        panic!("registration did not finish");
    }
}

/// A tenant holding a saved organization's main application `app-kept` (object `obj-kept`),
/// with every Graph role granted except `Mail.ReadWrite` and its service principal disabled.
fn tenant_with_saved_application() -> FakeTenant {
    let mut tenant = FakeTenant::default();
    tenant.apps.insert("obj-kept".into(), ("app-kept".into(), vec!["m365onb-old-0".into()]));
    tenant.sps.push("app-kept".into());
    tenant.disabled.push("app-kept".into());
    tenant.existing_grants = RESOURCES
        .iter()
        .flat_map(|r| r.permissions_in(CloudEnvironment::Global))
        .filter(|p| p.value != "Mail.ReadWrite")
        .map(|p| ("sp-app-kept".to_owned(), format!("role-{}", p.value)))
        .collect();
    tenant
}

fn repair_of(renew_main: bool) -> Registration {
    let apps = [
        RepairApp { index: 0, app_id: "app-kept".into(), renew: renew_main },
        RepairApp { index: 1, app_id: "app-deleted".into(), renew: false },
    ];
    Registration::repair(CloudEnvironment::Global, "M365 Backup", "m365onb-r1", "tid", &apps)
}

#[test]
fn a_repair_does_only_what_is_missing() {
    let mut tenant = tenant_with_saved_application();
    let mut reg = repair_of(false);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);

    // The main application is where it was: enabled again, its missing role granted, its
    // permissions declared against the current manifest, its credential untouched.
    let main = reg.app(0).unwrap();
    assert_eq!((main.object_id(), main.app_id()), (Some("obj-kept"), Some("app-kept")));
    assert!(main.origin == Origin::Adopted && matches!(main.credential, Credential::Kept));
    assert!(tenant.disabled.is_empty());
    assert_eq!(tenant.sp_patches, vec![("app-kept".to_owned(), json!({"accountEnabled": true}))]);
    assert_eq!(reg.granted_permissions(main).len(), assignments_per_application(CloudEnvironment::Global));

    // The deleted additional application is created again with a new ID and a certificate.
    let again = reg.app(1).unwrap();
    assert_eq!(again.app_id(), Some("app1"), "a new application (the fake numbers them)");
    assert!(again.origin == Origin::New && again.certificate().is_some() && again.verified);
    assert_eq!(tenant.orders.iter().map(|o| o.index).collect::<Vec<_>>(), vec![1], "a certificate only for it");
    assert_eq!(tenant.keys.len(), 1, "the kept application's keys are not touched");
    assert_eq!(tenant.apps.len(), 2);
    assert!(tenant.deleted.is_empty());

    // Only what was missing was assigned: the main application's one role, and the new one's.
    let workload_1 = RESOURCES
        .iter()
        .flat_map(|r| r.permissions_in(CloudEnvironment::Global))
        .filter(|p| p.for_workload(Workload::of_index(1)))
        .count();
    assert_eq!(tenant.assignments, 1 + workload_1);
    // tenant, then the create; credentials; grants.
    assert_eq!(reg.graph_round_trips, 4);
}

#[test]
fn a_repair_that_keeps_every_credential_has_nothing_to_check() {
    let mut tenant = tenant_with_saved_application();
    let apps = [RepairApp { index: 0, app_id: "app-kept".into(), renew: false }];
    let mut reg = Registration::repair(CloudEnvironment::Global, "M365 Backup", "m365onb-r1", "tid", &apps);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(reg.next(Millis(0)), Work::Done);
    assert_eq!((tenant.assignments, tenant.orders.len()), (1, 0), "the missing role, no certificate");
}

#[test]
fn a_repair_renews_a_failing_credential_with_a_certificate() {
    let mut tenant = tenant_with_saved_application();
    let mut reg = repair_of(true);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    let main = reg.app(0).unwrap();
    assert!(matches!(main.credential, Credential::Registered(_)) && main.verified);
    assert_eq!(main.object_id(), Some("obj-kept"), "the same application");
    assert_eq!(tenant.orders.iter().map(|o| o.index).collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn a_failed_repair_deletes_what_it_created_and_never_what_was_there() {
    let mut tenant =
        FakeTenant { refuse_keys: Some("CredentialTypeNotAllowedAsPerAppPolicy"), ..tenant_with_saved_application() };
    let mut reg = repair_of(true);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    assert_eq!(tenant.deleted, vec!["obj1".to_owned()], "only the application the repair created");
    assert!(tenant.apps.contains_key("obj-kept"));
}

#[test]
fn a_repair_signed_in_to_another_tenant_changes_nothing() {
    let mut tenant = tenant_with_saved_application();
    let apps = [RepairApp { index: 0, app_id: "app-kept".into(), renew: true }];
    let mut reg = Registration::repair(CloudEnvironment::Global, "M365 Backup", "m365onb-r1", "other-tenant", &apps);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::SignInTenantMismatch);
    assert_eq!(reg.graph_round_trips, 1, "only reads");
    assert!(tenant.deleted.is_empty() && tenant.sp_patches.is_empty() && tenant.keys.is_empty());
    assert_eq!((tenant.apps.len(), tenant.assignments, tenant.patched), (1, 0, 0));
}

#[test]
fn applications_for_a_named_tenant_are_created_only_in_that_tenant() {
    // The fake tenant is "tid": another tenant named by the caller creates nothing.
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::for_tenant(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 1, 3, "other-tenant");
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::SignInTenantMismatch);
    assert!(tenant.apps.is_empty() && tenant.deleted.is_empty(), "nothing was created, nothing to delete");
    assert!(reg.apps.iter().all(|a| a.object == Object::New), "marked only once a create was really sent");
    assert_eq!(reg.graph_round_trips, 1);

    // The right tenant (matched without regard to case): created after the read, one round trip more.
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::for_tenant(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 1, 3, "TID");
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done);
    assert_eq!(tenant.apps.len(), 3);
    assert_eq!(reg.graph_round_trips, 4, "tenant, then discover, credentials, grant");
    assert!(reg.apps.iter().all(|a| matches!(a.object, Object::Known { .. })));
}

#[test]
fn one_application_within_the_graph_budget() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done);
    assert!(
        reg.graph_round_trips <= 5 && reg.graph_requests <= 8,
        "{} / {}",
        reg.graph_round_trips,
        reg.graph_requests
    );
    assert_eq!(
        reg.graph_round_trips, 3,
        "discover, credentials, grant (the check's Graph call is counted by the caller)"
    );
    let t = reg.tenant.as_ref().unwrap();
    assert_eq!((t.id.as_str(), t.display_name.as_str(), t.default_domain.as_str()), ("tid", "Contoso", "contoso.com"));
    let app = reg.app(0).unwrap();
    assert_eq!(app.app_id(), Some("app0"));
    assert!(app.secret().is_none(), "no client secret: SharePoint refuses them");
    assert_eq!(app.certificate().unwrap().info.subject, "CN=M365 Backup");
    assert_eq!(tenant.keys.len(), 1, "the certificate is registered in the credentials round trip");
    assert_eq!(tenant.keys[0][0]["type"], "AsymmetricX509Cert");
    assert_eq!(tenant.keys[0][0]["key"], app.certificate().unwrap().der_base64.as_str());
    assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::Global));
    assert!(reg.progress(1).iter().all(|s| s.state == StepState::Done));
}

#[test]
fn three_more_applications_within_the_budget() {
    let mut tenant = FakeTenant::default();
    let mut main = Registration::new(CloudEnvironment::Global, "M365 Backup", "m365onb-s1", 0, 1);
    tenant.run(&mut main);
    let mut more = Registration::more(&main, "m365onb-s1", 1, 3);
    tenant.run(&mut more);
    assert_eq!(more.phase, Phase::Done);
    // Discover (1) + credentials (1) + grants (each application its workload's: 22 assignments
    // = 2 batches, one round trip).
    assert_eq!(more.graph_round_trips, 3);
    assert_eq!(more.graph_requests, 4);
    let per_workload = |i: u8| {
        RESOURCES
            .iter()
            .flat_map(|r| r.permissions_in(CloudEnvironment::Global))
            .filter(|p| p.for_workload(Workload::of_index(i)))
            .count()
    };
    assert_eq!(per_workload(0), assignments_per_application(CloudEnvironment::Global));
    assert_eq!(tenant.assignments, (0..=3).map(per_workload).sum::<usize>());
    assert!(per_workload(1) < per_workload(0), "an additional application is not a clone");
    assert_eq!(tenant.patched, 4, "one PATCH per application (its certificate; the additional applications declared their permissions at creation)");
    assert_eq!(tenant.keys.len(), 4);
    let requests: Vec<_> = more.apps.iter().map(|a| matches!(a.credential, Credential::Registered(_))).collect();
    assert_eq!(requests, vec![true; 3]);
    let names: Vec<u8> = more.apps.iter().map(|a| a.index).collect();
    assert_eq!(names, vec![1, 2, 3]);
}

#[test]
fn a_national_cloud_is_not_asked_for_the_graph_mailbox_roles_it_does_not_have() {
    let mailbox = ["MailboxItem.Read.All", "MailboxItem.ImportExport.All", "MailboxFolder.ReadWrite.All"];
    let mut tenant = FakeTenant { withheld: mailbox.to_vec(), ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::UsGovGccHigh, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::UsGovGccHigh));

    // In the Global cloud the same tenant lacks what the manifest asks for: named, not granted less.
    let mut tenant = FakeTenant { withheld: mailbox.to_vec(), ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    let e = reg.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorCode::PermissionUnavailable);
    assert!(e.message.contains("MailboxItem.ImportExport.All (Microsoft Graph)"), "{}", e.message);
}

#[test]
fn a_resource_without_a_permission_fails_with_its_name_and_leaves_nothing() {
    let mut tenant = FakeTenant { withheld: vec!["Sites.FullControl.All"], ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    let e = reg.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorCode::PermissionUnavailable);
    assert!(e.message.contains("Sites.FullControl.All (Office 365 SharePoint Online)"), "{}", e.message);
    assert!(!e.message.contains("permissions"), "one permission: {}", e.message);
    assert!(tenant.apps.is_empty() && tenant.deleted == vec!["obj0".to_owned()], "created, then deleted");
    assert_eq!(tenant.assignments, 0, "nothing was granted");
}

fn tenant_policy(password: Value, key: Value) -> Value {
    json!({"id": "00000000-0000-0000-0000-000000000000", "isEnabled": true,
        "applicationRestrictions": {"passwordCredentials": password, "keyCredentials": key},
        "servicePrincipalRestrictions": {"passwordCredentials": [], "keyCredentials": []}})
}

#[test]
fn a_policy_that_caps_certificates_at_180_days_gets_one_inside_it_in_the_same_round_trips() {
    let cap = json!([{"restrictionType": "asymmetricKeyLifetime", "maxLifetime": "P180D",
        "restrictForAppsCreatedAfterDateTime": "1970-01-01T00:00:00Z"}]);
    let mut tenant = FakeTenant { policy: Some(tenant_policy(json!([]), cap)), ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    let o = &tenant.orders[0];
    assert_eq!(o.not_after - o.not_before, 179 * 86_400, "a day inside the policy's longest");
    let key = &tenant.keys[0][0];
    let (start, end) = (key["startDateTime"].as_str().unwrap(), key["endDateTime"].as_str().unwrap());
    let lifetime = crate::time::parse_rfc3339(end).unwrap() - crate::time::parse_rfc3339(start).unwrap();
    assert_eq!(lifetime, 179 * 86_400, "the key credential says the same");
    assert!(reg.graph_round_trips <= 5 && reg.graph_requests <= 8, "the policy is read in the first batch");

    // No policy: the usual two years.
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    let o = &tenant.orders[0];
    assert_eq!(o.not_after - o.not_before, GENERATED_LIFETIME_DAYS * 86_400);
}

#[test]
fn a_policy_that_blocks_secrets_does_not_stop_the_certificates() {
    // The fake's clock starts at the epoch: a restriction in force from then on.
    let block = json!([{"restrictionType": "passwordAddition", "maxLifetime": null,
        "restrictForAppsCreatedAfterDateTime": "1970-01-01T00:00:00Z"}]);
    let mut tenant = FakeTenant { policy: Some(tenant_policy(block, json!([]))), ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert!(reg.policy.as_ref().unwrap().secrets_blocked);
    assert!(matches!(reg.app(0).unwrap().credential, Credential::Registered(_)));
}

#[test]
fn a_policy_that_requires_a_trusted_authority_fails_before_any_credential_and_leaves_nothing() {
    let trusted = json!([{"restrictionType": "trustedCertificateAuthority",
        "certificateBasedApplicationConfigurationIds": ["eec5ba11-2fc0-4113-83a2-ed986ed13743"],
        "restrictForAppsCreatedAfterDateTime": "1970-01-01T00:00:00Z"}]);
    let mut tenant = FakeTenant { policy: Some(tenant_policy(json!([]), trusted)), ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    let e = reg.error.as_ref().unwrap();
    assert_eq!(e.code, ErrorCode::TrustedCertificateRequired);
    assert!(e.message.contains("Manual method") && e.message.contains(".pfx"), "{}", e.message);
    assert!(tenant.orders.is_empty() && tenant.keys.is_empty(), "no key was made or sent");
    assert!(tenant.apps.is_empty() && tenant.deleted.len() == 1, "created in the first batch, then deleted");
}

#[test]
fn a_policy_the_sign_in_may_not_read_counts_as_none() {
    let mut tenant = FakeTenant { policy_denied: true, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(reg.policy, Some(TenantPolicy::default()));
}

#[test]
fn replication_delay_is_waited_out() {
    let mut tenant = FakeTenant { sp_not_replicated_for: 3, verify_refusals: 2, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    let took = tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done);
    assert!(took > Millis(4_000), "it backed off ({took} ms)");
    assert_eq!(tenant.sps.len(), 1, "the service principal was created once");
}

#[test]
fn replication_that_never_ends_fails_and_cleans_up() {
    let mut tenant = FakeTenant { sp_not_replicated_for: 10_000, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    let took = tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    assert!(took >= Millis(REPLICATION_PATIENCE_MS));
    assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::ReplicationDelay);
    assert_eq!(tenant.deleted, vec!["obj0".to_owned()]);
    assert!(tenant.apps.is_empty(), "nothing left half-made");
}

#[test]
fn a_non_admin_fails_without_leaving_anything() {
    let mut tenant = FakeTenant { forbid_create: true, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Failed);
    let e = reg.error.unwrap();
    assert_eq!(e.code, ErrorCode::AdminConsentRequired);
    assert!(e.message.contains("Global Administrator"));
    assert!(tenant.deleted.is_empty());
}

#[test]
fn a_certificate_refused_by_a_policy_it_could_not_read_rolls_back() {
    let mut tenant = FakeTenant {
        policy_denied: true,
        refuse_keys: Some("CredentialInvalidLifetimeAsPerAppPolicy"),
        ..Default::default()
    };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::CredentialLifetimeRefusedByPolicy);
    assert_eq!(tenant.deleted, vec!["obj0".to_owned()]);
}

#[test]
fn a_runtime_that_cannot_make_a_key_fails_the_run_and_rolls_back() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    for _ in 0..3 {
        match reg.next(Millis(0)) {
            Work::Graph(b) => {
                reg.mark_sent();
                let answers = tenant.answers(&b);
                reg.on_batches(answers, Millis(0));
            }
            Work::Certificates(_) => reg.on_certificates(Err("WebCrypto: NotSupportedError".into())),
            _ => break,
        }
    }
    tenant.run(&mut reg);
    assert_eq!(reg.error.as_ref().unwrap().code, ErrorCode::RegistrationFailed);
    assert_eq!(tenant.deleted, vec!["obj0".to_owned()]);
}

#[test]
fn a_resumed_run_finds_what_the_interrupted_one_created() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    // The worker stopped after sending the discover batch, before recording its answer.
    let Work::Graph(batches) = reg.next(Millis(0)) else { panic!() };
    reg.mark_sent();
    for item in &batches[0] {
        tenant.answer(item);
    }
    let persisted = serde_json::to_string(&reg).unwrap();
    let mut resumed: Registration = serde_json::from_str(&persisted).unwrap();
    tenant.run(&mut resumed);
    assert_eq!(resumed.phase, Phase::Done);
    assert_eq!(tenant.apps.len(), 1, "no second application was created");
}

#[test]
fn a_resumed_run_finds_the_service_principal_whose_creation_it_never_heard_of() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    // Discover and the certificates, as usual.
    let Work::Graph(b) = reg.next(Millis(0)) else { panic!() };
    reg.mark_sent();
    reg.on_batches(tenant.answers(&b), Millis(0));
    let Work::Certificates(orders) = reg.next(Millis(0)) else { panic!() };
    reg.on_certificates(Ok(orders.iter().map(|o| (o.index, fake_certificate(o))).collect()));
    // The credentials batch reached Graph, which created the service principal; its answer was
    // lost (a restart, a timeout).
    let Work::Graph(b) = reg.next(Millis(0)) else { panic!() };
    assert!(b[0].iter().any(|i| i.url == "/servicePrincipals"), "{b:?}");
    reg.mark_sent();
    for item in &b[0] {
        tenant.answer(item);
    }
    let mut resumed: Registration = serde_json::from_str(&serde_json::to_string(&reg).unwrap()).unwrap();
    tenant.run(&mut resumed);
    assert_eq!(resumed.phase, Phase::Done, "{:?}", resumed.error);
    assert_eq!(tenant.sps, vec!["app0".to_owned()]);
    assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::Global));
}

#[test]
fn a_service_principal_that_exists_already_is_looked_up_instead_of_created_again() {
    // Created by a request whose answer never arrived, with nothing recorded before it.
    let mut tenant = FakeTenant { sps: vec!["app0".into()], unrecorded: true, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(reg.app(0).unwrap().principal, Principal::Enabled("sp-app0".into()));
}

#[test]
fn a_service_principal_refused_while_its_application_replicates_is_created_on_the_next_round_without_a_lookup() {
    let mut tenant = FakeTenant { sp_not_replicated_for: 1, ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(reg.graph_round_trips, 4, "discover, credentials twice, grant, and nothing more");
}

#[test]
fn a_resource_lookup_throttled_beside_answered_ones_is_asked_again() {
    let sharepoint = RESOURCES[1].app_id;
    let mut tenant = FakeTenant { throttle_resources: vec![sharepoint], ..Default::default() };
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert_eq!(tenant.assignments, assignments_per_application(CloudEnvironment::Global));
    assert!(tenant.throttle_resources.is_empty(), "the throttled lookup was sent again");
}

#[test]
fn additional_applications_after_a_main_one_from_the_older_manifest_read_the_new_roles() {
    // A main application registered before version 2 (a sign-in held across the deploy).
    let mut tenant = FakeTenant::default();
    let mut main = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut main);
    main.manifest_version = 1;
    main.roles.as_mut().unwrap().retain(|r| !r.value.starts_with("Mailbox"));
    let mut more = Registration::more(&main, "m", 1, 3);
    tenant.run(&mut more);
    assert_eq!(more.phase, Phase::Done, "{:?}", more.error);
    assert_eq!(more.manifest_version, MANIFEST_VERSION);
    let exchange = more.apps.iter().find(|a| a.index == 1).unwrap();
    assert!(more.granted_permissions(exchange).iter().any(|p| p == "MailboxItem.ImportExport.All"));
}

#[test]
fn a_throttled_discover_batch_is_sent_again_after_looking_up() {
    // Regression: a whole discover batch refused with 429 left the run looking up forever.
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    let Work::Graph(_) = reg.next(Millis(0)) else { panic!() };
    reg.mark_sent();
    let throttled = MicrosoftError {
        code: ErrorCode::Throttled,
        status: 429,
        correlation: Default::default(),
        retry_after: Some(1),
    };
    reg.on_batches(vec![Err(throttled)], Millis(0));
    assert_eq!(reg.next(Millis(10)), Work::WaitUntil(Millis(2_000)));
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done);
    assert_eq!(tenant.apps.len(), 1);
}

#[test]
fn the_persisted_form_round_trips_the_private_key_and_debug_hides_it() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    tenant.run(&mut reg);
    let key = reg.app(0).unwrap().certificate().unwrap().pkcs8_base64.expose().to_owned();
    let back: Registration = serde_json::from_str(&serde_json::to_string(&reg).unwrap()).unwrap();
    assert_eq!(back.app(0).unwrap().certificate().unwrap().pkcs8_base64.expose(), key);
    assert!(!format!("{reg:?}").contains(&key));
}

#[test]
fn a_run_stored_with_a_secret_before_certificates_completes_with_it() {
    let mut tenant = FakeTenant::default();
    let mut reg = Registration::new(CloudEnvironment::Global, "M365 Backup", "m", 0, 1);
    let Work::Graph(b) = reg.next(Millis(0)) else { panic!() };
    reg.mark_sent();
    reg.on_batches(tenant.answers(&b), Millis(0));
    // What the code before certificates had stored after its credentials batch.
    let app = &mut reg.apps[0];
    app.credential =
        Credential::Secret { secret: SecretString::new("old~secret".into()), expires_at: None, key_id: None };
    tenant.run(&mut reg);
    assert_eq!(reg.phase, Phase::Done, "{:?}", reg.error);
    assert!(tenant.orders.is_empty(), "no certificate is made for it");
    assert_eq!(reg.app(0).unwrap().secret().unwrap().0.expose(), "old~secret");
}
