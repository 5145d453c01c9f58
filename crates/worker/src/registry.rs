//! Job kinds: one type per kind (its name, the payload it is queued with,
//! how often it may run, what it does), collected in a [`Registry`]. The
//! in-process runner of embedded mode and the RabbitMQ consumer run the same
//! registry, so a kind behaves the same in both.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_domain::job::{JobKind, MAX_ATTEMPTS};
use palisade_store::jobs::{self, JobContext, JobFailure, JobRunner};
use palisade_store::DbConn;
use serde::de::DeserializeOwned;

/// A kind of job. Adding one is a type implementing this, registered in
/// [`Registry::standard`], and a `jobs::create(…, Self::KIND, payload)` in
/// the write that causes it.
pub trait Job: Send + Sync + 'static {
    /// The name job rows and messages carry.
    const KIND: &'static str;
    /// Runs allowed before the job is failed for good.
    const MAX_ATTEMPTS: i32 = MAX_ATTEMPTS;
    /// What the job is queued with beyond its model (`()` for nothing).
    type Payload: DeserializeOwned;

    fn run(
        &self,
        conn: &mut DbConn,
        job: &JobContext,
        payload: Self::Payload,
    ) -> Result<serde_json::Value, JobFailure>;
}

/// Recomputes a model's risk register.
pub struct RecomputeRisk;

impl Job for RecomputeRisk {
    const KIND: &'static str = "recompute_risk";
    type Payload = ();

    fn run(
        &self,
        conn: &mut DbConn,
        job: &JobContext,
        (): (),
    ) -> Result<serde_json::Value, JobFailure> {
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent("recompute_risk without a model".into()))?;
        Ok(palisade_store::risks::recompute(conn, scope)?)
    }
}

/// Applies a ticketing system's webhook to one treatment: the moves the
/// state machine allows towards the mapped status, each audited with the
/// delivery id. Idempotent: a treatment already there is left alone.
pub struct ApplyTicketState;

impl Job for ApplyTicketState {
    const KIND: &'static str = palisade_store::integrations::APPLY_TICKET_STATE;
    type Payload = palisade_store::integrations::TicketChange;

    fn run(
        &self,
        conn: &mut DbConn,
        job: &JobContext,
        change: Self::Payload,
    ) -> Result<serde_json::Value, JobFailure> {
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent("apply_ticket_state without a model".into()))?;
        let moves = match palisade_store::integrations::apply_ticket_state(
            conn,
            scope.org(),
            scope.model(),
            &change,
        ) {
            Ok(moves) => moves,
            // The treatment was deleted since: nothing to move.
            Err(palisade_store::StoreError::NotFound) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(serde_json::json!({
            "treatment_id": change.treatment_id,
            "ticket_key": change.ticket_key,
            "ticket_state": change.ticket_state,
            "moves": moves,
        }))
    }
}

type Handler =
    Arc<dyn Fn(&mut DbConn, &JobContext) -> Result<serde_json::Value, JobFailure> + Send + Sync>;

#[derive(Clone, Default)]
pub struct Registry {
    kinds: HashMap<String, (i32, Handler)>,
}

impl Registry {
    /// Every kind Palisade queues.
    pub fn standard() -> Self {
        Self::standard_with(std::sync::Arc::default())
    }

    /// Every kind, with webhook deliveries made as `settings` say.
    pub fn standard_with(settings: std::sync::Arc<crate::webhooks::Settings>) -> Self {
        debug_assert_eq!(RecomputeRisk::KIND, JobKind::RecomputeRisk.as_str());
        debug_assert_eq!(
            crate::report::GenerateReport::KIND,
            JobKind::GenerateReport.as_str()
        );
        Registry::default()
            .register(RecomputeRisk)
            .register(crate::report::GenerateReport)
            .register(ApplyTicketState)
            .register(crate::webhooks::DeliverWebhook(settings.clone()))
            .register(crate::tickets::CreateTicket(settings))
    }

    pub fn register<J: Job>(mut self, job: J) -> Self {
        let handler: Handler = Arc::new(move |conn, ctx| {
            let payload =
                serde_json::from_value::<J::Payload>(ctx.payload.clone()).map_err(|e| {
                    JobFailure::Permanent(format!("{} payload is not valid: {e}", J::KIND))
                })?;
            job.run(conn, ctx, payload)
        });
        self.kinds
            .insert(J::KIND.to_string(), (J::MAX_ATTEMPTS, handler));
        self
    }

    /// A kind given as a function, with the default attempts (tests, tools).
    pub fn with(
        mut self,
        kind: &str,
        handler: impl Fn(&mut DbConn, &JobContext) -> Result<serde_json::Value, JobFailure>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.kinds
            .insert(kind.to_string(), (MAX_ATTEMPTS, Arc::new(handler)));
        self
    }

    /// Runs the job `job_id` and records its outcome (see
    /// [`jobs::execute`]); an unknown kind fails for good.
    pub fn execute(&self, conn: &mut DbConn, job_id: &str) -> Result<(), (JobFailure, bool)> {
        jobs::execute(conn, job_id, self)
    }
}

impl JobRunner for Registry {
    fn max_attempts(&self, kind: &str) -> i32 {
        self.kinds.get(kind).map_or(MAX_ATTEMPTS, |(n, _)| *n)
    }

    fn run(&self, conn: &mut DbConn, job: &JobContext) -> Result<serde_json::Value, JobFailure> {
        match self.kinds.get(&job.kind) {
            Some((_, handler)) => handler(conn, job),
            None => Err(JobFailure::Permanent(format!(
                "unknown job kind {:?}",
                job.kind
            ))),
        }
    }
}
