//! Moving jobs out of the outbox: run in-process (embedded mode) or relayed
//! to RabbitMQ with publisher confirms (production). A row is marked
//! published only once its job has run (in-process) or the broker has
//! confirmed it (relay), so a crash or an outage delays jobs, never loses them.

use std::future::Future;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::BasicProperties;
use palisade_store::{jobs, Store};

use crate::{connect, redact, Registry, Topology, WorkerConfig};

const IDLE: Duration = Duration::from_millis(200);
const BATCH: i64 = 100;

async fn blocking<T: Send + 'static>(
    store: &Store,
    f: impl FnOnce(&mut palisade_store::DbConn) -> Result<T, palisade_store::StoreError>
        + Send
        + 'static,
) -> Result<T, String> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())
}

/// Embedded mode: runs queued jobs in this process until `shutdown`.
pub async fn run_in_process(store: Store, registry: Registry, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let rows = match blocking(&store, |c| jobs::unpublished(c, 10)).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the outbox");
                Vec::new()
            }
        };
        if rows.is_empty() {
            tokio::select! {
                _ = &mut shutdown => return,
                _ = tokio::time::sleep(IDLE) => continue,
            }
        }
        for (id, _) in rows {
            let mut delay = Duration::from_millis(100);
            loop {
                let job = id.clone();
                let store2 = store.clone();
                let registry = registry.clone();
                let outcome = tokio::task::spawn_blocking(move || {
                    let mut conn = store2
                        .conn()
                        .map_err(|e| (jobs::JobFailure::Transient(e.to_string()), true))?;
                    registry.execute(&mut conn, &job)
                })
                .await;
                match outcome {
                    Ok(Ok(())) | Ok(Err((_, false))) => break,
                    Ok(Err((e, true))) => {
                        tracing::warn!(job_id = %id, error = %e, "job failed; retrying")
                    }
                    Err(e) => {
                        tracing::error!(job_id = %id, error = %e, "job task failed; retrying")
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            let done = id.clone();
            if let Err(e) = blocking(&store, move |c| jobs::mark_published(c, &[done])).await {
                tracing::warn!(job_id = %id, error = %e, "cannot mark the job done; it will run again");
            }
        }
    }
}

/// Production: publishes outbox rows to RabbitMQ until `shutdown`, marking
/// each published once the broker confirms it. Reconnects with back-off.
pub async fn relay(config: WorkerConfig, store: Store, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let topology = Topology::new(&config.queue_prefix);
    let mut delay = Duration::from_millis(500);
    loop {
        let session = async {
            let connection = connect(&config.amqp_url).await.map_err(|e| e.to_string())?;
            let channel = connection
                .create_channel()
                .await
                .map_err(|e| e.to_string())?;
            topology
                .declare(&channel)
                .await
                .map_err(|e| e.to_string())?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(|e| e.to_string())?;
            tracing::info!(broker = %redact(&config.amqp_url), "outbox relay connected");
            loop {
                let rows = blocking(&store, |c| jobs::unpublished(c, BATCH)).await?;
                if rows.is_empty() {
                    tokio::time::sleep(IDLE).await;
                    continue;
                }
                let mut published = Vec::with_capacity(rows.len());
                for (id, payload) in rows {
                    let confirm = channel
                        .basic_publish(
                            &topology.exchange,
                            topology.routing_key(),
                            BasicPublishOptions::default(),
                            payload.as_bytes(),
                            BasicProperties::default()
                                .with_delivery_mode(2)
                                .with_message_id(id.clone().into()),
                        )
                        .await
                        .map_err(|e| e.to_string())?
                        .await
                        .map_err(|e| e.to_string())?;
                    if confirm.is_nack() {
                        return Err(format!("the broker refused job {id}"));
                    }
                    published.push(id);
                }
                let n = published.len();
                blocking(&store, move |c| jobs::mark_published(c, &published)).await?;
                tracing::debug!(jobs = n, "relayed");
            }
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        };
        tokio::select! {
            _ = &mut shutdown => return,
            result = session => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "outbox relay interrupted; jobs wait in the outbox");
                }
            }
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}
