//! The job runners against real databases and the real broker: a job that
//! panics is a failed attempt, is given up after its attempts (dead-lettered
//! in production) and holds up no other job; the consumer works on several
//! deliveries at once but never on two jobs of one model.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use palisade_domain::asset::Asset;
use palisade_domain::threat::Threat;
use palisade_domain::treatment::Treatment;
use palisade_store::jobs::{JobKind as _, RecomputeRisk};
use palisade_store::{ModelReads as _, ModelWrites as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use palisade_domain::ids::{JobId, ModelId, OrgId};
use palisade_domain::job::{Job, JobStatus, MAX_ATTEMPTS};
use palisade_domain::model::ModelFields;
use palisade_store::jobs::JobFailure;
use palisade_store::testing::TestDatabase;
use palisade_store::{jobs, models, orgs, Actor, Backend, DbConn, Store};
use palisade_worker::{outbox, Registry, WorkerConfig};

fn amqp_url() -> String {
    std::env::var("PALISADE_TEST_AMQP")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into())
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// SQLite, jobs run in-process from the outbox.
    Embedded,
    /// PostgreSQL, the outbox relayed to RabbitMQ, the consumer.
    Production,
}

struct Setup {
    _db: TestDatabase,
    store: Store,
    actor: Actor,
}

fn setup(mode: Mode) -> Setup {
    let db = TestDatabase::new(match mode {
        Mode::Embedded => Backend::Sqlite,
        Mode::Production => Backend::Postgres,
    });
    let store = db.store();
    let mut conn = store.conn().unwrap();
    let org = orgs::get_or_create(&mut conn, "acme").unwrap();
    let actor = Actor {
        org_id: org.id,
        key_id: None,
        request_id: None,
        role: palisade_domain::role::Role::Owner,
    };
    Setup {
        _db: db,
        store,
        actor,
    }
}

fn model(s: &Setup, name: &str) -> ModelId {
    let mut conn = s.store.conn().unwrap();
    let fields: ModelFields = serde_json::from_value(serde_json::json!({ "name": name })).unwrap();
    models::create(&mut conn, &s.actor, fields).unwrap().id
}

fn job(s: &Setup, model: ModelId, kind: &str) -> JobId {
    let mut conn = s.store.conn().unwrap();
    jobs::create_named(&mut conn, &s.actor, model, kind, None)
        .unwrap()
        .id
}

fn status(conn: &mut DbConn, org: OrgId, id: JobId) -> Job {
    jobs::get(conn, org, id).unwrap()
}

/// Runs the mode's real transport with `registry` until `done` holds (or
/// 90 s pass), then stops it. Returns whether `done` held.
fn run_until(
    mode: Mode,
    s: &Setup,
    registry: Registry,
    prefetch: u16,
    done: impl Fn(&mut DbConn) -> bool + Send + Sync + 'static,
) -> bool {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let prefix = format!("palisade-test-{}", uuid::Uuid::new_v4().simple());
    let store = s.store.clone();
    let queue_prefix = prefix.clone();
    let held = runtime.block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let wait = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let mut tasks = tokio::task::JoinSet::new();
        match mode {
            Mode::Embedded => {
                tasks.spawn(outbox::run_in_process(
                    store.clone(),
                    registry,
                    wait(stopped.clone()),
                ));
            }
            Mode::Production => {
                let config = WorkerConfig {
                    amqp_url: amqp_url(),
                    queue_prefix,
                    prefetch,
                };
                tasks.spawn(outbox::relay(
                    config.clone(),
                    store.clone(),
                    wait(stopped.clone()),
                ));
                let worker_store = store.clone();
                let rx = stopped.clone();
                tasks.spawn(async move {
                    palisade_worker::run(&config, &worker_store, &registry, wait(rx))
                        .await
                        .unwrap();
                });
            }
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        let done = Arc::new(done);
        let mut held = false;
        while Instant::now() < deadline {
            let (store, done) = (store.clone(), done.clone());
            if tokio::task::spawn_blocking(move || done(&mut store.conn().unwrap()))
                .await
                .unwrap()
            {
                held = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = stop.send(true);
        while tasks.join_next().await.is_some() {}
        held
    });
    if mode == Mode::Production {
        delete_queues(&prefix);
    }
    held
}

fn delete_queues(prefix: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conn = lapin::Connection::connect(&amqp_url(), Default::default())
            .await
            .unwrap();
        let channel = conn.create_channel().await.unwrap();
        for q in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dead")] {
            let _ = channel.queue_delete(&q, Default::default()).await;
        }
        for x in [format!("{prefix}.jobs"), format!("{prefix}.jobs.dlx")] {
            let _ = channel.exchange_delete(&x, Default::default()).await;
        }
        let _ = conn.close(200, "test done").await;
    });
}

