//! What each kind of job does. A kind is its payload type, declared in the
//! store beside the write that queues it ([`JobKind`]); the worker
//! implements [`Job`] on that same type, and [`Registry::standard`] is the
//! one list of kinds. The in-process runner of embedded mode and the
//! RabbitMQ consumer run the same registry, so a kind behaves the same in
//! both.

use std::collections::HashMap;
use std::sync::Arc;

use palisade_domain::job::MAX_ATTEMPTS;
use palisade_store::integrations::TicketChange;
use palisade_store::jobs::{self, JobContext, JobFailure, JobKind, JobRunner, RecomputeRisk};
use palisade_store::reports::GenerateReport;
use palisade_store::tickets::TicketRequest;
use palisade_store::webhooks::DeliverWebhook;
use palisade_store::DbConn;

/// What the worker gives every job beyond its connection: how outbound
/// calls are made and secrets opened (webhook deliveries, tickets).
#[derive(Default)]
pub struct Context {
    pub settings: Arc<crate::settings::Settings>,
}

/// What a kind of job does. Adding a kind is its payload type with a
/// [`JobKind`] in the store, queued with `enqueue` in the write that
/// causes it, this trait on the same type, and a line in
/// [`Registry::standard_with`].
pub trait Job: JobKind {
    /// Runs allowed before the job is failed for good.
    const MAX_ATTEMPTS: i32 = MAX_ATTEMPTS;

    fn run(
        self,
        conn: &mut DbConn,
        job: &JobContext,
        ctx: &Context,
    ) -> Result<serde_json::Value, JobFailure>;
}

/// Recomputes a model's risk register.
impl Job for RecomputeRisk {
    fn run(
        self,
        conn: &mut DbConn,
        job: &JobContext,
        _: &Context,
    ) -> Result<serde_json::Value, JobFailure> {
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent(format!("{} without a model", Self::KIND)))?;
        Ok(palisade_store::risks::recompute(conn, scope)?)
    }
}

/// Applies a ticketing system's webhook to one treatment: the moves the
/// state machine allows towards the mapped status, each audited with the
/// delivery id. Idempotent: a treatment already there is left alone.
impl Job for TicketChange {
    fn run(
        self,
        conn: &mut DbConn,
        job: &JobContext,
        _: &Context,
    ) -> Result<serde_json::Value, JobFailure> {
        let change = self;
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent(format!("{} without a model", Self::KIND)))?;
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
    context: Arc<Context>,
}

impl Registry {
    /// Every kind Palisade queues.
    pub fn standard() -> Self {
        Self::standard_with(std::sync::Arc::default())
    }

    /// Every kind, with outbound calls made as `settings` say: the one list
    /// of kinds.
    pub fn standard_with(settings: std::sync::Arc<crate::settings::Settings>) -> Self {
        Registry {
            kinds: HashMap::new(),
            context: Arc::new(Context { settings }),
        }
        .register::<RecomputeRisk>()
        .register::<GenerateReport>()
        .register::<TicketChange>()
        .register::<DeliverWebhook>()
        .register::<TicketRequest>()
    }

    pub fn register<J: Job>(mut self) -> Self {
        let context = self.context.clone();
        let handler: Handler = Arc::new(move |conn, ctx| {
            let payload = serde_json::from_value::<J>(ctx.payload.clone()).map_err(|e| {
                JobFailure::Permanent(format!("{} payload is not valid: {e}", J::KIND))
            })?;
            payload.run(conn, ctx, &context)
        });
        self.kinds
            .insert(J::KIND.to_string(), (J::MAX_ATTEMPTS, handler));
        self
    }

    /// The kinds this registry runs, by name.
    pub fn kinds(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.kinds.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
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
