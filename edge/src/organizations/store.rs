//! What the organizations' storage (D1) says, classified once: the D1 store of the adapter calls
//! [`classify`], and the service ([`super::service`]) matches on [`StoreError`], never on an
//! error's text.

/// A D1 error, by what it means for the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// A `UNIQUE` constraint refused the write (e.g. the tenant was already added by the account).
    Unique,
    /// [`VERSION_GUARD_SQL`] failed: another edit changed the organization first (or deleted it).
    VersionMoved,
    /// Anything else: an internal failure.
    Other,
}

/// The text [`VERSION_GUARD_SQL`] fails with (SQLite's message for `json()` of malformed text).
const GUARD_FAILURE: &str = "malformed JSON";

/// Fails (so the whole D1 batch, one transaction, is rolled back) unless organization `?1` of
/// account `?2` is at version `?3`. SQLite cannot raise an error outside a trigger; `json()` of
/// text that is not JSON is an error, which is what the guard relies on. Placed first in a batch,
/// before the statement that bumps the version, it guards every statement of the edit.
pub const VERSION_GUARD_SQL: &str = "SELECT json(CASE WHEN (SELECT version FROM organizations \
     WHERE id = ?1 AND account_id = ?2) = ?3 THEN '1' ELSE 'version moved' END) AS guard";

/// Fails like [`VERSION_GUARD_SQL`] unless organization `?1` has no application rows other than
/// those in `?2` (a JSON array of row IDs): a delete removes only what it read.
pub const ROWS_GUARD_SQL: &str = "SELECT json(CASE WHEN (SELECT COUNT(*) FROM applications \
     WHERE organization_id = ?1 AND id NOT IN (SELECT value FROM json_each(?2))) = 0 THEN '1' ELSE 'rows moved' END) AS guard";

/// Classifies a D1 error by its message.
pub fn classify(message: &str) -> StoreError {
    if message.contains("UNIQUE constraint failed") || message.contains("UNIQUE") {
        StoreError::Unique
    } else if message.contains(GUARD_FAILURE) {
        StoreError::VersionMoved
    } else {
        StoreError::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn d1_errors_are_classified_once() {
        let unique =
            "D1_ERROR: UNIQUE constraint failed: organizations.account_id, organizations.tenant_id: SQLITE_CONSTRAINT";
        assert_eq!(classify(unique), StoreError::Unique);
        assert_eq!(classify("D1_ERROR: malformed JSON: SQLITE_ERROR"), StoreError::VersionMoved);
        assert_eq!(classify("D1_ERROR: no such table: organizations"), StoreError::Other);
    }

    #[test]
    fn the_version_guard_reads_the_organization_of_the_account() {
        assert!(VERSION_GUARD_SQL.contains("id = ?1 AND account_id = ?2) = ?3"));
        assert!(VERSION_GUARD_SQL.starts_with("SELECT json("));
    }
}