fn a_panicking_job_fails_after_its_attempts_and_holds_up_nothing(mode: Mode) {
    let s = setup(mode);
    let (a, b) = (model(&s, "a"), model(&s, "b"));
    let poison = job(&s, a, "explode");
    let next = job(&s, b, RecomputeRisk::KIND);
    let registry = Registry::standard().with("explode", |_, _| panic!("boom"));
    let org = s.actor.org_id;
    let settled = run_until(mode, &s, registry, 4, move |conn| {
        status(conn, org, poison).status == JobStatus::Failed
            && status(conn, org, next).status == JobStatus::Succeeded
    });
    let mut conn = s.store.conn().unwrap();
    let p = status(&mut conn, org, poison);
    assert!(
        settled,
        "the poison job is {:?} after {} attempts ({:?}); the next job is {:?}",
        p.status,
        p.attempts,
        p.error,
        status(&mut conn, org, next).status
    );
    assert_eq!(p.attempts, MAX_ATTEMPTS, "every attempt was used, no more");
    assert!(
        p.error.as_deref().unwrap_or("").contains("panicked: boom"),
        "{:?}",
        p.error
    );
}

#[test]
fn a_panicking_job_fails_after_its_attempts_and_holds_up_nothing_embedded() {
    a_panicking_job_fails_after_its_attempts_and_holds_up_nothing(Mode::Embedded);
}

#[test]
fn a_panicking_job_fails_after_its_attempts_and_holds_up_nothing_production() {
    a_panicking_job_fails_after_its_attempts_and_holds_up_nothing(Mode::Production);
}

#[test]
fn a_job_that_used_up_its_attempts_is_failed_before_it_runs_again() {
    // A job whose every run killed its process: the attempts counted before
    // each run stop it, whatever the transport.
    let s = setup(Mode::Embedded);
    let m = model(&s, "m");
    let id = job(&s, m, RecomputeRisk::KIND);
    let ran = Arc::new(Mutex::new(0));
    let counter = ran.clone();
    let registry = Registry::default().with(RecomputeRisk::KIND, move |_, _| {
        *counter.lock().unwrap() += 1;
        Err(JobFailure::Transient("busy".into()))
    });
    let mut conn = s.store.conn().unwrap();
    for _ in 0..MAX_ATTEMPTS + 3 {
        let _ = registry.execute(&mut conn, &id.to_string());
    }
    assert_eq!(*ran.lock().unwrap(), MAX_ATTEMPTS);
    let j = status(&mut conn, s.actor.org_id, id);
    assert_eq!((j.status, j.attempts), (JobStatus::Failed, MAX_ATTEMPTS));
}

type Span = (ModelId, Instant, Instant);

#[test]
fn the_consumer_runs_models_side_by_side_and_one_model_at_a_time() {
    let s = setup(Mode::Production);
    let models: Vec<ModelId> = (0..4).map(|i| model(&s, &format!("m{i}"))).collect();
    let mut ids: Vec<JobId> = models.iter().map(|m| job(&s, *m, "slow")).collect();
    ids.push(job(&s, models[0], "slow"));
    ids.push(job(&s, models[0], "slow"));
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let record = spans.clone();
    let registry = Registry::default().with("slow", move |_, job| {
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(400));
        record
            .lock()
            .unwrap()
            .push((job.scope.unwrap().model(), start, Instant::now()));
        Ok(serde_json::json!({}))
    });
    let org = s.actor.org_id;
    let all = ids.clone();
    assert!(run_until(Mode::Production, &s, registry, 8, move |conn| {
        all.iter()
            .all(|id| status(conn, org, *id).status == JobStatus::Succeeded)
    }));
    let spans = spans.lock().unwrap();
    assert_eq!(spans.len(), 6);
    let overlap = |a: &Span, b: &Span| a.1 < b.2 && b.1 < a.2;
    let mut side_by_side = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if overlap(a, b) {
                assert_ne!(a.0, b.0, "two jobs of one model ran at once");
                side_by_side += 1;
            }
        }
    }
    assert!(
        side_by_side > 0,
        "jobs of different models never ran at the same time"
    );
}

