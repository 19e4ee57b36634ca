//! What a registration asks Graph next, phase by phase: the `$batch` items, written with the typed
//! builders of [`crate::microsoft`]. Pure: it reads the run and writes nothing.

use super::items::ItemId;
use super::manifest::{grants, RESOURCES};
use super::plan::{CertificateOrder, Credential, Object, Principal, Registration, RoleRef, GENERATED_KEY_NAME};
use crate::microsoft::applications::{self, RequiredResourceAccess, ResourceAccess};
use crate::microsoft::graph::{BatchItem, MAX_BATCH};
use crate::microsoft::organization::{self, Select};
use crate::microsoft::{grants as assignments, policies, service_principals};
use crate::time::Millis;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use shared::assertion::KeyCredential;
use shared::selfsigned::{BACKDATE_SECS, GENERATED_LIFETIME_DAYS};

impl Registration {
    /// The first round trip: what is still unknown about the tenant, and the applications to create
    /// (or to find, after an interruption or for a repair).
    pub(super) fn discover_items(&self) -> Vec<BatchItem> {
        let mut items = vec![];
        if self.tenant.is_none() {
            items.push(organization::batch_item(ItemId::Organization.to_string(), Select::Tenant));
        }
        // A resource is read until each of its permissions is resolved or named unavailable: a
        // lookup answered 429 in the batch where the others succeeded is asked again, and a run
        // whose roles come from an older manifest reads what the newer one added.
        for (i, r) in RESOURCES.iter().enumerate().filter(|(i, _)| !self.resource_resolved(*i)) {
            items.push(service_principals::api(ItemId::Resource(i).to_string(), r.app_id));
        }
        if self.policy.is_none() {
            items.push(policies::default_app_management(ItemId::Policy.to_string()));
        }
        // Repair: reading what is left of the saved applications creates nothing.
        for a in &self.apps {
            let Some(app_id) = a.app_id() else { continue };
            if matches!(a.object, Object::Saved { .. }) {
                items.push(applications::find_by_app_id(ItemId::Lookup(a.index).to_string(), app_id));
            }
            if a.principal == Principal::Unknown {
                items.push(service_principals::find_by_app_id(
                    ItemId::LookupServicePrincipal(a.index).to_string(),
                    app_id,
                ));
            }
        }
        if self.tenant.is_none() && self.expected_tenant.is_some() {
            // Nothing is created before the tenant is known to be the expected one.
            return items;
        }
        for a in &self.apps {
            match a.object {
                // An interrupted run may have created it: look it up by its tag first.
                Object::Sent => items.push(applications::find_by_tag(ItemId::Find(a.index).to_string(), &a.marker)),
                Object::New => items.push(applications::create(
                    ItemId::Create(a.index).to_string(),
                    &self.app_name(a.index),
                    &a.marker,
                    &self.required_resource_access(a.index),
                )),
                Object::Saved { .. } | Object::Known { .. } => {}
            }
        }
        items
    }

    /// The resolved roles application `index` gets: every one for the main application, its
    /// workload's for an additional one.
    pub(super) fn roles_of(&self, index: u8) -> impl Iterator<Item = (usize, &RoleRef)> {
        let workload = shared::api::AppSlot::of_index(index).workload();
        self.roles.as_deref().unwrap_or_default().iter().enumerate().filter(move |(_, r)| grants(&r.value, workload))
    }

    /// The permissions application `index` lists. Before the roles are resolved (same batch) the
    /// manifest's APIs are declared without role IDs; Graph accepts an empty `resourceAccess` and
    /// consent is granted by assignment. Once they are, a workload's application lists only the
    /// APIs it uses.
    fn required_resource_access(&self, index: u8) -> Vec<RequiredResourceAccess> {
        let roles: Vec<&RoleRef> = self.roles_of(index).map(|(_, r)| r).collect();
        let resolved = self.roles.is_some();
        RESOURCES
            .iter()
            .filter_map(|r| {
                let access: Vec<ResourceAccess> = roles
                    .iter()
                    .filter(|role| r.permissions.iter().any(|p| p.value == role.value))
                    .map(|role| ResourceAccess::role(&role.role_id))
                    .collect();
                (!resolved || !access.is_empty())
                    .then(|| RequiredResourceAccess { resource_app_id: r.app_id.to_owned(), resource_access: access })
            })
            .collect()
    }

    /// The certificates still to generate.
    pub(super) fn certificate_orders(&self, now: Millis) -> Vec<CertificateOrder> {
        let days =
            self.policy.as_ref().map_or(GENERATED_LIFETIME_DAYS, |p| p.certificate_days(GENERATED_LIFETIME_DAYS));
        let not_before = now.seconds() - BACKDATE_SECS;
        self.apps
            .iter()
            .filter(|a| a.object_id().is_some() && matches!(a.credential, Credential::ToMake))
            .map(|a| CertificateOrder {
                index: a.index,
                common_name: self.app_name(a.index),
                not_before,
                not_after: not_before + days * 86_400,
            })
            .collect()
    }

    /// The second round trip: each application's certificate and permissions, its service
    /// principal created or enabled again.
    pub(super) fn credential_items(&self) -> Vec<BatchItem> {
        let mut items = vec![];
        for a in &self.apps {
            let Some(oid) = a.object_id() else { continue };
            let key = match &a.credential {
                Credential::Generated(c) => Some(c),
                _ => None,
            };
            if !a.declared || key.is_some() {
                // One PATCH per application: two in one batch could race.
                let key_credentials = key.map(|c| {
                    let der = STANDARD.decode(&c.der_base64).unwrap_or_default();
                    let mut key = KeyCredential::for_certificate(&der, GENERATED_KEY_NAME, (c.not_before, c.not_after));
                    // Its ID follows from the certificate, so that a rotation can remove it later.
                    key.key_id = Some(shared::assertion::key_id_for_certificate(&der));
                    vec![key]
                });
                let update = applications::Update {
                    required_resource_access: Some(self.required_resource_access(a.index)),
                    key_credentials,
                };
                items.push(applications::update(ItemId::Declare(a.index).to_string(), oid, &update));
            }
            match (&a.principal, a.app_id()) {
                (Principal::Disabled(sp), _) => {
                    items.push(service_principals::enable(ItemId::Enable(a.index).to_string(), sp))
                }
                (Principal::Missing, Some(app_id)) => {
                    items.push(service_principals::create(ItemId::ServicePrincipal(a.index).to_string(), app_id))
                }
                // Its creation was sent and not heard of, or Graph said it exists: looked up.
                (Principal::Unknown, Some(app_id)) => items.push(service_principals::find_by_app_id(
                    ItemId::LookupServicePrincipal(a.index).to_string(),
                    app_id,
                )),
                _ => {}
            }
        }
        items
    }

    /// The third round trip: the app role assignments still missing, 20 per `$batch`.
    pub(super) fn grant_items(&self) -> Vec<Vec<BatchItem>> {
        let mut items = vec![];
        for a in &self.apps {
            let Some(sp) = a.principal.id() else { continue };
            for (n, role) in self.roles_of(a.index) {
                if !a.granted.contains(&role.role_id) {
                    let id = ItemId::Grant(a.index, n).to_string();
                    items.push(assignments::assign(id, &role.resource_sp, sp, &role.role_id));
                }
            }
        }
        items.chunks(MAX_BATCH).map(<[BatchItem]>::to_vec).collect()
    }
}
