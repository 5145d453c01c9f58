//! Periodic clean-up beside the job transport: idempotency keys past their
//! 24 hours, outbox rows published more than a day ago, and inbound webhook
//! delivery ids past their 48 hours. The clock is a
//! parameter so tests can move time on.

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDateTime;
use palisade_store::{idempotency, jobs, Store};

/// How often `serve` cleans up.
pub const INTERVAL: Duration = Duration::from_secs(600);

/// What one round removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Purged {
    pub idempotency_keys: usize,
    pub outbox_rows: usize,
    /// Inbound webhook delivery ids past their 48 hours.
    pub webhook_deliveries: usize,
    /// Outbound deliveries finished more than 30 days ago.
    pub webhook_history: usize,
}

/// One round at `now`.
pub fn purge(store: &Store, now: NaiveDateTime) -> Result<Purged, palisade_store::StoreError> {
    let mut conn = store.conn()?;
    Ok(Purged {
        idempotency_keys: idempotency::purge_expired(&mut conn, now)?,
        outbox_rows: jobs::purge_published(&mut conn, now)?,
        webhook_deliveries: palisade_store::integrations::purge_deliveries(&mut conn, now)?,
        webhook_history: palisade_store::webhooks::purge(&mut conn, now)?,
    })
}

/// Cleans up every `interval` (the first round at once) until `shutdown`.
pub async fn run(
    store: Store,
    clock: impl Fn() -> NaiveDateTime + Send + Sync + Clone + 'static,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (store2, clock2) = (store.clone(), clock.clone());
        match tokio::task::spawn_blocking(move || purge(&store2, clock2())).await {
            Ok(Ok(purged)) if purged != Purged::default() => {
                tracing::info!(
                    idempotency_keys = purged.idempotency_keys,
                    outbox_rows = purged.outbox_rows,
                    webhook_deliveries = purged.webhook_deliveries,
                    webhook_history = purged.webhook_history,
                    "housekeeping"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "housekeeping failed; trying again later"),
            Err(e) => tracing::warn!(error = %e, "housekeeping task failed"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
