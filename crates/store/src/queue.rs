//! Queueing a job: its row and its outbox row, written in the caller's
//! transaction. A kind is its payload type ([`JobKind`]); everything that
//! queues work calls this module, which calls nothing back.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{JobId, ModelId};
use palisade_domain::job::{Job, JobMessage, JobStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::db::DbConn;
use crate::schema::{jobs, outbox};
use crate::{parse_enum, parse_id, time, Actor, StoreError};

/// A kind of job is the payload it is queued with: the type names the kind
/// its rows and messages carry, so a kind is spelled once, on its type, and
/// queued typed (`GenerateReport { report_id }.enqueue(conn, actor, model)`).
/// The worker implements what each kind does on the same type.
pub trait JobKind: Serialize + DeserializeOwned + Send + 'static {
    const KIND: &'static str;

    /// Queues the job for `model` in the caller's transaction, with its
    /// outbox row.
    fn enqueue(&self, conn: &mut DbConn, actor: &Actor, model: ModelId) -> Result<Job, StoreError> {
        self.enqueue_in(conn, actor, Some(model))
    }

    /// Queues a job that may belong to no model (a webhook delivery of an
    /// organisation-wide event): without one, the worker keys it by its id.
    fn enqueue_in(
        &self,
        conn: &mut DbConn,
        actor: &Actor,
        model: Option<ModelId>,
    ) -> Result<Job, StoreError> {
        let payload = serde_json::to_value(self)?;
        insert(
            conn,
            actor,
            model,
            Self::KIND,
            (!payload.is_null()).then_some(&payload),
        )
    }
}

/// Recomputes a model's risk register; queued by [`queue_recompute`], which
/// joins one already queued.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct RecomputeRisk;

impl JobKind for RecomputeRisk {
    const KIND: &'static str = "recompute_risk";
}

/// A new job of `kind` (with what it needs beyond its model) and its
/// outbox row.
pub(crate) fn insert(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: Option<ModelId>,
    kind: &str,
    payload: Option<&serde_json::Value>,
) -> Result<Job, StoreError> {
    let now = time::now();
    let row = JobRow {
        id: JobId::generate().to_string(),
        org_id: Some(actor.org_id.to_string()),
        model_id: model_id.map(|m| m.to_string()),
        kind: kind.to_string(),
        status: JobStatus::Queued.as_str().into(),
        attempts: 0,
        error: None,
        result: None,
        request_id: actor.request_id.clone(),
        created_at: now,
        updated_at: now,
        payload: payload.map(serde_json::Value::to_string),
    };
    let message = JobMessage {
        job_id: row.id.clone(),
        kind: row.kind.clone(),
        request_id: row.request_id.clone(),
        model_id: row.model_id.clone(),
    };
    diesel::insert_into(jobs::table)
        .values(&row)
        .execute(conn)?;
    diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&row.id),
            outbox::payload.eq(serde_json::to_string(&message)?),
            outbox::created_at.eq(now),
        ))
        .execute(conn)?;
    row.into_job()
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub(crate) struct JobRow {
    pub(crate) id: String,
    pub(crate) org_id: Option<String>,
    pub(crate) model_id: Option<String>,
    pub(crate) kind: String,
    pub(crate) status: String,
    pub(crate) attempts: i32,
    pub(crate) error: Option<String>,
    pub(crate) result: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) created_at: NaiveDateTime,
    pub(crate) updated_at: NaiveDateTime,
    pub(crate) payload: Option<String>,
}

impl JobRow {
    pub(crate) fn into_job(self) -> Result<Job, StoreError> {
        Ok(Job {
            id: parse_id(&self.id)?,
            kind: self.kind,
            model_id: self.model_id.as_deref().map(parse_id).transpose()?,
            status: parse_enum(&self.status, JobStatus::parse)?,
            attempts: self.attempts,
            result: self
                .result
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            error: self.error,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}
