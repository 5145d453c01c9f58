//! End-to-end: importing the real files in `shared/data` (OTM, Threat
//! Dragon, Threagile) record by record, hand-made edge cases of each
//! format, hostile files that must write nothing, our own document's
//! round trip and OTM's, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Client, Mode, Palisade, Resp};
use serde_json::{json, Value};

fn shared(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn import(c: &Client, format: &str, content_type: &str, body: &[u8]) -> Resp {
    c.request(
        "POST",
        &format!("/api/v1/models/import?format={format}"),
        &[("Content-Type", content_type)],
        Some(body),
    )
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The model's records of one kind, by name (or title).
fn by_name(c: &Client, model: &str, kind: &str) -> HashMap<String, Value> {
    c.all(&format!("/api/v1/models/{model}/{kind}"), 100)
        .into_iter()
        .map(|r| {
            let name = r["name"]
                .as_str()
                .or(r["title"].as_str())
                .or(r["purpose"].as_str())
                .unwrap_or_default()
                .to_string();
            (name, r)
        })
        .collect()
}

fn model_count(c: &Client) -> usize {
    c.all("/api/v1/models", 100).len()
}

/// Waits until the register is computed and fresh.
fn settle(c: &Client, model: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c.get(&format!("/api/v1/models/{model}/risks")).ok(200);
        if r["stale"] == false && !r["computed_at"].is_null() {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the register did not settle: {r}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn otm_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_slice(&shared("otm/otm_schema.json")).unwrap();
    jsonschema::draft7::new(&schema).unwrap()
}

fn assert_valid_otm(doc: &Value) {
    let v = otm_schema();
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .take(10)
        .collect();
    assert!(errors.is_empty(), "not valid OTM: {errors:?}\n{doc}");
}

both_modes!(the_otm_example_imports_record_by_record, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let _worker = common::Worker::start(&app);
    let r = import(&c, "otm", "application/json", &shared("otm/EXAMPLE.json"));
    let body = r.ok(201);
    let model = id(&body["model"]);
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v1/models/{model}").as_str())
    );
    assert_eq!(body["model"]["name"], "Test project");
    assert_eq!(
        body["model"]["description"],
        "This is a test project for the OTM development"
    );
    let report = &body["report"];
    assert_eq!(report["format"], "otm");
    assert_eq!(
        report["counts"],
        json!({"trust_zones": 2, "assets": 6, "parties": 0, "threat_actors": 0, "attack_trees": 0,
               "interactions": 2, "threats": 1, "controls": 2, "treatments": 1, "evaluation_entries": 0})
    );
    let notes = report["notes"].as_array().unwrap();
    let note = |pointer: &str, kind: &str| {
        assert!(
            notes
                .iter()
                .any(|n| n["pointer"] == pointer && n["kind"] == kind),
            "no {kind} note at {pointer}: {notes:?}"
        )
    };
    note("/representations", "dropped");
    note("/threats/0/cwes", "dropped");
    note("/threats/0/tags", "dropped");
    note("/project/owner", "approximated");

    let zones = by_name(&c, &model, "trust-zones");
    assert_eq!(zones.len(), 2);
    assert_eq!(zones["Internet"]["trust_rating"], 20);
    assert_eq!(
        zones["Internet"]["description"],
        "This is the internet trust zone"
    );
    assert_eq!(zones["Private"]["trust_rating"], 100);
    let (internet, private) = (id(&zones["Internet"]), id(&zones["Private"]));

    let assets = by_name(&c, &model, "assets");
    assert_eq!(assets.len(), 6);
    let cc = &assets["Credit Card Data"];
    assert_eq!(cc["kind"], "data");
    assert_eq!(
        cc["cia"],
        json!({"confidentiality": "high", "integrity": "high", "availability": "high"})
    );
    assert_eq!(cc["metadata"]["otm"]["id"], "cc-data");
    assert_eq!(
        assets["Public Info"]["cia"],
        json!({"confidentiality": "low", "integrity": "high", "availability": "medium"})
    );
    let expect = [
        ("Web Client", "application", &internet, "web-client"),
        ("Web Service", "service", &private, "web-service"),
        ("Customer Database", "infrastructure", &private, "database"),
        (
            "Class CustomerDatabase",
            "application",
            &private,
            "code-class",
        ),
    ];
    for (name, kind, zone, otm_type) in expect {
        let a = &assets[name];
        assert_eq!(a["kind"], kind, "{name}");
        assert_eq!(a["trust_zone_id"], zone.as_str(), "{name}");
        assert_eq!(a["metadata"]["otm"]["type"], otm_type, "{name}");
    }
    assert_eq!(assets["Web Client"]["tags"], json!(["external"]));
    assert_eq!(
        assets["Web Service"]["metadata"]["otm"]["processed"],
        json!(["cc-data", "public-info"])
    );

    let flows = by_name(&c, &model, "interactions");
    let to_service = &flows["Dataflow between webclient and webservice."];
    assert_eq!(
        to_service["source"]["asset_id"],
        id(&assets["Web Client"]).as_str()
    );
    assert_eq!(to_service["bidirectional"], true);
    assert_eq!(
        to_service["destination"]["asset_id"],
        id(&assets["Web Service"]).as_str()
    );
    let to_db = &flows["Dataflow between webservice and mongo."];
    assert_eq!(to_db["data_asset_ids"], json!([id(cc)]));
    assert_eq!(
        to_db["destination"]["asset_id"],
        id(&assets["Customer Database"]).as_str()
    );

    let threats = by_name(&c, &model, "threats");
    let t = &threats["Threat 1"];
    assert_eq!(t["stride"], "spoofing");
    assert_eq!(t["description"], "Description fo the threat number 1");
    assert_eq!(
        t["assessment"],
        json!({"method": "nist", "likelihood": "moderate", "impact": "very_high"})
    );
    assert_eq!(t["asset_ids"], json!([id(&assets["Web Service"])]));
    assert_eq!(t["interaction_ids"], json!([id(to_db)]));

    let controls = by_name(&c, &model, "controls");
    let m1 = &controls["This is the name of mitigation 1"];
    assert_eq!(m1["effectiveness"], 50);
    assert_eq!(m1["status"], "implemented");
    assert_eq!(m1["threat_ids"], json!([id(t)]));
    let m2 = &controls["Mitigation 2"];
    assert_eq!(m2["effectiveness"], 100);
    assert_eq!(m2["status"], "planned");
    assert_eq!(m2["threat_ids"], json!([]));

    let treatments = c.all(&format!("/api/v1/models/{model}/treatments"), 100);
    assert_eq!(treatments.len(), 1);
    assert_eq!(treatments[0]["strategy"], "reduce");
    assert_eq!(treatments[0]["status"], "proposed");
    assert_eq!(treatments[0]["owner"], "John Doe");
    assert_eq!(treatments[0]["control_ids"], json!([id(m1)]));

    // NIST: likelihood moderate × impact very high is high (Table I-2): 8.0.
    let register = settle(&c, &model);
    assert_eq!(register["items"][0]["inherent_score"], 8.0);
    assert_eq!(register["items"][0]["inherent_severity"], "high");
});

/// Every id in `doc` → its place: a record's kind list and index, or an
/// attack-tree node's tree index and walk order.
fn id_places(doc: &Value) -> HashMap<String, String> {
    let mut places = HashMap::new();
    let lists = [
        "assets",
        "threat_actors",
        "attack_trees",
        "trust_zones",
        "parties",
        "interactions",
        "threats",
        "controls",
        "treatments",
        "evaluation_entries",
    ];
    for list in lists {
        for (i, r) in doc[list].as_array().unwrap().iter().enumerate() {
            places.insert(id(r), format!("{list}/{i}"));
            if list == "attack_trees" {
                let mut stack = vec![(&r["root"], "root".to_string())];
                while let Some((n, path)) = stack.pop() {
                    if let Some(nid) = n["id"].as_str() {
                        places.insert(nid.to_string(), format!("{list}/{i}/{path}"));
                    }
                    for (k, c) in n["children"].as_array().into_iter().flatten().enumerate() {
                        stack.push((c, format!("{path}/{k}")));
                    }
                    if !n["countermeasure"].is_null() {
                        stack.push((&n["countermeasure"], format!("{path}/c")));
                    }
                }
            }
        }
    }
    places.insert(id(&doc["model"]), "model".into());
    places
}

/// The document with ids replaced by their places and what a server
/// stamps (timestamps, versions: a count of edits made here) removed.
fn normalised(doc: &Value) -> Value {
    let places = id_places(doc);
    fn walk(v: &Value, places: &HashMap<String, String>) -> Value {
        match v {
            Value::String(s) => places
                .get(s)
                .map_or_else(|| v.clone(), |p| Value::String(format!("<{p}>"))),
            Value::Array(a) => Value::Array(a.iter().map(|x| walk(x, places)).collect()),
            Value::Object(m) => Value::Object(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "created_at"
                                | "updated_at"
                                | "generated_at"
                                | "computed_at"
                                | "version"
                        )
                    })
                    .map(|(k, x)| (k.clone(), walk(x, places)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(doc, &places)
}

/// Adds what `every_kind` leaves out: a tree with a defense node, a threat
/// scored with it naming a node, a control realising the defense, a
/// second treatment superseding the first, and moved statuses.
fn richer(c: &Client, base: &str, ids: &HashMap<&str, String>) {
    let tree = c
        .post(&format!("{base}/attack-trees"), &json!({"name": "tree two", "root": {"kind": "or", "label": "get in", "children": [
            {"kind": "leaf", "label": "phish", "attributes": {"cost": 100, "probability": 0.5},
             "countermeasure": {"kind": "defense", "label": "training", "attributes": {"probability": 0.6}}},
            {"kind": "leaf", "label": "guess", "attributes": {"cost": 10, "probability": 0.2}}]}}))
        .ok(201);
    let phish = &tree["root"]["children"][0];
    let threat = c
        .post(
            &format!("{base}/threats"),
            &json!({"title": "tree threat", "stride": "spoofing",
            "attack_tree_node_ids": [id(phish)],
            "assessment": {"method": "attack_tree", "tree_id": id(&tree), "impact": "high"}}),
        )
        .ok(201);
    let control = c
        .post(
            &format!("{base}/controls"),
            &json!({"name": "awareness", "type": "preventive",
            "category": "administrative", "status": "implemented", "effectiveness": 40,
            "threat_ids": [id(&threat)], "defense_node_ids": [id(&phish["countermeasure"])]}),
        )
        .ok(201);
    c.post(
        &format!("{base}/treatments"),
        &json!({"threat_id": id(&threat), "strategy": "reduce",
        "owner": "sec", "control_ids": [id(&control)]}),
    )
    .ok(201);
    c.post(
        &format!("{base}/treatments"),
        &json!({"threat_id": id(&threat), "strategy": "transfer",
        "owner": "sec", "counterparty_party_id": ids["party"], "mechanism": "insurance",
        "transferred_share": 0.5}),
    )
    .ok(201);
    let t = &ids["treatment"];
    c.post(
        &format!("{base}/treatments/{t}/transitions"),
        &json!({"to": "approved"}),
    )
    .ok(200);
    // Free metadata is carried as it is, even keys that look like references.
    c.post(
        &format!("{base}/assets"),
        &json!({"name": "tagged", "kind": "service",
                "metadata": {"asset_id": "not-an-asset", "cmdb": {"threat_ids": ["SEC-1"]}}}),
    )
    .ok(201);
}

both_modes!(our_document_round_trips, |app| {
    let c = app.client(&app.key("acme", "owner"));
    let _worker = common::Worker::start(&app);
    let model = c.model("original");
    let base = format!("/api/v1/models/{model}");
    let ids = common::fixtures::every_kind(&c, &base, "plain");
    richer(&c, &base, &ids);
    settle(&c, &model);
    let exported = c.get(&format!("{base}/export?format=json")).ok(200);
    assert_eq!(exported["format"], "palisade.model/1");
    assert_eq!(exported["treatments"].as_array().unwrap().len(), 3);

    let r = import(
        &c,
        "json",
        "application/json",
        exported.to_string().as_bytes(),
    );
    let body = r.ok(201);
    let copy = id(&body["model"]);
    assert_ne!(copy, model);
    assert_eq!(body["report"]["notes"], json!([]));
    assert_eq!(body["report"]["counts"]["treatments"], 3);
    assert_eq!(body["report"]["counts"]["attack_trees"], 2);
    settle(&c, &copy);
    let again = c
        .get(&format!("/api/v1/models/{copy}/export?format=json"))
        .ok(200);
    assert_eq!(normalised(&again), normalised(&exported));

    // The copy is independent: editing it leaves the original alone.
    c.patch(&format!("/api/v1/models/{copy}"), &json!({"name": "copy"}))
        .ok(200);
    assert_eq!(c.get(&base).ok(200)["name"], "original");
    // And a YAML rendering of the same document imports as well.
    let yaml = format!("# exported\n{}", exported);
    import(&c, "json", "application/yaml", yaml.as_bytes()).ok(201);
});

both_modes!(
    a_broken_document_names_every_problem_and_writes_nothing,
    |app| {
        let c = app.client(&app.key("acme", "owner"));
        let model = c.model("original");
        let base = format!("/api/v1/models/{model}");
        let ids = common::fixtures::every_kind(&c, &base, "plain");
        let mut doc = c.get(&format!("{base}/export?format=json")).ok(200);
        let before = model_count(&c);
        // A dangling reference, a reference of the wrong kind, a duplicate id
        // and a field of the wrong type, all reported at once.
        doc["threats"][0]["asset_ids"] = json!([uuid::Uuid::now_v7().to_string()]);
        doc["controls"][0]["threat_ids"] = json!([ids["asset"]]);
        doc["parties"][0]["id"] = doc["assets"][0]["id"].clone();
        doc["trust_zones"][0]["trust_rating"] = json!("high");
        let r = import(&c, "json", "application/json", doc.to_string().as_bytes());
        let body = r.problem(422);
        let fields: Vec<&str> = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        for f in [
            "/threats/0/asset_ids/0",
            "/controls/0/threat_ids/0",
            "/parties/0/id",
            "/trust_zones/0",
        ] {
            assert!(fields.contains(&f), "no problem at {f}: {fields:?}");
        }
        assert_eq!(model_count(&c), before);
    }
);

both_modes!(the_threat_dragon_demo_imports_record_by_record, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let body = import(
        &c,
        "threat-dragon",
        "application/json",
        &shared("threat-dragon/three-tier-web-app.json"),
    )
    .ok(201);
    let model = id(&body["model"]);
    assert_eq!(body["model"]["name"], "Three Tier Web Application");
    assert_eq!(
        body["report"]["counts"],
        json!({"trust_zones": 2, "assets": 3, "parties": 0, "threat_actors": 0, "attack_trees": 0,
               "interactions": 3, "threats": 2, "controls": 2, "treatments": 2, "evaluation_entries": 0})
    );
    let notes = body["report"]["notes"].as_array().unwrap();
    let at = |p: &str| {
        notes
            .iter()
            .filter(|n| n["pointer"] == p)
            .map(|n| n["kind"].as_str().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        at("/detail/diagrams/0/cells/2"),
        ["dropped"],
        "the text block: {notes:?}"
    );
    assert!(
        at("/detail/diagrams/0/cells/8").is_empty(),
        "the bidirectional flow is kept as it is: {notes:?}"
    );

    let zones = by_name(&c, &model, "trust-zones");
    let (z1, z2) = (
        id(&zones["Trust boundary 1"]),
        id(&zones["Trust boundary 2"]),
    );
    assert_eq!(zones["Trust boundary 1"]["trust_rating"], 50);
    let assets = by_name(&c, &model, "assets");
    for (name, zone) in [("Web UI", &z1), ("Web Service", &z2), ("PostgresSQL", &z2)] {
        let a = &assets[name];
        assert_eq!(a["kind"], "application", "{name}");
        assert_eq!(a["trust_zone_id"], zone.as_str(), "{name} sits in its box");
        assert_eq!(a["in_scope"], true);
        assert_eq!(a["metadata"]["threat_dragon"]["shape"], "process");
    }
    let flows = c.all(&format!("/api/v1/models/{model}/interactions"), 100);
    let pair = |f: &Value| {
        (
            f["source"]["asset_id"].as_str().unwrap().to_string(),
            f["destination"]["asset_id"].as_str().unwrap().to_string(),
        )
    };
    let (ui, svc, db) = (
        id(&assets["Web UI"]),
        id(&assets["Web Service"]),
        id(&assets["PostgresSQL"]),
    );
    let mut pairs: Vec<_> = flows.iter().map(pair).collect();
    pairs.sort();
    let mut want = vec![
        (ui.clone(), svc.clone()),
        (svc.clone(), ui.clone()),
        (svc.clone(), db.clone()),
    ];
    want.sort();
    assert_eq!(pairs, want);
    assert!(flows
        .iter()
        .all(|f| f["purpose"].is_null() && f["protocol"].is_null() && f["encrypted"] == false));
    // Only the flow to the database goes both ways.
    for f in &flows {
        assert_eq!(
            f["bidirectional"],
            pair(f) == (svc.clone(), db.clone()),
            "{f}"
        );
    }

    let threats = c.all(&format!("/api/v1/models/{model}/threats"), 100);
    assert_eq!(threats.len(), 2);
    let mut impacts: Vec<&str> = threats
        .iter()
        .map(|t| t["assessment"]["impact"].as_str().unwrap())
        .collect();
    impacts.sort();
    assert_eq!(impacts, ["high", "moderate"]);
    for t in &threats {
        assert_eq!(t["title"], "Store Sensitive Data");
        assert_eq!(t["stride"], "information_disclosure");
        assert_eq!(t["asset_ids"], json!([db]));
        assert_eq!(t["assessment"]["likelihood"], "moderate");
    }
    let controls = by_name(&c, &model, "controls");
    let transferred = &controls["Risk transferred to the infrastructure team"];
    assert_eq!(transferred["status"], "implemented");
    assert_eq!(transferred["effectiveness"], 50);
    let treatments = c.all(&format!("/api/v1/models/{model}/treatments"), 100);
    assert!(treatments.iter().all(|t| t["strategy"] == "reduce"
        && t["status"] == "done"
        && t["owner"] == "A development team"));
});

both_modes!(the_threagile_example_imports_record_by_record, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let r = import(
        &c,
        "threagile",
        "application/yaml",
        &shared("threagile/threagile.yaml"),
    );
    let body = r.ok(201);
    let model = id(&body["model"]);
    assert_eq!(body["model"]["name"], "Some Example Application");
    assert_eq!(
        body["report"]["counts"],
        json!({"trust_zones": 5, "assets": 22, "parties": 4, "threat_actors": 0, "attack_trees": 0,
               "interactions": 20, "threats": 2, "controls": 1, "treatments": 0, "evaluation_entries": 0})
    );
    let notes = body["report"]["notes"].as_array().unwrap();
    // The tracked risks are all of Threagile's built-in rules.
    let dropped_tracking = notes
        .iter()
        .filter(|n| {
            n["pointer"]
                .as_str()
                .unwrap()
                .starts_with("/risk_tracking/")
                && n["kind"] == "dropped"
        })
        .count();
    assert_eq!(dropped_tracking, 6, "{notes:?}");

    let assets = by_name(&c, &model, "assets");
    let contracts = &assets["Customer Contracts"];
    assert_eq!(contracts["kind"], "data");
    assert_eq!(contracts["classification"], "confidential");
    assert_eq!(contracts["owner"], "Company XYZ");
    assert_eq!(
        contracts["cia"],
        json!({"confidentiality": "medium", "integrity": "high", "availability": "low"})
    );
    // Merge keys: the summaries inherit the contracts' fields and override some.
    let summaries = &assets["Customer Contract Summaries"];
    assert_eq!(summaries["owner"], "Company XYZ");
    assert_eq!(
        summaries["classification"], "confidential",
        "restricted maps to confidential"
    );
    assert_eq!(summaries["metadata"]["threagile"]["quantity"], "very-few");
    assert_eq!(
        assets["Customer Accounts"]["classification"], "restricted",
        "strictly-confidential"
    );

    let zones = by_name(&c, &model, "trust-zones");
    assert_eq!(zones["Web DMZ"]["trust_rating"], 60);
    assert_eq!(zones["Application Network"]["trust_rating"], 40);
    assert_eq!(zones["Auth Handling Environment"]["trust_rating"], 80);
    let erp = &assets["Backoffice ERP System"];
    assert_eq!(erp["kind"], "application");
    assert_eq!(
        erp["trust_zone_id"],
        id(&zones["ERP DMZ"]).as_str(),
        "the innermost boundary"
    );
    assert_eq!(
        assets["Load Balancer"]["trust_zone_id"],
        id(&zones["Application Network"]).as_str()
    );
    assert_eq!(
        assets["Customer Contract Database"]["kind"],
        "infrastructure"
    );

    let parties = by_name(&c, &model, "parties");
    assert_eq!(parties.len(), 4);
    assert_eq!(parties["Customer Web Client"]["kind"], "customer");
    assert_eq!(parties["Customer Web Client"]["trust_level"], "untrusted");
    assert_eq!(parties["Backoffice Client"]["kind"], "employee");
    assert_eq!(
        parties["Backoffice Client"]["trust_zone_id"],
        id(&zones["Dev Network"]).as_str()
    );

    let flows = c.all(&format!("/api/v1/models/{model}/interactions"), 100);
    let db = id(&assets["Customer Contract Database"]);
    let jdbc = flows
        .iter()
        .find(|f| f["destination"]["asset_id"] == db.as_str() && f["protocol"] == "jdbc")
        .unwrap();
    assert_eq!(jdbc["source"]["asset_id"], id(erp).as_str());
    assert_eq!(jdbc["authenticated"], true);
    assert_eq!(jdbc["encrypted"], false);
    assert_eq!(jdbc["data_asset_ids"].as_array().unwrap().len(), 3);
    let from_customer = flows
        .iter()
        .find(|f| f["source"]["party_id"] == id(&parties["Customer Web Client"]).as_str())
        .unwrap();
    assert_eq!(from_customer["protocol"], "https");
    assert_eq!(from_customer["encrypted"], true);

    let threats = by_name(&c, &model, "threats");
    let at_db = &threats["Example Individual Risk at Database"];
    assert_eq!(at_db["stride"], "repudiation");
    assert_eq!(
        at_db["assessment"],
        json!({"method": "nist", "likelihood": "moderate", "impact": "moderate"})
    );
    assert_eq!(at_db["asset_ids"], json!([db]));
    let at_fs = &threats["Example Individual Risk at Contract Filesystem"];
    assert_eq!(
        at_fs["assessment"],
        json!({"method": "nist", "likelihood": "very_high", "impact": "very_high"})
    );
    let controls = c.all(&format!("/api/v1/models/{model}/controls"), 10);
    assert_eq!(
        controls[0]["description"],
        "Some text describing the mitigation..."
    );
    assert_eq!(controls[0]["threat_ids"].as_array().unwrap().len(), 2);
});

/// An OTM document's elements of one list by name.
fn otm_by_name<'a>(doc: &'a Value, list: &str) -> HashMap<String, &'a Value> {
    doc[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e))
        .collect()
}

