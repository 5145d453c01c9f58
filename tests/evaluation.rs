//! End-to-end, step 6: evaluation entries and their links, versions and
//! the diff over every resource kind, and reports rendered by the job
//! (in-process in embedded mode, by the real worker over RabbitMQ in
//! production), with hostile text in every field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::fixtures::every_kind;
use common::{Client, Mode, Palisade, Worker};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Waits until the register is computed and fresh (jobs run on their own).
fn settle(c: &Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c.get(&format!("{base}/risks")).ok(200);
        if r["stale"] == false && !r["computed_at"].is_null() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the register did not settle: {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_for_report(c: &Client, url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = c.get(url).ok(200);
        match r["status"].as_str().unwrap() {
            "succeeded" => return r,
            "failed" => panic!("the report failed: {r}"),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "the report was not rendered: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn move_to(c: &Client, base: &str, treatment: &str, to: &str) {
    c.post(
        &format!("{base}/treatments/{treatment}/transitions"),
        &json!({"to": to}),
    )
    .ok(200);
}

both_modes!(an_entry_without_a_date_is_dated_today, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("Payments");
    let entries = format!("/api/v1/models/{model}/evaluation-entries");
    let before = chrono::Utc::now().date_naive();
    let made = c
        .post(
            &entries,
            &json!({"kind": "finding", "text": "Logs kept too long", "author": "sec"}),
        )
        .ok(201);
    let after = chrono::Utc::now().date_naive();
    let date: chrono::NaiveDate = made["date"].as_str().unwrap().parse().unwrap();
    assert!(
        date == before || date == after,
        "dated {date}, today (UTC) is {before}"
    );
    // A date that is sent is kept; a bad one still names the field.
    let dated = c
        .post(
            &entries,
            &json!({"kind": "finding", "text": "t", "author": "a", "date": "2026-01-31"}),
        )
        .ok(201);
    assert_eq!(dated["date"], "2026-01-31");
    c.post(
        &entries,
        &json!({"kind": "finding", "text": "t", "author": "a", "date": null}),
    )
    .names_field("date");
    // Cleared by a PATCH, the date takes its create default again.
    let cleared = c
        .patch(&format!("{entries}/{}", id(&dated)), &json!({"date": null}))
        .ok(200);
    assert_ne!(cleared["date"], "2026-01-31");
    assert!(cleared["date"] == made["date"] || cleared["date"] == after.to_string());
    assert_eq!(c.all(&entries, 10).len(), 2);
});

both_modes!(entries_check_their_links_and_the_fix_rule, |app| {
    let c = app.client(&app.key("acme", "owner"));
    let model = c.model("Payments");
    let base = format!("/api/v1/models/{model}");
    let ids = every_kind(&c, &base, "plain");
    let entries = format!("{base}/evaluation-entries");
    let other = c.model("Other");
    let foreign = every_kind(&c, &format!("/api/v1/models/{other}"), "elsewhere");

    // Links to nothing, or to another model's records, are named one by one.
    let nobody = uuid::Uuid::now_v7().to_string();
    let r = c.post(
        &entries,
        &json!({"kind": "finding", "text": "t", "author": "a", "date": "2026-11-30",
                "threat_ids": [ids["threat"], nobody], "treatment_ids": [foreign["treatment"]],
                "control_ids": [foreign["control"]], "asset_ids": [foreign["asset"]]}),
    );
    for field in [
        "threat_ids[1]",
        "treatment_ids[0]",
        "control_ids[0]",
        "asset_ids[0]",
    ] {
        r.names_field(field);
    }
    c.post(
        &entries,
        &json!({"kind": "observation", "text": "t", "author": "a", "date": "2026-11-30"}),
    )
    .names_field("kind");
    c.post(
        &entries,
        &json!({"kind": "finding", "text": " ", "author": "", "date": "2026-11-30"}),
    )
    .names_field("text");
    c.post(
        &entries,
        &json!({"kind": "finding", "text": "t", "author": "a", "date": "30/11/2026"}),
    )
    .names_field("date");
    c.post(&entries, &json!({"kind": "finding", "text": "t", "author": "a", "date": "2026-11-30", "tags": ["x", "x"]}))
        .names_field("tags[1]");

    // A fix applied names a finished treatment.
    let fix = json!({"kind": "fix_applied", "text": "WAF rules deployed", "author": "sec",
                     "date": "2026-12-01", "treatment_ids": [ids["treatment"]]});
    c.post(
        &entries,
        &json!({"kind": "fix_applied", "text": "t", "author": "a", "date": "2026-11-30"}),
    )
    .names_field("treatment_ids");
    let r = c.post(&entries, &fix);
    r.names_field("treatment_ids[0]");
    assert!(r.text.contains("proposed"), "{}", r.text);
    for to in ["approved", "in_progress", "done"] {
        move_to(&c, &base, &ids["treatment"], to);
    }
    let recorded = c.post(&entries, &fix).ok(201);
    assert_eq!(recorded["treatment_ids"], json!([ids["treatment"]]));
    let lesson = c
        .post(&entries, &json!({"kind": "lesson_learned", "text": "Review WAF rules yearly", "author": "sec",
                                "date": "2026-12-02", "tags": ["process"], "control_ids": [ids["control"]]}))
        .ok(201);

    // Nothing half-written: the refused entries are not there.
    let all = c.all(&entries, 10);
    assert_eq!(all.len(), 3, "{all:?}");

    // Filters and order.
    let kinds = |q: &str| -> Vec<String> {
        c.all(&format!("{entries}?{q}"), 10)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(kinds("kind=fix_applied"), ["fix_applied"]);
    assert_eq!(kinds("tag=process"), ["lesson_learned"]);
    assert_eq!(
        kinds(&format!("treatment_id={}", ids["treatment"])),
        ["fix_applied"]
    );
    assert_eq!(
        kinds("sort=-date"),
        ["lesson_learned", "fix_applied", "finding"]
    );
    c.get(&format!("{entries}?kind=nope")).names_field("kind");
    c.get(&format!("{entries}?sort=text")).names_field("sort");

    // A merge patch keeps the rule: a fix applied cannot lose its treatment.
    let url = format!("{entries}/{}", id(&recorded));
    c.patch(&url, &json!({"treatment_ids": []}))
        .names_field("treatment_ids");
    let patched = c.patch(&url, &json!({"tags": ["waf"]})).ok(200);
    assert_eq!(patched["version"], 2);

    // Step 6 of the progress: findings, fixes and lessons recorded.
    let progress = c.get(&format!("{base}/progress")).ok(200);
    let step6 = &progress["steps"][5];
    assert_eq!(step6["name"], "evaluation");
    assert_eq!(step6["status"], "complete", "{step6}");

    // Deleting the control drops it from the entries that named it.
    c.delete(&format!("{base}/treatments/{}", ids["treatment"]))
        .ok(204);
    c.delete(&format!("{base}/controls/{}", ids["control"]))
        .ok(204);
    let lesson = c.get(&format!("{entries}/{}", id(&lesson))).ok(200);
    assert_eq!(lesson["control_ids"], json!([]));

    // Viewers read, never write.
    let viewer = app.client(&app.key("acme", "viewer"));
    viewer.get(&entries).ok(200);
    viewer
        .post(
            &entries,
            &json!({"kind": "finding", "text": "t", "author": "a", "date": "2026-11-30"}),
        )
        .problem(403);
});

fn resource<'a>(diff: &'a Value, name: &str) -> &'a Value {
    diff["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == name)
        .unwrap_or_else(|| panic!("no {name} in {diff}"))
}

fn changed_fields(diff: &Value, name: &str, record: &str) -> Vec<String> {
    let r = resource(diff, name);
    let changed = r["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == record)
        .unwrap_or_else(|| panic!("{record} is not among the changed {name}: {r}"));
    changed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap().to_string())
        .collect()
}

fn ids_of(diff: &Value, name: &str, part: &str) -> Vec<String> {
    resource(diff, name)[part]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn versions_are_immutable_and_the_diff_names_every_change() {
    let app = Palisade::start(Mode::Embedded);
    let c = app.client(&app.key("acme", "owner"));
    let model = c.model("Payments");
    let base = format!("/api/v1/models/{model}");
    let ids = every_kind(&c, &base, "v1");
    c.post(&format!("{base}/versions"), &json!({"label": ""}))
        .names_field("label");
    c.post(
        &format!("{base}/versions"),
        &json!({"label": "x", "note": 1}),
    )
    .names_field("note");
    // The register is computed before the first version, so it has rows to compare.
    settle(&c, &base);
    let v1 = c
        .post(
            &format!("{base}/versions"),
            &json!({"label": "first round"}),
        )
        .ok(201);
    assert_eq!(v1["number"], 1);
    let v1_url = format!("{base}/versions/{}", id(&v1));
    let first = c.get(&v1_url).ok(200);
    let document = &first["document"];
    assert_eq!(document["format"], "palisade.model/1");
    for (key, n) in [
        ("assets", 1),
        ("threat_actors", 1),
        ("attack_trees", 1),
        ("trust_zones", 2),
        ("parties", 1),
        ("interactions", 1),
        ("threats", 1),
        ("controls", 1),
        ("treatments", 1),
        ("evaluation_entries", 1),
    ] {
        assert_eq!(document[key].as_array().unwrap().len(), n, "{key}");
    }
    assert_eq!(document["progress"]["steps"].as_array().unwrap().len(), 6);
    assert!(document["register"]["items"].is_array());

    // An edit of every kind.
    let p = |path: String, body: Value| c.patch(&format!("{base}/{path}"), &body).ok(200);
    p(
        format!("assets/{}", ids["asset"]),
        json!({"name": "ledger", "cia": {"availability": "high"}}),
    );
    p(
        format!("threat-actors/{}", ids["actor"]),
        json!({"skill": 5}),
    );
    let tree_url = format!("{base}/attack-trees/{}", ids["tree"]);
    let tree = c.get(&tree_url).ok(200);
    let renamed = json!({"name": "steal the vault", "goal": tree["goal"], "target_asset_id": tree["target_asset_id"], "root": tree["root"]});
    c.request("PUT", &tree_url, &[], Some(renamed.to_string().as_bytes()))
        .ok(200);
    let tree = c.get(&tree_url).ok(200);
    let root = tree["root"]["id"].as_str().unwrap().to_string();
    let node = c
        .request(
            "POST",
            &format!("{tree_url}/nodes"),
            &[("If-Match", &format!("\"{}\"", tree["version"]))],
            Some(
                json!({"parent_id": root, "kind": "leaf", "label": "steal a laptop",
                        "attributes": {"cost": 900, "probability": 0.05, "time": 2, "skill": 1}})
                .to_string()
                .as_bytes(),
            ),
        )
        .ok(201);
    p(
        format!("trust-zones/{}", ids["zone"]),
        json!({"trust_rating": 10}),
    );
    p(
        format!("parties/{}", ids["party"]),
        json!({"trust_level": "untrusted"}),
    );
    p(
        format!("interactions/{}", ids["interaction"]),
        json!({"authenticated": true}),
    );
    p(
        format!("threats/{}", ids["threat"]),
        json!({"title": "card skimming"}),
    );
    // Implementing the control lowers the threat's residual severity.
    p(
        format!("controls/{}", ids["control"]),
        json!({"status": "implemented", "effectiveness": 90}),
    );
    p(
        format!("evaluation-entries/{}", ids["entry"]),
        json!({"text": "revised"}),
    );
    let accept = c
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": ids["threat"], "strategy": "accept", "owner": "cfo",
            "justification": "cheaper", "approver": "cfo", "expires_on": "2099-01-01"}),
        )
        .ok(201);
    c.patch(&base, &json!({"description": "after review"}))
        .ok(200);
    let added = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "backup", "kind": "data"}),
        )
        .ok(201);
    let spare = c
        .post(
            &format!("{base}/parties"),
            &json!({"name": "spare", "kind": "customer", "trust_level": "untrusted"}),
        )
        .ok(201);
    let v2_mid = c
        .post(&format!("{base}/versions"), &json!({"label": "with spare"}))
        .ok(201);
    c.delete(&format!("{base}/parties/{}", id(&spare))).ok(204);

    settle(&c, &base);
    let v2 = c
        .post(
            &format!("{base}/versions"),
            &json!({"label": "second round"}),
        )
        .ok(201);
    assert_eq!(v2["number"], 3);

    let diff = c
        .get(&format!("{base}/diff?from={}&to={}", id(&v1), id(&v2)))
        .ok(200);
    assert_eq!(diff["from"]["id"], v1["id"]);
    assert_eq!(diff["to"]["id"], v2["id"]);
    assert_eq!(changed_fields(&diff, "model", &model), ["description"]);
    assert_eq!(
        changed_fields(&diff, "assets", &ids["asset"]),
        ["cia.availability", "name"]
    );
    assert_eq!(ids_of(&diff, "assets", "added"), [id(&added)]);
    assert_eq!(
        changed_fields(&diff, "threat_actors", &ids["actor"]),
        ["skill"]
    );
    assert_eq!(ids_of(&diff, "attack_tree_nodes", "added"), [id(&node)]);
    assert_eq!(
        changed_fields(&diff, "attack_trees", &ids["tree"]),
        ["name"]
    );
    assert!(resource(&diff, "attack_tree_nodes")["changed"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        changed_fields(&diff, "trust_zones", &ids["zone"]),
        ["trust_rating"]
    );
    assert_eq!(
        changed_fields(&diff, "parties", &ids["party"]),
        ["trust_level"]
    );
    assert_eq!(
        changed_fields(&diff, "interactions", &ids["interaction"]),
        ["authenticated"]
    );
    assert_eq!(changed_fields(&diff, "threats", &ids["threat"]), ["title"]);
    assert_eq!(
        changed_fields(&diff, "controls", &ids["control"]),
        ["effectiveness", "status"]
    );
    assert_eq!(
        changed_fields(&diff, "treatments", &ids["treatment"]),
        ["superseded_by"]
    );
    assert_eq!(ids_of(&diff, "treatments", "added"), [id(&accept)]);
    assert_eq!(
        changed_fields(&diff, "evaluation_entries", &ids["entry"]),
        ["text"]
    );
    let before_after = &resource(&diff, "threats")["changed"][0]["changes"][0];
    assert_eq!(before_after["before"], "v1 threat");
    assert_eq!(before_after["after"], "card skimming");
    // The spare party came and went between v1 and v2: not in this diff…
    assert!(ids_of(&diff, "parties", "added").is_empty());
    // …but removed since the version that had it.
    let since_mid = c
        .get(&format!("{base}/diff?from={}&to=current", id(&v2_mid)))
        .ok(200);
    assert_eq!(ids_of(&since_mid, "parties", "removed"), [id(&spare)]);
    let moved = diff["risk_movements"].as_array().unwrap();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["threat_id"], ids["threat"]);
    assert_eq!(moved[0]["direction"], "down");
    assert_eq!(moved[0]["before_severity"], "critical");

    // Against the present, with nothing changed since v2: only bookkeeping differs.
    let now = c.get(&format!("{base}/diff?from={}", id(&v2))).ok(200);
    assert!(now["to"].is_null());
    for r in now["resources"].as_array().unwrap() {
        for part in ["added", "removed", "changed"] {
            assert!(r[part].as_array().unwrap().is_empty(), "{r}");
        }
    }

    // Versions never change: v1 still says what it said.
    let again = c.get(&v1_url).ok(200);
    assert_eq!(again, first);
    assert_eq!(again["document"]["threats"][0]["title"], "v1 threat");
    for method in ["PATCH", "PUT", "DELETE"] {
        c.request(method, &v1_url, &[], Some(b"{}")).problem(405);
    }
    let listed = c.all(&format!("{base}/versions?sort=-number"), 2);
    assert_eq!(
        listed
            .iter()
            .map(|v| v["number"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        [3, 2, 1]
    );
    assert!(listed[0].get("document").is_none());

    // Bad references are named.
    c.get(&format!("{base}/diff")).names_field("from");
    c.get(&format!("{base}/diff?from={}", uuid::Uuid::now_v7()))
        .names_field("from");
    c.get(&format!("{base}/diff?from={}&to=yesterday", id(&v1)))
        .names_field("to");
    let other = c.model("Other");
    c.get(&format!("/api/v1/models/{other}/versions/{}", id(&v1)))
        .problem(404);
    c.get(&format!("/api/v1/models/{other}/diff?from={}", id(&v1)))
        .names_field("from");
}

both_modes!(
    reports_are_rendered_by_the_job_and_served_as_rendered,
    |app| {
        let _worker = Worker::start(&app);
        let c = app.client(&app.key("acme", "editor"));
        let model = c.model("Payments");
        let base = format!("/api/v1/models/{model}");
        every_kind(&c, &base, "plain");
        let reports = format!("{base}/reports");
        c.post(&reports, &json!({"formats": []}))
            .names_field("formats");
        c.post(&reports, &json!({"formats": ["pdf"]}))
            .names_field("formats[0]");
        c.post(&reports, &json!({"formats": ["html", "html"]}))
            .names_field("formats[1]");
        let flood: Vec<&str> = vec!["json"; 100_000];
        c.post(&reports, &json!({"formats": flood}))
            .names_field("formats");
        c.post(
            &reports,
            &json!({"formats": ["html"], "version_id": uuid::Uuid::now_v7()}),
        )
        .names_field("version_id");

        let r = c.post(&reports, &json!({"formats": ["json", "markdown", "html"]}));
        let queued = r.ok(202);
        let url = r.header("location").unwrap().to_string();
        assert_eq!(url, format!("{reports}/{}", id(&queued)));
        assert!(queued["version_id"].is_null());
        let done = wait_for_report(&c, &url);
        let job = c
            .get(&format!(
                "/api/v1/jobs/{}",
                done["job_id"].as_str().unwrap()
            ))
            .ok(200);
        assert_eq!(job["status"], "succeeded");
        assert_eq!(job["kind"], "generate_report");

        // The job snapshotted the model first: the report describes that version.
        let versions = c.all(&format!("{base}/versions"), 10);
        assert_eq!(versions.len(), 1);
        assert_eq!(done["version_id"], versions[0]["id"]);
        assert_eq!(done["files"].as_array().unwrap().len(), 3);

        let content = |format: &str| {
            let r = c.get(&format!("{url}/content?format={format}"));
            assert_eq!(r.status, 200, "{}", r.text);
            r
        };
        let html = content("html");
        assert_eq!(
            html.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(html
            .header("content-disposition")
            .unwrap()
            .starts_with("inline; filename=\"palisade-report-"));
        assert!(html
            .header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'"));
        assert!(html.text.contains("plain threat"));
        let md = content("markdown");
        assert_eq!(
            md.header("content-type"),
            Some("text/markdown; charset=utf-8")
        );
        assert!(md.text.starts_with("# Threat model report — Payments"));
        let js = content("json");
        assert_eq!(js.header("content-type"), Some("application/json"));
        let view = js.json();
        assert_eq!(view["format"], "palisade.report/1");
        assert_eq!(view["version"]["id"], done["version_id"]);
        let sizes: HashMap<String, i64> = done["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["format"].as_str().unwrap().to_string(),
                    f["bytes"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(sizes["html"], html.text.len() as i64);
        assert_eq!(sizes["markdown"], md.text.len() as i64);
        assert_eq!(sizes["json"], js.text.len() as i64);
        let download = c.get(&format!("{url}/content?format=json&download=true"));
        assert!(download
            .header("content-disposition")
            .unwrap()
            .starts_with("attachment;"));

        // A report of a named version describes it, not the model now.
        let v = c
            .post(&format!("{base}/versions"), &json!({"label": "before"}))
            .ok(201);
        c.post(
            &format!("{base}/assets"),
            &json!({"name": "added later", "kind": "data"}),
        )
        .ok(201);
        let r = c.post(
            &reports,
            &json!({"formats": ["json"], "version_id": v["id"]}),
        );
        let url2 = r.header("location").unwrap().to_string();
        let done2 = wait_for_report(&c, &url2);
        assert_eq!(done2["version_id"], v["id"]);
        let view2 = c.get(&format!("{url2}/content?format=json")).json();
        assert!(!view2.to_string().contains("added later"));
        c.get(&format!("{url2}/content?format=html"))
            .names_field("format");
        let listed = c.all(&format!("{reports}?version_id={}", id(&v)), 5);
        assert_eq!(listed.len(), 1);

        // Reports are immutable.
        for method in ["PATCH", "PUT", "DELETE"] {
            c.request(method, &url, &[], Some(b"{}")).problem(405);
        }
        // The same bytes on a second read.
        assert_eq!(content("html").text, html.text);
    }
);

/// Text meant to break out of HTML, attributes, URLs, SVG/XML and templates.
const HOSTILE: [&str; 5] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "javascript:alert(document.cookie)",
    "]]></text></svg><svg onload=alert(1)><!--",
    "{{ 7*7 }}{% raw %}' onmouseover='x | y",
];

/// Every element's name, in document order.
fn elements(html: &scraper::Html) -> Vec<String> {
    html.root_element()
        .descendants()
        .filter_map(|n| n.value().as_element().map(|e| e.name().to_string()))
        .collect()
}

fn render_html(c: &Client, text: &str) -> (String, String, Value) {
    let model = c.model(text);
    let base = format!("/api/v1/models/{model}");
    let ids = every_kind(c, &base, text);
    for to in ["approved", "in_progress", "done"] {
        move_to(c, &base, &ids["treatment"], to);
    }
    c.post(
        &format!("{base}/evaluation-entries"),
        &json!({"kind": "fix_applied", "text": text, "author": text, "date": "2026-12-01",
                "tags": [text], "treatment_ids": [ids["treatment"]], "control_ids": [ids["control"]]}),
    )
    .ok(201);
    for kind in ["success", "lesson_learned"] {
        c.post(
            &format!("{base}/evaluation-entries"),
            &json!({"kind": kind, "text": text, "author": text, "date": "2026-12-02"}),
        )
        .ok(201);
    }
    let r = c.post(
        &format!("{base}/reports"),
        &json!({"formats": ["html", "markdown", "json"]}),
    );
    let url = r.header("location").unwrap().to_string();
    wait_for_report(c, &url);
    let get = |f: &str| c.get(&format!("{url}/content?format={f}")).text;
    (
        get("html"),
        get("markdown"),
        serde_json::from_str(&get("json")).unwrap(),
    )
}

#[test]
fn hostile_text_in_every_field_stays_text() {
    let app = Palisade::start(Mode::Embedded);
    let c = app.client(&app.key("acme", "owner"));
    let (plain, _, _) = render_html(&c, "plain words");
    let baseline = elements(&scraper::Html::parse_document(&plain));
    for text in HOSTILE {
        let (html, markdown, json) = render_html(&c, text);
        let doc = scraper::Html::parse_document(&html);
        // The page has exactly the elements a plain report has: nothing injected.
        assert_eq!(
            elements(&doc),
            baseline,
            "{text}: the element structure changed"
        );
        for node in doc.root_element().descendants() {
            let Some(e) = node.value().as_element() else {
                continue;
            };
            assert_ne!(e.name(), "script", "{text}");
            for (name, value) in e.attrs() {
                assert!(
                    !name.to_ascii_lowercase().starts_with("on"),
                    "{text}: {name}={value}"
                );
                assert!(
                    !value
                        .trim_start()
                        .to_ascii_lowercase()
                        .starts_with("javascript:"),
                    "{text}: {name}={value}"
                );
            }
        }
        // The text reads as written, many times over (once per field).
        let visible: String = doc.root_element().text().collect();
        assert!(
            visible.matches(text).count() >= 10,
            "{text}: {}",
            visible.matches(text).count()
        );
        let title: String = doc
            .select(&scraper::Selector::parse("head > title").unwrap())
            .flat_map(|t| t.text())
            .collect();
        assert!(title.ends_with(text), "{title}");
        assert!(!html.contains("<script"), "{text}");
        assert!(!html.contains("<img"), "{text}");
        if text.contains('<') {
            assert!(!html.contains(text), "{text} appears unescaped");
        }

        // Markdown: no raw HTML gets through, and no table cell is split.
        assert!(
            !markdown.contains("<script")
                && !markdown.contains("<img")
                && !markdown.contains("<svg"),
            "{text}"
        );
        let table_widths: Vec<usize> = markdown
            .lines()
            .filter(|l| {
                l.starts_with("| Asset |") || l.starts_with("| ") && l.contains(" | data | ")
            })
            .map(|l| l.matches(" | ").count())
            .collect();
        assert_eq!(table_widths.len(), 2, "{text}: {markdown}");
        assert_eq!(table_widths[0], table_widths[1], "{text}: a cell was split");

        // JSON keeps the text exactly.
        assert_eq!(json["model"]["name"], text);
        assert_eq!(json["fixes_applied"][0]["text"], text);
    }
}
