//! The expiry sweep: acceptances past their day are reopened (the
//! treatment becomes `expired`, audited, its risk row recomputed). It runs
//! in `palisade worker` in production and beside the in-process runner in
//! embedded mode; several sweeps at once expire each acceptance once. The
//! clock is a parameter so tests can move time on.

use std::future::Future;
use std::time::Duration;

use chrono::NaiveDate;
use palisade_store::{treatments, Store, StoreError};

/// How often the sweep looks (acceptances end by the day).
pub const INTERVAL: Duration = Duration::from_secs(600);

/// One sweep as of `today`: how many acceptances it expired.
pub fn sweep(store: &Store, today: NaiveDate) -> Result<usize, StoreError> {
    let mut conn = store.conn()?;
    treatments::expire_acceptances(&mut conn, today)
}

/// Sweeps every `interval` (the first at once) until `shutdown`.
pub async fn run(
    store: Store,
    today: impl Fn() -> NaiveDate + Send + Sync + Clone + 'static,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (store2, today2) = (store.clone(), today.clone());
        match tokio::task::spawn_blocking(move || sweep(&store2, today2())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(expired)) => tracing::info!(expired, "acceptances past their expiry reopened"),
            Ok(Err(e)) => tracing::warn!(error = %e, "expiry sweep failed; trying again later"),
            Err(e) => tracing::warn!(error = %e, "expiry sweep task failed"),
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}