#[test]
fn housekeeping_runs_on_its_clock_and_clears_what_expired() {
    use palisade_store::idempotency;
    let s = setup(Mode::Embedded);
    let m = model(&s, "m");
    let id = job(&s, m, RecomputeRisk::KIND);
    {
        let mut conn = s.store.conn().unwrap();
        idempotency::reserve(&mut conn, s.actor.org_id, "k", "h").unwrap();
        jobs::mark_published(&mut conn, &[id.to_string()]).unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Two days on, by the injected clock.
    let later = chrono::Utc::now().naive_utc() + chrono::Duration::days(2);
    let store = s.store.clone();
    runtime.block_on(async move {
        palisade_worker::housekeeping::run(
            store,
            move || later,
            Duration::from_millis(10),
            tokio::time::sleep(Duration::from_millis(100)),
        )
        .await
    });
    let mut conn = s.store.conn().unwrap();
    assert_eq!(jobs::unpublished(&mut conn, 10).unwrap().len(), 0);
    assert_eq!(
        palisade_worker::housekeeping::purge(&s.store, later).unwrap(),
        palisade_worker::housekeeping::Purged::default(),
        "the loop already removed both"
    );
    assert_eq!(
        idempotency::reserve(&mut conn, s.actor.org_id, "k", "h2").unwrap(),
        idempotency::Reservation::Reserved
    );
}

/// A kind with a payload and a retry policy of its own: one type, queued
/// typed and run by the registry it is registered with.
#[derive(serde::Serialize, serde::Deserialize)]
struct Echo {
    formats: Vec<String>,
}

impl palisade_store::jobs::JobKind for Echo {
    const KIND: &'static str = "echo";
}

impl palisade_worker::registry::Job for Echo {
    const MAX_ATTEMPTS: i32 = 2;

    fn run(
        self,
        _: &mut DbConn,
        job: &palisade_store::jobs::JobContext,
        _: &palisade_worker::registry::Context,
    ) -> Result<serde_json::Value, JobFailure> {
        if self.formats.is_empty() {
            return Err(JobFailure::Transient(format!("attempt {}", job.attempt)));
        }
        Ok(serde_json::json!({ "formats": self.formats, "model": job.scope.map(|s| s.model()) }))
    }
}

#[test]
fn a_kind_is_one_type_with_its_payload_and_retry_policy() {
    let s = setup(Mode::Embedded);
    let m = model(&s, "m");
    let mut conn = s.store.conn().unwrap();
    // Queued typed, as the store queues every kind; a payload no Echo
    // reads can only come from elsewhere (an older release), by its name.
    let queue = |payload: serde_json::Value| {
        let mut conn = s.store.conn().unwrap();
        match serde_json::from_value::<Echo>(payload.clone()) {
            Ok(echo) => palisade_store::jobs::JobKind::enqueue(&echo, &mut conn, &s.actor, m),
            Err(_) => jobs::create_named(&mut conn, &s.actor, m, "echo", Some(&payload)),
        }
        .unwrap()
        .id
    };
    let registry = Registry::standard().register::<Echo>();
    let org = s.actor.org_id;

    let ok = queue(serde_json::json!({"formats": ["json", "html"]}));
    registry.execute(&mut conn, &ok.to_string()).unwrap();
    let done = status(&mut conn, org, ok);
    assert_eq!(done.status, JobStatus::Succeeded);
    assert_eq!(
        done.result.unwrap()["formats"],
        serde_json::json!(["json", "html"])
    );

    // Its own attempts: two, not five.
    let flaky = queue(serde_json::json!({"formats": []}));
    for _ in 0..4 {
        let _ = registry.execute(&mut conn, &flaky.to_string());
    }
    let failed = status(&mut conn, org, flaky);
    assert_eq!((failed.status, failed.attempts), (JobStatus::Failed, 2));

    // A payload the kind cannot read fails for good at once.
    let bad = queue(serde_json::json!({"formats": "json"}));
    match registry.execute(&mut conn, &bad.to_string()) {
        Err((e, retry)) => {
            assert!(!retry);
            assert!(e.to_string().contains("payload"), "{e}");
        }
        Ok(()) => panic!("a bad payload ran"),
    }
}

/// An accepted threat whose acceptance ends on `expires_on`, approved.
fn accepted_threat(
    s: &Setup,
    model: ModelId,
    expires_on: &str,
) -> palisade_domain::ids::TreatmentId {
    use palisade_domain::threat::{Stride, ThreatAssessment, ThreatFields};
    use palisade_domain::treatment::{TreatmentFields, TreatmentInput, TreatmentStatus};
    let mut conn = s.store.conn().unwrap();
    let threat = Threat::create(
        &mut conn,
        &s.actor,
        model,
        ThreatFields {
            title: "fraud".into(),
            description: None,
            stride: Stride::Spoofing,
            asset_ids: vec![],
            actor_ids: vec![],
            interaction_ids: vec![],
            attack_tree_node_ids: vec![],
            assessment: ThreatAssessment::Stateless(
                serde_json::from_value(
                    serde_json::json!({"method": "nist", "likelihood": "low", "impact": "low"}),
                )
                .unwrap(),
            ),
        },
    )
    .unwrap();
    let input: TreatmentInput = serde_json::from_value(serde_json::json!({
        "threat_id": threat.id, "strategy": "accept", "owner": "ciso",
        "justification": "cheaper to bear", "approver": "cfo", "expires_on": expires_on
    }))
    .unwrap();
    let fields = TreatmentFields::from_input(input, None).unwrap();
    let t = Treatment::create(&mut conn, &s.actor, model, fields).unwrap();
    palisade_store::treatments::move_to(
        &mut conn,
        &s.actor,
        model,
        t.id,
        None,
        TreatmentStatus::Approved,
        None,
    )
    .unwrap();
    t.id
}

#[test]
fn acceptances_expire_by_the_injected_clock_once_in_both_modes() {
    use palisade_domain::treatment::TreatmentStatus;
    for mode in [Mode::Embedded, Mode::Production] {
        let s = setup(mode);
        let m = model(&s, "m");
        let ends_today = accepted_threat(&s, m, "2027-06-30");
        let ends_later = accepted_threat(&s, m, "2027-07-31");
        let day = |d: &str| -> chrono::NaiveDate { d.parse().unwrap() };
        let status = |id| {
            let mut conn = s.store.conn().unwrap();
            Treatment::get(&mut conn, s.actor.org_id, m, id)
                .unwrap()
                .status
        };
        // On its last day an acceptance still stands.
        assert_eq!(
            palisade_worker::expiry::sweep(&s.store, day("2027-06-30")).unwrap(),
            0
        );
        assert_eq!(status(ends_today), TreatmentStatus::Approved);

        // The periodic task, on a clock moved to the next day: several
        // sweeps at once (the loop ticking every 10 ms, and two more
        // threads) expire it once.
        let store = s.store.clone();
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let store = s.store.clone();
                std::thread::spawn(move || {
                    palisade_worker::expiry::sweep(&store, day("2027-07-01"))
                })
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            palisade_worker::expiry::run(
                store,
                move || day("2027-07-01"),
                Duration::from_millis(10),
                tokio::time::sleep(Duration::from_millis(100)),
            )
            .await
        });
        let raced: usize = racers.into_iter().map(|r| r.join().unwrap().unwrap()).sum();
        assert!(raced <= 1);
        assert_eq!(status(ends_today), TreatmentStatus::Expired);
        assert_eq!(status(ends_later), TreatmentStatus::Approved);

        let mut conn = s.store.conn().unwrap();
        let audit = palisade_store::audit::list(
            &mut conn,
            s.actor.org_id,
            &palisade_store::audit::AuditFilter {
                entity_type: Some("treatment".into()),
                ..Default::default()
            },
            &palisade_store::PageRequest {
                limit: 500,
                ..Default::default()
            },
        )
        .unwrap();
        let expiries: Vec<_> = audit
            .items
            .iter()
            .filter(|e| {
                e.after
                    .as_ref()
                    .and_then(|a| a.get("status"))
                    .and_then(|v| v.as_str())
                    == Some("expired")
            })
            .collect();
        assert_eq!(
            expiries.len(),
            1,
            "one audit record, whatever the number of sweeps"
        );
        let why = expiries[0].after.as_ref().unwrap()["transition_note"]
            .as_str()
            .unwrap();
        assert!(why.contains("expired on 2027-06-30"), "{why}");
        // Idempotent: nothing left to expire.
        assert_eq!(
            palisade_worker::expiry::sweep(&s.store, day("2027-07-02")).unwrap(),
            0
        );
        assert_eq!(
            palisade_worker::expiry::sweep(&s.store, day("2027-08-01")).unwrap(),
            1
        );
        assert_eq!(status(ends_later), TreatmentStatus::Expired);
    }
}

