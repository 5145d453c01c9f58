//! Palisade's job worker: consumes jobs from RabbitMQ.
//!
//! This crate holds the transport: connecting, declaring the topology,
//! consuming with a bounded prefetch and stopping cleanly on a signal.
//! Job kinds are handlers in a [`Registry`]; a message that is not a job
//! this worker knows is dead-lettered at once rather than retried forever.

use std::future::Future;
use std::time::Duration;

use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicCancelOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot reach the broker at {url}: {source}")]
    Connect { url: String, source: lapin::Error },
    #[error("broker error: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker cancelled the consumer")]
    ConsumerClosed,
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub amqp_url: String,
    /// Names every exchange and queue, so that several deployments (or
    /// test runs) can share one broker.
    pub queue_prefix: String,
    /// How many unacknowledged jobs one worker holds at once.
    pub prefetch: u16,
}

/// The names of the exchanges and queues the worker uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Direct exchange jobs are published to.
    pub exchange: String,
    /// Durable queue the workers consume.
    pub queue: String,
    /// Exchange a rejected job goes to.
    pub dead_letter_exchange: String,
    /// Where rejected jobs wait for an operator.
    pub dead_letter_queue: String,
}

impl Topology {
    pub fn new(prefix: &str) -> Self {
        Topology {
            exchange: format!("{prefix}.jobs"),
            queue: format!("{prefix}.jobs"),
            dead_letter_exchange: format!("{prefix}.jobs.dlx"),
            dead_letter_queue: format!("{prefix}.jobs.dead"),
        }
    }

    /// The routing key of the job queue.
    pub fn routing_key(&self) -> &str {
        "job"
    }

    /// Declares everything durable; safe to run from every worker at start.
    pub async fn declare(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .exchange_declare(
                &self.exchange,
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            )
            .await?;
        channel
            .exchange_declare(
                &self.dead_letter_exchange,
                ExchangeKind::Fanout,
                durable,
                FieldTable::default(),
            )
            .await?;
        let queue_options = QueueDeclareOptions {
            durable: true,
            ..Default::default()
        };
        channel
            .queue_declare(
                &self.dead_letter_queue,
                queue_options,
                FieldTable::default(),
            )
            .await?;
        channel
            .queue_bind(
                &self.dead_letter_queue,
                &self.dead_letter_exchange,
                "",
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut args = FieldTable::default();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(self.dead_letter_exchange.clone().into()),
        );
        channel
            .queue_declare(&self.queue, queue_options, args)
            .await?;
        channel
            .queue_bind(
                &self.queue,
                &self.exchange,
                self.routing_key(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
        Ok(())
    }
}

pub async fn connect(url: &str) -> Result<Connection, WorkerError> {
    Connection::connect(url, ConnectionProperties::default())
        .await
        .map_err(|source| WorkerError::Connect {
            url: redact(url),
            source,
        })
}

/// The URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Reads `url` with the broker client's own parser, so a URL it would
/// refuse at every reconnect stops the process at start instead. The
/// reason never holds the URL (it may carry a password).
pub fn check_url(url: &str) -> Result<(), String> {
    match url.parse::<lapin::uri::AMQPUri>() {
        Ok(_) => Ok(()),
        Err(e) if e.contains(url) => {
            Err("not a URL of the form amqp://user:password@host:port/vhost".into())
        }
        Err(e) => Err(e),
    }
}

/// Opens and closes a connection: the broker is reachable.
pub async fn ping(url: &str) -> Result<(), String> {
    let conn = connect(url).await.map_err(|e| e.to_string())?;
    conn.close(200, "readiness check")
        .await
        .map_err(|e| e.to_string())
}

pub mod expiry;
pub mod housekeeping;
pub mod outbound;
pub mod outbox;
pub mod registry;
pub mod report;
pub mod settings;
pub mod tickets;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use lapin::message::Delivery;
use palisade_domain::job::JobMessage;
use palisade_store::{jobs, Store};
use tokio::sync::watch;

pub use registry::Registry;

/// A job that failed for a passing reason waits before it is handed back to
/// the queue: 0.5 s, doubling with each failure this worker saw, up to 30 s.
fn retry_delay(failures: u32) -> Duration {
    Duration::from_millis(500u64.saturating_mul(1u64 << failures.min(6)))
        .min(Duration::from_secs(30))
}

enum Verdict {
    Ack,
    /// Back to the queue, after a pause.
    Retry,
    /// To the dead-letter queue.
    DeadLetter(String),
}

/// Runs one delivery's job against the database; the verdict says what to
/// tell the broker. Results are committed before the ack is sent.
async fn handle(store: &Store, registry: &Registry, message: &JobMessage) -> Verdict {
    // The request id of the HTTP call that caused the job follows it here.
    let span = tracing::info_span!("job", job_id = %message.job_id, kind = %message.kind, request_id = message.request_id.as_deref().unwrap_or(""));
    let store = store.clone();
    let registry = registry.clone();
    let job_id = message.job_id.clone();
    let job_span = span.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let _entered = job_span.enter();
        let mut conn = store
            .conn()
            .map_err(|e| (jobs::JobFailure::Transient(e.to_string()), true))?;
        registry.execute(&mut conn, &job_id)
    })
    .await;
    let _entered = span.enter();
    match outcome {
        Ok(Ok(())) => {
            tracing::info!("job done");
            Verdict::Ack
        }
        Ok(Err((failure, true))) => {
            tracing::warn!(error = %failure, "job failed; it will be retried");
            Verdict::Retry
        }
        Ok(Err((failure, false))) => Verdict::DeadLetter(failure.to_string()),
        // Outside the job itself (the job's own panics are failed attempts):
        // retried, and the job's attempt count still bounds it.
        Err(e) => {
            tracing::error!(error = %e, "job task failed; it will be retried");
            Verdict::Retry
        }
    }
}

