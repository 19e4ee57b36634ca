//! [`OrganizationStore`] on D1: the statements of the organizations API. Every failure is logged
//! here and classified once ([`classify`]); the service never sees an error's text.

use crate::organizations::model::{ApplicationRow, OrganizationRow};
use crate::organizations::ports::{
    Edit, NewApplicationRow, NewOrganizationRow, OrganizationStore, RotatedCredential, SealedRow, UsageRow,
};
use crate::organizations::store::{classify, StoreError, ROWS_GUARD_SQL, VERSION_GUARD_SQL};
use crate::time::Millis;
use applications::DELETE_READ_ROWS;
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

mod applications;
pub(crate) mod audit;

impl D1Store<'_> {
    fn db(&self) -> Result<D1Database, StoreError> {
        self.env.d1("DB").map_err(unusable("D1 binding"))
    }

    fn statement(&self, db: &D1Database, sql: &str, params: &[JsValue]) -> Result<D1PreparedStatement, StoreError> {
        db.prepare(sql).bind(params).map_err(unusable("binding"))
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
        Ok(Some((org, self.application_rows(&db, id).await?)))
    }

    async fn sealed(&self, id: &str) -> Result<Option<SealedRow>, StoreError> {
        self.sealed_row(&self.db()?, id).await
    }

    async fn list(&self, account: &str) -> Result<(Vec<OrganizationRow>, Vec<ApplicationRow>), StoreError> {
        let db = self.db()?;
        let sql = "SELECT * FROM organizations WHERE account_id = ?1 ORDER BY name COLLATE NOCASE, created_at";
        let orgs = self.statement(&db, sql, &[account.into()])?.all().await.map_err(failed("listing", &[]))?;
        let orgs = orgs.results::<OrganizationRow>().map_err(unusable("decoding"))?;
        Ok((orgs, self.account_applications(&db, account).await?))
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
        self.apps_held_elsewhere(organization_id, app_ids).await
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
            self.statement(&db, DELETE_READ_ROWS, &[id.into(), rows])?,
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
        self.write_health(id, health, checked_at).await
    }

    async fn rotate_credential(&self, r: &RotatedCredential) -> Result<bool, StoreError> {
        self.write_rotation(r).await
    }

    async fn key_retired(&self, id: &str) -> Result<(), StoreError> {
        self.write_key_retired(id).await
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

    async fn schedule_check(&self, id: &str, at_ms: Millis) -> Result<(), StoreError> {
        let db = self.db()?;
        let sql = "UPDATE organizations SET next_check_at_ms = ?1 WHERE id = ?2";
        self.statement(&db, sql, &[at_ms.into(), id.into()])?
            .run()
            .await
            .map_err(failed("scheduling a health check", &[]))?;
        Ok(())
    }

    async fn claim_due_checks(
        &self,
        now_ms: Millis,
        lease_until_ms: Millis,
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
        let params = [now_ms.into(), lease_until_ms.into(), f64::from(limit).into()];
        let rows = self.statement(&db, sql, &params)?;
        let rows = rows.all().await.map_err(failed("claiming due health checks", &[]))?;
        let rows = rows.results::<Due>().map_err(unusable("decoding due health checks"))?;
        Ok(rows.into_iter().map(|d| (d.account_id, d.id)).collect())
    }
}
