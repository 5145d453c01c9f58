//! Records of every kind, for tests that need a full model.

use std::collections::HashMap;

use serde_json::{json, Value};

use super::Client;

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

/// A model with one record of every kind; returns the ids by kind.
pub fn every_kind(c: &Client, base: &str, text: &str) -> HashMap<&'static str, String> {
    let mut ids = HashMap::new();
    let post = |path: &str, body: Value| c.post(&format!("{base}/{path}"), &body).ok(201);
    let zone = post(
        "trust-zones",
        json!({"name": format!("{text} zone"), "trust_rating": 20, "description": text}),
    );
    let inner = post("trust-zones", json!({"name": "core", "trust_rating": 90}));
    let asset = post(
        "assets",
        json!({"name": format!("{text} db"), "kind": "data", "classification": "restricted",
               "owner": text, "description": text, "tags": [text], "trust_zone_id": id(&inner),
               "cia": {"confidentiality": "high", "integrity": "high", "availability": "medium"}}),
    );
    let actor = post(
        "threat-actors",
        json!({"name": format!("{text} crew"), "origin": "external", "category": "cybercriminal",
               "intent": "malicious", "skill": 4, "motivation": text, "resources": text}),
    );
    let tree = post(
        "attack-trees",
        json!({"name": format!("{text} tree"), "goal": text, "target_asset_id": id(&asset),
               "root": {"kind": "or", "label": format!("{text} root"), "children": [
                   {"kind": "leaf", "label": format!("{text} phish"), "attributes": {"cost": 200, "probability": 0.4, "time": 5, "skill": 3}},
                   {"kind": "leaf", "label": "bribe", "attributes": {"cost": 5000, "probability": 0.1, "time": 20, "skill": 2}}]}}),
    );
    let party = post(
        "parties",
        json!({"name": format!("{text} vendor"), "kind": "vendor", "trust_level": "partially_trusted",
               "trust_zone_id": id(&zone), "services": [text]}),
    );
    let flow = post(
        "interactions",
        json!({"source": {"party_id": id(&party)}, "destination": {"asset_id": id(&asset)},
               "purpose": text, "protocol": text, "authenticated": false, "encrypted": true}),
    );
    let threat = post(
        "threats",
        json!({"title": format!("{text} threat"), "description": text, "stride": "tampering",
               "asset_ids": [id(&asset)], "actor_ids": [id(&actor)], "interaction_ids": [id(&flow)],
               "assessment": {"method": "cvss31", "vector": CRITICAL}}),
    );
    let control = post(
        "controls",
        json!({"name": format!("{text} WAF"), "description": text, "type": "preventive",
               "category": "technical", "status": "planned", "effectiveness": 60,
               "threat_ids": [id(&threat)]}),
    );
    let treatment = post(
        "treatments",
        json!({"threat_id": id(&threat), "strategy": "reduce", "owner": text, "rationale": text,
               "due_date": "2020-01-31", "control_ids": [id(&control)],
               "ticket": {"system": text, "key": text}}),
    );
    let entry = post(
        "evaluation-entries",
        json!({"kind": "finding", "text": text, "author": text, "date": "2026-11-30",
               "tags": [text], "threat_ids": [id(&threat)], "asset_ids": [id(&asset)]}),
    );
    for (k, v) in [
        ("zone", zone),
        ("inner_zone", inner),
        ("asset", asset),
        ("actor", actor),
        ("tree", tree),
        ("party", party),
        ("interaction", flow),
        ("threat", threat),
        ("control", control),
        ("treatment", treatment),
        ("entry", entry),
    ] {
        ids.insert(k, id(&v));
    }
    ids
}