/// Why one session with the broker ended.
enum SessionEnd {
    Shutdown,
    /// The connection or the consumer was lost; reconnect.
    Lost(WorkerError),
}

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LONGEST_RETRY: Duration = Duration::from_secs(30);
/// How long jobs in hand may take to finish once shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(30);

/// Consumes jobs until `shutdown` resolves. A lost connection (the broker
/// restarting, a network cut) is retried with back-off, from the first
/// attempt on, so a worker may start before its broker. On shutdown it
/// stops taking jobs, lets the ones running finish and closes the
/// connection; jobs not yet acknowledged go back to the queue.
pub async fn run(
    config: &WorkerConfig,
    store: &Store,
    registry: &Registry,
    shutdown: impl Future<Output = ()>,
) -> Result<(), WorkerError> {
    tokio::pin!(shutdown);
    let mut delay = FIRST_RETRY;
    loop {
        let started = std::time::Instant::now();
        match session(config, store, registry, &mut shutdown).await {
            SessionEnd::Shutdown => {
                tracing::info!("worker stopped");
                return Ok(());
            }
            SessionEnd::Lost(error) => {
                if started.elapsed() > LONGEST_RETRY {
                    delay = FIRST_RETRY;
                }
                tracing::error!(%error, retry_in_ms = delay.as_millis() as u64, "broker session lost");
                tokio::select! {
                    _ = &mut shutdown => {
                        tracing::info!("worker stopped");
                        return Ok(());
                    }
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(LONGEST_RETRY);
            }
        }
    }
}

async fn session<S: Future<Output = ()>>(
    config: &WorkerConfig,
    store: &Store,
    registry: &Registry,
    shutdown: &mut std::pin::Pin<&mut S>,
) -> SessionEnd {
    let connection = match connect(&config.amqp_url).await {
        Ok(c) => c,
        Err(e) => return SessionEnd::Lost(e),
    };
    let end = consume(config, store, registry, &connection, shutdown).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        connection.close(200, "worker stopping"),
    )
    .await;
    match end {
        Ok(end) => end,
        Err(e) => SessionEnd::Lost(e.into()),
    }
}

/// What the deliveries in hand share: one lock per model, so one model's
/// jobs run one at a time while other models' run beside them, and the
/// failures seen per message, for the back-off.
#[derive(Clone, Default)]
struct InHand {
    models: Arc<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>,
    failures: Arc<Mutex<HashMap<String, u32>>>,
}

impl InHand {
    fn model_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        // Locks nobody else holds are dropped as they are handed out again.
        models.retain(|_, lock| Arc::strong_count(lock) > 1);
        models.entry(key.to_string()).or_default().clone()
    }

    fn failed(&self, key: &str) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    fn forget(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(key);
    }
}

