//! Partners and their customers: granular delegated admin privileges (GDAP). A partner tenant has
//! admin agents (its AdminAgents group) and relationships with customer tenants, each granting
//! directory roles; Partner Center's consent API puts a multi-tenant client into a customer tenant
//! through such a relationship, and the partner's admin agents then sign in at the customer's
//! authority and act there with the relationship's roles. Sources in README.md, "Partners (GDAP)".
//!
//! Simplification (documented there): a relationship's roles are assigned to one security group that
//! holds every admin agent of the partner, the arrangement Learn's "Use the Exchange Online
//! PowerShell v3 Module with GDAP and App Consent" sets up.

pub mod consent;
pub mod relationships;

use serde::{Deserialize, Serialize};

use crate::state::{SignedInUser, State};

/// A partner in the fixture.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerFixture {
    /// The partner's tenant (a Global tenant of the fixture).
    pub tenant_id: String,
    /// The sign-in names of its admin agents (users of the partner tenant in AdminAgents).
    #[serde(default)]
    pub admin_agents: Vec<String>,
    /// Its GDAP relationships.
    #[serde(default)]
    pub relationships: Vec<RelationshipFixture>,
    /// Whether an administrator of the partner tenant granted the product's public clients
    /// Partner Center's `user_impersonation` for every user (admin consent); otherwise each user
    /// consents by asking for it at sign-in.
    #[serde(default)]
    pub partner_center_consent: bool,
}

/// One GDAP relationship in the fixture.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationshipFixture {
    /// The customer's tenant (a Global tenant of the fixture).
    pub customer_tenant_id: String,
    /// The directory roles granted, by name (see [`crate::roles::BUILT_IN`]).
    pub roles: Vec<String>,
    /// Graph's `delegatedAdminRelationshipStatus`; `active` when absent.
    #[serde(default = "active")]
    pub status: String,
    /// The relationship's name; derived from the customer's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

fn active() -> String {
    "active".into()
}

/// The statuses Graph's `delegatedAdminRelationshipStatus` enumerates.
pub const STATUSES: [&str; 10] = [
    "activating",
    "active",
    "approvalPending",
    "approved",
    "created",
    "expired",
    "expiring",
    "terminated",
    "terminating",
    "terminationRequested",
];

/// A relationship in memory.
#[derive(Clone, Debug)]
pub struct Relationship {
    /// `id`: two GUIDs joined by `-`, as Graph shows them.
    pub id: String,
    /// The partner's tenant.
    pub partner_tenant_id: String,
    /// The customer's tenant.
    pub customer_tenant_id: String,
    /// `displayName`.
    pub display_name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Status.
    pub status: String,
    /// Creation and activation time.
    pub created_ms: u64,
}

/// A consent Partner Center gave: `client_id` may be signed in to in `customer_tenant_id` with
/// `scopes` (Microsoft Graph's delegated permissions, short names).
#[derive(Clone, Debug)]
pub struct PartnerConsent {
    /// The customer's tenant.
    pub customer_tenant_id: String,
    /// The client.
    pub client_id: String,
    /// Granted delegated permissions on Microsoft Graph.
    pub scopes: Vec<String>,
}

/// What the emulator knows about partners.
#[derive(Clone, Debug, Default)]
pub struct PartnerState {
    /// Relationships, partner and customer by tenant ID.
    pub relationships: Vec<Relationship>,
    /// `(partner tenant, user object ID)` of every admin agent.
    pub admin_agents: Vec<(String, String)>,
    /// Consents given through Partner Center.
    pub consents: Vec<PartnerConsent>,
    /// Partner Center requests per application in the current second: `(app, second, count)`.
    pub rate: Vec<(String, u64, u32)>,
    /// Tenants whose administrator consented Partner Center's permission for every user.
    pub pc_tenant_consent: Vec<String>,
    /// `(tenant, user, client)` that consented to Partner Center's permission at a sign-in.
    pub pc_user_consent: Vec<(String, String, String)>,
}

