//! End-to-end: the real binary, in both modes, through its HTTP contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Mode, Palisade};
use serde_json::{json, Value};

both_modes!(authentication_and_identity, |app| {
    let key = app.key("acme", "owner");
    assert!(key.starts_with("pal_"));

    let anon = app.anonymous().get("/api/v1/me");
    anon.problem(401);
    assert_eq!(anon.header("www-authenticate"), Some("Bearer"));
    app.client("pal_not-a-key").get("/api/v1/me").problem(401);
    let basic = app.anonymous().request(
        "GET",
        "/api/v1/models",
        &[("Authorization", "Basic Zm9vOmJhcg==")],
        None,
    );
    basic.problem(401);

    let me = app.client(&key).get("/api/v1/me").ok(200);
    assert_eq!(me["organization"]["name"], "acme");
    assert_eq!(me["role"], "owner");
    assert!(
        me["key"].get("secret").is_none(),
        "the secret is never shown again"
    );

    // Unauthenticated operations.
    assert_eq!(app.anonymous().get("/healthz").ok(200)["status"], "ok");
});

both_modes!(roles_limit_what_a_key_can_do, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let editor = app.client(&app.key("acme", "editor"));
    let viewer = app.client(&app.key("acme", "viewer"));

    let model = editor.model("by editor");
    assert_eq!(
        viewer.get(&format!("/api/v1/models/{model}")).ok(200)["name"],
        "by editor"
    );
    viewer
        .post("/api/v1/models", &json!({"name": "x"}))
        .problem(403);
    viewer
        .patch(&format!("/api/v1/models/{model}"), &json!({"name": "x"}))
        .problem(403);
    viewer
        .delete(&format!("/api/v1/models/{model}"))
        .problem(403);
    viewer
        .post(
            &format!("/api/v1/models/{model}/assets"),
            &json!({"name": "a", "kind": "data"}),
        )
        .problem(403);

    // Keys are the owner's business.
    editor
        .post("/api/v1/api-keys", &json!({"name": "x", "role": "viewer"}))
        .problem(403);
    editor.get("/api/v1/api-keys").problem(403);
    let created = owner.post("/api/v1/api-keys", &json!({"name": "ci", "role": "editor"}));
    let body = created.ok(201);
    assert_eq!(
        created.header("location"),
        Some(format!("/api/v1/api-keys/{}", body["id"].as_str().unwrap()).as_str())
    );
    let new_key = body["secret"].as_str().unwrap().to_string();
    let ci = app.client(&new_key);
    assert_eq!(ci.get("/api/v1/me").ok(200)["role"], "editor");
    let listed = owner.all("/api/v1/api-keys", 2);
    assert_eq!(listed.len(), 4);
    assert!(listed
        .iter()
        .all(|k| k.get("secret").is_none() && k.get("key_hash").is_none()));
    owner
        .post("/api/v1/api-keys", &json!({"name": "x", "role": "admin"}))
        .names_field("role");

    owner
        .delete(&format!(
            "/api/v1/api-keys/{}",
            body["id"].as_str().unwrap()
        ))
        .ok(204);
    ci.get("/api/v1/me").problem(401);
});

