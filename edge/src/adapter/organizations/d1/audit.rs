//! The backup engine's audit in D1 (`engine_usage`, `engine_audit_full`): every statement on
//! those tables, the Cron Trigger's retention and limit included.

use super::*;
use crate::time::Millis;

impl D1Store<'_> {
    pub(super) async fn write_usage(&self, rows: &[UsageRow]) -> Result<(), StoreError> {
        let db = self.db()?;
        // Once the account's audit is full (the Cron Trigger marks it; see the migration), only the
        // tokens Microsoft issued are still recorded: a flood of refusals cannot hide them.
        let sql = "INSERT INTO engine_usage (account_id, organization_id, at_ms, key_id, application_id, resource, \
                   outcome, count) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 \
                   WHERE ?7 = 'issued' OR NOT EXISTS (SELECT 1 FROM engine_audit_full WHERE account_id = ?1)";
        let mut statements = vec![];
        for u in rows {
            let params = [
                u.account_id.as_str().into(),
                u.organization_id.as_str().into(),
                u.at_ms.into(),
                u.key_id.as_str().into(),
                u.application_id.as_str().into(),
                u.resource.as_str().into(),
                u.outcome.as_str().into(),
                (u.count as f64).into(),
            ];
            statements.push(self.statement(&db, sql, &params)?);
        }
        if statements.is_empty() {
            return Ok(());
        }
        db.batch(statements).await.map_err(failed("recording the engine's use", &[]))?;
        Ok(())
    }

    pub(super) async fn read_audit_full(&self, account: &str) -> Result<bool, StoreError> {
        #[derive(serde::Deserialize)]
        struct Full {
            full: f64,
        }
        let db = self.db()?;
        let sql = "SELECT COUNT(*) AS full FROM engine_audit_full WHERE account_id = ?1";
        let row = self.statement(&db, sql, &[account.into()])?;
        let row = row.first::<Full>(None).await.map_err(failed("reading whether the audit is full", &[]))?;
        Ok(row.is_some_and(|r| r.full > 0.0))
    }

    pub(super) async fn read_usage(&self, account: &str, id: &str, limit: u32) -> Result<Vec<UsageRow>, StoreError> {
        #[derive(serde::Deserialize)]
        struct Row {
            at_ms: f64,
            key_id: String,
            application_id: String,
            resource: String,
            outcome: String,
            count: f64,
        }
        let db = self.db()?;
        let sql = "SELECT at_ms, key_id, application_id, resource, outcome, count FROM engine_usage \
                   WHERE organization_id = ?1 AND account_id = ?2 ORDER BY at_ms DESC, id DESC LIMIT ?3";
        let rows = self.statement(&db, sql, &[id.into(), account.into(), f64::from(limit).into()])?;
        let rows = rows.all().await.map_err(failed("reading the engine's use", &[]))?;
        let rows = rows.results::<Row>().map_err(unusable("decoding the engine's use"))?;
        Ok(rows
            .into_iter()
            .map(|r| UsageRow {
                account_id: account.to_owned(),
                organization_id: id.to_owned(),
                at_ms: Millis(r.at_ms as i64),
                key_id: r.key_id,
                application_id: r.application_id,
                resource: r.resource,
                outcome: r.outcome,
                count: r.count as u64,
            })
            .collect())
    }
}

/// Rows of the engine's audit deleted per statement, and statements per run: retention never holds
/// the database for long, and a backlog is worked off over the following runs.
const DELETE_BATCH: u32 = 5_000;
const DELETE_BATCHES: u32 = 20;

/// Deletes the audit's rows older than `cutoff` in bounded batches; how many.
pub async fn delete_past_retention(env: &Env, cutoff: Millis) -> worker::Result<usize> {
    let db = env.d1("DB")?;
    let mut deleted = 0;
    for _ in 0..DELETE_BATCHES {
        let r = db
            .prepare(
                "DELETE FROM engine_usage WHERE id IN \
                 (SELECT id FROM engine_usage WHERE at_ms < ?1 ORDER BY at_ms LIMIT ?2)",
            )
            .bind(&[cutoff.into(), f64::from(DELETE_BATCH).into()])?
            .run()
            .await?;
        let n = r.meta().ok().flatten().and_then(|m| m.changes).unwrap_or(0);
        deleted += n;
        if n < DELETE_BATCH as usize {
            break;
        }
    }
    Ok(deleted)
}

/// Marks the accounts with at least `max_rows` audit rows full (at `now_ms`) and unmarks the
/// others; how many were newly marked.
pub async fn mark_full_accounts(env: &Env, max_rows: i64, now: Millis) -> worker::Result<usize> {
    let db = env.d1("DB")?;
    let over = "SELECT account_id FROM engine_usage GROUP BY account_id HAVING COUNT(*) >= ?1";
    let marked = db
        .batch(vec![
            db.prepare(format!("DELETE FROM engine_audit_full WHERE account_id NOT IN ({over})"))
                .bind(&[(max_rows as f64).into()])?,
            db.prepare(format!(
                "INSERT OR IGNORE INTO engine_audit_full (account_id, since_ms) SELECT account_id, ?2 FROM ({over})"
            ))
            .bind(&[(max_rows as f64).into(), now.into()])?,
        ])
        .await?;
    Ok(marked.get(1).and_then(|r| r.meta().ok().flatten()).and_then(|m| m.changes).unwrap_or(0))
}
