//! End-to-end, step 4: the risk register computed by jobs — in-process in
//! embedded mode, by the real `palisade worker` over RabbitMQ in production.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Client, Mode, Palisade, Worker};
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Waits until the register is computed and not stale.
fn fresh(c: &Client, model: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .get(&format!("/api/v1/models/{model}/risks?limit=500"))
            .ok(200);
        if r["stale"] == false && !r["computed_at"].is_null() {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the register did not become fresh: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn scores(register: &Value) -> Vec<(String, f64, f64)> {
    register["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["title"].as_str().unwrap().to_string(),
                r["inherent_score"].as_f64().unwrap(),
                r["residual_score"].as_f64().unwrap(),
            )
        })
        .collect()
}

both_modes!(the_register_ranks_threats_and_follows_controls, |app| {
    let _worker = Worker::start(&app);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let threat = |title: &str, assessment: Value| {
        c.post(
            &format!("{base}/threats"),
            &json!({"title": title, "stride": "tampering", "assessment": assessment}),
        )
        .ok(201)
    };
    let cvss = threat(
        "remote takeover",
        json!({"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
    );
    threat(
        "dread",
        json!({"method": "dread", "damage": 10, "reproducibility": 10, "exploitability": 5, "affected_users": 5, "discoverability": 5}),
    );
    threat(
        "nist",
        json!({"method": "nist", "likelihood": "high", "impact": "moderate"}),
    );
    let tree = c.post(&format!("{base}/attack-trees"), &json!({"name": "t", "root": {"kind": "leaf", "label": "phish", "attributes": {"probability": 0.9},
        "countermeasure": {"kind": "defense", "label": "training"}}})).ok(201);
    threat(
        "tree",
        json!({"method": "attack_tree", "tree_id": id(&tree), "impact": "very_high"}),
    );
    let control = c.post(&format!("{base}/controls"), &json!({"name": "WAF", "type": "preventive", "category": "technical", "status": "implemented",
        "effectiveness": 50, "threat_ids": [id(&cvss)]})).ok(201);

    let r = fresh(&c, &model);
    // Inherent: cvss 9.8, dread 7.0, nist H×M = moderate 5.0, tree p 0.9 → high × very high = very high 10.
    // Residual: cvss 9.8 × 0.5 = 4.9; the others unchanged.
    assert_eq!(
        scores(&r),
        [
            ("tree".to_string(), 10.0, 10.0),
            ("dread".to_string(), 7.0, 7.0),
            ("nist".to_string(), 5.0, 5.0),
            ("remote takeover".to_string(), 9.8, 4.9),
        ]
    );
    assert_eq!(r["items"][0]["residual_severity"], "critical");

    // An edit moves the residual score.
    c.patch(
        &format!("{base}/controls/{}", id(&control)),
        &json!({"effectiveness": 100}),
    )
    .ok(200);
    let r = fresh(&c, &model);
    assert_eq!(scores(&r)[3], ("remote takeover".to_string(), 9.8, 0.0));
    // A control realising the tree's defense lowers the tree's probability: 0.9 × (1 − 0.8) = 0.18 → low × very high = moderate.
    let defense = id(&tree["root"]["countermeasure"]);
    c.post(&format!("{base}/controls"), &json!({"name": "Training", "type": "preventive", "category": "administrative", "status": "implemented",
        "effectiveness": 80, "defense_node_ids": [defense]})).ok(201);
    let r = fresh(&c, &model);
    let tree_row = r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["title"] == "tree")
        .unwrap()
        .clone();
    assert_eq!(
        (
            tree_row["inherent_score"].as_f64(),
            tree_row["residual_score"].as_f64()
        ),
        (Some(10.0), Some(5.0))
    );

    assert_eq!(
        c.get(&format!("{base}/risks?severity=critical")).ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        c.get(&format!("{base}/risks?severity=high")).ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    c.get(&format!("{base}/risks?severity=dire"))
        .names_field("severity");

    // An explicit recomputation is a job with a status.
    let accepted = c.request("POST", &format!("{base}/risk-recomputations"), &[], None);
    let job = accepted.ok(202);
    let url = accepted.header("location").unwrap().to_string();
    assert_eq!(
        url,
        format!("/api/v1/jobs/{}", job["job_id"].as_str().unwrap())
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = c.get(&url).ok(200);
        if j["status"] == "succeeded" {
            assert!(j["attempts"].as_i64().unwrap() >= 1);
            break;
        }
        assert!(Instant::now() < deadline, "job never succeeded: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
    app.client(&app.key("globex", "owner"))
        .get(&url)
        .problem(404);
    app.client(&app.key("acme", "viewer"))
        .request("POST", &format!("{base}/risk-recomputations"), &[], None)
        .problem(403);
});

fn jobs_of(app: &Palisade, model: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = diesel::PgConnection::establish(app.db.url()).unwrap();
    diesel::sql_query("SELECT count(*) AS n FROM jobs WHERE model_id = $1")
        .bind::<diesel::sql_types::Text, _>(model)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n
}

#[test]
fn a_burst_of_edits_coalesces_and_ends_correct() {
    let app = Palisade::start(Mode::Production);
    let _worker = Worker::start(&app);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let t = c.post(&format!("{base}/threats"), &json!({"title": "t", "stride": "tampering", "assessment": {"method": "dread", "damage": 10, "reproducibility": 10, "exploitability": 10, "affected_users": 10, "discoverability": 10}})).ok(201);
    let control = c.post(&format!("{base}/controls"), &json!({"name": "c", "type": "preventive", "category": "technical", "status": "implemented", "effectiveness": 0, "threat_ids": [id(&t)]})).ok(201);
    for e in 1..=200 {
        c.patch(
            &format!("{base}/controls/{}", id(&control)),
            &json!({"effectiveness": e % 100}),
        )
        .ok(200);
    }
    let r = fresh(&c, &model);
    // The last edit set 0 % (200 % 100): residual = inherent.
    assert_eq!(scores(&r), [("t".to_string(), 10.0, 10.0)]);
    let jobs = jobs_of(&app, &model);
    eprintln!("200 edits → {jobs} recomputation jobs");
    assert!(
        jobs < 200,
        "{jobs} jobs for 202 changes: coalescing did nothing"
    );
}

#[test]
fn a_worker_killed_mid_job_loses_nothing() {
    let app = Palisade::start(Mode::Production);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    for i in 0..300 {
        c.post(&format!("{base}/threats"), &json!({"title": format!("t{i:03}"), "stride": "tampering", "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}})).ok(201);
    }
    let mut worker = Worker::start(&app);
    std::thread::sleep(Duration::from_millis(150));
    // SIGKILL: no chance to finish or hand the job back.
    let pid = worker.0.as_ref().unwrap().id();
    assert!(Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    worker.kill();
    let _again = Worker::start(&app);
    let r = fresh(&c, &model);
    assert_eq!(r["items"].as_array().unwrap().len(), 300);
    assert!(r["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["residual_score"] == 9.8));
}

#[test]
fn writes_succeed_while_the_broker_is_unreachable_and_the_register_catches_up() {
    let closed = format!("amqp://guest:guest@127.0.0.1:{}/%2f", common::free_port());
    let mut app = Palisade::start_with(Mode::Production, &[("AMQP_URL", closed.as_str())]);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    for i in 0..5 {
        c.post(&format!("{base}/threats"), &json!({"title": format!("t{i}"), "stride": "spoofing", "assessment": {"method": "nist", "likelihood": "high", "impact": "high"}})).ok(201);
    }
    let r = c.get(&format!("{base}/risks")).ok(200);
    assert_eq!(r["stale"], true, "jobs wait in the outbox");
    assert!(r["items"].as_array().unwrap().is_empty());
    // The broker "comes back": the same database, now with a reachable broker.
    app.restart_with(&[]);
    let _worker = Worker::start(&app);
    let c = Client {
        base: app.base.clone(),
        key: c.key.clone(),
    };
    let r = fresh(&c, &model);
    assert_eq!(r["items"].as_array().unwrap().len(), 5);
}

#[test]
fn a_poison_job_is_dead_lettered_and_shown_as_failed() {
    let app = Palisade::start(Mode::Production);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let me = c.get("/api/v1/me").ok(200);
    let org = me["organization"]["id"].as_str().unwrap().to_string();
    let job = uuid::Uuid::now_v7().to_string();
    let mut conn = diesel::PgConnection::establish(app.db.url()).unwrap();
    diesel::sql_query("INSERT INTO jobs (id, org_id, model_id, kind, status, attempts, created_at, updated_at) VALUES ($1, $2, $3, 'explode', 'queued', 0, now(), now())")
        .bind::<diesel::sql_types::Text, _>(&job)
        .bind::<diesel::sql_types::Text, _>(&org)
        .bind::<diesel::sql_types::Text, _>(&model)
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("INSERT INTO outbox (id, payload, created_at) VALUES ($1, $2, now())")
        .bind::<diesel::sql_types::Text, _>(&job)
        .bind::<diesel::sql_types::Text, _>(json!({"job_id": job, "kind": "explode"}).to_string())
        .execute(&mut conn)
        .unwrap();
    let _worker = Worker::start(&app);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = c.get(&format!("/api/v1/jobs/{job}")).ok(200);
        if j["status"] == "failed" {
            assert!(
                j["error"].as_str().unwrap().contains("unknown job kind"),
                "{j}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the poison job was not parked: {j}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

both_modes!(gaps_are_derived_and_close_as_records_are_fixed, |app| {
    let _worker = Worker::start(&app);
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let kinds = || -> Vec<String> {
        let mut k: Vec<String> = c.get(&format!("{base}/gaps")).ok(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["kind"].as_str().unwrap().to_string())
            .collect();
        k.sort();
        k
    };
    let step4 = || c.get(&format!("{base}/progress")).ok(200)["steps"][3].clone();
    assert_eq!(step4()["status"], "not_started");
    let db = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "db", "kind": "data", "classification": "restricted", "owner": "x"}),
        )
        .ok(201);
    c.post(
        &format!("{base}/parties"),
        &json!({"name": "lonely", "kind": "customer", "trust_level": "untrusted"}),
    )
    .ok(201);
    let idle = c.post(&format!("{base}/controls"), &json!({"name": "idle", "type": "detective", "category": "technical", "status": "implemented", "effectiveness": 10})).ok(201);
    let threat = c.post(&format!("{base}/threats"), &json!({"title": "takeover", "stride": "elevation_of_privilege", "asset_ids": [id(&db)],
        "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}})).ok(201);
    fresh(&c, &model);
    assert_eq!(
        kinds(),
        [
            "environment_check",
            "idle_control",
            "uncontrolled_sensitive_asset",
            "unprotected_threat"
        ]
    );
    assert_eq!(step4()["status"], "in_progress");

    c.post(&format!("{base}/controls"), &json!({"name": "patching", "type": "preventive", "category": "technical", "status": "implemented", "effectiveness": 50, "threat_ids": [id(&threat)]})).ok(201);
    c.delete(&format!("{base}/controls/{}", id(&idle))).ok(204);
    fresh(&c, &model);
    assert_eq!(kinds(), ["environment_check"]);
    let step = step4();
    assert_eq!(step["status"], "complete", "{step}");

    if app.mode == Mode::Production {
        // The request id of the call that caused a job follows it into the worker's logs.
        let job = c
            .request(
                "POST",
                &format!("{base}/risk-recomputations"),
                &[("X-Request-Id", "trace-risk-7")],
                None,
            )
            .ok(202);
        let url = format!("/api/v1/jobs/{}", job["job_id"].as_str().unwrap());
        let deadline = Instant::now() + Duration::from_secs(30);
        while c.get(&url).ok(200)["status"] != "succeeded" {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(100));
        }
        // The worker logs the job after committing it: wait for the line.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = std::fs::read_to_string(app.path().join("worker.log")).unwrap();
            if log.contains("request_id=\"trace-risk-7\"") {
                break;
            }
            assert!(Instant::now() < deadline, "{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
});

both_modes!(
    the_tree_evaluation_and_the_register_agree_on_defended_trees,
    |app| {
        use palisade_domain::scoring::attack_tree;
        use palisade_domain::scoring::nist::NistLevel;
        let _worker = Worker::start(&app);
        let c = app.client(&app.key("acme", "editor"));
        let model = c.model("m");
        let base = format!("/api/v1/models/{model}");
        let tree = c
            .post(
                &format!("{base}/attack-trees"),
                &json!({"name": "t", "root": {"kind": "or", "label": "get in", "children": [
        {"kind": "leaf", "label": "phish", "attributes": {"probability": 0.9},
         "countermeasure": {"kind": "defense", "label": "training"}},
        {"kind": "leaf", "label": "guess", "attributes": {"probability": 0.05}}]}}),
            )
            .ok(201);
        let defense = id(&tree["root"]["children"][0]["countermeasure"]);
        let threat = c
        .post(
            &format!("{base}/threats"),
            &json!({"title": "tree", "stride": "spoofing",
                    "assessment": {"method": "attack_tree", "tree_id": id(&tree), "impact": "very_high"}}),
        )
        .ok(201);
        // The control realises the defense and is also linked to the threat:
        // it must count once, through the tree.
        c.post(&format!("{base}/controls"), &json!({"name": "Training", "type": "preventive", "category": "administrative",
        "status": "implemented", "effectiveness": 80, "defense_node_ids": [defense], "threat_ids": [id(&threat)]})).ok(201);
        // A planned control does not count in the residual figures.
        c.post(
            &format!("{base}/controls"),
            &json!({"name": "Simulations", "type": "preventive", "category": "administrative",
        "status": "planned", "effectiveness": 90, "defense_node_ids": [defense]}),
        )
        .ok(201);

        let evaluation = c
            .get(&format!("{base}/attack-trees/{}/evaluation", id(&tree)))
            .ok(200);
        let p = evaluation["root"]["probability"].as_f64().unwrap();
        // 1 − (1 − 0.9 × (1 − 0.8)) × (1 − 0.05) = 0.221
        assert!((p - 0.221).abs() < 1e-9, "defended root probability {p}");
        assert!(evaluation["explanation"][0]
            .as_str()
            .unwrap()
            .contains("Training"));

        let register = fresh(&c, &model);
        let row = &register["items"][0];
        let expected = attack_tree::score(p, NistLevel::VeryHigh).score.value();
        assert_eq!(row["residual_score"].as_f64().unwrap(), expected, "{row}");
        assert_eq!(
            row["inherent_score"].as_f64().unwrap(),
            attack_tree::score(1.0 - 0.1 * 0.95, NistLevel::VeryHigh)
                .score
                .value()
        );
    }
);

both_modes!(
    the_register_is_rows_paged_sorted_filtered_and_across_models,
    |app| {
        let _worker = Worker::start(&app);
        let c = app.client(&app.key("acme", "editor"));
        let other_org = app.client(&app.key("globex", "editor"));
        let vectors = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "tampering"),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                "information_disclosure",
            ),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", "tampering"),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "spoofing"),
            (
                "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
                "repudiation",
            ),
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                "denial_of_service",
            ),
        ];
        let furnish = |c: &Client, name: &str, n: usize| -> (String, String) {
            let model = c.model(name);
            let base = format!("/api/v1/models/{model}");
            let asset = c
                .post(
                    &format!("{base}/assets"),
                    &json!({"name": "db", "kind": "data"}),
                )
                .ok(201);
            for (i, (vector, stride)) in vectors.iter().cycle().take(n).enumerate() {
                let assets: Vec<String> = if i % 2 == 0 { vec![id(&asset)] } else { vec![] };
                c.post(
                    &format!("{base}/threats"),
                    &json!({"title": format!("{name} t{i}"), "stride": stride,
                "asset_ids": assets, "assessment": {"method": "cvss31", "vector": vector}}),
                )
                .ok(201);
            }
            c.post(
                &format!("{base}/threats"),
                &json!({"title": format!("{name} nist"), "stride": "tampering",
            "assessment": {"method": "nist", "likelihood": "high", "impact": "moderate"}}),
            )
            .ok(201);
            fresh(c, &model);
            (model, id(&asset))
        };
        let (a, a_asset) = furnish(&c, "alpha", 9);
        let (b, _) = furnish(&c, "beta", 3);
        furnish(&other_org, "gamma", 6);
        let base = format!("/api/v1/models/{a}/risks");
        let whole = c.get(&format!("{base}?limit=500")).ok(200);
        let whole = whole["items"].as_array().unwrap().clone();
        assert_eq!(whole.len(), 10);
        let ids = |rows: &[Value]| -> Vec<String> {
            rows.iter()
                .map(|r| r["threat_id"].as_str().unwrap().to_string())
                .collect()
        };

        // Pages of 3 in the register's order are exactly the whole register.
        let paged = c.all(&base, 3);
        assert_eq!(
            ids(&paged),
            ids(&whole),
            "cursor pagination keeps the ranking"
        );
        // Sorted by residual score, descending, ties by threat id: exact across pages.
        let by_residual = c.all(&format!("{base}?sort=-residual_score"), 4);
        assert_eq!(by_residual.len(), 10);
        for pair in by_residual.windows(2) {
            let (x, y) = (&pair[0], &pair[1]);
            let (sx, sy) = (
                x["residual_score"].as_f64().unwrap(),
                y["residual_score"].as_f64().unwrap(),
            );
            assert!(
                sx > sy || (sx == sy && x["threat_id"].as_str() < y["threat_id"].as_str()),
                "{x} then {y}"
            );
        }
        let by_title = c.all(&format!("{base}?sort=title"), 4);
        let titles: Vec<&str> = by_title
            .iter()
            .map(|r| r["title"].as_str().unwrap())
            .collect();
        let mut sorted = titles.clone();
        sorted.sort_unstable();
        assert_eq!(titles, sorted);

        // Filters, in SQL.
        let tampering = c.all(&format!("{base}?stride=tampering"), 50);
        assert!(!tampering.is_empty() && tampering.iter().all(|r| r["stride"] == "tampering"));
        let nist = c.all(&format!("{base}?method=nist"), 50);
        assert_eq!(nist.len(), 1);
        let severe = c.all(&format!("{base}?residual_severity_at_least=high"), 50);
        assert!(!severe.is_empty());
        assert!(severe
            .iter()
            .all(|r| r["residual_severity"] == "high" || r["residual_severity"] == "critical"));
        assert_eq!(
        severe.len(),
        whole.iter().filter(|r| r["residual_severity"] == "high" || r["residual_severity"] == "critical").count()
    );
        let on_asset = c.all(&format!("{base}?asset_id={a_asset}"), 50);
        assert_eq!(on_asset.len(), 5, "threats 0, 2, 4, 6, 8 name the asset");
        // No treatment settles a risk yet: every row is open.
        assert_eq!(c.all(&format!("{base}?status=open"), 50).len(), whole.len());
        assert!(c.all(&format!("{base}?status=accepted"), 50).is_empty());
        assert!(c.all("/api/v1/risks?status=avoided", 50).is_empty());

        // Across the organisation's models, never another organisation's.
        let portfolio = c.all("/api/v1/risks?severity=critical", 2);
        assert!(!portfolio.is_empty());
        let models: std::collections::HashSet<&str> = portfolio
            .iter()
            .map(|r| r["model_id"].as_str().unwrap())
            .collect();
        assert_eq!(models, [a.as_str(), b.as_str()].into_iter().collect());
        assert!(portfolio
            .iter()
            .all(|r| r["residual_severity"] == "critical"));
        let everything = c.all("/api/v1/risks", 7);
        assert_eq!(everything.len(), 14, "10 + 4 rows of acme's two models");
        // Ranked across models by the one rule: residual, inherent (both
        // descending), title, threat id.
        let by_rank = c.all("/api/v1/risks?sort=rank", 5);
        assert_eq!(by_rank.len(), 14);
        let key = |r: &serde_json::Value| {
            (
                -(r["residual_score"].as_f64().unwrap() * 10.0).round() as i64,
                -(r["inherent_score"].as_f64().unwrap() * 10.0).round() as i64,
                r["title"].as_str().unwrap().to_string(),
                r["threat_id"].as_str().unwrap().to_string(),
            )
        };
        assert!(
            by_rank.windows(2).all(|w| key(&w[0]) < key(&w[1])),
            "one ranking across the organisation's models"
        );
        c.get(&format!(
            "{base}?cursor=01890000-0000-7000-8000-000000000000"
        ))
        .names_field("cursor");
        c.get(&format!("{base}?status=mitigated"))
            .names_field("status");
    }
);
