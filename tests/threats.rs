//! End-to-end, step 2: threat actors and attack trees, in both modes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use common::{Mode, Palisade};
use serde_json::{json, Value};

both_modes!(threat_actors_crud_filters_and_bad_input, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let actors = format!("/api/v1/models/{model}/threat-actors");
    let full = c.post(&actors, &json!({"name": "FIN7", "origin": "external", "category": "cybercriminal", "intent": "malicious",
        "motivation": "money", "skill": "expert", "resources": "a lot", "description": "card thieves"})).ok(201);
    assert_eq!(
        (full["skill"].as_str(), full["version"].as_i64()),
        (Some("expert"), Some(1))
    );
    c.post(&actors, &json!({"name": "Clumsy admin", "origin": "internal", "category": "employee", "intent": "accidental"})).ok(201);
    c.post(
        &actors,
        &json!({"name": "x", "origin": "alien", "category": "employee", "intent": "accidental"}),
    )
    .names_field("origin");
    c.post(
        &actors,
        &json!({"name": "x", "origin": "internal", "intent": "accidental"}),
    )
    .names_field("category");
    c.post(&actors, &json!({"name": "x", "origin": "internal", "category": "nation-state", "intent": "malicious"})).names_field("category");
    c.post(&actors, &json!({"name": "x", "origin": "internal", "category": "employee", "intent": "malicious", "skill": 6})).names_field("skill");
    c.post(&actors, &json!({"name": "x".repeat(201), "origin": "internal", "category": "employee", "intent": "malicious"})).names_field("name");
    assert_eq!(c.all(&format!("{actors}?origin=internal"), 10).len(), 1);
    assert_eq!(
        c.all(&format!("{actors}?category=cybercriminal"), 10).len(),
        1
    );
    assert_eq!(
        c.all(&format!("{actors}?intent=accidental&origin=external"), 10)
            .len(),
        0
    );
    c.get(&format!("{actors}?origin=space"))
        .names_field("origin");

    let url = format!("{actors}/{}", full["id"].as_str().unwrap());
    let changed = c
        .request(
            "PATCH",
            &url,
            &[("If-Match", "\"1\"")],
            Some(br#"{"skill": "high", "resources": null}"#),
        )
        .ok(200);
    assert_eq!(
        (
            changed["skill"].as_str(),
            changed["resources"].is_null(),
            changed["version"].as_i64()
        ),
        (Some("high"), true, Some(2))
    );
    c.request(
        "PATCH",
        &url,
        &[("If-Match", "\"1\"")],
        Some(br#"{"skill": "low"}"#),
    )
    .problem(412);
    let globex = app.client(&app.key("globex", "owner"));
    globex.get(&url).problem(404);
    globex.delete(&url).problem(404);
    c.delete(&url).ok(204);
    c.get(&url).problem(404);
});

fn leaf(label: &str, cost: f64, p: f64, time: f64, skill: f64) -> Value {
    json!({"kind": "leaf", "label": label, "attributes": {"cost": cost, "probability": p, "time": time, "skill": skill}})
}

/// Every node kind, a countered defense, and a step shared by two branches.
fn rich_tree(target: &str, actor: &str) -> Value {
    let mut sqli = leaf("SQL injection", 500.0, 0.3, 2.0, 6.0);
    sqli["actor_id"] = json!(actor);
    let mut phish = leaf("Phish", 200.0, 0.4, 5.0, 3.0);
    phish["countermeasure"] = json!({"kind": "defense", "label": "Awareness training", "attributes": {"probability": 0.7},
        "countermeasure": {"kind": "leaf", "label": "Spear-phish", "attributes": {"cost": 400, "probability": 0.5}}});
    let mut laptop = leaf("Steal a laptop", 100.0, 0.5, 1.0, 1.0);
    laptop["step"] = json!("laptop");
    json!({"name": "Steal customer data", "goal": "Exfiltrate the customer table", "target_asset_id": target,
    "root": {"kind": "or", "label": "Get the data", "children": [
        sqli,
        {"kind": "and", "label": "Take over an admin", "children": [phish, leaf("Bypass MFA", 1000.0, 0.2, 3.0, 7.0)]},
        {"kind": "sand", "label": "Physical", "children": [laptop, leaf("Read backup tape", 3000.0, 0.05, 10.0, 2.0)]},
        {"kind": "or", "label": "Insider", "children": [laptop, leaf("Bribe", 5000.0, 0.1, 20.0, 1.0)]},
    ]}})
}

fn find<'a>(node: &'a Value, label: &str) -> Option<&'a Value> {
    if node["label"] == label {
        return Some(node);
    }
    node["children"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(node.get("countermeasure"))
        .find_map(|c| find(c, label))
}