/// What a round trip must keep of an OTM file: zones, components,
/// dataflows, threats and mitigations by name, with their ratings and
/// what they point at (by name).
fn otm_essence(doc: &Value) -> Value {
    let names: HashMap<&str, &str> = [
        "trustZones",
        "components",
        "assets",
        "threats",
        "mitigations",
    ]
    .iter()
    .flat_map(|l| doc[*l].as_array().unwrap().iter())
    .map(|e| (e["id"].as_str().unwrap(), e["name"].as_str().unwrap()))
    .collect();
    let name = |v: &Value| {
        names
            .get(v.as_str().unwrap_or_default())
            .copied()
            .unwrap_or("?")
    };
    let mut out = json!({});
    out["trustZones"] = otm_by_name(doc, "trustZones")
        .into_iter()
        .map(|(n, z)| (n, z["risk"]["trustRating"].clone()))
        .collect();
    out["assets"] = otm_by_name(doc, "assets")
        .into_iter()
        .map(|(n, a)| (n, a["risk"].clone()))
        .collect();
    out["components"] = otm_by_name(doc, "components")
        .into_iter()
        .map(|(n, c)| {
            let parent = c["parent"]
                .get("trustZone")
                .or(c["parent"].get("component"))
                .unwrap();
            let mut threats: Vec<String> = c["threats"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| name(&t["threat"]).to_string())
                .collect();
            threats.sort();
            (
                n,
                json!({"type": c["type"], "parent": name(parent), "threats": threats}),
            )
        })
        .collect();
    out["dataflows"] = otm_by_name(doc, "dataflows")
        .into_iter()
        .map(|(n, f)| {
            (
                n,
                json!([
                    name(&f["source"]),
                    name(&f["destination"]),
                    f["bidirectional"]
                ]),
            )
        })
        .collect();
    out["threats"] = otm_by_name(doc, "threats")
        .into_iter()
        .map(|(n, t)| (n, json!([t["risk"]["likelihood"], t["risk"]["impact"]])))
        .collect();
    out["mitigations"] = otm_by_name(doc, "mitigations")
        .into_iter()
        .map(|(n, m)| (n, m["riskReduction"].clone()))
        .collect();
    out
}

