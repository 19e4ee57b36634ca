//! The customers a partner may choose: one row per customer tenant with a relationship in force,
//! the roles its relationships grant together (an admin agent holds the roles of every relationship
//! with the customer), whether those are enough for the registration, and whether the portal
//! account already holds the customer's organization.

use crate::microsoft::partner::Relationship;
use serde::{Deserialize, Serialize};
use shared::roles::{AdminTask, DirectoryRole};

/// One customer in the choice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The customer's tenant ID (lower case).
    pub tenant_id: String,
    /// The customer's name as the relationship gives it.
    pub name: String,
    /// The roles the partner holds there, by name, least privileged first.
    pub roles: Vec<String>,
    /// Whether they are enough to register the backup applications.
    pub enough: bool,
    /// Whether this portal account already holds the customer's organization.
    pub onboarded: bool,
}

/// The customers of `relationships` (in force only), sorted by name, with `onboarded` the tenant
/// IDs the account already holds.
pub fn customers(relationships: &[Relationship], onboarded: &[String]) -> Vec<Customer> {
    let mut out: Vec<(Customer, Vec<DirectoryRole>)> = vec![];
    for r in relationships.iter().filter(|r| r.status.in_force()) {
        let tenant = r.customer.tenant_id.trim().to_ascii_lowercase();
        if shared::TenantId::parse(&tenant).is_err() {
            continue;
        }
        let i = match out.iter().position(|(c, _)| c.tenant_id == tenant) {
            Some(i) => i,
            None => {
                let name = if r.customer.display_name.trim().is_empty() {
                    tenant.clone()
                } else {
                    r.customer.display_name.trim().to_owned()
                };
                out.push((
                    Customer { tenant_id: tenant.clone(), name, roles: vec![], enough: false, onboarded: false },
                    vec![],
                ));
                out.len() - 1
            }
        };
        for role in r.roles() {
            if !out[i].1.contains(&role) {
                out[i].1.push(role);
            }
        }
    }
    let mut list: Vec<Customer> = out
        .into_iter()
        .map(|(mut c, roles)| {
            c.enough = AdminTask::Register.allowed(&roles);
            c.roles =
                DirectoryRole::ALL.iter().rev().filter(|r| roles.contains(r)).map(|r| r.name().to_owned()).collect();
            c.onboarded = onboarded.iter().any(|t| t.eq_ignore_ascii_case(&c.tenant_id));
            c
        })
        .collect();
    list.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.tenant_id.cmp(&b.tenant_id)));
    list
}

/// The name a customer's organization is saved with: the relationship's name of the customer when
/// it is a valid organization name, else its first 100 printable characters, else the tenant ID.
pub fn organization_name(name: &str, tenant_id: &str) -> String {
    if let Ok(n) = shared::OrganizationName::parse(name) {
        return n.as_str().to_owned();
    }
    let printable: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    match shared::OrganizationName::parse(&printable) {
        Ok(n) => n.as_str().to_owned(),
        Err(_) => tenant_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAA: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
    const PRA: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
    const GA: &str = "62e90394-69f5-4237-9190-012177145e10";

    fn rel(tenant: &str, name: &str, roles: &[&str], status: &str) -> Relationship {
        let roles: Vec<serde_json::Value> =
            roles.iter().map(|r| serde_json::json!({ "roleDefinitionId": r })).collect();
        serde_json::from_value(serde_json::json!({
            "id": format!("{tenant}-{status}"),
            "customer": { "tenantId": tenant, "displayName": name },
            "accessDetails": { "unifiedRoles": roles },
            "status": status,
        }))
        .unwrap()
    }

    const A: &str = "10000000-0000-4000-8000-000000000001";
    const B: &str = "10000000-0000-4000-8000-000000000002";
    const C: &str = "10000000-0000-4000-8000-000000000003";

    #[test]
    fn a_customers_name_that_is_no_organization_name_is_made_one() {
        assert_eq!(organization_name("Contoso", A), "Contoso");
        assert_eq!(organization_name("Con\ttoso", A), "Contoso");
        assert_eq!(organization_name(&"x".repeat(150), A).chars().count(), 100);
        assert_eq!(organization_name("   ", A), A);
    }

    #[test]
    fn roles_of_every_relationship_in_force_with_a_customer_count_together() {
        let list = customers(
            &[
                rel(B, "beta", &[PRA], "active"),
                rel(B, "beta", &[CAA], "expiring"),
                rel(A, "Alpha", &[PRA], "active"),
                rel(A, "Alpha", &[GA], "expired"),
                rel(C, "Gamma", &[GA], "approvalPending"),
                rel("not-a-guid", "Bad", &[GA], "active"),
            ],
            &[B.to_uppercase()],
        );
        assert_eq!(list.len(), 2, "{list:?}");
        assert_eq!(list[0].name, "Alpha");
        assert!(!list[0].enough, "an expired relationship's roles do not count");
        assert_eq!(list[0].roles, vec!["Privileged Role Administrator"]);
        assert_eq!(list[1].name, "beta");
        assert!(list[1].enough);
        assert!(list[1].onboarded);
        assert_eq!(list[1].roles, vec!["Cloud Application Administrator", "Privileged Role Administrator"]);
    }
}