both_modes!(attack_trees_are_stored_evaluated_edited_and_drawn, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let asset = c.post(&format!("/api/v1/models/{model}/assets"), &json!({"name": "Customer DB", "kind": "data", "classification": "restricted", "owner": "dba"})).ok(201);
    let actor = c.post(&format!("/api/v1/models/{model}/threat-actors"), &json!({"name": "FIN7", "origin": "external", "category": "cybercriminal", "intent": "malicious"})).ok(201);
    let trees = format!("/api/v1/models/{model}/attack-trees");
    let created = c.post(
        &trees,
        &rich_tree(asset["id"].as_str().unwrap(), actor["id"].as_str().unwrap()),
    );
    let tree = created.ok(201);
    assert_eq!(tree["node_count"], 13);
    let url = created.header("location").unwrap().to_string();

    // Read back equal, and a PUT of what GET returned is a no-op.
    let read = c.get(&url).ok(200);
    assert_eq!(read, tree);
    assert_eq!(
        find(&read["root"], "SQL injection").unwrap()["actor_id"],
        actor["id"]
    );
    let same = c
        .request(
            "PUT",
            &url,
            &[("If-Match", "\"1\"")],
            Some(read.to_string().as_bytes()),
        )
        .ok(200);
    assert_eq!(same["version"], 1, "nothing changed");
    assert_eq!(same, read);

    // Values checked by hand (see the test's comments in tests/threats.rs).
    let eval = c.get(&format!("{url}/evaluation")).ok(200);
    assert_eq!(eval["exact"], true);
    assert_eq!(eval["shared_steps"], 1);
    assert_eq!(eval["root"]["cost"], 100.0);
    // P = P(laptop)·1 + P(no laptop)·(1 − 0.7 × (1 − 0.26 × 0.2) × 0.9) = 0.5 + 0.5 × 0.40276
    assert!(
        (eval["root"]["probability"].as_f64().unwrap() - 0.70138).abs() < 1e-9,
        "{}",
        eval["root"]
    );
    assert_eq!(
        (
            eval["root"]["time"].as_f64(),
            eval["root"]["skill"].as_f64()
        ),
        (Some(1.0), Some(1.0))
    );
    let phish_id = find(&read["root"], "Phish").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(eval["nodes"][&phish_id]["cost"], 600.0);
    assert!((eval["nodes"][&phish_id]["probability"].as_f64().unwrap() - 0.26).abs() < 1e-12);
    let labels: Vec<&str> = eval["cheapest_path"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| eval["labels"][id.as_str().unwrap()].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Get the data", "Insider", "Steal a laptop"]);

    // Node edits move the evaluation.
    let nodes = format!("{url}/nodes");
    let sqli_id = find(&read["root"], "SQL injection").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patched = c
        .patch(
            &format!("{nodes}/{sqli_id}"),
            &json!({"attributes": {"cost": 50, "probability": 0.3, "time": 2, "skill": 6}}),
        )
        .ok(200);
    assert_eq!(patched["version"], 2);
    assert_eq!(
        c.get(&format!("{url}/evaluation")).ok(200)["root"]["cost"],
        50.0
    );
    let insider_id = find(&read["root"], "Insider").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let added = c.post(&nodes, &json!({"parent_id": insider_id, "kind": "leaf", "label": "Blackmail", "attributes": {"cost": 10, "probability": 0.01}})).ok(201);
    assert_eq!(
        c.get(&format!("{url}/evaluation")).ok(200)["root"]["cost"],
        10.0
    );
    // A move under its own descendant is refused; a fine move works.
    let admin_id = find(&read["root"], "Take over an admin").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.patch(
        &format!("{nodes}/{admin_id}"),
        &json!({"parent_id": phish_id}),
    )
    .names_field("parent_id");
    c.patch(
        &format!("{nodes}/{admin_id}"),
        &json!({"parent_id": admin_id}),
    )
    .names_field("parent_id");
    let moved = c
        .patch(
            &format!("{nodes}/{}", added["id"].as_str().unwrap()),
            &json!({"parent_id": admin_id, "position": 0}),
        )
        .ok(200);
    assert_eq!(
        (moved["parent_id"].as_str(), moved["position"].as_u64()),
        (Some(admin_id.as_str()), Some(0))
    );
    // A second countermeasure on a node is refused.
    c.post(&nodes, &json!({"parent_id": phish_id, "link": "countermeasure", "kind": "defense", "label": "MFA everywhere"})).problem(422);
    // Deleting a subtree.
    let physical_id = find(&read["root"], "Physical").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    c.delete(&format!("{nodes}/{physical_id}")).ok(204);
    let after = c.get(&url).ok(200);
    assert_eq!(
        after["node_count"], 11,
        "13 + blackmail − physical, laptop, tape"
    );
    assert!(find(&after["root"], "Read backup tape").is_none());
    c.delete(&format!(
        "{nodes}/{}",
        after["root"]["id"].as_str().unwrap()
    ))
    .problem(409);
    c.request(
        "PATCH",
        &format!("{nodes}/{sqli_id}"),
        &[("If-Match", "\"1\"")],
        Some(br#"{"label": "x"}"#),
    )
    .problem(412);

    // Diagrams in three formats.
    let mermaid = c.get(&format!("{url}/diagram?format=mermaid"));
    assert!(mermaid.text.starts_with("flowchart TD"));
    let dot = c.get(&format!("{url}/diagram?format=dot"));
    assert!(dot
        .header("content-type")
        .unwrap()
        .starts_with("text/vnd.graphviz"));
    assert!(dot.text.starts_with("digraph attack_tree"));
    let svg = c.get(&format!("{url}/diagram?format=svg"));
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text.starts_with("<svg"));
    c.get(&format!("{url}/diagram?format=png"))
        .names_field("format");

    // The target asset cannot go while the tree aims at it.
    c.delete(&format!(
        "/api/v1/models/{model}/assets/{}",
        asset["id"].as_str().unwrap()
    ))
    .problem(409);

    // Another organisation sees none of it.
    let globex = app.client(&app.key("globex", "owner"));
    for path in [
        url.clone(),
        format!("{url}/evaluation"),
        format!("{url}/diagram"),
        format!("{nodes}/{sqli_id}"),
    ] {
        globex.get(&path).problem(404);
    }
    c.delete(&url).ok(204);
    c.get(&url).problem(404);
});