both_modes!(otm_round_trips_and_exports_valid_otm, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let original: Value = serde_json::from_slice(&shared("otm/EXAMPLE.json")).unwrap();
    let model =
        id(&import(&c, "otm", "application/json", &shared("otm/EXAMPLE.json")).ok(201)["model"]);
    let r = c.get(&format!("/api/v1/models/{model}/export?format=otm"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let exported = r.ok(200);
    assert_valid_otm(&exported);
    assert_eq!(exported["otmVersion"], "0.2.0");
    assert_eq!(exported["project"]["name"], "Test project");
    assert_eq!(otm_essence(&exported), otm_essence(&original));
    // The components keep their OTM ids and the data assets they process.
    let comps = otm_by_name(&exported, "components");
    assert_eq!(comps["Web Service"]["id"], "web-service");
    assert_eq!(
        comps["Web Service"]["assets"]["processed"],
        json!(["cc-data", "public-info"])
    );

    // Exported OTM imports again to the same essence, and as YAML too.
    let again = id(&import(
        &c,
        "otm",
        "application/json",
        exported.to_string().as_bytes(),
    )
    .ok(201)["model"]);
    let second = c
        .get(&format!("/api/v1/models/{again}/export?format=otm"))
        .ok(200);
    assert_eq!(otm_essence(&second), otm_essence(&original));
    let yaml = c.request(
        "GET",
        &format!("/api/v1/models/{model}/export?format=otm"),
        &[("Accept", "application/yaml")],
        None,
    );
    assert_eq!(yaml.status, 200);
    assert_eq!(yaml.header("content-type"), Some("application/yaml"));
    let from_yaml: Value = serde_norway::from_str(&yaml.text).unwrap();
    assert_eq!(from_yaml, exported, "the YAML says what the JSON says");
    let third = id(&import(&c, "otm", "application/yaml", yaml.text.as_bytes()).ok(201)["model"]);
    assert_eq!(
        otm_essence(
            &c.get(&format!("/api/v1/models/{third}/export?format=otm"))
                .ok(200)
        ),
        otm_essence(&original)
    );
    // As bytes (what generated SDKs send for a file): JSON when it reads as JSON, else YAML.
    for bytes in [exported.to_string(), yaml.text.clone()] {
        let r = import(&c, "otm", "application/octet-stream", bytes.as_bytes()).ok(201);
        let m = id(&r["model"]);
        assert_eq!(
            otm_essence(
                &c.get(&format!("/api/v1/models/{m}/export?format=otm"))
                    .ok(200)
            ),
            otm_essence(&original)
        );
    }
    import(&c, "otm", "application/octet-stream", b"{not: [valid").problem(400);
    // Our own document has no YAML form.
    c.request(
        "GET",
        &format!("/api/v1/models/{model}/export?format=json"),
        &[("Accept", "application/yaml")],
        None,
    )
    .problem(406);
    c.get(&format!("/api/v1/models/{model}/export?format=pdf"))
        .problem(422);
});

// OTM references are typed by where they stand, so an id need be unique
// only within its kind: startleft's conversion of Microsoft Threat
// Modeling Tool files gives threat 55 the mitigation 55.
both_modes!(otm_ids_are_unique_per_kind_not_per_file, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let doc = json!({
        "otmVersion": "0.1.0",
        "project": {"name": "per kind", "id": "p"},
        "trustZones": [
            {"id": "web", "name": "Web zone", "risk": {"trustRating": 40}},
            {"id": "db", "name": "Data zone", "risk": {"trustRating": 90}}
        ],
        "assets": [{"id": "db", "name": "Customer records", "risk": {"confidentiality": 100, "integrity": 100, "availability": 50}}],
        "components": [
            {"id": "web", "name": "Web app", "type": "web-service", "parent": {"trustZone": "web"},
             "threats": [{"threat": "55", "state": "exposed", "mitigations": [{"mitigation": "55", "state": "implemented"}]}]},
            {"id": "db", "name": "Database", "type": "database", "parent": {"trustZone": "db"},
             "assets": {"stored": ["db"]}}
        ],
        "dataflows": [
            {"id": "web", "name": "Query", "source": "web", "destination": "db", "assets": ["db"],
             "threats": [{"threat": "55", "state": "exposed", "mitigations": [{"mitigation": "55", "state": "implemented"}]}]},
            {"id": "55", "name": "From the zone", "source": "db", "destination": "web"}
        ],
        "threats": [{"id": "55", "name": "SQL injection", "categories": ["Tampering"], "risk": {"likelihood": 60, "impact": 90}}],
        "mitigations": [{"id": "55", "name": "Parameterised queries", "riskReduction": 80}]
    });
    let body = import(&c, "otm", "application/json", doc.to_string().as_bytes()).ok(201);
    let model = id(&body["model"]);
    let counts = &body["report"]["counts"];
    assert_eq!(
        (
            counts["trust_zones"].as_u64(),
            counts["assets"].as_u64(),
            counts["interactions"].as_u64()
        ),
        (Some(2), Some(3), Some(2)),
        "{body}"
    );
    assert_eq!(
        (counts["threats"].as_u64(), counts["controls"].as_u64()),
        (Some(1), Some(1))
    );
    let assets = by_name(&c, &model, "assets");
    let (web, db, data) = (
        &assets["Web app"],
        &assets["Database"],
        &assets["Customer records"],
    );
    let zones = by_name(&c, &model, "trust-zones");
    assert_eq!(web["trust_zone_id"], id(&zones["Web zone"]).as_str());
    assert_eq!(db["trust_zone_id"], id(&zones["Data zone"]).as_str());
    assert_eq!(data["kind"], "data");
    let flows = by_name(&c, &model, "interactions");
    let query = &flows["Query"];
    assert_eq!(query["source"]["asset_id"], id(web).as_str());
    assert_eq!(query["destination"]["asset_id"], id(db).as_str());
    assert_eq!(query["data_asset_ids"], json!([id(data)]));
    let threat = &c.all(&format!("/api/v1/models/{model}/threats"), 10)[0];
    assert_eq!(threat["asset_ids"], json!([id(web)]));
    assert_eq!(threat["interaction_ids"], json!([id(query)]));
    let control = &c.all(&format!("/api/v1/models/{model}/controls"), 10)[0];
    assert_eq!(control["name"], "Parameterised queries");
    assert_eq!(control["threat_ids"], json!([id(threat)]));

    // Exported, the kinds keep their ids side by side, valid OTM, and it
    // imports again to the same records.
    let exported = c
        .get(&format!("/api/v1/models/{model}/export?format=otm"))
        .ok(200);
    assert_valid_otm(&exported);
    assert_eq!(otm_by_name(&exported, "components")["Database"]["id"], "db");
    assert_eq!(
        otm_by_name(&exported, "assets")["Customer records"]["id"],
        "db"
    );
    let again = import(
        &c,
        "otm",
        "application/json",
        exported.to_string().as_bytes(),
    )
    .ok(201);
    assert_eq!(again["report"]["counts"], body["report"]["counts"]);

    // A data asset put in a zone is exported as a component: its kept
    // id "db" is the database's, so it is written with its own id instead.
    let zone = id(&by_name(&c, &model, "trust-zones")["Data zone"]);
    c.patch(
        &format!("/api/v1/models/{model}/assets/{}", id(data)),
        &json!({"trust_zone_id": zone}),
    )
    .ok(200);
    let moved = c
        .get(&format!("/api/v1/models/{model}/export?format=otm"))
        .ok(200);
    assert_valid_otm(&moved);
    let comps = otm_by_name(&moved, "components");
    assert_eq!(comps["Database"]["id"], "db");
    assert_eq!(comps["Customer records"]["id"], id(data).as_str());
    import(&c, "otm", "application/json", moved.to_string().as_bytes()).ok(201);

    // Within one kind an id is still one element's.
    let mut twice = doc.clone();
    twice["mitigations"] = json!([
        {"id": "55", "name": "a", "riskReduction": 80},
        {"id": "55", "name": "b", "riskReduction": 80}
    ]);
    let fields = problem_fields(&import(
        &c,
        "otm",
        "application/json",
        twice.to_string().as_bytes(),
    ));
    assert_eq!(fields, ["/mitigations/1/id"]);
    // A dataflow naming a trust zone instead of a component is dropped, said so.
    let mut zoned = doc.clone();
    zoned["trustZones"][1]["id"] = json!("data-zone");
    zoned["components"][1]["parent"] = json!({"trustZone": "data-zone"});
    zoned["dataflows"][1]["source"] = json!("data-zone");
    let r = import(&c, "otm", "application/json", zoned.to_string().as_bytes()).ok(201);
    assert_eq!(r["report"]["counts"]["interactions"], 1);
    assert!(
        r["report"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["pointer"] == "/dataflows/1/source" && n["kind"] == "dropped"),
        "{r}"
    );
});

