//! Jobs and the outbox. A job is written in the transaction of the change
//! that causes it, with an outbox row; the outbox is then either run
//! in-process (embedded mode) or relayed to RabbitMQ (production). A broker
//! outage only delays jobs: their rows wait.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{JobId, ModelId, OrgId};
use palisade_domain::job::{Job, JobStatus};

use crate::db::{write_tx, DbConn};
use crate::queue::JobRow;
pub use crate::queue::{JobKind, RecomputeRisk};
use crate::reach::Affected;
use crate::schema::{jobs, outbox, risk_registers};
use crate::scope::Scoped;
use crate::{parse_id, per_backend, time, Actor, StoreError};

/// Marks the rows a change can move out of date and makes sure a
/// recomputation is queued. Coalesces: while one is still queued (not yet
/// running), it serves every further change, so a burst of edits ends in
/// one computation. Call inside the change's transaction.
pub fn enqueue_recompute(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    affected: &Affected,
) -> Result<Job, StoreError> {
    let m = model_id.to_string();
    // One statement, so two first changes to a model at once both bump it
    // (a separate update-then-insert lets both insert on PostgreSQL).
    let first = (
        risk_registers::model_id.eq(&m),
        risk_registers::revision.eq(1i64),
        risk_registers::computed_revision.eq(0i64),
        risk_registers::rows.eq("[]"),
    );
    per_backend!(conn, |c| diesel::insert_into(risk_registers::table)
        .values(first)
        .on_conflict(risk_registers::model_id)
        .do_update()
        .set(risk_registers::revision.eq(risk_registers::revision + 1))
        .execute(c))?;
    let revision: i64 = risk_registers::table
        .filter(risk_registers::model_id.eq(&m))
        .select(risk_registers::revision)
        .first(conn)?;
    crate::reach::mark(conn, &m, revision, affected)?;
    let pending: Option<JobRow> = jobs::table
        .filter(jobs::model_id.eq(&m))
        .filter(jobs::kind.eq(RecomputeRisk::KIND))
        .filter(jobs::status.eq(JobStatus::Queued.as_str()))
        .select(JobRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(job) = pending {
        // Joining a queued job must hold it queued until this change
        // commits: a worker starting it meanwhile would read the revision
        // before this change and nothing would compute it. The guarded
        // `UPDATE` locks the row (a worker's start waits for this commit),
        // or finds the job already started and queues another.
        let held = diesel::update(
            jobs::table
                .filter(jobs::id.eq(&job.id))
                .filter(jobs::status.eq(JobStatus::Queued.as_str())),
        )
        .set(jobs::updated_at.eq(time::now()))
        .execute(conn)?;
        if held == 1 {
            return job.into_job();
        }
    }
    RecomputeRisk.enqueue(conn, actor, model_id)
}

/// A job of a kind named by its text, for tests of the job machinery
/// itself (kinds that panic, sleep or fail on purpose).
#[cfg(feature = "testing")]
pub fn create_named(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    kind: &str,
    payload: Option<&serde_json::Value>,
) -> Result<Job, StoreError> {
    crate::queue::insert(conn, actor, Some(model_id), kind, payload)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: JobId) -> Result<Job, StoreError> {
    jobs::table
        .filter(jobs::id.eq(id.to_string()))
        .filter(jobs::org_id.eq(org.to_string()))
        .select(JobRow::as_select())
        .first::<JobRow>(conn)?
        .into_job()
}

/// Outbox rows not yet published, oldest first. On PostgreSQL they are
/// read `FOR UPDATE SKIP LOCKED`, which keeps relays apart only inside a
/// caller's transaction; the relay reads outside one, so two relays may
/// publish a row twice, which idempotent jobs make harmless.
pub fn unpublished(conn: &mut DbConn, limit: i64) -> Result<Vec<(String, String)>, StoreError> {
    let rows = match conn {
        crate::DbConn::Pg(c) => outbox::table
            .filter(outbox::published_at.is_null())
            .order(outbox::created_at.asc())
            .limit(limit)
            .select((outbox::id, outbox::payload))
            .for_update()
            .skip_locked()
            .load(c)?,
        crate::DbConn::Sqlite(c) => outbox::table
            .filter(outbox::published_at.is_null())
            .order(outbox::created_at.asc())
            .limit(limit)
            .select((outbox::id, outbox::payload))
            .load(c)?,
    };
    Ok(rows)
}

pub fn mark_published(conn: &mut DbConn, ids: &[String]) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        diesel::update(outbox::table.filter(outbox::id.eq_any(chunk)))
            .set(outbox::published_at.eq(time::now()))
            .execute(conn)?;
    }
    Ok(())
}

