//! [`OrganizationStore`] on D1: the statements of the organizations API. Every failure is logged
//! here and classified once ([`classify`]); the service never sees an error's text.

use crate::organizations::model::{ApplicationRow, OrganizationRow};
use crate::organizations::ports::{
    ApplicationChange, Edit, NewApplicationRow, NewOrganizationRow, OrganizationStore, RotatedCredential, SealedRow,
    UsageRow,
};
use crate::organizations::store::{classify, StoreError, ROWS_GUARD_SQL, VERSION_GUARD_SQL};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

/// The organizations in D1. The binding is looked up on first use (where the handlers used to).
pub(super) struct D1Store<'a> {
    pub(super) env: &'a Env,
}

/// A failed D1 statement, classified once; logged with `context` unless the caller expects it.
fn failed(context: &'static str, expected: &'static [StoreError]) -> impl Fn(worker::Error) -> StoreError {
    move |e| {
        let kind = classify(&e.to_string());
        if !expected.contains(&kind) {
            worker::console_error!("{context}: {e}");
        }
        kind
    }
}

/// No statement ran (no binding, or its parameters were refused): logged, and never a conflict.
fn unusable(context: &'static str) -> impl Fn(worker::Error) -> StoreError {
    move |e| {
        worker::console_error!("{context}: {e}");
        StoreError::Other
    }
}

fn opt(s: Option<&str>) -> JsValue {
    s.map(JsValue::from).unwrap_or(JsValue::NULL)
}

fn flag(b: bool) -> JsValue {
    (if b { 1.0 } else { 0.0 }).into()
}

const APPLICATION_COLUMNS: &str = "id, organization_id, app_id, is_main, active, credential_type, \
     credential_expires_at, certificate_thumbprint, manifest_version, workload, granted_permissions, object_id, \
     health, checked_at, entra_key_id, retiring_key_id, retire_after_ms";

pub(crate) mod audit;