// Threat Dragon: a flow names cells of its own diagram, so node ids need
// be unique within a diagram only (a copied diagram keeps its ids), and a
// flow or boundary may share an id with anything.
both_modes!(threat_dragon_ids_are_unique_per_diagram, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let node = |shape: &str, id: &str, name: &str| json!({"shape": shape, "id": id, "position": {"x": 10, "y": 10}, "size": {"width": 20, "height": 20}, "data": {"name": name}});
    let flow = |id: &str, from: &str, to: &str, name: &str| json!({"shape": "flow", "id": id, "source": {"cell": from}, "target": {"cell": to}, "data": {"name": name}});
    let doc = json!({
        "version": "2.3.0",
        "summary": {"title": "two diagrams"},
        "detail": {"diagrams": [
            {"id": 0, "title": "first", "cells": [
                node("actor", "u", "User"), node("process", "p", "API"),
                flow("p", "u", "p", "Call"),
                {"shape": "trust-boundary-box", "id": "u", "position": {"x": 0, "y": 0}, "size": {"width": 100, "height": 100}, "data": {"name": "Box"}}
            ]},
            {"id": 1, "title": "copy", "cells": [
                node("actor", "u", "User (copy)"), node("store", "p", "Store"),
                flow("f", "u", "p", "Write")
            ]}
        ]}
    });
    let body = import(
        &c,
        "threat-dragon",
        "application/json",
        doc.to_string().as_bytes(),
    )
    .ok(201);
    let model = id(&body["model"]);
    let parties = by_name(&c, &model, "parties");
    let assets = by_name(&c, &model, "assets");
    let flows = by_name(&c, &model, "interactions");
    assert_eq!(
        flows["Call"]["source"]["party_id"],
        id(&parties["User"]).as_str()
    );
    assert_eq!(
        flows["Call"]["destination"]["asset_id"],
        id(&assets["API"]).as_str()
    );
    assert_eq!(
        flows["Write"]["source"]["party_id"],
        id(&parties["User (copy)"]).as_str()
    );
    assert_eq!(
        flows["Write"]["destination"]["asset_id"],
        id(&assets["Store"]).as_str()
    );
    // Two nodes of one diagram with one id are still refused.
    let mut twice = doc.clone();
    twice["detail"]["diagrams"][1]["cells"][1]["id"] = json!("u");
    let fields = problem_fields(&import(
        &c,
        "threat-dragon",
        "application/json",
        twice.to_string().as_bytes(),
    ));
    assert!(
        fields.contains(&"/detail/diagrams/1/cells/1/id".to_string()),
        "{fields:?}"
    );
});