/// How long a published outbox row is kept (to see what was relayed when).
pub const OUTBOX_RETENTION_HOURS: i64 = 24;

/// Drops outbox rows published more than a day before `now`; rows not yet
/// published are never dropped.
pub fn purge_published(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let before = now - chrono::Duration::hours(OUTBOX_RETENTION_HOURS);
    Ok(diesel::delete(outbox::table.filter(outbox::published_at.le(before))).execute(conn)?)
}

/// Why a job did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum JobFailure {
    /// Worth retrying (the database was busy, the connection dropped).
    #[error("{0}")]
    Transient(String),
    /// Will fail every time: park it.
    #[error("{0}")]
    Permanent(String),
}

impl From<StoreError> for JobFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => JobFailure::Transient(m),
            StoreError::Database(e) => JobFailure::Transient(e.to_string()),
            other => JobFailure::Permanent(other.to_string()),
        }
    }
}

/// What a job's handler is told about the job it runs.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub id: String,
    pub kind: String,
    /// The job's model, as the organisation that queued the job sees it.
    pub scope: Option<Scoped>,
    /// 1 on the first run.
    pub attempt: i32,
    /// What the job was queued with beyond its model (`null` for none).
    pub payload: serde_json::Value,
}

/// What runs jobs: the worker's registry of kinds.
pub trait JobRunner {
    /// Runs allowed for a job of `kind` before it is failed for good.
    fn max_attempts(&self, kind: &str) -> i32;
    fn run(&self, conn: &mut DbConn, job: &JobContext) -> Result<serde_json::Value, JobFailure>;
}