impl PartnerState {
    /// Loads the fixture's partners; their tenants and users must exist in `state`.
    pub fn load(state: &State, partners: &[PartnerFixture], now_ms: u64) -> Result<PartnerState, String> {
        let mut out = PartnerState::default();
        for p in partners {
            let partner =
                state.tenant(&p.tenant_id).ok_or_else(|| format!("partner tenant '{}' is unknown", p.tenant_id))?;
            if partner.cloud != crate::cloud::Cloud::Global {
                return Err(format!("partner tenant '{}' is not in the Global cloud", p.tenant_id));
            }
            if p.partner_center_consent {
                out.pc_tenant_consent.push(partner.id.clone());
            }
            for upn in &p.admin_agents {
                let u = partner
                    .users
                    .iter()
                    .find(|u| u.upn.eq_ignore_ascii_case(upn))
                    .ok_or_else(|| format!("admin agent '{upn}' is not a user of the partner tenant"))?;
                out.admin_agents.push((partner.id.clone(), u.id.clone()));
            }
            for (i, r) in p.relationships.iter().enumerate() {
                let customer = state
                    .tenant(&r.customer_tenant_id)
                    .ok_or_else(|| format!("customer tenant '{}' is unknown", r.customer_tenant_id))?;
                if customer.cloud != crate::cloud::Cloud::Global || customer.id == partner.id {
                    return Err(format!("customer tenant '{}' cannot be a GDAP customer", customer.id));
                }
                if !STATUSES.contains(&r.status.as_str()) {
                    return Err(format!("relationship status '{}' is not one of {STATUSES:?}", r.status));
                }
                for role in &r.roles {
                    if !crate::roles::BUILT_IN.iter().any(|b| b.name.eq_ignore_ascii_case(role)) {
                        return Err(format!("role '{role}' is not a role the emulator knows"));
                    }
                }
                out.relationships.push(Relationship {
                    id: format!("{}-{}", crate::util::new_guid(), crate::util::new_guid()),
                    partner_tenant_id: partner.id.clone(),
                    customer_tenant_id: customer.id.clone(),
                    display_name: r
                        .display_name
                        .clone()
                        .unwrap_or_else(|| format!("GDAP {} {}", customer.display_name, i + 1)),
                    roles: r.roles.clone(),
                    status: r.status.clone(),
                    created_ms: now_ms,
                });
            }
        }
        Ok(out)
    }

    /// Whether `user_id` is an admin agent of `partner_tenant_id`.
    pub fn is_admin_agent(&self, partner_tenant_id: &str, user_id: &str) -> bool {
        self.admin_agents.iter().any(|(t, u)| t == partner_tenant_id && u == user_id)
    }

    /// The roles a partner user holds in `customer_tenant_id` through active relationships, or
    /// `None` when none applies (not an admin agent, no active relationship).
    pub fn gdap_roles(&self, user: &SignedInUser, customer_tenant_id: &str) -> Option<Vec<String>> {
        if !self.is_admin_agent(&user.tenant_id, &user.user_id) {
            return None;
        }
        let mut roles: Vec<String> = vec![];
        let mut any = false;
        for r in self.relationships.iter().filter(|r| {
            r.partner_tenant_id == user.tenant_id
                && r.customer_tenant_id.eq_ignore_ascii_case(customer_tenant_id)
                && r.status == "active"
        }) {
            any = true;
            roles.extend(r.roles.iter().cloned());
        }
        roles.sort();
        roles.dedup();
        any.then_some(roles)
    }

    /// The partner tenant through which `user_id` acts in `customer_tenant_id`, with its roles.
    pub fn acting_partner(&self, customer_tenant_id: &str, user_id: &str) -> Option<(String, Vec<String>)> {
        self.admin_agents.iter().filter(|(_, u)| u == user_id).find_map(|(t, u)| {
            let who = SignedInUser { tenant_id: t.clone(), user_id: u.clone() };
            self.gdap_roles(&who, customer_tenant_id).map(|r| (t.clone(), r))
        })
    }