// Threagile checks ids within each kind; so do we.
both_modes!(threagile_ids_are_unique_per_kind, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let yaml = r#"
title: Same ids
data_assets:
  Orders: {id: db, confidentiality: confidential, integrity: critical, availability: important}
technical_assets:
  Database: {id: db, type: datastore, confidentiality: confidential, integrity: critical, availability: critical, data_assets_stored: [db]}
  Shop:
    id: shop
    type: process
    confidentiality: internal
    integrity: important
    availability: important
    communication_links:
      Store orders: {target: db, protocol: jdbc-encrypted, authentication: credentials, data_assets_sent: [db]}
trust_boundaries:
  Data centre: {id: db, type: network-on-prem, technical_assets_inside: [db, shop]}
"#;
    let body = import(&c, "threagile", "application/yaml", yaml.as_bytes()).ok(201);
    let model = id(&body["model"]);
    let assets = by_name(&c, &model, "assets");
    let flows = by_name(&c, &model, "interactions");
    let link = &flows["Store orders"];
    assert_eq!(
        link["destination"]["asset_id"],
        id(&assets["Database"]).as_str()
    );
    assert_eq!(link["data_asset_ids"], json!([id(&assets["Orders"])]));
    let zones = by_name(&c, &model, "trust-zones");
    assert_eq!(
        assets["Database"]["trust_zone_id"],
        id(&zones["Data centre"]).as_str()
    );
    // Within a kind, an id is one element's.
    let twice = yaml.replace("Shop:\n    id: shop", "Shop:\n    id: db");
    assert_ne!(twice, yaml);
    let fields = problem_fields(&import(
        &c,
        "threagile",
        "application/yaml",
        twice.as_bytes(),
    ));
    assert!(
        fields.contains(&"/technical_assets/Shop/id".to_string()),
        "{fields:?}"
    );
});

both_modes!(a_model_made_here_exports_valid_otm, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("native");
    let base = format!("/api/v1/models/{model}");
    let ids = common::fixtures::every_kind(&c, &base, "plain");
    let unzoned = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "loose service", "kind": "service"}),
        )
        .ok(201);
    let doc = c.get(&format!("{base}/export?format=otm")).ok(200);
    assert_valid_otm(&doc);
    let comps = otm_by_name(&doc, "components");
    // The data asset sits in a zone, so it is a component there; the party is one too.
    assert_eq!(
        comps["plain db"]["parent"]["trustZone"],
        ids["inner_zone"].as_str()
    );
    assert_eq!(comps["plain vendor"]["type"], "party-vendor");
    assert_eq!(
        comps["loose service"]["parent"]["trustZone"],
        "palisade-unzoned"
    );
    assert_eq!(comps["loose service"]["id"], id(&unzoned).as_str());
    let zones = otm_by_name(&doc, "trustZones");
    assert!(zones.contains_key("Unzoned"));
    let flow = &doc["dataflows"][0];
    assert_eq!(flow["source"], ids["party"].as_str());
    assert_eq!(flow["destination"], ids["asset"].as_str());
    // A CVSS threat has no likelihood of its own (its impact is the inherent score).
    let threat = &otm_by_name(&doc, "threats")["plain threat"];
    assert_eq!(threat["categories"], json!(["Tampering"]));
    assert!(threat["risk"]["likelihood"].is_null());
    let mitigation = &otm_by_name(&doc, "mitigations")["plain WAF"];
    assert_eq!(mitigation["riskReduction"], 60);
    assert_eq!(
        comps["plain db"]["threats"][0]["mitigations"][0],
        json!({"mitigation": ids["control"], "state": "required"})
    );
    // Another organisation's model is not found.
    let other = app.client(&app.key("globex", "editor"));
    other.get(&format!("{base}/export?format=otm")).problem(404);
});

/// The pointers a 422 names.
fn problem_fields(r: &Resp) -> Vec<String> {
    r.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect()
}