impl D1Store<'_> {
    fn db(&self) -> Result<D1Database, StoreError> {
        self.env.d1("DB").map_err(unusable("D1 binding"))
    }

    fn statement(&self, db: &D1Database, sql: &str, params: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        db.prepare(sql).bind(params).map_err(unusable("binding"))
    }

    fn insert_application(&self, db: &D1Database, a: &NewApplicationRow) -> Result<D1PreparedStatement, StoreError> {
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

    fn change(&self, db: &D1Database, edit: &Edit, c: &ApplicationChange) -> Result<D1PreparedStatement, StoreError> {
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
}

impl OrganizationStore for D1Store<'_> {
    async fn load(
        &self,
        account: &str,
        id: &str,
    ) -> Result<Option<(OrganizationRow, Vec<ApplicationRow>)>, StoreError> {
        let db = self.db()?;
        let sql = "SELECT * FROM organizations WHERE id = ?1 AND account_id = ?2";
        let stmt = self.statement(&db, sql, &[id.into(), account.into()])?;
        let Some(org) = stmt.first::<OrganizationRow>(None).await.map_err(failed("reading an organization", &[]))?
        else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {APPLICATION_COLUMNS} FROM applications WHERE organization_id = ?1 ORDER BY is_main DESC, created_at"
        );
        let apps = self.statement(&db, &sql, &[id.into()])?;
        let apps = apps.all().await.map_err(failed("reading applications", &[]))?;
        Ok(Some((org, apps.results::<ApplicationRow>().map_err(unusable("decoding applications"))?)))
    }

    async fn sealed(&self, id: &str) -> Result<Option<SealedRow>, StoreError> {
        let db = self.db()?;
        let sql = "SELECT organization_id, app_id, credential_type, key_id, secret_ciphertext FROM applications WHERE id = ?1";
        let stmt = self.statement(&db, sql, &[id.into()])?;
        stmt.first::<SealedRow>(None).await.map_err(failed("reading a credential", &[]))
    }

    async fn list(&self, account: &str) -> Result<(Vec<OrganizationRow>, Vec<ApplicationRow>), StoreError> {
        let db = self.db()?;
        let sql = "SELECT * FROM organizations WHERE account_id = ?1 ORDER BY name COLLATE NOCASE, created_at";
        let orgs = self.statement(&db, sql, &[account.into()])?.all().await.map_err(failed("listing", &[]))?;
        let orgs = orgs.results::<OrganizationRow>().map_err(unusable("decoding"))?;
        let sql = "SELECT a.id, a.organization_id, a.app_id, a.is_main, a.active, a.credential_type, \
             a.credential_expires_at, a.certificate_thumbprint, a.manifest_version, a.workload, a.granted_permissions, \
             a.object_id, a.health, a.checked_at FROM applications a \
             JOIN organizations o \
             ON o.id = a.organization_id WHERE o.account_id = ?1";
        let apps = self.statement(&db, sql, &[account.into()])?;
        let apps = apps.all().await.map_err(failed("listing applications", &[]))?;
        Ok((orgs, apps.results::<ApplicationRow>().map_err(unusable("decoding"))?))
    }

    async fn insert(&self, o: &NewOrganizationRow, apps: &[NewApplicationRow]) -> Result<(), StoreError> {
        let db = self.db()?;
        let mut statements = vec![self.statement(
            &db,
            "INSERT INTO organizations (id, account_id, name, cloud, tenant_id, multiple_applications, created_at, \
             updated_at, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 1)",
            &[
                o.id.as_str().into(),
                o.account_id.as_str().into(),
                o.name.as_str().into(),
                o.cloud.as_str().into(),
                o.tenant_id.as_str().into(),
                flag(o.multiple_applications),
                o.created_at.as_str().into(),
            ],
        )?];
        for a in apps {
            statements.push(self.insert_application(&db, a)?);
        }
        db.batch(statements).await.map_err(failed("saving an organization failed", &[StoreError::Unique]))?;
        Ok(())
    }

    async fn held_elsewhere(&self, organization_id: &str, app_ids: &[String]) -> Result<Vec<String>, StoreError> {
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

    async fn name_of_tenant(&self, account: &str, tenant: &str) -> Result<Option<String>, StoreError> {
        let db = self.db()?;
        let sql = "SELECT name FROM organizations WHERE account_id = ?1 AND tenant_id = ?2";
        let stmt = self.statement(&db, sql, &[account.into(), tenant.into()])?;
        Ok(stmt.first::<String>(Some("name")).await.ok().flatten())
    }

    async fn update(&self, edit: &Edit) -> Result<(), StoreError> {
        let db = self.db()?;
        let version: JsValue = (edit.version as f64).into();
        let (id, account) = (edit.id.as_str(), edit.account_id.as_str());
        // The guard runs first in the batch (a D1 batch is one transaction): when another edit has
        // moved the version on, it fails and nothing of this edit is applied.
        let mut statements =
            vec![self.statement(&db, VERSION_GUARD_SQL, &[id.into(), account.into(), version.clone()])?];
        statements.push(self.statement(
            &db,
            "UPDATE organizations SET name = ?1, multiple_applications = ?2, updated_at = ?3, version = version + 1 \
             WHERE id = ?4 AND account_id = ?5 AND version = ?6",
            &[
                edit.name.as_str().into(),
                flag(edit.multiple_applications),
                edit.updated_at.as_str().into(),
                id.into(),
                account.into(),
                version,
            ],
        )?);
        for c in &edit.changes {
            statements.push(self.change(&db, edit, c)?);
        }
        db.batch(statements).await.map_err(failed("updating an organization failed", &[StoreError::VersionMoved]))?;
        crate::adapter::engine::organization_changed(self.env, id).await;
        Ok(())
    }

    async fn delete(&self, account: &str, id: &str, version: i64, rows: &[String]) -> Result<(), StoreError> {
        let db = self.db()?;
        let rows: JsValue = serde_json::to_string(rows).map_err(|_| StoreError::Other)?.into();
        // The guards run first in the batch (one transaction): another edit saved since the
        // organization was read, or a row that was not read, and nothing is deleted.
        let statements = vec![
            self.statement(&db, VERSION_GUARD_SQL, &[id.into(), account.into(), (version as f64).into()])?,
            self.statement(&db, ROWS_GUARD_SQL, &[id.into(), rows.clone()])?,
            self.statement(
                &db,
                "DELETE FROM applications WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
                &[id.into(), rows],
            )?,
            self.statement(
                &db,
                "DELETE FROM organizations WHERE id = ?1 AND account_id = ?2",
                &[id.into(), account.into()],
            )?,
        ];
        db.batch(statements).await.map_err(failed("deleting an organization", &[StoreError::VersionMoved]))?;
        crate::adapter::engine::organization_changed(self.env, id).await;
        Ok(())
    }

    async fn record_health(&self, id: &str, health: &str, checked_at: &str) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE applications SET health = ?1, checked_at = ?2 WHERE id = ?3";
        self.statement(&db, sql, &[health.into(), checked_at.into(), id.into()])?
            .run()
            .await
            .map_err(failed("recording a health check", &[]))?;
        Ok(())
    }

    async fn rotate_credential(&self, r: &RotatedCredential) -> Result<bool, StoreError> {
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
                    (r.retire_after_ms as f64).into(),
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

    async fn key_retired(&self, id: &str) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE applications SET retiring_key_id = NULL, retire_after_ms = NULL WHERE id = ?1";
        self.statement(&db, sql, &[id.into()])?.run().await.map_err(failed("recording a removed key", &[]))?;
        Ok(())
    }

    async fn record_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        self.write_usage(rows).await
    }

    async fn engine_audit_full(&self, account: &str) -> Result<bool, StoreError> {
        self.read_audit_full(account).await
    }

    async fn usage(&self, account: &str, id: &str, limit: u32) -> Result<Vec<UsageRow>, StoreError> {
        self.read_usage(account, id, limit).await
    }

    async fn schedule_check(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE organizations SET next_check_at_ms = ?1 WHERE id = ?2";
        self.statement(&db, sql, &[(at_ms as f64).into(), id.into()])?
            .run()
            .await
            .map_err(failed("scheduling a health check", &[]))?;
        Ok(())
    }

    async fn claim_due_checks(
        &self,
        now_ms: i64,
        lease_until_ms: i64,
        limit: u32,
    ) -> Result<Vec<(String, String)>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Due {
            account_id: String,
            id: String,
        }
        let db = self.db()?;
        // One statement: two overlapping runs cannot claim the same organization.
        let sql = "UPDATE organizations SET next_check_at_ms = ?2 WHERE id IN \
                   (SELECT id FROM organizations WHERE next_check_at_ms <= ?1 ORDER BY next_check_at_ms LIMIT ?3) \
                   RETURNING account_id, id";
        let params = [(now_ms as f64).into(), (lease_until_ms as f64).into(), f64::from(limit).into()];
        let rows = self.statement(&db, sql, &params)?;
        let rows = rows.all().await.map_err(failed("claiming due health checks", &[]))?;
        let rows = rows.results::<Due>().map_err(unusable("decoding due health checks"))?;
        Ok(rows.into_iter().map(|d| (d.account_id, d.id)).collect())
    }
}
