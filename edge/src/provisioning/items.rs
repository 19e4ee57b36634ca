//! The IDs of the requests inside a Graph `$batch`, typed: each says what the request does and for
//! which application, is written as text for Graph and read back from Graph's answer in one place.
//! Also the batch items that act on applications from outside a registration run (a certificate
//! registered after the fact, unsaved applications deleted at the end of a hold).

use crate::microsoft::graph::BatchItem;
use shared::assertion::KeyCredential;
use std::fmt;
use std::str::FromStr;

/// What one request in a batch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemId {
    /// Reads the tenant (`/organization`).
    Organization,
    /// Reads the service principal of resource `n` of the manifest (its app roles).
    Resource(usize),
    /// Reads the tenant's default app management policy.
    Policy,
    /// Creates application `i`.
    Create(u8),
    /// Looks application `i` up by its tag (a create that may have been sent before a restart).
    Find(u8),
    /// Declares the permissions on application `i`.
    Declare(u8),
    /// Creates application `i`'s service principal.
    ServicePrincipal(u8),
    /// Adds a client secret to application `i`.
    Password(u8),
    /// Grants role `n` to application `i`.
    Grant(u8, usize),
    /// Deletes application `i`.
    Delete(u8),
    /// Sets a certificate on application `i`.
    KeyCredential(u8),
    /// Removes application `i`'s generated secret.
    RemovePassword(u8),
    /// Repair: looks application `i` up by its application ID (is it still there?).
    Lookup(u8),
    /// Repair: looks application `i`'s service principal up by its application ID (is it enabled?).
    LookupServicePrincipal(u8),
    /// Repair: enables application `i`'s service principal again.
    Enable(u8),
}

impl ItemId {
    /// The application this request is for, if any.
    pub fn application(self) -> Option<u8> {
        match self {
            ItemId::Organization | ItemId::Resource(_) | ItemId::Policy => None,
            ItemId::Create(i)
            | ItemId::Find(i)
            | ItemId::Declare(i)
            | ItemId::ServicePrincipal(i)
            | ItemId::Password(i)
            | ItemId::Grant(i, _)
            | ItemId::Delete(i)
            | ItemId::KeyCredential(i)
            | ItemId::RemovePassword(i)
            | ItemId::Lookup(i)
            | ItemId::LookupServicePrincipal(i)
            | ItemId::Enable(i) => Some(i),
        }
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ItemId::Organization => f.write_str("org"),
            ItemId::Policy => f.write_str("pol"),
            ItemId::Resource(n) => write!(f, "res{n}"),
            ItemId::Create(i) => write!(f, "app{i}"),
            ItemId::Find(i) => write!(f, "find{i}"),
            ItemId::Declare(i) => write!(f, "decl{i}"),
            ItemId::ServicePrincipal(i) => write!(f, "sp{i}"),
            ItemId::Password(i) => write!(f, "pw{i}"),
            ItemId::Grant(i, n) => write!(f, "g{i}_{n}"),
            ItemId::Delete(i) => write!(f, "del{i}"),
            ItemId::KeyCredential(i) => write!(f, "kc{i}"),
            ItemId::RemovePassword(i) => write!(f, "rp{i}"),
            ItemId::Lookup(i) => write!(f, "look{i}"),
            ItemId::LookupServicePrincipal(i) => write!(f, "lsp{i}"),
            ItemId::Enable(i) => write!(f, "en{i}"),
        }
    }
}

/// A batch ID this product did not write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownItemId;

impl FromStr for ItemId {
    type Err = UnknownItemId;

    fn from_str(s: &str) -> Result<Self, UnknownItemId> {
        match s {
            "org" => return Ok(ItemId::Organization),
            "pol" => return Ok(ItemId::Policy),
            _ => {}
        }
        let split = s.find(|c: char| c.is_ascii_digit()).ok_or(UnknownItemId)?;
        let (kind, rest) = s.split_at(split);
        let index = |t: &str| t.parse::<u8>().map_err(|_| UnknownItemId);
        Ok(match kind {
            "res" => ItemId::Resource(rest.parse().map_err(|_| UnknownItemId)?),
            "app" => ItemId::Create(index(rest)?),
            "find" => ItemId::Find(index(rest)?),
            "decl" => ItemId::Declare(index(rest)?),
            "sp" => ItemId::ServicePrincipal(index(rest)?),
            "pw" => ItemId::Password(index(rest)?),
            "del" => ItemId::Delete(index(rest)?),
            "kc" => ItemId::KeyCredential(index(rest)?),
            "rp" => ItemId::RemovePassword(index(rest)?),
            "look" => ItemId::Lookup(index(rest)?),
            "lsp" => ItemId::LookupServicePrincipal(index(rest)?),
            "en" => ItemId::Enable(index(rest)?),
            "g" => {
                let (i, n) = rest.split_once('_').ok_or(UnknownItemId)?;
                ItemId::Grant(index(i)?, n.parse().map_err(|_| UnknownItemId)?)
            }
            _ => return Err(UnknownItemId),
        })
    }
}

/// Deletes each `(index, object ID)`.
pub fn deletion_items<'a>(apps: impl IntoIterator<Item = (u8, &'a String)>) -> Vec<BatchItem> {
    apps.into_iter()
        .map(|(i, oid)| BatchItem {
            method: "DELETE",
            ..BatchItem::get(ItemId::Delete(i).to_string(), format!("/applications/{oid}"))
        })
        .collect()
}

/// Sets `key` on each created application and then removes its generated secret.
pub fn certificate_items<'a>(
    apps: impl IntoIterator<Item = &'a super::plan::App>,
    key: &KeyCredential,
) -> Vec<BatchItem> {
    let mut items = vec![];
    for a in apps {
        let Some(oid) = &a.object_id else { continue };
        let set = ItemId::KeyCredential(a.index).to_string();
        items.push(BatchItem::with_body(
            set.clone(),
            "PATCH",
            format!("/applications/{oid}"),
            serde_json::json!({ "keyCredentials": [key] }),
        ));
        if let Some(key_id) = &a.secret_key_id {
            let mut remove = BatchItem::with_body(
                ItemId::RemovePassword(a.index).to_string(),
                "POST",
                format!("/applications/{oid}/removePassword"),
                serde_json::json!({ "keyId": key_id }),
            );
            remove.depends_on = vec![set];
            items.push(remove);
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_reads_back_as_itself_and_nothing_else_is_an_id() {
        let all = [
            ItemId::Organization,
            ItemId::Resource(2),
            ItemId::Create(0),
            ItemId::Find(3),
            ItemId::Declare(1),
            ItemId::ServicePrincipal(2),
            ItemId::Password(3),
            ItemId::Grant(1, 14),
            ItemId::Lookup(2),
            ItemId::LookupServicePrincipal(1),
            ItemId::Enable(3),
            ItemId::Delete(2),
            ItemId::KeyCredential(0),
            ItemId::RemovePassword(3),
        ];
        for id in all {
            assert_eq!(id.to_string().parse::<ItemId>(), Ok(id), "{id}");
        }
        // "decl" and "del" were once told apart by their first letter only.
        assert_eq!("del1".parse::<ItemId>(), Ok(ItemId::Delete(1)));
        assert_eq!("decl1".parse::<ItemId>(), Ok(ItemId::Declare(1)));
        for bad in ["", "x1", "app", "g1", "g_1", "app999", "res-1", "orgs"] {
            assert_eq!(bad.parse::<ItemId>(), Err(UnknownItemId), "{bad}");
        }
    }
}