fn minimal_otm() -> Value {
    json!({"otmVersion": "0.1.0", "project": {"name": "p", "id": "p"},
           "trustZones": [{"id": "z", "name": "zone", "risk": {"trustRating": 10}}],
           "components": [{"id": "c", "name": "comp", "type": "web-service", "parent": {"trustZone": "z"}}]})
}

/// Hostile files, on both backends: the body bound is lowered to 2 MB.
mod hostile_files_are_refused_and_write_nothing {
    use super::*;

    #[test]
    fn embedded() {
        run_hostile(Palisade::start_with(
            Mode::Embedded,
            &[("PALISADE_MAX_IMPORT", "2000000")],
        ));
    }

    #[test]
    fn production() {
        run_hostile(Palisade::start_with(
            Mode::Production,
            &[("PALISADE_MAX_IMPORT", "2000000")],
        ));
    }
}

fn run_hostile(app: Palisade) {
    let c = app.client(&app.key("acme", "editor"));
    let before = model_count(&c);

    // Deep nesting: refused where it crosses the bound.
    let mut deep = minimal_otm();
    let mut nest = json!(1);
    for _ in 0..80 {
        nest = json!({"x": nest});
    }
    deep["project"]["attributes"] = nest;
    let fields = problem_fields(&import(
        &c,
        "otm",
        "application/json",
        deep.to_string().as_bytes(),
    ));
    assert!(
        fields[0].starts_with("/project/attributes/x/x"),
        "{fields:?}"
    );
    let deep_yaml = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    import(&c, "otm", "application/yaml", deep_yaml.as_bytes()).problem(422);

    // A billion laughs: nine levels of nine aliases.
    let mut bomb = String::from("otmVersion: 0.2.0\nproject: {name: p, id: p}\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        bomb.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            vec![format!("*a{}", i - 1); 9].join(", ")
        ));
    }
    let r = import(&c, "otm", "application/yaml", bomb.as_bytes());
    let body = r.problem(422);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("more values"),
        "{body}"
    );

    // A huge string, wrong types, duplicate ids and dangling references,
    // each named by its pointer, all at once.
    let mut bad = minimal_otm();
    bad["project"]["name"] = json!("x".repeat(1_100_000));
    import(&c, "otm", "application/json", bad.to_string().as_bytes()).names_field("/project/name");
    let mut bad = minimal_otm();
    bad["project"]["name"] = json!(42);
    bad["trustZones"][0]["risk"]["trustRating"] = json!("high");
    bad["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "c", "name": "again", "type": "x", "parent": {"trustZone": "z"}}));
    bad["components"]
        .as_array_mut()
        .unwrap()
        .push(json!({"id": "d", "name": "lost", "type": "x", "parent": {"trustZone": "nowhere"}}));
    bad["dataflows"] = json!([{"id": "f", "name": "f", "source": "c", "destination": "ghost"}]);
    bad["components"][0]["threats"] = json!([{"threat": "no-such-threat", "state": "exposed"}]);
    bad["trustZones"][0]["risk"]["extra"] = json!(true);
    let fields = problem_fields(&import(
        &c,
        "otm",
        "application/json",
        bad.to_string().as_bytes(),
    ));
    for f in [
        "/project/name",
        "/trustZones/0/risk/trustRating",
        "/components/1/id",
        "/components/2/parent/trustZone",
        "/dataflows/0/destination",
        "/components/0/threats/0/threat",
    ] {
        assert!(
            fields.contains(&f.to_string()),
            "no problem at {f}: {fields:?}"
        );
    }
    // A rating out of range.
    let mut bad = minimal_otm();
    bad["trustZones"][0]["risk"]["trustRating"] = json!(140);
    import(&c, "otm", "application/json", bad.to_string().as_bytes())
        .names_field("/trustZones/0/risk/trustRating");
    // A long chain of nested components is fine (references, not syntax, nest).
    let mut chain = minimal_otm();
    chain["components"] = Value::Array((0..3000).map(|i| {
        let parent = if i == 0 { json!({"trustZone": "z"}) } else { json!({"component": format!("k{}", i - 1)}) };
        json!({"id": format!("k{i}"), "name": format!("k{i}"), "type": "x", "parent": parent})
    }).rev().collect());
    let chained = import(&c, "otm", "application/json", chain.to_string().as_bytes()).ok(201);
    assert_eq!(chained["report"]["counts"]["assets"], 3000);
    c.delete(&format!("/api/v1/models/{}", id(&chained["model"])))
        .ok(204);
    // Components that nest in a cycle.
    let mut bad = minimal_otm();
    bad["components"] = json!([{"id": "a", "name": "a", "type": "x", "parent": {"component": "b"}},
                               {"id": "b", "name": "b", "type": "x", "parent": {"component": "a"}}]);
    import(&c, "otm", "application/json", bad.to_string().as_bytes()).problem(422);
    // More elements than a file may hold, refused before they are mapped.
    let mut bad = minimal_otm();
    bad["dataflows"] = Value::Array(vec![json!(0); 100_001]);
    import(&c, "otm", "application/json", bad.to_string().as_bytes()).names_field("/dataflows");

    // Too many boundary boxes to place elements in.
    let boxes: Vec<Value> = (0..1001)
        .map(|i| json!({"shape": "trust-boundary-box", "id": format!("b{i}"), "data": {}}))
        .collect();
    let td = json!({"summary": {"title": "boxes"}, "detail": {"diagrams": [{"cells": boxes}]}});
    import(
        &c,
        "threat-dragon",
        "application/json",
        td.to_string().as_bytes(),
    )
    .names_field("/detail/diagrams/0/cells");

    // Over the size limit, whether declared or streamed.
    let big = vec![b' '; 2_000_001];
    import(&c, "otm", "application/json", &big).problem(413);
    // Not JSON, not YAML, not a known format.
    import(&c, "otm", "application/json", b"{\"otmVersion\": ").problem(400);
    import(&c, "otm", "application/yaml", b"a: [1, 2\n").problem(400);
    import(&c, "otm", "text/csv", b"a,b").problem(415);
    import(&c, "visio", "application/json", b"{}").problem(422);
    c.request("POST", "/api/v1/models/import", &[], Some(b"{}"))
        .names_field("format");
    import(&c, "otm", "application/json", b"[]").names_field("");
    import(
        &c,
        "otm",
        "application/json",
        br#"{"otmVersion": "9.0", "project": {"name": "p", "id": "p"}}"#,
    )
    .names_field("/otmVersion");
    // A viewer may not import.
    let viewer = app.client(&app.key("acme", "viewer"));
    import(
        &viewer,
        "otm",
        "application/json",
        minimal_otm().to_string().as_bytes(),
    )
    .problem(403);

    assert_eq!(model_count(&c), before, "nothing was written");
    // And the minimal file itself imports.
    import(
        &c,
        "otm",
        "application/json",
        minimal_otm().to_string().as_bytes(),
    )
    .ok(201);
    assert_eq!(model_count(&c), before + 1);
}