both_modes!(hostile_labels_stay_text_in_every_diagram, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let hostile = "\"]; x[\"pwn\"] <script>alert(1)</script> & \\l\nline";
    let tree = c
        .post(
            &format!("/api/v1/models/{model}/attack-trees"),
            &json!({"name": "t", "root": {"kind": "or", "label": hostile, "children": [
        {"kind": "leaf", "label": "<img src=x onerror=alert(1)>", "attributes": {"cost": 1}}]}}),
        )
        .ok(201);
    let url = format!(
        "/api/v1/models/{model}/attack-trees/{}/diagram",
        tree["id"].as_str().unwrap()
    );
    let svg = c.get(&format!("{url}?format=svg")).text;
    assert!(!svg.contains("<script") && !svg.contains("<img"), "{svg}");
    assert!(svg.contains("&lt;script&gt;"));
    let mermaid = c.get(&format!("{url}?format=mermaid")).text;
    assert!(!mermaid.contains("<script") && !mermaid.contains("pwn\"]"));
    let dot = c.get(&format!("{url}?format=dot")).text;
    assert!(
        dot.contains("\\\"]; x[\\\"pwn\\\"]"),
        "quotes escaped: {dot}"
    );
});

both_modes!(a_bad_tree_writes_nothing_and_names_the_node, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let other = c.model("other");
    let foreign_asset = c
        .post(
            &format!("/api/v1/models/{other}/assets"),
            &json!({"name": "x", "kind": "data"}),
        )
        .ok(201);
    let foreign_actor = c.post(&format!("/api/v1/models/{other}/threat-actors"), &json!({"name": "x", "origin": "internal", "category": "employee", "intent": "malicious"})).ok(201);
    let trees = format!("/api/v1/models/{model}/attack-trees");
    let post = |root: Value| c.post(&trees, &json!({"name": "t", "root": root}));
    post(json!({"kind": "or", "label": "g", "children": [{"kind": "leaf", "label": "a"}, {"kind": "and", "label": "empty"}]})).names_field("/root/children/1/children");
    post(json!({"kind": "or", "label": "g", "children": [{"kind": "defense", "label": "d"}]}))
        .names_field("/root/children/0");
    post(json!({"kind": "leaf", "label": "g", "attributes": {"probability": 2}}))
        .names_field("/root/attributes/probability");
    post(json!({"kind": "leaf", "label": "g", "attributes": {"cost": -5}}))
        .names_field("/root/attributes/cost");
    post(json!({"kind": "gate", "label": "g"})).names_field("root.kind");
    post(json!({"kind": "leaf", "label": "g", "actor_id": foreign_actor["id"]}))
        .names_field("/root/actor_id");
    c.post(&trees, &json!({"name": "t", "target_asset_id": foreign_asset["id"], "root": {"kind": "leaf", "label": "g"}})).names_field("target_asset_id");
    assert!(
        c.get(&trees).ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty(),
        "nothing was written"
    );
});

