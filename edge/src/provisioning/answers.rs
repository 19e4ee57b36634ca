//! How a registration reads Graph's answers: each `$batch` answer, keyed by its typed
//! [`ItemId`], is read into the typed shapes of [`crate::microsoft`] and moves the run's state.
//! No Graph JSON is indexed by hand and no message is compared past [`grants::already_assigned`].

use super::items::ItemId;
use super::manifest::RESOURCES;
use super::plan::{Credential, Object, Principal, Registration, RoleRef, TenantInfo, Unavailable};
use super::policy::TenantPolicy;
use crate::microsoft::applications::Application;
use crate::microsoft::grants::{self, Assigned};
use crate::microsoft::graph::BatchResult;
use crate::microsoft::organization::Organization;
use crate::microsoft::policies::DefaultAppManagementPolicy;
use crate::microsoft::service_principals::ServicePrincipal;
use crate::time::Millis;

impl Registration {
    /// Errors that do not stop the run: a grant or a service principal that exists already (a
    /// resumed run repeating it), or a policy the sign-in may not read (a public client consented before the scope was asked
    /// for), except when Graph is only busy.
    pub(super) fn tolerable(&self, id: ItemId, r: &BatchResult) -> bool {
        match id {
            ItemId::Grant(..) => grants::already_assigned(r),
            // 409 Conflict ("the current state conflicts with what the request expects",
            // https://learn.microsoft.com/graph/errors): the application has its service principal
            // already (created by a request whose answer was lost); it is looked up.
            ItemId::ServicePrincipal(_) => r.status == 409,
            ItemId::Policy => !r.error().is_transient(),
            _ => false,
        }
    }

    /// Applies a tolerated error: a grant that exists already counts as granted; an unreadable
    /// policy as none.
    pub(super) fn apply_tolerated(&mut self, id: ItemId) {
        match id {
            ItemId::Policy => self.policy = Some(TenantPolicy::default()),
            ItemId::Grant(index, n) => {
                let Some(role) = self.roles.as_ref().and_then(|roles| roles.get(n)).map(|r| r.role_id.clone()) else {
                    return;
                };
                if let Some(app) = self.apps.iter_mut().find(|a| a.index == index) {
                    if !app.granted.contains(&role) {
                        app.granted.push(role);
                    }
                }
            }
            ItemId::ServicePrincipal(index) => {
                if let Some(app) = self.apps.iter_mut().find(|a| a.index == index) {
                    app.principal = Principal::Unknown;
                }
            }
            _ => {}
        }
    }

    /// Applies a refusal: a service principal Graph refused to create (a 4xx answer, such as
    /// `NoBackingApplicationObject` while its application replicates) does not exist, and is
    /// created again without looking it up first. After a 5xx it may exist: it is looked up.
    pub(super) fn apply_refused(&mut self, id: ItemId, r: &BatchResult) {
        if !(400..500).contains(&r.status) {
            return;
        }
        if let ItemId::ServicePrincipal(index) = id {
            if let Some(app) = self.apps.iter_mut().find(|a| a.index == index && a.principal == Principal::Unknown) {
                app.principal = Principal::Missing;
            }
        }
    }

    /// Applies a successful answer. A collection answer of a shape Graph does not document reads as
    /// an empty one; a single object of another shape changes nothing (asked again).
    pub(super) fn apply_success(&mut self, id: ItemId, r: &BatchResult, now: Millis) {
        match id {
            ItemId::Policy => {
                self.policy = Some(
                    r.read::<DefaultAppManagementPolicy>()
                        .map_or_else(TenantPolicy::default, |p| TenantPolicy::of(&p, now)),
                )
            }
            ItemId::Organization => {
                let org = r.first::<Organization>().flatten().unwrap_or_default();
                self.tenant = Some(TenantInfo {
                    default_domain: org.default_domain().unwrap_or_default().to_owned(),
                    id: org.id,
                    display_name: org.display_name,
                });
            }
            ItemId::Resource(i) => {
                let Some(resource) = RESOURCES.get(i) else { return };
                // No service principal at all: the tenant offers none of the resource's permissions.
                let sp = r.first::<ServicePrincipal>().flatten();
                let roles = self.roles.get_or_insert_with(Vec::new);
                for p in resource.permissions_in(self.cloud) {
                    if roles.iter().any(|r| r.value == p.value) {
                        continue;
                    }
                    match sp.as_ref().and_then(|sp| Some((sp, sp.role(p.value)?))) {
                        Some((sp, role)) => roles.push(RoleRef {
                            resource_sp: sp.id.clone(),
                            role_id: role.to_owned(),
                            value: p.value.to_owned(),
                        }),
                        None => self
                            .unavailable
                            .push(Unavailable { value: p.value.to_owned(), resource: resource.name.to_owned() }),
                    }
                }
            }
            _ => self.apply_to_application(id, r),
        }
    }

    fn apply_to_application(&mut self, id: ItemId, r: &BatchResult) {
        let Some(app) = id.application().and_then(|i| self.apps.iter_mut().find(|a| a.index == i)) else { return };
        match id {
            ItemId::Create(_) => {
                let Some(created) = r.read::<Application>() else { return };
                app.declared = created.declares_permissions();
                app.object = Object::Known { object_id: created.id, app_id: created.app_id };
            }
            ItemId::Declare(_) => {
                app.declared = true;
                if let Credential::Generated(c) = &app.credential {
                    app.credential = Credential::Registered(c.clone());
                }
            }
            ItemId::Find(_) => match r.first::<Application>().flatten() {
                Some(found) => app.object = Object::Known { object_id: found.id, app_id: found.app_id },
                // The interrupted request never created it: create it now.
                None => app.object = Object::New,
            },
            ItemId::ServicePrincipal(_) => {
                if let Some(sp) = r.read::<ServicePrincipal>() {
                    app.principal = Principal::Enabled(sp.id);
                }
            }
            ItemId::Lookup(_) => match (r.first::<Application>().flatten(), &app.object) {
                (Some(found), Object::Saved { app_id }) => {
                    app.object = Object::Known { object_id: found.id, app_id: app_id.clone() }
                }
                (Some(_), _) => {}
                // Deleted in the tenant: created again (its service principal went with it).
                (None, _) => app.gone(),
            },
            ItemId::LookupServicePrincipal(_) if app.principal == Principal::Unknown => {
                app.principal = match r.first::<ServicePrincipal>().flatten() {
                    Some(sp) if sp.disabled() => Principal::Disabled(sp.id),
                    Some(sp) => Principal::Enabled(sp.id),
                    None => Principal::Missing,
                }
            }
            ItemId::Enable(_) => {
                if let Principal::Disabled(sp) = &app.principal {
                    app.principal = Principal::Enabled(sp.clone());
                }
            }
            ItemId::Grant(..) => {
                if let Some(assigned) = r.read::<Assigned>() {
                    app.granted.push(assigned.app_role_id);
                }
            }
            _ => {}
        }
    }
}