both_modes!(otm_edge_cases_import_leniently, |app| {
    let c = app.client(&app.key("acme", "editor"));
    // 0.1.0 with nulls everywhere optional, unknown fields, a nested zone,
    // nested components, no dataflows, threats with a null likelihood and
    // categories that are not STRIDE, a mitigation marked partial.
    let doc = json!({
        "otmVersion": "0.1.0",
        "project": {"name": "edge", "id": "e", "description": null, "owner": null, "tags": null, "vendorExtension": {"a": 1}},
        "representations": null, "assets": null, "dataflows": null,
        "trustZones": [
            {"id": "outer", "name": "Outer", "risk": {"trustRating": 30}, "representations": null},
            {"id": "inner", "name": "Inner", "risk": {"trustRating": 70}, "parent": {"trustZone": "outer"}},
            {"id": "norisk", "name": "No rating"}
        ],
        "components": [
            {"id": "leaf", "name": "Leaf", "type": "code-module", "parent": {"component": "mid"}, "tags": [null, "t"],
             "threats": [{"threat": "t1", "state": "mitigated", "mitigations": [{"mitigation": "m1", "state": "partially-implemented"}]}]},
            {"id": "mid", "name": "Mid", "type": "container", "parent": {"component": "top"}},
            {"id": "top", "name": "Top", "type": "web-service", "parent": {"trustZone": "inner"}, "unknown": [1, 2]}
        ],
        "threats": [{"id": "t1", "name": "Odd threat", "categories": ["LINDDUN: Linkability", null], "risk": {"likelihood": null, "impact": 30}}],
        "mitigations": [{"id": "m1", "name": "Patch", "riskReduction": 75.4}]
    });
    let body = import(&c, "otm", "application/json", doc.to_string().as_bytes()).ok(201);
    let model = id(&body["model"]);
    let notes = body["report"]["notes"].as_array().unwrap();
    let has = |p: &str, k: &str| notes.iter().any(|n| n["pointer"] == p && n["kind"] == k);
    assert!(has("/trustZones/1/parent", "approximated"), "{notes:?}");
    assert!(
        has("/trustZones/2", "approximated"),
        "no rating: 50 {notes:?}"
    );
    assert!(has("/threats/0/categories", "approximated"), "{notes:?}");
    assert!(
        has("/threats/0/risk/likelihood", "approximated"),
        "{notes:?}"
    );
    assert!(
        has("/threats/0/risk/impact", "approximated"),
        "30 is moderate, exported as 50: {notes:?}"
    );
    let zones = by_name(&c, &model, "trust-zones");
    assert_eq!(zones["No rating"]["trust_rating"], 50);
    let assets = by_name(&c, &model, "assets");
    let (top, mid, leaf) = (&assets["Top"], &assets["Mid"], &assets["Leaf"]);
    assert_eq!(mid["parent_id"], id(top).as_str());
    assert_eq!(leaf["parent_id"], id(mid).as_str());
    assert_eq!(
        leaf["trust_zone_id"],
        id(&zones["Inner"]).as_str(),
        "a nested component is in its top's zone"
    );
    assert_eq!(leaf["tags"], json!(["t"]));
    assert_eq!(mid["kind"], "infrastructure");
    let threat = &c.all(&format!("/api/v1/models/{model}/threats"), 10)[0];
    assert_eq!(threat["stride"], "tampering");
    assert_eq!(
        threat["assessment"],
        json!({"method": "nist", "likelihood": "moderate", "impact": "moderate"})
    );
    let control = &c.all(&format!("/api/v1/models/{model}/controls"), 10)[0];
    assert_eq!(control["status"], "partial");
    assert_eq!(control["effectiveness"], 75);
    let treatment = &c.all(&format!("/api/v1/models/{model}/treatments"), 10)[0];
    assert_eq!(
        (
            treatment["strategy"].as_str(),
            treatment["status"].as_str(),
            treatment["owner"].as_str()
        ),
        (Some("reduce"), Some("done"), Some("unassigned"))
    );

    // An accepted threat: accepting risk needs the owner role.
    let mut accepted = minimal_otm();
    accepted["threats"] =
        json!([{"id": "t", "name": "T", "risk": {"likelihood": 50, "impact": 100}}]);
    accepted["components"][0]["threats"] = json!([{"threat": "t", "state": "accepted"}]);
    let before = model_count(&c);
    import(
        &c,
        "otm",
        "application/json",
        accepted.to_string().as_bytes(),
    )
    .problem(403);
    assert_eq!(model_count(&c), before);
    let owner = app.client(&app.key("acme", "owner"));
    let model = id(&import(
        &owner,
        "otm",
        "application/json",
        accepted.to_string().as_bytes(),
    )
    .ok(201)["model"]);
    let t = &owner.all(&format!("/api/v1/models/{model}/treatments"), 10)[0];
    assert_eq!(
        (t["strategy"].as_str(), t["status"].as_str()),
        (Some("accept"), Some("approved"))
    );
});

both_modes!(threat_dragon_edge_cases, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let cell = |shape: &str, id: &str, data: Value| json!({"shape": shape, "id": id, "position": {"x": 10, "y": 10}, "size": {"width": 20, "height": 20}, "data": data});
    let doc = json!({
        "version": "2.2.0",
        "summary": {"title": "td edge", "owner": null, "description": null},
        "detail": {"contributors": null, "diagrams": [{"id": 0, "title": "d", "diagramType": "LINDDUN", "cells": [
            cell("actor", "a", json!({"type": "tm.Actor", "name": "User", "threats": null})),
            cell("store", "s", json!({"type": "tm.Store", "name": null, "isEncrypted": true, "outOfScope": true})),
            cell("process", "p", json!(null)),
            cell("weird-shape", "w", json!({})),
            {"shape": "flow", "id": "f1", "source": {"cell": "a"}, "target": {"cell": "p"}, "data": {"name": "login", "protocol": "https", "isEncrypted": true,
                "threats": [{"title": "Sniff", "status": "Open", "severity": "Critical", "type": "Information disclosure", "mitigation": "Use TLS 1.3"},
                            {"title": null, "status": "NotApplicable", "severity": null, "type": "Linkability"}]}},
            {"shape": "flow", "id": "f2", "source": {"x": 1, "y": 2}, "target": {"cell": "p"}, "data": null}
        ]}]}
    });
    let body = import(
        &c,
        "threat-dragon",
        "application/json",
        doc.to_string().as_bytes(),
    )
    .ok(201);
    let model = id(&body["model"]);
    let counts = &body["report"]["counts"];
    assert_eq!(
        (
            counts["parties"].as_u64(),
            counts["assets"].as_u64(),
            counts["interactions"].as_u64(),
            counts["threats"].as_u64()
        ),
        (Some(1), Some(2), Some(1), Some(2))
    );
    let notes = body["report"]["notes"].as_array().unwrap();
    let has = |p: &str, k: &str| notes.iter().any(|n| n["pointer"] == p && n["kind"] == k);
    assert!(
        has("/detail/diagrams/0/cells/3", "dropped"),
        "the unknown shape: {notes:?}"
    );
    assert!(
        has("/detail/diagrams/0/cells/5", "dropped"),
        "the flow from a point: {notes:?}"
    );
    let assets = by_name(&c, &model, "assets");
    let store = &assets["Unnamed store"];
    assert_eq!(
        (store["kind"].as_str(), store["in_scope"].as_bool()),
        (Some("data"), Some(false))
    );
    assert_eq!(store["metadata"]["threat_dragon"]["isEncrypted"], true);
    let flow = &c.all(&format!("/api/v1/models/{model}/interactions"), 10)[0];
    assert_eq!(
        (
            flow["purpose"].as_str(),
            flow["protocol"].as_str(),
            flow["encrypted"].as_bool()
        ),
        (Some("login"), Some("https"), Some(true))
    );
    let threats = by_name(&c, &model, "threats");
    assert_eq!(threats["Sniff"]["interaction_ids"], json!([id(flow)]));
    assert_eq!(threats["Sniff"]["assessment"]["impact"], "very_high");
    assert_eq!(threats["Untitled threat"]["stride"], "tampering");
    let treatments = c.all(&format!("/api/v1/models/{model}/treatments"), 10);
    assert_eq!(
        treatments.len(),
        1,
        "the open threat with a mitigation: a proposed reduction; the N/A one none"
    );
    assert_eq!(treatments[0]["status"], "proposed");
    assert_eq!(
        by_name(&c, &model, "controls")["Use TLS 1.3"]["status"],
        "planned"
    );

    // Strict where data would be corrupted: a flow to no cell, a node id twice in a diagram.
    let mut bad = doc.clone();
    bad["detail"]["diagrams"][0]["cells"][4]["target"]["cell"] = json!("ghost");
    bad["detail"]["diagrams"][0]["cells"][1]["id"] = json!("a");
    let fields = problem_fields(&import(
        &c,
        "threat-dragon",
        "application/json",
        bad.to_string().as_bytes(),
    ));
    assert!(
        fields.contains(&"/detail/diagrams/0/cells/4/target/cell".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"/detail/diagrams/0/cells/1/id".to_string()),
        "{fields:?}"
    );
    // A v1 file (which Threat Dragon 2 still opens) imports: JointJS cells
    // with their names in attrs and flow labels, threats on the cell.
    let v1 = json!({"summary": {"title": "old"}, "detail": {"diagrams": [{"diagramJson": {"cells": [
        {"type": "tm.Actor", "id": "a", "position": {"x": 0, "y": 0}, "size": {"width": 10, "height": 10}, "attrs": {"text": {"text": "Web\nUser"}}},
        {"type": "tm.Process", "id": "p", "position": {"x": 50, "y": 0}, "size": {"width": 10, "height": 10}, "attrs": {"text": {"text": "API"}},
         "threats": [{"title": "Flood", "type": "Denial of service", "status": "Open", "severity": "High"}]},
        {"type": "tm.Flow", "id": "f", "source": {"id": "a"}, "target": {"id": "p"}, "protocol": "HTTPS", "isEncrypted": true,
         "labels": [{"position": 0.5, "attrs": {"text": {"text": "Request"}}}]},
        {"type": "tm.Boundary", "id": "b", "source": {"x": 1, "y": 1}, "target": {"x": 2, "y": 2}}
    ]}}]}});
    let old = import(
        &c,
        "threat-dragon",
        "application/json",
        v1.to_string().as_bytes(),
    )
    .ok(201);
    let m = id(&old["model"]);
    let flow = &by_name(&c, &m, "interactions")["Request"];
    assert_eq!(
        flow["source"]["party_id"],
        id(&by_name(&c, &m, "parties")["Web User"]).as_str()
    );
    assert_eq!(
        flow["destination"]["asset_id"],
        id(&by_name(&c, &m, "assets")["API"]).as_str()
    );
    assert_eq!(
        (flow["protocol"].as_str(), flow["encrypted"].as_bool()),
        (Some("HTTPS"), Some(true))
    );
    let threat = &by_name(&c, &m, "threats")["Flood"];
    assert_eq!(threat["stride"], "denial_of_service");
    assert!(old["report"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(
            |n| n["pointer"] == "/detail/diagrams/0/diagramJson/cells/3" && n["kind"] == "dropped"
        ));
    import(
        &c,
        "threat-dragon",
        "application/json",
        br#"{"detail": {}}"#,
    )
    .names_field("/summary");
});

