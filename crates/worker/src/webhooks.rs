//! Delivering Palisade's webhooks: the dispatcher claims due deliveries
//! (one at a time per subscription and model, in order) with a
//! `deliver_webhook` job each; the job signs the fixed body with Standard
//! Webhooks, sends it through [`crate::outbound`] outside any transaction,
//! and records the attempt and what follows. A worker killed mid-delivery
//! leaves its job unacknowledged (or its outbox row unfinished): the job
//! runs again and sends the same `webhook-id`.

use std::future::Future;
use std::time::Duration;

use palisade_domain::ids::DeliveryId;
use palisade_store::jobs::{JobContext, JobFailure};
use palisade_store::webhooks::{self, DeliverWebhook, Tried};
use palisade_store::{DbConn, Store};
use rand::Rng;

use crate::registry::{Context, Job};

/// How often the dispatcher looks for due deliveries.
pub const TICK: Duration = Duration::from_millis(250);
/// Deliveries claimed per look.
const BATCH: i64 = 100;

pub use crate::settings::Settings;

/// Attempts at the deliveries of one lane, starting with the one the job
/// was queued for.
impl Job for DeliverWebhook {
    fn run(
        self,
        conn: &mut DbConn,
        job: &JobContext,
        ctx: &Context,
    ) -> Result<serde_json::Value, JobFailure> {
        let settings = &ctx.settings;
        // A lane's deliveries go out one after another in this job (up to a
        // budget, then a new job takes the rest), so a burst of events to
        // one model is not paced by the job transport.
        let started = std::time::Instant::now();
        let mut sent = Vec::new();
        while let Some((id, work)) = webhooks::start_attempt(conn, &settings.sealer, &job.id)? {
            let keep = sent.len() + 1 < LANE_BUDGET && started.elapsed() < LANE_TIME;
            let (status, tried) = attempt(settings, conn, job, id, &work, keep)?;
            sent.push(serde_json::json!({
                "delivery_id": id,
                "attempt": work.attempt,
                "status_code": tried.status_code,
                "delivery_status": status,
            }));
            if !keep {
                break;
            }
        }
        Ok(serde_json::json!({ "attempts": sent }))
    }
}

/// Deliveries one job sends in a row, and for how long it keeps going.
const LANE_BUDGET: usize = 100;
const LANE_TIME: Duration = Duration::from_secs(5);

fn attempt(
    settings: &Settings,
    conn: &mut DbConn,
    job: &JobContext,
    id: DeliveryId,
    work: &webhooks::Work,
    keep: bool,
) -> Result<(palisade_domain::webhook::DeliveryStatus, Tried), JobFailure> {
    let timestamp = chrono::Utc::now().timestamp();
    let signature = palisade_domain::signature::standard_signature(
        &work.secret,
        &work.webhook_id,
        timestamp,
        work.body.as_bytes(),
    );
    let started_at = chrono::Utc::now().naive_utc();
    let answer = crate::outbound::send(
        settings.policy,
        "POST",
        &work.url,
        &[
            ("content-type", "application/json".to_string()),
            ("webhook-id", work.webhook_id.clone()),
            ("webhook-timestamp", timestamp.to_string()),
            ("webhook-signature", signature),
        ],
        Some(work.body.as_bytes()),
    );
    let tried = Tried {
        started_at,
        status_code: answer.status,
        latency_ms: i64::try_from(answer.latency.as_millis()).unwrap_or(i64::MAX),
        error: answer.error,
        response_excerpt: answer.excerpt,
        retry_after: answer.retry_after,
    };
    let jitter = rand::rng().random::<f64>();
    let status = webhooks::finish_attempt(
        conn,
        id,
        &job.id,
        work,
        &tried,
        settings.retry,
        jitter,
        keep,
    )?;
    tracing::info!(
        delivery_id = %id,
        subscription_id = %work.subscription_id,
        attempt = work.attempt,
        status_code = ?tried.status_code,
        latency_ms = tried.latency_ms,
        outcome = %status,
        "webhook attempt"
    );
    Ok((status, tried))
}

/// Claims due deliveries every `interval` until `shutdown`; several
/// dispatchers (one per worker) claim each delivery once.
pub async fn dispatch(store: Store, interval: Duration, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let s = store.clone();
        let claimed = tokio::task::spawn_blocking(move || {
            let mut conn = s.conn()?;
            webhooks::dispatch(&mut conn, chrono::Utc::now().naive_utc(), BATCH)
        })
        .await;
        match claimed {
            Ok(Ok(n)) if n > 0 => tracing::debug!(claimed = n, "webhook deliveries claimed"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot claim webhook deliveries; trying again")
            }
            Err(e) => tracing::warn!(error = %e, "the webhook dispatcher task failed"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
