//! The statements of the `applications` table: every SQL string that reads or writes an
//! application row is here.

use super::{failed, flag, opt, unusable, D1Store};
use crate::organizations::model::ApplicationRow;
use crate::organizations::ports::{ApplicationChange, Edit, NewApplicationRow, RotatedCredential, SealedRow};
use crate::organizations::store::StoreError;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

const APPLICATION_COLUMNS: &str = "id, organization_id, app_id, is_main, active, credential_type, \
     credential_expires_at, certificate_thumbprint, manifest_version, workload, granted_permissions, object_id, \
     health, checked_at, entra_key_id, retiring_key_id, retire_after_ms";

/// Deletes the rows `?2` (a JSON array of row IDs) of organization `?1`: what a delete read.
pub(super) const DELETE_READ_ROWS: &str =
    "DELETE FROM applications WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))";

impl D1Store<'_> {
    pub(super) fn insert_application(
        &self,
        db: &D1Database,
        a: &NewApplicationRow,
    ) -> Result<D1PreparedStatement, StoreError> {
        self.statement(
            db,
            "INSERT INTO applications (id, organization_id, app_id, object_id, is_main, active, credential_type, \
             credential_expires_at, certificate_thumbprint, key_id, secret_ciphertext, created_at, updated_at, \
             manifest_version, granted_permissions, workload, health, checked_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, ?13, ?14, ?15, ?16, ?17)",
            &[
                a.id.as_str().into(),
                a.organization_id.as_str().into(),
                a.app_id.as_str().into(),
                opt(a.object_id.as_deref()),
                flag(a.is_main),
                flag(a.active),
                a.credential_type.into(),
                opt(a.credential_expires_at.as_deref()),
                opt(a.certificate_thumbprint.as_deref()),
                a.key_id.as_str().into(),
                a.secret_ciphertext.as_str().into(),
                a.created_at.as_str().into(),
                a.grant.as_ref().map_or(JsValue::NULL, |g| g.manifest_version.into()),
                a.grant
                    .as_ref()
                    .map_or(JsValue::NULL, |g| serde_json::to_string(&g.permissions).unwrap_or_default().into()),
                a.workload.as_str().into(),
                opt(a.health.as_ref().map(|h| h.health.as_str())),
                opt(a.health.as_ref().map(|h| h.checked_at.as_str())),
            ],
        )
    }

    pub(super) fn change(
        &self,
        db: &D1Database,
        edit: &Edit,
        c: &ApplicationChange,
    ) -> Result<D1PreparedStatement, StoreError> {
        let (ts, org) = (edit.updated_at.as_str(), edit.id.as_str());
        match c {
            ApplicationChange::Delete { id } => {
                self.statement(db, "DELETE FROM applications WHERE id = ?1", &[id.as_str().into()])
            }
            ApplicationChange::Insert(a) => self.insert_application(db, a),
            ApplicationChange::SetAppId { id, app_id } => self.statement(
                db,
                "UPDATE applications SET app_id = ?1, updated_at = ?2 WHERE id = ?3",
                &[app_id.as_str().into(), ts.into(), id.as_str().into()],
            ),
            ApplicationChange::SetGrant { id, object_id, grant } => self.statement(
                db,
                "UPDATE applications SET object_id = ?1, manifest_version = ?2, granted_permissions = ?3, \
                 updated_at = ?4 WHERE id = ?5",
                &[
                    object_id.as_str().into(),
                    grant.manifest_version.into(),
                    serde_json::to_string(&grant.permissions).unwrap_or_default().into(),
                    ts.into(),
                    id.as_str().into(),
                ],
            ),
            ApplicationChange::SetAdditionalActive(active) => self.statement(
                db,
                if *active {
                    "UPDATE applications SET active = 1, updated_at = ?1 WHERE organization_id = ?2 AND is_main = 0"
                } else {
                    "UPDATE applications SET active = 0, updated_at = ?1 WHERE organization_id = ?2 AND is_main = 0"
                },
                &[ts.into(), org.into()],
            ),
            ApplicationChange::DeleteAdditional => {
                self.statement(db, "DELETE FROM applications WHERE organization_id = ?1 AND is_main = 0", &[org.into()])
            }
        }
    }

    /// The rows of organization `id`, the main application first.
    pub(super) async fn application_rows(&self, db: &D1Database, id: &str) -> Result<Vec<ApplicationRow>, StoreError> {
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE organization_id = ?1 ORDER BY is_main DESC, created_at"
        );
        let apps = self.statement(db, &sql, &[id.into()])?;
        let apps = apps.all().await.map_err(failed("reading applications", &[]))?;
        apps.results::<ApplicationRow>().map_err(unusable("decoding applications"))
    }

    /// Every row of the account's organizations (without the key columns).
    pub(super) async fn account_applications(
        &self,
        db: &D1Database,
        account: &str,
    ) -> Result<Vec<ApplicationRow>, StoreError> {
        let sql = "SELECT a.id, a.organization_id, a.app_id, a.is_main, a.active, a.credential_type, \
             a.credential_expires_at, a.certificate_thumbprint, a.manifest_version, a.workload, a.granted_permissions, \
             a.object_id, a.health, a.checked_at FROM applications a \
             JOIN organizations o \
             ON o.id = a.organization_id WHERE o.account_id = ?1";
        let apps = self.statement(db, sql, &[account.into()])?;
        let apps = apps.all().await.map_err(failed("listing applications", &[]))?;
        apps.results::<ApplicationRow>().map_err(unusable("decoding"))
    }

    /// The sealed credential of row `id`.
    pub(super) async fn sealed_row(&self, db: &D1Database, id: &str) -> Result<Option<SealedRow>, StoreError> {
        let sql = "SELECT organization_id, app_id, credential_type, key_id, secret_ciphertext FROM applications WHERE id = ?1";
        let stmt = self.statement(db, sql, &[id.into()])?;
        stmt.first::<SealedRow>(None).await.map_err(failed("reading a credential", &[]))
    }

    /// Which of `app_ids` another organization than `organization_id` holds.
    pub(super) async fn apps_held_elsewhere(
        &self,
        organization_id: &str,
        app_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Row {
            app_id: String,
        }
        if app_ids.is_empty() {
            return Ok(vec![]);
        }
        let db = self.db()?;
        let mut params: Vec<JsValue> = vec![organization_id.into()];
        params.extend(app_ids.iter().map(|a| JsValue::from(a.as_str())));
        let marks = (2..=params.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
        let sql =
            format!("SELECT DISTINCT app_id FROM applications WHERE organization_id <> ?1 AND app_id IN ({marks})");
        let rows =
            self.statement(&db, &sql, &params)?.all().await.map_err(failed("reading shared applications", &[]))?;
        let rows = rows.results::<Row>().map_err(unusable("decoding shared applications"))?;
        Ok(rows.into_iter().map(|r| r.app_id).collect())
    }

    /// Records a health check's outcome on row `id`.
    pub(super) async fn write_health(&self, id: &str, health: &str, checked_at: &str) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE applications SET health = ?1, checked_at = ?2 WHERE id = ?3";
        self.statement(&db, sql, &[health.into(), checked_at.into(), id.into()])?
            .run()
            .await
            .map_err(failed("recording a health check", &[]))?;
        Ok(())
    }

    /// Stores a rotated credential, unless the row's credential changed since it was read.
    pub(super) async fn write_rotation(&self, r: &RotatedCredential) -> Result<bool, StoreError> {
        let db = self.db()?;
        let sql = "UPDATE applications SET key_id = ?1, secret_ciphertext = ?2, credential_expires_at = ?3, \
             certificate_thumbprint = ?4, entra_key_id = ?5, retiring_key_id = ?6, retire_after_ms = ?7, updated_at = ?8 \
             WHERE id = ?9 AND secret_ciphertext = ?10";
        let result = self
            .statement(
                &db,
                sql,
                &[
                    r.key_id.as_str().into(),
                    r.secret_ciphertext.as_str().into(),
                    r.credential_expires_at.as_str().into(),
                    r.certificate_thumbprint.as_str().into(),
                    r.entra_key_id.as_str().into(),
                    r.retiring_key_id.as_str().into(),
                    r.retire_after_ms.into(),
                    r.updated_at.as_str().into(),
                    r.id.as_str().into(),
                    r.previous_ciphertext.as_str().into(),
                ],
            )?
            .run()
            .await
            .map_err(failed("storing a rotated certificate", &[]))?;
        let changes = result.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
        if changes == 1 {
            #[derive(serde::Deserialize)]
            struct Owner {
                organization_id: String,
            }
            let owner =
                self.statement(&db, "SELECT organization_id FROM applications WHERE id = ?1", &[r.id.as_str().into()]);
            if let Ok(Some(o)) =
                async { owner?.first::<Owner>(None).await.map_err(failed("reading a row's organization", &[])) }.await
            {
                crate::adapter::engine::organization_changed(self.env, &o.organization_id).await;
            }
        }
        Ok(changes == 1)
    }

    /// Forgets row `id`'s retiring key (removed from Entra).
    pub(super) async fn write_key_retired(&self, id: &str) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE applications SET retiring_key_id = NULL, retire_after_ms = NULL WHERE id = ?1";
        self.statement(&db, sql, &[id.into()])?.run().await.map_err(failed("recording a removed key", &[]))?;
        Ok(())
    }
}