both_modes!(threagile_edge_cases, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let yaml = r#"
title: tracked
author: {name: Ann}
data_assets:
  Secrets: {id: secrets, confidentiality: strictly-confidential, integrity: critical, availability: operational}
technical_assets:
  Vault: {id: vault, type: datastore, confidentiality: confidential, integrity: critical, availability: critical, data_assets_stored: [secrets]}
  App:
    id: app
    type: process
    confidentiality: internal
    integrity: important
    availability: important
    communication_links:
      Read secrets: {target: vault, protocol: https, authentication: token, data_assets_received: [secrets]}
trust_boundaries:
  Outer: {id: outer, type: network-on-prem, technical_assets_inside: [app], trust_boundaries_nested: [inner]}
  Inner: {id: inner, type: execution-environment, technical_assets_inside: [vault]}
individual_risk_categories:
  Leaky Vault:
    id: leaky-vault
    description: The vault leaks
    mitigation: Rotate keys
    stride: information-disclosure
    risks_identified:
      Leak at Vault: {severity: high, exploitation_likelihood: very-likely, exploitation_impact: high, most_relevant_technical_asset: vault}
      Leak at App: {severity: low, exploitation_likelihood: unlikely, exploitation_impact: low, most_relevant_technical_asset: app}
risk_tracking:
  leaky-vault@vault: {status: mitigated, justification: Rotated, ticket: SEC-1, checked_by: Bob, date: 2020-01-04}
  leaky-vault@*: {status: accepted, justification: Low, checked_by: Bob}
"#;
    let r = import(&owner, "threagile", "application/yaml", yaml.as_bytes());
    // The wildcard key also matches the risk the first key tracks.
    let fields = problem_fields(&r);
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("/risk_tracking/leaky-vault@")),
        "{fields:?}"
    );
    let yaml = yaml.replace("leaky-vault@*:", "leaky-vault@app:");
    let body = import(&owner, "threagile", "application/yaml", yaml.as_bytes()).ok(201);
    let model = id(&body["model"]);
    let assets = by_name(&owner, &model, "assets");
    let zones = by_name(&owner, &model, "trust-zones");
    assert_eq!(
        assets["Vault"]["trust_zone_id"],
        id(&zones["Inner"]).as_str()
    );
    assert_eq!(assets["App"]["trust_zone_id"], id(&zones["Outer"]).as_str());
    let threats = by_name(&owner, &model, "threats");
    let treatments = owner.all(&format!("/api/v1/models/{model}/treatments"), 10);
    let of = |t: &str| {
        treatments
            .iter()
            .find(|x| x["threat_id"] == id(&threats[t]).as_str())
            .unwrap()
    };
    let vault = of("Leak at Vault");
    assert_eq!(
        (
            vault["strategy"].as_str(),
            vault["status"].as_str(),
            vault["owner"].as_str()
        ),
        (Some("reduce"), Some("done"), Some("Bob"))
    );
    assert_eq!(
        vault["ticket"],
        json!({"system": "threagile", "key": "SEC-1"})
    );
    assert_eq!(vault["rationale"], "Rotated");
    let app_t = of("Leak at App");
    assert_eq!(
        (app_t["strategy"].as_str(), app_t["justification"].as_str()),
        (Some("accept"), Some("Low"))
    );
    let control = &owner.all(&format!("/api/v1/models/{model}/controls"), 10)[0];
    assert_eq!(
        (control["name"].as_str(), control["status"].as_str()),
        (Some("Leaky Vault: mitigation"), Some("implemented"))
    );

    // An unknown enum value and a link to nowhere, by pointer.
    let bad = yaml
        .replace(
            "integrity: critical, availability: operational",
            "integrity: vital, availability: operational",
        )
        .replace("target: vault", "target: nowhere");
    let fields = problem_fields(&import(
        &owner,
        "threagile",
        "application/yaml",
        bad.as_bytes(),
    ));
    assert!(
        fields.contains(&"/data_assets/Secrets/integrity".to_string()),
        "{fields:?}"
    );
    assert!(
        fields
            .contains(&"/technical_assets/App/communication_links/Read secrets/target".to_string()),
        "{fields:?}"
    );
});

both_modes!(the_cli_imports_a_file_into_an_organisation, |app| {
    let c = app.client(&app.key("acme", "viewer"));
    let _worker = common::Worker::start(&app);
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("model.yaml");
    std::fs::write(&yaml, shared("threagile/threagile.yaml")).unwrap();
    let out = app
        .command(&[
            "import",
            yaml.to_str().unwrap(),
            "--format",
            "threagile",
            "--org",
            "acme",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = common::output_text(&out);
    assert!(out.status.success(), "{stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    let model = id(&result["model"]);
    assert_eq!(result["report"]["counts"]["assets"], 22);
    assert!(
        stderr.contains(&format!("as model {model} in organisation \"acme\"")),
        "{stderr}"
    );
    // The organisation's keys see it, and its register is computed by the running server or worker.
    assert_eq!(
        c.get(&format!("/api/v1/models/{model}")).ok(200)["name"],
        "Some Example Application"
    );
    assert_eq!(settle(&c, &model)["items"].as_array().unwrap().len(), 2);

    // A bad file is one line on stderr, a failing exit, and nothing written.
    let before = model_count(&c);
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        br#"{"otmVersion": "0.2.0", "project": {"name": 7, "id": "p"}}"#,
    )
    .unwrap();
    let out = app
        .command(&[
            "import",
            bad.to_str().unwrap(),
            "--format",
            "otm",
            "--org",
            "acme",
        ])
        .output()
        .unwrap();
    let (_, stderr) = common::output_text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("/project/name must be a string"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    let out = app
        .command(&["import", bad.to_str().unwrap(), "--format", "visio"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = app
        .command(&[
            "import",
            bad.to_str().unwrap(),
            "--format",
            "otm",
            "--org",
            "acme",
        ])
        .env("PALISADE_MAX_IMPORT", "1024")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 2048]).unwrap();
    let out = app
        .command(&["import", big.to_str().unwrap(), "--format", "otm"])
        .env("PALISADE_MAX_IMPORT", "1024")
        .output()
        .unwrap();
    assert!(common::output_text(&out)
        .1
        .contains("over the import limit"));
    assert_eq!(model_count(&c), before);
});