/// Runs one job with `run` and records its outcome. Idempotent: running a
/// job again (a redelivery, a worker killed halfway) gives the same final
/// state. A job that has used up its attempts (for instance because every
/// run so far killed its process) is parked as failed before it runs
/// again, and a handler that panics fails that attempt instead of
/// unwinding into the runner. Returns the failure and whether the job has
/// attempts left.
pub fn execute(
    conn: &mut DbConn,
    job_id: &str,
    runner: &dyn JobRunner,
) -> Result<(), (JobFailure, bool)> {
    enum Start {
        Missing,
        Done,
        Exhausted(i32),
        Run(Box<JobRow>),
    }
    let start = write_tx(conn, |conn| {
        let row: Option<JobRow> = jobs::table
            .filter(jobs::id.eq(job_id))
            .select(JobRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else {
            return Ok::<_, StoreError>(Start::Missing);
        };
        if row.status == JobStatus::Succeeded.as_str() || row.status == JobStatus::Failed.as_str() {
            return Ok(Start::Done);
        }
        if row.attempts >= runner.max_attempts(&row.kind) {
            let error = format!(
                "gave up after {} attempts; the last did not finish ({})",
                row.attempts,
                row.error.as_deref().unwrap_or("no error recorded")
            );
            diesel::update(jobs::table.filter(jobs::id.eq(job_id)))
                .set((
                    jobs::status.eq(JobStatus::Failed.as_str()),
                    jobs::error.eq(&error),
                    jobs::updated_at.eq(time::now()),
                ))
                .execute(conn)?;
            failed_event(conn, &row, &error)?;
            return Ok(Start::Exhausted(row.attempts));
        }
        diesel::update(jobs::table.filter(jobs::id.eq(job_id)))
            .set((
                jobs::status.eq(JobStatus::Running.as_str()),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::updated_at.eq(time::now()),
            ))
            .execute(conn)?;
        Ok(Start::Run(Box::new(row)))
    })
    .map_err(|e| (JobFailure::from(e), true))?;
    let row = match start {
        Start::Missing => return Err((JobFailure::Permanent(format!("no job {job_id}")), false)),
        Start::Done => return Ok(()),
        Start::Exhausted(n) => {
            return Err((
                JobFailure::Permanent(format!("gave up after {n} attempts")),
                false,
            ))
        }
        Start::Run(row) => row,
    };
    let attempts = row.attempts + 1;
    let context = JobContext {
        id: row.id.clone(),
        kind: row.kind.clone(),
        scope: match (row.org_id.as_deref(), row.model_id.as_deref()) {
            (Some(org), Some(model)) => match (parse_id(org), parse_id(model)) {
                (Ok(org), Ok(model)) => Some(Scoped::trusted(org, model)),
                _ => None,
            },
            _ => None,
        },
        attempt: attempts,
        payload: row
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok())
            .unwrap_or(serde_json::Value::Null),
    };
    let max_attempts = runner.max_attempts(&row.kind);
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runner.run(conn, &context)))
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Err(JobFailure::Transient(format!(
                    "the job panicked: {message}"
                )))
            });
    let (status, result, error, retry) = match &outcome {
        Ok(result) => (JobStatus::Succeeded, Some(result.to_string()), None, false),
        Err(JobFailure::Transient(e)) if attempts < max_attempts => {
            (JobStatus::Queued, None, Some(e.clone()), true)
        }
        Err(e) => (JobStatus::Failed, None, Some(e.to_string()), false),
    };
    write_tx(conn, |conn| {
        diesel::update(jobs::table.filter(jobs::id.eq(job_id)))
            .set((
                jobs::status.eq(status.as_str()),
                jobs::result.eq(result),
                jobs::error.eq(&error),
                jobs::updated_at.eq(time::now()),
            ))
            .execute(conn)?;
        if status == JobStatus::Failed {
            failed_event(conn, &row, error.as_deref().unwrap_or(""))?;
        }
        Ok::<_, StoreError>(())
    })
    .map_err(|e| (JobFailure::from(e), true))?;
    match outcome {
        Ok(_) => Ok(()),
        Err(e) => Err((e, retry)),
    }
}

/// Parks a job as failed (it went to the dead-letter queue).
pub fn mark_failed(conn: &mut DbConn, job_id: &str, error: &str) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let row: Option<JobRow> = jobs::table
            .filter(jobs::id.eq(job_id))
            .select(JobRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row else { return Ok(()) };
        let n = diesel::update(
            jobs::table
                .filter(jobs::id.eq(job_id))
                .filter(jobs::status.ne(JobStatus::Failed.as_str())),
        )
        .set((
            jobs::status.eq(JobStatus::Failed.as_str()),
            jobs::error.eq(error),
            jobs::updated_at.eq(time::now()),
        ))
        .execute(conn)?;
        if n == 1 {
            failed_event(conn, &row, error)?;
        }
        Ok(())
    })
}

/// The `job.failed` event of a job parked for good, in its transaction.
fn failed_event(conn: &mut DbConn, row: &JobRow, error: &str) -> Result<(), StoreError> {
    let Some(org) = row.org_id.as_deref() else {
        return Ok(());
    };
    let model = row.model_id.as_deref().map(parse_id).transpose()?;
    crate::events::record_event(
        conn,
        parse_id(org)?,
        model,
        palisade_domain::webhook::EventType::JobFailed,
        serde_json::json!({
            "job_id": row.id,
            "kind": row.kind,
            "attempts": row.attempts + 1,
            "error": error,
        }),
        None,
    )?;
    Ok(())
}

/// How many jobs of a model exist (for tests and metrics).
pub fn count_for_model(conn: &mut DbConn, scope: Scoped) -> Result<i64, StoreError> {
    let model_id = scope.model();
    Ok(jobs::table
        .filter(jobs::model_id.eq(model_id.to_string()))
        .count()
        .get_result(conn)?)
}