    /// Whether `user` may get Partner Center tokens through `client_id`: their tenant's
    /// administrator consented for everyone, or they consented at a sign-in.
    pub fn partner_center_consented(&self, user: &SignedInUser, client_id: &str) -> bool {
        self.pc_tenant_consent.contains(&user.tenant_id)
            || self
                .pc_user_consent
                .iter()
                .any(|(t, u, c)| *t == user.tenant_id && *u == user.user_id && c.eq_ignore_ascii_case(client_id))
    }

    /// `user` consented at a sign-in whose scope (`scope`, or `extra` beside it) named Partner
    /// Center.
    pub fn record_sign_in_consent(&mut self, user: &SignedInUser, client_id: &str, scope: &str, extra: bool) {
        let named = extra
            || scope
                .split_whitespace()
                .any(|s| s.to_ascii_lowercase().starts_with(&format!("{}/", crate::cloud::PARTNER_CENTER_RESOURCE)));
        if named && !self.partner_center_consented(user, client_id) {
            self.pc_user_consent.push((user.tenant_id.clone(), user.user_id.clone(), client_id.to_ascii_lowercase()));
        }
    }

    /// The consent of `client_id` in `customer_tenant_id`.
    pub fn consent(&self, customer_tenant_id: &str, client_id: &str) -> Option<&PartnerConsent> {
        self.consents.iter().find(|c| {
            c.customer_tenant_id.eq_ignore_ascii_case(customer_tenant_id) && c.client_id.eq_ignore_ascii_case(client_id)
        })
    }

    /// Counts one Partner Center request of `app` at `now_ms`; `false` past `per_second`.
    pub fn admit(&mut self, app: &str, now_ms: u64, per_second: u32) -> bool {
        let second = now_ms / 1000;
        self.rate.retain(|(_, s, _)| *s == second);
        match self.rate.iter_mut().find(|(a, _, _)| a.eq_ignore_ascii_case(app)) {
            Some((_, _, n)) if *n >= per_second => false,
            Some((_, _, n)) => {
                *n += 1;
                true
            }
            None => {
                self.rate.push((app.to_ascii_lowercase(), second, 1));
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(status: &str) -> PartnerState {
        PartnerState {
            relationships: vec![Relationship {
                id: "r".into(),
                partner_tenant_id: "p".into(),
                customer_tenant_id: "c".into(),
                display_name: "x".into(),
                roles: vec!["Application Administrator".into()],
                status: status.into(),
                created_ms: 0,
            }],
            admin_agents: vec![("p".into(), "agent".into())],
            ..PartnerState::default()
        }
    }

    #[test]
    fn only_an_admin_agent_with_an_active_relationship_holds_its_roles() {
        let s = state_with("active");
        let agent = SignedInUser { tenant_id: "p".into(), user_id: "agent".into() };
        let other = SignedInUser { tenant_id: "p".into(), user_id: "someone".into() };
        assert_eq!(s.gdap_roles(&agent, "c"), Some(vec!["Application Administrator".to_string()]));
        assert_eq!(s.gdap_roles(&other, "c"), None);
        assert_eq!(s.gdap_roles(&agent, "elsewhere"), None);
        for status in ["expired", "terminated", "approvalPending"] {
            assert_eq!(state_with(status).gdap_roles(&agent, "c"), None, "{status}");
        }
    }

    #[test]
    fn partner_center_admits_fifty_requests_a_second_per_application() {
        let mut s = PartnerState::default();
        for _ in 0..50 {
            assert!(s.admit("app", 10_000, 50));
        }
        assert!(!s.admit("app", 10_999, 50));
        assert!(s.admit("other", 10_999, 50));
        assert!(s.admit("app", 11_000, 50));
    }
}
