//! End-to-end: an organisation reaches nothing of another's. Every
//! operation of the document that names a record by id is tried by another
//! organisation with the first one's ids — under their model and under its
//! own — and must answer 404; records of its own that point at the other's
//! ids are refused; and afterwards the first organisation's records, audit
//! log and register are exactly as they were.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::{Client, Mode, Palisade};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// A model with one record of every kind, and the ids that name them.
fn furnish(c: &Client) -> HashMap<&'static str, String> {
    let model = c.model("crown jewels");
    let base = format!("/api/v1/models/{model}");
    let zone = c
        .post(
            &format!("{base}/trust-zones"),
            &json!({"name": "dmz", "trust_rating": 20}),
        )
        .ok(201);
    let asset = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "db", "kind": "data", "classification": "restricted",
            "owner": "dba", "trust_zone_id": id(&zone)}),
        )
        .ok(201);
    let actor = c
        .post(
            &format!("{base}/threat-actors"),
            &json!({"name": "crew", "origin": "external", "category": "cybercriminal", "intent": "malicious"}),
        )
        .ok(201);
    let tree = c.post(&format!("{base}/attack-trees"), &json!({"name": "t", "target_asset_id": id(&asset),
        "root": {"kind": "or", "label": "in", "children": [
            {"kind": "leaf", "label": "phish", "actor_id": id(&actor), "attributes": {"probability": 0.5},
             "countermeasure": {"kind": "defense", "label": "training"}}]}})).ok(201);
    let leaf = id(&tree["root"]["children"][0]);
    let defense = id(&tree["root"]["children"][0]["countermeasure"]);
    let party = c
        .post(
            &format!("{base}/parties"),
            &json!({"name": "vendor", "kind": "vendor",
        "trust_level": "partially_trusted", "accessible_asset_ids": [id(&asset)]}),
        )
        .ok(201);
    let interaction = c
        .post(
            &format!("{base}/interactions"),
            &json!({"source": {"asset_id": id(&asset)},
        "destination": {"party_id": id(&party)}, "data_asset_ids": [id(&asset)]}),
        )
        .ok(201);
    let threat = c
        .post(
            &format!("{base}/threats"),
            &json!({"title": "dump", "stride": "information_disclosure",
        "asset_ids": [id(&asset)], "actor_ids": [id(&actor)], "interaction_ids": [id(&interaction)],
        "attack_tree_node_ids": [leaf],
        "assessment": {"method": "attack_tree", "tree_id": id(&tree), "impact": "high"}}),
        )
        .ok(201);
    let control = c
        .post(
            &format!("{base}/controls"),
            &json!({"name": "awareness", "type": "preventive",
        "category": "administrative", "status": "implemented", "effectiveness": 60,
        "threat_ids": [id(&threat)], "asset_ids": [id(&asset)], "defense_node_ids": [defense]}),
        )
        .ok(201);
    let treatment = c
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": id(&threat), "strategy": "reduce", "owner": "secops",
        "control_ids": [id(&control)]}),
        )
        .ok(201);
    let entry = c
        .post(
            &format!("{base}/evaluation-entries"),
            &json!({"kind": "finding", "text": "found", "author": "me", "date": "2026-12-01",
        "threat_ids": [id(&threat)], "treatment_ids": [id(&treatment)]}),
        )
        .ok(201);
    let version = c
        .post(&format!("{base}/versions"), &json!({"label": "v1"}))
        .ok(201);
    let report = c
        .post(
            &format!("{base}/reports"),
            &json!({"formats": ["json"], "version_id": id(&version)}),
        )
        .ok(202);
    let job = c
        .request("POST", &format!("{base}/risk-recomputations"), &[], None)
        .ok(202);
    let integration = c
        .post(
            "/api/v1/integrations",
            &json!({"kind": "github", "name": "GitHub"}),
        )
        .ok(201);
    // Off, so that nothing is ever sent to the (public) address.
    let subscription = c
        .post(
            "/api/v1/webhook-subscriptions",
            &json!({"url": "https://93.184.216.34/hook", "events": ["model.updated"], "enabled": false}),
        )
        .ok(201);
    let key = c.get("/api/v1/me").ok(200)["key"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    HashMap::from([
        ("model_id", model),
        ("zone_id", id(&zone)),
        ("asset_id", id(&asset)),
        ("actor_id", id(&actor)),
        ("tree_id", id(&tree)),
        ("node_id", leaf),
        ("defense_id", defense),
        ("party_id", id(&party)),
        ("interaction_id", id(&interaction)),
        ("threat_id", id(&threat)),
        ("control_id", id(&control)),
        ("treatment_id", id(&treatment)),
        ("entry_id", id(&entry)),
        ("version_id", id(&version)),
        ("report_id", id(&report)),
        ("job_id", job["job_id"].as_str().unwrap().to_string()),
        ("key_id", key),
        ("integration_id", id(&integration)),
        ("subscription_id", id(&subscription)),
    ])
}