both_modes!(a_ten_thousand_node_tree_in_one_request, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let gates: Vec<Value> = (0..100)
        .map(|g| json!({"kind": "and", "label": format!("gate {g}"), "children":
            (0..99).map(|l| leaf(&format!("step {g}.{l}"), 1.0 + l as f64, 0.999, 1.0, 1.0)).collect::<Vec<_>>()}))
        .collect();
    let body = json!({"name": "big", "root": {"kind": "or", "label": "root", "children": gates}});
    let started = Instant::now();
    let tree = c
        .post(&format!("/api/v1/models/{model}/attack-trees"), &body)
        .ok(201);
    let created = started.elapsed();
    assert_eq!(tree["node_count"], 10_001);
    let started = Instant::now();
    let eval = c
        .get(&format!(
            "/api/v1/models/{model}/attack-trees/{}/evaluation",
            tree["id"].as_str().unwrap()
        ))
        .ok(200);
    let evaluated = started.elapsed();
    assert_eq!(eval["root"]["cost"], (1..=99).sum::<i32>() as f64);
    assert_eq!(eval["nodes"].as_object().unwrap().len(), 10_001);
    eprintln!(
        "{:?}: 10 001-node tree created in {created:?}, evaluated in {evaluated:?}",
        app.mode
    );
});

both_modes!(step_two_progress_comes_from_actors_and_trees, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let progress =
        || c.get(&format!("/api/v1/models/{model}/progress")).ok(200)["steps"][1].clone();
    assert_eq!(progress()["status"], "not_started");
    let db = c
        .post(
            &format!("/api/v1/models/{model}/assets"),
            &json!({"name": "db", "kind": "data", "classification": "confidential", "owner": "x"}),
        )
        .ok(201);
    c.post(&format!("/api/v1/models/{model}/threat-actors"), &json!({"name": "x", "origin": "external", "category": "opportunist", "intent": "malicious"})).ok(201);
    let step = progress();
    assert_eq!(step["status"], "in_progress");
    assert_eq!(step["checks"][1]["refs"], json!([db["id"]]));
    c.post(&format!("/api/v1/models/{model}/attack-trees"), &json!({"name": "t", "target_asset_id": db["id"], "root": {"kind": "leaf", "label": "steal"}})).ok(201);
    assert_eq!(progress()["status"], "complete");
});
