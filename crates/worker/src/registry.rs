//! Job kinds: one handler per kind, looked up by the name a job row
//! carries. The in-process runner of embedded mode and the RabbitMQ
//! consumer run the same registry, so a kind behaves the same in both.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_domain::job::JobKind;
use palisade_store::jobs::{self, JobContext, JobFailure};
use palisade_store::DbConn;

/// Runs one job of a kind against the database and returns its result.
pub type Handler =
    Arc<dyn Fn(&mut DbConn, &JobContext) -> Result<serde_json::Value, JobFailure> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Handler>,
}

impl Registry {
    /// Every kind Palisade queues.
    pub fn standard() -> Self {
        Registry::default().with(JobKind::RecomputeRisk.as_str(), |conn, job| {
            let scope = job
                .scope
                .ok_or_else(|| JobFailure::Permanent("recompute_risk without a model".into()))?;
            Ok(palisade_store::risks::recompute(conn, scope)?)
        })
    }

    pub fn with(
        mut self,
        kind: &str,
        handler: impl Fn(&mut DbConn, &JobContext) -> Result<serde_json::Value, JobFailure>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    /// Runs the job `job_id` and records its outcome (see
    /// [`jobs::execute`]); an unknown kind fails for good.
    pub fn execute(&self, conn: &mut DbConn, job_id: &str) -> Result<(), (JobFailure, bool)> {
        jobs::execute(
            conn,
            job_id,
            &|conn, job| match self.handlers.get(&job.kind) {
                Some(handler) => handler(conn, job),
                None => Err(JobFailure::Permanent(format!(
                    "unknown job kind {:?}",
                    job.kind
                ))),
            },
        )
    }
}