/// Everything the first organisation can read of its model.
fn snapshot(c: &Client, ids: &HashMap<&str, String>) -> Vec<Value> {
    let base = format!("/api/v1/models/{}", ids["model_id"]);
    let mut seen = vec![c.get(&base).ok(200)];
    for list in [
        "assets",
        "threat-actors",
        "attack-trees",
        "trust-zones",
        "parties",
        "interactions",
        "threats",
        "controls",
        "treatments",
        "evaluation-entries",
        "versions",
    ] {
        seen.push(Value::Array(c.all(&format!("{base}/{list}"), 500)));
    }
    seen.push(
        c.get(&format!("{base}/attack-trees/{}", ids["tree_id"]))
            .ok(200),
    );
    seen.push(Value::Array(c.all(
        &format!("/api/v1/audit-events?model_id={}", ids["model_id"]),
        500,
    )));
    seen.push(Value::Array(c.all("/api/v1/api-keys", 500)));
    seen.push(Value::Array(c.all("/api/v1/integrations", 500)));
    seen.push(Value::Array(c.all("/api/v1/webhook-subscriptions", 500)));
    seen
}

/// A body the operation accepts, so that only the ownership check can refuse it.
fn body_for(operation: &str, ids: &HashMap<&str, String>) -> Option<Value> {
    Some(match operation {
        "updateModel" | "updateAsset" | "updateThreatActor" | "updateTrustZone" | "updateParty"
        | "updateControl" => json!({"name": "mine"}),
        "updateThreat" => json!({"title": "mine"}),
        "updateTreatment" => json!({"owner": "mine"}),
        "moveTreatment" => json!({"to": "rejected", "note": "mine"}),
        "createTreatment" => {
            json!({"threat_id": ids["threat_id"], "strategy": "avoid", "removed": "x", "owner": "x"})
        }
        "updateInteraction" => json!({"purpose": "mine"}),
        "updateAttackTreeNode" => json!({"label": "mine"}),
        "createAsset" => json!({"name": "x", "kind": "data"}),
        "createEvaluationEntry" => {
            json!({"kind": "finding", "text": "mine", "author": "x", "date": "2026-12-01"})
        }
        "updateEvaluationEntry" => json!({"text": "mine"}),
        "createVersion" => json!({"label": "mine"}),
        "createReport" => json!({"formats": ["json"]}),
        "updateIntegration" => json!({"name": "mine"}),
        "rotateIntegrationSecret" => json!({}),
        "updateWebhookSubscription" => json!({"description": "mine"}),
        "openTicket" => json!({"integration_id": ids["integration_id"]}),
        "createThreatActor" => {
            json!({"name": "x", "origin": "internal", "category": "employee", "intent": "accidental"})
        }
        "createTrustZone" => json!({"name": "x", "trust_rating": 1}),
        "createParty" => json!({"name": "x", "kind": "customer", "trust_level": "untrusted"}),
        "createInteraction" => {
            json!({"source": {"asset_id": ids["asset_id"]}, "destination": {"party_id": ids["party_id"]}})
        }
        "createThreat" => {
            json!({"title": "x", "stride": "spoofing", "assessment": {"method": "nist", "likelihood": "low", "impact": "low"}})
        }
        "createControl" => {
            json!({"name": "x", "type": "detective", "category": "technical", "status": "planned", "effectiveness": 1})
        }
        "createAttackTree" | "replaceAttackTree" => {
            json!({"name": "x", "root": {"kind": "leaf", "label": "x"}})
        }
        "createAttackTreeNode" => {
            json!({"kind": "leaf", "label": "x", "link": "child", "parent_id": ids["tree_root_id"]})
        }
        _ => return None,
    })
}