both_modes!(organisations_never_see_each_other, |app| {
    let acme = app.client(&app.key("acme", "owner"));
    let globex = app.client(&app.key("globex", "owner"));
    let model = acme.model("secret plans");
    let asset = acme
        .post(
            &format!("/api/v1/models/{model}/assets"),
            &json!({"name": "db", "kind": "data"}),
        )
        .ok(201);
    let asset_url = format!(
        "/api/v1/models/{model}/assets/{}",
        asset["id"].as_str().unwrap()
    );

    for path in [
        format!("/api/v1/models/{model}"),
        format!("/api/v1/models/{model}/assets"),
        asset_url.clone(),
        format!("/api/v1/models/{model}/scope"),
        format!("/api/v1/models/{model}/progress"),
    ] {
        globex.get(&path).problem(404);
    }
    globex
        .patch(&format!("/api/v1/models/{model}"), &json!({"name": "mine"}))
        .problem(404);
    globex
        .patch(&asset_url, &json!({"name": "mine"}))
        .problem(404);
    globex.delete(&asset_url).problem(404);
    globex
        .delete(&format!("/api/v1/models/{model}"))
        .problem(404);
    globex
        .post(
            &format!("/api/v1/models/{model}/assets"),
            &json!({"name": "x", "kind": "data"}),
        )
        .problem(404);
    let acme_keys = acme.get("/api/v1/api-keys").ok(200);
    globex
        .delete(&format!(
            "/api/v1/api-keys/{}",
            acme_keys["items"][0]["id"].as_str().unwrap()
        ))
        .problem(404);

    assert!(globex.get("/api/v1/models").ok(200)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let theirs = globex
        .get(&format!("/api/v1/audit-events?model_id={model}"))
        .ok(200);
    assert!(theirs["items"].as_array().unwrap().is_empty());
    assert_eq!(
        acme.get(&format!("/api/v1/models/{model}")).ok(200)["name"],
        "secret plans",
        "nothing changed"
    );
});

both_modes!(records_carry_versions_and_etags, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let created = c.post(
        "/api/v1/models",
        &json!({"name": "Payments", "tags": ["pci"]}),
    );
    let model = created.ok(201);
    let id = model["id"].as_str().unwrap();
    let url = format!("/api/v1/models/{id}");
    assert_eq!(created.header("location"), Some(url.as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(model["version"], 1);
    assert_eq!(model["risk_appetite"], "medium");

    let read = c.get(&url);
    assert_eq!(read.ok(200), model);
    assert_eq!(read.header("etag"), Some("\"1\""));

    let changed = c.request(
        "PATCH",
        &url,
        &[("If-Match", "\"1\"")],
        Some(br#"{"description":"card flows","risk_appetite":"high"}"#),
    );
    let body = changed.ok(200);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(
        (body["version"].as_i64(), body["description"].as_str()),
        (Some(2), Some("card flows"))
    );
    assert_eq!(
        body["tags"],
        json!(["pci"]),
        "a merge patch keeps what it does not name"
    );

    let stale = c.request(
        "PATCH",
        &url,
        &[("If-Match", "\"1\"")],
        Some(br#"{"name":"lost update"}"#),
    );
    stale.problem(412);
    c.request(
        "PATCH",
        &url,
        &[("If-Match", "yesterday")],
        Some(br#"{"name":"x"}"#),
    )
    .names_field("If-Match");
    // null clears an optional field; clearing a required one is refused.
    let cleared = c.patch(&url, &json!({"description": null})).ok(200);
    assert_eq!(cleared["description"], Value::Null);
    c.patch(&url, &json!({"name": null})).names_field("name");
    // A patch that changes nothing keeps the version.
    assert_eq!(
        c.patch(&url, &json!({"name": "Payments"})).ok(200)["version"],
        3
    );

    c.request("DELETE", &url, &[("If-Match", "\"2\"")], None)
        .problem(412);
    c.request("DELETE", &url, &[("If-Match", "\"3\"")], None)
        .ok(204);
    c.get(&url).problem(404);
});

both_modes!(bad_input_is_a_precise_problem_and_writes_nothing, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let assets = format!("/api/v1/models/{model}/assets");
    let raw = |body: &str| c.request("POST", &assets, &[], Some(body.as_bytes()));

    raw(r#"{"name": "db", "kind": "#).problem(400);
    raw("").problem(400);
    raw(r#"{"kind": "data"}"#).names_field("name");
    raw(r#"{"name": "db", "kind": "database"}"#).names_field("kind");
    raw(r#"{"name": 7, "kind": "data"}"#).names_field("name");
    raw(r#"{"name": "db", "kind": "data", "in_scope": "yes"}"#).names_field("in_scope");
    raw(r#"{"name": "db", "kind": "data", "business_criticality": 6}"#)
        .names_field("business_criticality");
    raw(r#"{"name": "db", "kind": "data", "business_criticality": -1}"#)
        .names_field("business_criticality");
    raw(r#"{"name": "db", "kind": "data", "cia": {"confidentiality": "high", "integrity": "low", "availability": "huge"}}"#).names_field("cia.availability");
    raw(r#"{"name": "db", "kind": "data", "classification": "Secret"}"#)
        .names_field("classification");
    raw(r#"{"name": "db", "kind": "data", "colour": "blue"}"#).names_field("colour");
    raw(r#"{"name": "db", "kind": "data", "metadata": []}"#).names_field("metadata");
    raw(&json!({"name": "x".repeat(201), "kind": "data"}).to_string()).names_field("name");
    raw(&json!({"name": "db", "kind": "data", "description": "x".repeat(20_001)}).to_string())
        .names_field("description");
    raw(&json!({"name": "db", "kind": "data", "tags": ["ok", "x".repeat(65)]}).to_string())
        .names_field("tags[1]");
    let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    raw(&json!({"name": "db", "kind": "data", "tags": many}).to_string()).names_field("tags");
    raw(&json!({"name": "db", "kind": "data", "parent_id": uuid::Uuid::now_v7()}).to_string())
        .names_field("parent_id");
    raw(&json!({"name": "db", "kind": "data", "parent_id": "not-a-uuid"}).to_string())
        .names_field("parent_id");
    raw(&json!({"name": "db", "kind": "data", "trust_zone_id": uuid::Uuid::now_v7()}).to_string())
        .names_field("trust_zone_id");
    // Every problem of a request is named at once.
    let both = raw(&json!({"name": " ", "kind": "data", "business_criticality": 9}).to_string())
        .problem(422);
    assert_eq!(both["errors"].as_array().unwrap().len(), 2);

    let form = c.request(
        "POST",
        &assets,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"name=db"),
    );
    form.problem(415);
    let huge = format!(
        r#"{{"name":"db","kind":"data","description":"{}"}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    raw(&huge).problem(413);

    c.get(&format!("{assets}?kind=database"))
        .names_field("kind");
    c.get(&format!("{assets}?clasification=restricted"))
        .names_field("clasification");
    c.get(&format!("{assets}?limit=0")).names_field("limit");
    c.get(&format!("{assets}?limit=501")).names_field("limit");
    c.get(&format!("{assets}?limit=ten")).names_field("limit");
    c.get(&format!("{assets}?cursor=garbage"))
        .names_field("cursor");
    c.get("/api/v1/models/not-a-uuid").problem(404);
    c.get("/api/v1/no-such-thing").problem(404);
    c.request("PUT", &format!("/api/v1/models/{model}"), &[], Some(b"{}"))
        .problem(405);
    c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "")],
        Some(br#"{"name":"x"}"#),
    )
    .names_field("Idempotency-Key");
    c.patch(&format!("/api/v1/models/{model}"), &json!(["name"]))
        .names_field("body");

    assert!(
        c.get(&assets).ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was half-written"
    );
    assert_eq!(
        c.get("/api/v1/models").ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
});

both_modes!(idempotency_keys_make_creates_safe_to_retry, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let body = br#"{"name": "Payments"}"#;
    let first = c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "create-payments-1")],
        Some(body),
    );
    let replay = c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "create-payments-1")],
        Some(body),
    );
    assert_eq!(first.ok(201), replay.ok(201));
    assert_eq!(first.header("location"), replay.header("location"));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        c.get("/api/v1/models").ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let other = c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "create-payments-1")],
        Some(br#"{"name": "Other"}"#),
    );
    other.names_field("Idempotency-Key");
    // A failed request does not use up its key.
    let bad = c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "k2")],
        Some(br#"{"name": ""}"#),
    );
    bad.names_field("name");
    let fixed = c.request(
        "POST",
        "/api/v1/models",
        &[("Idempotency-Key", "k2")],
        Some(br#"{"name": "Fixed"}"#),
    );
    fixed.ok(201);
    // Keys belong to an organisation.
    let globex = app.client(&app.key("globex", "editor"));
    globex
        .request(
            "POST",
            "/api/v1/models",
            &[("Idempotency-Key", "create-payments-1")],
            Some(body),
        )
        .ok(201);
    assert_eq!(
        c.get("/api/v1/models").ok(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
});

both_modes!(lists_paginate_and_filter, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let assets = format!("/api/v1/models/{model}/assets");
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 { "data" } else { "service" };
        let mut body = json!({"name": format!("a{i}"), "kind": kind, "in_scope": i != 6});
        if i < 3 {
            body["classification"] = json!("restricted");
        }
        ids.push(
            c.post(&assets, &body).ok(201)["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let all = c.all(&assets, 3);
    assert_eq!(
        all.iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>(),
        ids,
        "each once, oldest first"
    );
    let first_page = c.get(&format!("{assets}?limit=3")).ok(200);
    assert_eq!(first_page["items"].as_array().unwrap().len(), 3);
    assert!(first_page["next_cursor"].is_string());
    assert!(c.get(&format!("{assets}?limit=7")).ok(200)["next_cursor"].is_null());

    let count = |q: &str| c.all(&format!("{assets}?{q}"), 500).len();
    assert_eq!(count("kind=data"), 4);
    assert_eq!(count("classification=restricted"), 3);
    assert_eq!(count("classification=unclassified"), 4);
    assert_eq!(count("in_scope=false"), 1);
    assert_eq!(count("kind=service&classification=restricted"), 1);
    assert_eq!(c.all("/api/v1/models?risk_appetite=high", 10).len(), 0);
    assert_eq!(c.all("/api/v1/models?risk_appetite=medium", 10).len(), 1);
});

both_modes!(step_one_scope_and_progress, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let assets = format!("/api/v1/models/{model}/assets");
    let progress = || c.get(&format!("/api/v1/models/{model}/progress")).ok(200);
    let p = progress();
    assert_eq!(p["steps"].as_array().unwrap().len(), 6);
    assert_eq!(p["steps"][0]["status"], "not_started");
    assert!(p["steps"].as_array().unwrap()[1..]
        .iter()
        .all(|s| s["status"] == "not_started"));

    let svc = c.post(&assets, &json!({"name": "API", "kind": "service", "owner": "team-a", "classification": "internal"})).ok(201);
    let svc_id = svc["id"].as_str().unwrap();
    let db = c.post(&assets, &json!({"name": "Customer DB", "kind": "data", "parent_id": svc_id,
        "cia": {"confidentiality": "high", "integrity": "high", "availability": "medium"}, "business_criticality": 5})).ok(201);
    let db_id = db["id"].as_str().unwrap();
    c.post(
        &assets,
        &json!({"name": "Legacy", "kind": "data", "in_scope": false}),
    )
    .ok(201);

    let p = progress();
    assert_eq!(p["steps"][0]["status"], "in_progress");
    let failing: Vec<&Value> = p["steps"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(failing.len(), 2);
    assert!(failing.iter().all(|f| f["refs"] == json!([db_id])));

    let scope = c.get(&format!("/api/v1/models/{model}/scope")).ok(200);
    assert_eq!(
        (
            scope["total_assets"].as_u64(),
            scope["in_scope"].as_u64(),
            scope["out_of_scope"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(scope["by_kind"]["data"], 1);
    assert_eq!(scope["by_classification"]["unclassified"], 1);
    assert_eq!(scope["unowned"][0]["id"], db_id);

    // A container can't move under its own content.
    c.patch(&format!("{assets}/{svc_id}"), &json!({"parent_id": db_id}))
        .names_field("parent_id");
    c.patch(&format!("{assets}/{db_id}"), &json!({"parent_id": db_id}))
        .names_field("parent_id");
    // Nor be deleted while it holds something.
    let refused = c.delete(&format!("{assets}/{svc_id}")).problem(409);
    assert!(
        refused["detail"].as_str().unwrap().contains(db_id),
        "the 409 names what is in the way"
    );

    let fixed = c
        .patch(
            &format!("{assets}/{db_id}"),
            &json!({"owner": "dba", "classification": "restricted"}),
        )
        .ok(200);
    assert_eq!(fixed["version"], 2);
    assert_eq!(
        fixed["cia"]["confidentiality"], "high",
        "untouched fields stay"
    );
    assert_eq!(progress()["steps"][0]["status"], "complete");
});

both_modes!(every_change_is_in_the_audit_log, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let me = c.get("/api/v1/me").ok(200);
    let started = chrono_now();
    let model = c.model("m");
    let asset = c.request(
        "POST",
        &format!("/api/v1/models/{model}/assets"),
        &[("X-Request-Id", "trace-me-42")],
        Some(br#"{"name":"db","kind":"data"}"#),
    );
    assert_eq!(asset.header("x-request-id"), Some("trace-me-42"));
    let asset_id = asset.ok(201)["id"].as_str().unwrap().to_string();
    c.patch(
        &format!("/api/v1/models/{model}/assets/{asset_id}"),
        &json!({"owner": "dba"}),
    )
    .ok(200);
    c.delete(&format!("/api/v1/models/{model}/assets/{asset_id}"))
        .ok(204);

    let viewer = app.client(&app.key("acme", "viewer"));
    let events = viewer.all(
        &format!("/api/v1/audit-events?model_id={model}&since={started}"),
        2,
    );
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["entity_type"].as_str().unwrap().into(),
                e["action"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("model", "create"),
            ("asset", "create"),
            ("asset", "update"),
            ("asset", "delete")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(events.iter().all(|e| e["actor_key_id"] == me["key"]["id"]));
    assert_eq!(events[1]["request_id"], "trace-me-42");
    assert_eq!(events[2]["before"]["owner"], Value::Null);
    assert_eq!(events[2]["after"]["owner"], "dba");
    assert_eq!(events[3]["after"], Value::Null);
    let asset_only = viewer.all(&format!("/api/v1/audit-events?entity_id={asset_id}"), 10);
    assert_eq!(asset_only.len(), 3);
    viewer
        .get("/api/v1/audit-events?since=yesterday")
        .names_field("since");
});

/// A second ago, as RFC 3339 (`Z`, so it needs no URL escaping).
fn chrono_now() -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

both_modes!(operations_endpoints, |app| {
    let anon = app.anonymous();
    let ready = anon.get("/readyz").ok(200);
    assert_eq!(ready["status"], "ready");
    let names: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    match app.mode {
        Mode::Embedded => assert_eq!(names, ["database"]),
        Mode::Production => assert_eq!(names, ["database", "broker"]),
    }

    let c = app.client(&app.key("acme", "viewer"));
    c.get("/api/v1/models").ok(200);
    c.get("/api/v1/models?limit=0").problem(422);
    let metrics = anon.get("/metrics");
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        metrics.text.contains(
            r#"palisade_http_requests_total{method="GET",route="/api/v1/models",status="200"} 1"#
        ),
        "{}",
        metrics.text
    );
    assert!(metrics
        .text
        .contains(r#"route="/api/v1/models",status="422""#));
    assert!(metrics
        .text
        .contains("palisade_http_request_duration_seconds_bucket"));

    let served = anon.get("/openapi.json").ok(200);
    let committed: Value = serde_json::from_str(include_str!("../openapi/openapi.json")).unwrap();
    assert_eq!(served, committed);
    let docs = anon.get("/docs/");
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("swagger-ui"));
});

#[test]
fn readiness_reports_an_unreachable_broker() {
    let port = common::free_port().to_string();
    let amqp = format!("amqp://guest:guest@127.0.0.1:{port}/%2f");
    let app = Palisade::start_with(Mode::Embedded, &[("AMQP_URL", amqp.as_str())]);
    let r = app.anonymous().get("/readyz");
    assert_eq!(r.status, 503, "{}", r.text);
    let broker = r.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "broker")
        .cloned()
        .unwrap();
    assert_eq!(broker["ok"], false);
    assert!(
        !broker["error"].as_str().unwrap().contains("guest:guest"),
        "no password in the answer"
    );
    // The API itself keeps serving.
    assert_eq!(app.anonymous().get("/healthz").status, 200);
}

both_modes!(calculators_score_every_stateless_method, |app| {
    let c = app.client(&app.key("acme", "viewer"));
    let cvss = c
        .post(
            "/api/v1/scoring/cvss31",
            &json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C"}),
        )
        .ok(200);
    assert_eq!(
        (cvss["score"].as_f64(), cvss["severity"].as_str()),
        (Some(8.8), Some("high"))
    );
    assert_eq!(cvss["details"]["base_score"], 9.8);
    assert!(!cvss["explanation"].as_array().unwrap().is_empty());
    let v4 = c.post("/api/v1/scoring/cvss40", &json!({"method": "cvss40", "vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"})).ok(200);
    assert_eq!(v4["score"], 9.3);
    let owasp = c.post("/api/v1/scoring/owasp", &json!({
        "likelihood": {"skill_level": 5, "motive": 2, "opportunity": 7, "size": 1, "ease_of_discovery": 3, "ease_of_exploit": 6, "awareness": 9, "intrusion_detection": 2},
        "technical_impact": {"loss_of_confidentiality": 9, "loss_of_integrity": 7, "loss_of_availability": 5, "loss_of_accountability": 8},
        "business_impact": {"financial_damage": 1, "reputation_damage": 2, "non_compliance": 1, "privacy_violation": 5}})).ok(200);
    assert_eq!(
        (
            owasp["severity"].as_str(),
            owasp["details"]["likelihood_level"].as_str()
        ),
        (Some("low"), Some("medium"))
    );
    let dread = c.post("/api/v1/scoring/dread", &json!({"damage": 10, "reproducibility": 10, "exploitability": 5, "affected_users": 5, "discoverability": 5})).ok(200);
    assert_eq!(dread["score"], 7.0);
    let nist = c.post("/api/v1/scoring/nist", &json!({"initiation_likelihood": "low", "adverse_impact_likelihood": "high", "impact": "very_high"})).ok(200);
    assert_eq!(nist["details"]["risk_level"], "high");
    let fair = c.post("/api/v1/scoring/fair", &json!({"frequency": {"rate": 0.07}, "magnitude": {"low": 635000, "high": 19000000}, "iterations": 20000, "seed": 7})).ok(200);
    assert!((fair["details"]["annualized_loss"].as_f64().unwrap() - 414_589.478).abs() < 0.01);
    assert_eq!(fair["details"]["simulation"]["iterations"], 20000);

    // Bad input names the metric or field.
    c.post(
        "/api/v1/scoring/cvss31",
        &json!({"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"}),
    )
    .names_field("vector.S");
    c.post(
        "/api/v1/scoring/cvss40",
        &json!({"vector": "CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}),
    )
    .names_field("vector.AV");
    c.post("/api/v1/scoring/dread", &json!({"damage": 11, "reproducibility": 10, "exploitability": 5, "affected_users": 5, "discoverability": 5})).names_field("damage");
    c.post("/api/v1/scoring/dread", &json!({"damage": 1}))
        .names_field("reproducibility");
    c.post(
        "/api/v1/scoring/nist",
        &json!({"likelihood": "extreme", "impact": "low"}),
    )
    .names_field("likelihood");
    c.post(
        "/api/v1/scoring/owasp",
        &json!({"likelihood": {}, "technical_impact": {}}),
    )
    .names_field("likelihood.skill_level");
    c.post("/api/v1/scoring/fair", &json!({"frequency": {"rate": 0.1}, "magnitude": {"low": 1, "high": 10}, "iterations": 5_000_000})).names_field("iterations");
    c.post(
        "/api/v1/scoring/fair",
        &json!({"frequency": {"often": 1}, "magnitude": {"low": 1, "high": 10}}),
    )
    .names_field("frequency");
    c.post(
        "/api/v1/scoring/dread",
        &json!({"method": "owasp", "damage": 1}),
    )
    .names_field("method");
    c.post("/api/v1/scoring/attack_tree", &json!({}))
        .problem(404);
    app.anonymous()
        .post("/api/v1/scoring/dread", &json!({}))
        .problem(401);
});

both_modes!(
    text_with_control_characters_is_refused_on_both_backends,
    |app| {
        let c = app.client(&app.key("acme", "owner"));
        // U+0000 made PostgreSQL answer 500; every text field refuses it and
        // the other control characters, naming the field.
        c.post("/api/v1/models", &json!({"name": "a\u{0}b"}))
            .names_field("name");
        c.post(
            "/api/v1/models",
            &json!({"name": "ok", "tags": ["x", "b\u{7}"]}),
        )
        .names_field("tags[1]");
        let model = c.model("Payments");
        let assets = format!("/api/v1/models/{model}/assets");
        c.post(
            &assets,
            &json!({"name": "DB", "kind": "data", "description": "x\u{1b}[31m"}),
        )
        .names_field("description");
        c.post(
            &assets,
            &json!({"name": "DB", "kind": "data", "metadata": {"k": {"deep": ["\u{0}"]}}}),
        )
        .names_field("metadata.k.deep[0]");
        c.post(&assets, &json!({"name": "DB\u{85}", "kind": "data"}))
            .names_field("name");
        let asset = c
            .post(&assets, &json!({"name": "DB", "kind": "data"}))
            .ok(201);
        c.patch(
            &format!("{assets}/{}", asset["id"].as_str().unwrap()),
            &json!({"owner": "\u{0}"}),
        )
        .names_field("owner");
        // A filter with NUL is refused too, not sent to the database.
        c.get("/api/v1/models?name=a%00b").names_field("name");
        // Tab, newline and carriage return are text.
        let ok = c
            .post(
                &assets,
                &json!({"name": "Ledger", "kind": "data", "description": "line 1\r\n\tline 2"}),
            )
            .ok(201);
        assert_eq!(ok["description"], "line 1\r\n\tline 2");
        let names: Vec<Value> = c
            .all(&assets, 50)
            .iter()
            .map(|a| a["name"].clone())
            .collect();
        assert_eq!(
            names,
            [json!("DB"), json!("Ledger")],
            "nothing else was written"
        );
    }
);

both_modes!(no_request_can_pin_the_service, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let viewer = app.client(&app.key("acme", "viewer"));
    let magnitude = json!({"low": 1000, "high": 100000});
    // Refused before any work starts, naming the field.
    viewer
        .post(
            "/api/v1/scoring/fair",
            &json!({"frequency": {"rate": 1e9}, "magnitude": magnitude}),
        )
        .names_field("frequency.rate");
    viewer
        .post(
            "/api/v1/scoring/fair",
            &json!({"frequency": {"pert": {"min": 1, "most_likely": 2, "max": 1e12}}, "magnitude": magnitude}),
        )
        .names_field("frequency.pert.max");
    viewer
        .post(
            "/api/v1/scoring/fair",
            &json!({"frequency": {"rate": 10000}, "magnitude": magnitude, "iterations": 1000000}),
        )
        .names_field("iterations");
    let model = owner.model("m");
    let threats = format!("/api/v1/models/{model}/threats");
    owner
        .post(
            &threats,
            &json!({"title": "t", "stride": "tampering",
                    "assessment": {"method": "fair", "frequency": {"rate": 1e9}, "magnitude": magnitude}}),
        )
        .names_field("assessment.frequency.rate");
    let many: Vec<String> = (0..90_000)
        .map(|_| "01890000-0000-7000-8000-000000000000".to_string())
        .collect();
    owner
        .post(
            &threats,
            &json!({"title": "t", "stride": "tampering", "asset_ids": many,
                    "assessment": {"method": "dread", "damage": 1, "reproducibility": 1,
                                   "exploitability": 1, "affected_users": 1, "discoverability": 1}}),
        )
        .names_field("asset_ids");
    assert!(owner.all(&threats, 50).is_empty(), "nothing was written");

    // The largest simulations allowed, several at once: the probes and
    // ordinary reads still answer while they run.
    let asset = owner
        .post(
            &format!("/api/v1/models/{model}/assets"),
            &json!({"name": "DB", "kind": "data"}),
        )
        .ok(201);
    let running: Vec<_> = (0..4)
        .map(|seed| {
            let viewer = viewer.clone();
            let magnitude = magnitude.clone();
            std::thread::spawn(move || {
                viewer
                    .post(
                        "/api/v1/scoring/fair",
                        &json!({"frequency": {"rate": 200}, "magnitude": magnitude,
                                "iterations": 100000, "seed": seed}),
                    )
                    .ok(200)
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    app.anonymous().get("/healthz").ok(200);
    owner
        .get(&format!(
            "/api/v1/models/{model}/assets/{}",
            asset["id"].as_str().unwrap()
        ))
        .ok(200);
    let still_running = running.iter().filter(|h| !h.is_finished()).count();
    for h in running {
        let result = h.join().unwrap();
        assert!(result["details"]["simulation"]["mean"].as_f64().unwrap() > 0.0);
    }
    assert!(
        still_running > 0,
        "the probes answered only after every simulation had finished"
    );
});

both_modes!(secrets_are_never_kept_and_the_last_owner_stays, |app| {
    let owner_secret = app.key("acme", "owner");
    let owner = app.client(&owner_secret);
    // A replay would have to store the secret: an Idempotency-Key is
    // refused here, before anything is created.
    let refused = owner.request(
        "POST",
        "/api/v1/api-keys",
        &[("Idempotency-Key", "retry-1")],
        Some(br#"{"name": "ci", "role": "editor"}"#),
    );
    refused.names_field("Idempotency-Key");
    assert_eq!(
        owner.all("/api/v1/api-keys", 50).len(),
        1,
        "no key was made"
    );

    // The organisation's last owner key cannot be deleted: nobody could
    // manage keys any more.
    let me = owner.get("/api/v1/me").ok(200);
    let own_id = me["key"]["id"].as_str().unwrap().to_string();
    let last = owner.delete(&format!("/api/v1/api-keys/{own_id}"));
    let problem = last.problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains("owner"),
        "{problem}"
    );
    owner.get("/api/v1/me").ok(200);
    // With a second owner key, the first may go.
    let second = owner
        .post(
            "/api/v1/api-keys",
            &json!({"name": "backup", "role": "owner"}),
        )
        .ok(201);
    owner.delete(&format!("/api/v1/api-keys/{own_id}")).ok(204);
    let backup = app.client(second["secret"].as_str().unwrap());
    backup
        .delete(&format!(
            "/api/v1/api-keys/{}",
            second["id"].as_str().unwrap()
        ))
        .problem(409);
});

both_modes!(metrics_labels_stay_bounded_whatever_the_method, |app| {
    let anon = app.anonymous();
    for method in ["FOOBAR", "BREW", "X-ANYTHING-1"] {
        let r = anon.request(method, "/healthz", &[], None);
        assert!(r.status == 405 || r.status == 404, "{method}: {}", r.status);
    }
    let metrics = anon.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text;
    assert!(
        !text.contains("FOOBAR") && !text.contains("BREW"),
        "arbitrary methods became metric labels"
    );
    assert!(text.contains("method=\"other\""), "{text}");
});