/// One delivery from receipt to ack, nack or dead letter. Runs as its own
/// task, so `prefetch` deliveries are worked on at once and a back-off
/// pause holds only its own delivery.
async fn process(
    delivery: Delivery,
    store: Store,
    registry: Registry,
    in_hand: InHand,
    mut stopping: watch::Receiver<bool>,
) -> Result<(), lapin::Error> {
    let message: JobMessage = match serde_json::from_slice(&delivery.data) {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(reason = %format!("not a job message: {e}"), "job dead-lettered");
            return delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await;
        }
    };
    let key = message
        .model_id
        .clone()
        .unwrap_or_else(|| message.job_id.clone());
    let verdict = {
        let lock = in_hand.model_lock(&key);
        let _one_per_model = lock.lock().await;
        handle(&store, &registry, &message).await
    };
    match verdict {
        Verdict::Ack => {
            in_hand.forget(&message.job_id);
            delivery.acker.ack(BasicAckOptions::default()).await
        }
        Verdict::Retry => {
            let n = in_hand.failed(&message.job_id);
            tokio::select! {
                _ = tokio::time::sleep(retry_delay(n - 1)) => {}
                _ = stopping.wait_for(|s| *s) => {}
            }
            delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    ..Default::default()
                })
                .await
        }
        Verdict::DeadLetter(reason) => {
            in_hand.forget(&message.job_id);
            tracing::warn!(job_id = %message.job_id, %reason, "job dead-lettered");
            let job_id = message.job_id.clone();
            let _ = tokio::task::spawn_blocking(move || {
                store
                    .conn()
                    .and_then(|mut c| jobs::mark_failed(&mut c, &job_id, &reason))
            })
            .await;
            delivery
                .acker
                .nack(BasicNackOptions {
                    requeue: false,
                    ..Default::default()
                })
                .await
        }
    }
}

async fn consume<S: Future<Output = ()>>(
    config: &WorkerConfig,
    store: &Store,
    registry: &Registry,
    connection: &Connection,
    shutdown: &mut std::pin::Pin<&mut S>,
) -> Result<SessionEnd, lapin::Error> {
    let topology = Topology::new(&config.queue_prefix);
    let channel = connection.create_channel().await?;
    topology.declare(&channel).await?;
    channel
        .basic_qos(config.prefetch, BasicQosOptions::default())
        .await?;
    let consumer_tag = format!("palisade-worker-{}", std::process::id());
    let mut consumer = channel
        .basic_consume(
            &topology.queue,
            &consumer_tag,
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(
        queue = %topology.queue,
        prefetch = config.prefetch,
        broker = %redact(&config.amqp_url),
        "worker consuming"
    );
    let in_hand = InHand::default();
    let (stop, stopping) = watch::channel(false);
    let mut tasks: tokio::task::JoinSet<Result<(), lapin::Error>> = tokio::task::JoinSet::new();
    let end = loop {
        tokio::select! {
            _ = shutdown.as_mut() => {
                tracing::info!("shutdown requested: no longer taking jobs");
                break SessionEnd::Shutdown;
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                match done {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => break SessionEnd::Lost(e.into()),
                    Err(e) => tracing::error!(error = %e, "delivery task failed"),
                }
            }
            next = consumer.next() => {
                let delivery = match next {
                    Some(Ok(delivery)) => delivery,
                    Some(Err(e)) => break SessionEnd::Lost(e.into()),
                    None => break SessionEnd::Lost(WorkerError::ConsumerClosed),
                };
                tasks.spawn(process(
                    delivery,
                    store.clone(),
                    registry.clone(),
                    in_hand.clone(),
                    stopping.clone(),
                ));
            }
        }
    };
    // No new deliveries; pauses end at once; running jobs finish and are acked.
    let _ = channel
        .basic_cancel(&consumer_tag, BasicCancelOptions::default())
        .await;
    let _ = stop.send(true);
    let drained =
        tokio::time::timeout(DRAIN, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("jobs still running at shutdown go back to the queue");
        tasks.abort_all();
    }
    // Closing the channel hands unacknowledged deliveries back to the broker.
    let _ = tokio::time::timeout(
        Duration::from_secs(5),
        channel.close(200, "worker stopping"),
    )
    .await;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("amqp://guest:secret@127.0.0.1:5672/%2f"),
            "amqp://guest:***@127.0.0.1:5672/%2f"
        );
        assert_eq!(redact("amqp://127.0.0.1:5672"), "amqp://127.0.0.1:5672");
    }

    #[test]
    fn retries_back_off_up_to_thirty_seconds() {
        assert_eq!(retry_delay(0), Duration::from_millis(500));
        assert_eq!(retry_delay(1), Duration::from_secs(1));
        assert_eq!(retry_delay(3), Duration::from_secs(4));
        assert_eq!(retry_delay(20), Duration::from_secs(30));
    }

    #[test]
    fn names_follow_the_prefix() {
        let t = Topology::new("acme");
        assert_eq!(
            (t.exchange.as_str(), t.dead_letter_queue.as_str()),
            ("acme.jobs", "acme.jobs.dead")
        );
    }
}