fn path_with(template: &str, ids: &HashMap<&str, String>, model: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some("model_id") => model.to_string(),
                Some(name) => ids
                    .get(name)
                    .unwrap_or_else(|| panic!("no id for {name} in {template}"))
                    .clone(),
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

both_modes!(another_organisation_reaches_nothing_by_id, |app| {
    let acme = app.client(&app.key("acme", "owner"));
    let globex = app.client(&app.key("globex", "owner"));
    let mut ids = furnish(&acme);
    let tree = acme
        .get(&format!(
            "/api/v1/models/{}/attack-trees/{}",
            ids["model_id"], ids["tree_id"]
        ))
        .ok(200);
    ids.insert("tree_root_id", id(&tree["root"]));
    let before = snapshot(&acme, &ids);
    let their_model = globex.model("their own");

    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap(),
    )
    .unwrap();
    let mut tried = 0;
    for (template, item) in doc["paths"].as_object().unwrap() {
        if !template.contains('{') {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let operation = op["operationId"].as_str().unwrap();
            // Inbound webhooks authenticate by signature, not by key: an
            // unsigned request is refused with 401 before anything is read
            // (tests/integrations.rs).
            if operation == "receiveWebhook" {
                continue;
            }
            let method = method.to_ascii_uppercase();
            let body = op.get("requestBody").map(|_| {
                body_for(operation, &ids)
                    .unwrap_or_else(|| panic!("{operation}: add a valid body to body_for"))
            });
            // Under the owner's model, and (for routes below a model) under
            // the caller's own model with the owner's record ids.
            let mut paths = vec![path_with(template, &ids, &ids["model_id"])];
            if template.starts_with("/api/v1/models/{model_id}/")
                && template.matches('{').count() > 1
            {
                paths.push(path_with(template, &ids, &their_model));
            }
            for path in paths {
                let bytes = body.as_ref().map(|b| b.to_string().into_bytes());
                let r = globex.request(&method, &path, &[], bytes.as_deref());
                assert_eq!(
                    r.status, 404,
                    "{operation}: {method} {path} answered {} to another organisation: {}",
                    r.status, r.text
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 60, "only {tried} requests tried");

    // Records of its own may not point at the other organisation's.
    let base = format!("/api/v1/models/{their_model}");
    let refused = [
        (
            "assets",
            json!({"name": "x", "kind": "data", "parent_id": ids["asset_id"]}),
            "parent_id",
        ),
        (
            "assets",
            json!({"name": "x", "kind": "data", "trust_zone_id": ids["zone_id"]}),
            "trust_zone_id",
        ),
        (
            "parties",
            json!({"name": "x", "kind": "vendor", "trust_level": "trusted",
            "accessible_asset_ids": [ids["asset_id"]]}),
            "accessible_asset_ids[0]",
        ),
        (
            "attack-trees",
            json!({"name": "x", "target_asset_id": ids["asset_id"],
            "root": {"kind": "leaf", "label": "x"}}),
            "target_asset_id",
        ),
        (
            "threats",
            json!({"title": "x", "stride": "spoofing", "asset_ids": [ids["asset_id"]],
            "assessment": {"method": "nist", "likelihood": "low", "impact": "low"}}),
            "asset_ids[0]",
        ),
        (
            "threats",
            json!({"title": "x", "stride": "spoofing",
            "assessment": {"method": "attack_tree", "tree_id": ids["tree_id"], "impact": "low"}}),
            "assessment.tree_id",
        ),
        (
            "controls",
            json!({"name": "x", "type": "detective", "category": "technical", "status": "planned",
            "effectiveness": 1, "threat_ids": [ids["threat_id"]]}),
            "threat_ids[0]",
        ),
        (
            "controls",
            json!({"name": "x", "type": "detective", "category": "technical", "status": "planned",
            "effectiveness": 1, "defense_node_ids": [ids["defense_id"]]}),
            "defense_node_ids[0]",
        ),
    ];
    for (list, body, field) in refused {
        let r = globex.post(&format!("{base}/{list}"), &body);
        assert_eq!(
            r.status, 422,
            "{list} with {field} of another organisation: {}",
            r.text
        );
        assert!(
            r.text.contains(field),
            "{list}: expected an error on {field}: {}",
            r.text
        );
    }
    let r = globex.post(
        &format!("{base}/interactions"),
        &json!({"source": {"asset_id": ids["asset_id"]}, "destination": {"party_id": ids["party_id"]}}),
    );
    assert_eq!(r.status, 422, "{}", r.text);
    for list in [
        "assets",
        "threats",
        "controls",
        "parties",
        "interactions",
        "attack-trees",
    ] {
        assert!(
            globex.all(&format!("{base}/{list}"), 50).is_empty(),
            "{list}: nothing was written"
        );
    }

    assert_eq!(
        snapshot(&acme, &ids),
        before,
        "the owner's records are as they were"
    );
});