/// A report job whose first run dies after it pinned its version (as a
/// worker killed mid-render would) is run again: the report is rendered
/// once, from that same version, and a further delivery changes nothing.
fn a_report_job_killed_mid_render_is_redone_once(mode: Mode) {
    use palisade_domain::report::{ReportFormat, ReportInput, ReportStatus};
    use palisade_store::jobs::JobKind as _;
    use palisade_store::reports;
    use palisade_store::reports::GenerateReport;
    use palisade_worker::registry::Job as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let s = setup(mode);
    let m = model(&s, "payments");
    let mut conn = s.store.conn().unwrap();
    let asset: palisade_domain::asset::AssetFields =
        serde_json::from_value(serde_json::json!({"name": "ledger", "kind": "data"})).unwrap();
    Asset::create(&mut conn, &s.actor, m, asset).unwrap();
    let input = ReportInput {
        formats: vec![
            ReportFormat::Json,
            ReportFormat::Markdown,
            ReportFormat::Html,
        ],
        version_id: None,
    };
    let report = reports::create(&mut conn, &s.actor, m, &input).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    let registry = Registry::standard().with(GenerateReport::KIND, move |conn, ctx| {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            let scope = ctx.scope.unwrap();
            let document =
                palisade_store::snapshot::document(conn, scope.org(), scope.model()).unwrap();
            reports::pin_version(conn, scope, report.id, &document).unwrap();
            panic!("killed mid-render");
        }
        serde_json::from_value::<GenerateReport>(ctx.payload.clone())
            .unwrap()
            .run(conn, ctx, &palisade_worker::registry::Context::default())
    });
    let org = s.actor.org_id;
    let job_id = report.job_id;
    let done = run_until(mode, &s, registry.clone(), 2, move |conn| {
        status(conn, org, job_id).status == JobStatus::Succeeded
    });
    assert!(
        done,
        "the report job did not succeed: {:?}",
        status(&mut conn, org, job_id)
    );
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    let rendered = reports::get(&mut conn, org, m, report.id).unwrap();
    assert_eq!(rendered.status, ReportStatus::Succeeded);
    assert_eq!(rendered.files.len(), 3);
    let page = palisade_store::PageRequest {
        limit: 10,
        ..Default::default()
    };
    let versions = palisade_store::versions::list(&mut conn, org, m, &page).unwrap();
    assert_eq!(versions.items.len(), 1, "one snapshot, not one per run");
    assert_eq!(rendered.version_id, Some(versions.items[0].id));
    assert_eq!(status(&mut conn, org, job_id).attempts, 2);

    // Delivered once more: nothing changes.
    let (_, html) = reports::content(&mut conn, org, m, report.id, ReportFormat::Html).unwrap();
    registry.execute(&mut conn, &job_id.to_string()).unwrap();
    jobs::get(&mut conn, org, job_id).unwrap();
    let again = reports::get(&mut conn, org, m, report.id).unwrap();
    assert_eq!(again.files, rendered.files);
    assert_eq!(
        reports::content(&mut conn, org, m, report.id, ReportFormat::Html)
            .unwrap()
            .1,
        html
    );
    assert_eq!(
        palisade_store::versions::list(&mut conn, org, m, &page)
            .unwrap()
            .items
            .len(),
        1
    );
}

#[test]
fn a_report_job_killed_mid_render_is_redone_once_embedded() {
    a_report_job_killed_mid_render_is_redone_once(Mode::Embedded);
}

#[test]
fn a_report_job_killed_mid_render_is_redone_once_production() {
    a_report_job_killed_mid_render_is_redone_once(Mode::Production);
}

/// Job rows and messages outlive a release (a queue drained by the next
/// version's workers), so the names of kinds are a contract: the standard
/// registry runs exactly these.
#[test]
fn the_standard_registry_runs_every_kind_under_its_stable_name() {
    assert_eq!(
        Registry::standard().kinds(),
        [
            "apply_ticket_state",
            "create_ticket",
            "deliver_webhook",
            "generate_report",
            "recompute_risk"
        ]
    );
}
