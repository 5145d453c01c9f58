//! End-to-end, step 4: threats and controls, in both modes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Mode, Palisade};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

both_modes!(threats_take_every_method_and_name_bad_fields, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let asset = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "db", "kind": "data"}),
        )
        .ok(201);
    let tree = c.post(&format!("{base}/attack-trees"), &json!({"name": "t", "root": {"kind": "leaf", "label": "x", "attributes": {"probability": 0.5}}})).ok(201);
    let threats = format!("{base}/threats");
    let assessments = [
        json!({"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
        json!({"method": "cvss40", "vector": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}),
        json!({"method": "dread", "damage": 10, "reproducibility": 10, "exploitability": 5, "affected_users": 5, "discoverability": 5}),
        json!({"method": "nist", "likelihood": "high", "impact": "moderate"}),
        json!({"method": "fair", "frequency": {"rate": 0.1}, "magnitude": {"low": 1.0, "high": 10.0}, "iterations": 1000}),
        json!({"method": "owasp", "likelihood": {"skill_level": 5, "motive": 2, "opportunity": 7, "size": 1, "ease_of_discovery": 3, "ease_of_exploit": 6, "awareness": 9, "intrusion_detection": 2},
               "technical_impact": {"loss_of_confidentiality": 9, "loss_of_integrity": 7, "loss_of_availability": 5, "loss_of_accountability": 8}}),
        json!({"method": "attack_tree", "tree_id": id(&tree), "impact": "high"}),
    ];
    for (i, a) in assessments.iter().enumerate() {
        let t = c.post(&threats, &json!({"title": format!("t{i}"), "stride": "tampering", "asset_ids": [id(&asset)], "assessment": a})).ok(201);
        assert_eq!(t["assessment"], *a, "stored as written");
    }
    assert_eq!(c.all(&format!("{threats}?method=attack_tree"), 10).len(), 1);
    assert_eq!(c.all(&format!("{threats}?stride=tampering"), 10).len(), 7);
    c.get(&format!("{threats}?method=astrology"))
        .names_field("method");

    let post = |body: Value| c.post(&threats, &body);
    post(json!({"title": "x", "stride": "spoofing", "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"}})).names_field("assessment.vector.S");
    post(json!({"title": "x", "stride": "spoofing", "assessment": {"method": "tarot"}}))
        .names_field("assessment.method");
    post(json!({"title": "x", "stride": "spoofing", "assessment": {"vector": "x"}}))
        .names_field("assessment.method");
    post(json!({"title": "x", "stride": "spoofing", "assessment": {"method": "dread", "damage": 11, "reproducibility": 1, "exploitability": 1, "affected_users": 1, "discoverability": 1}})).names_field("assessment.damage");
    post(
        json!({"title": "x", "stride": "spoofing", "assessment": {"method": "dread", "damage": 1}}),
    )
    .names_field("assessment.reproducibility");
    post(json!({"title": "x", "stride": "phishing", "assessment": assessments[0]}))
        .names_field("stride");
    post(json!({"title": "x", "stride": "spoofing", "assessment": {"method": "attack_tree", "tree_id": uuid::Uuid::now_v7(), "impact": "high"}})).names_field("assessment.tree_id");
    post(json!({"title": "x", "stride": "spoofing", "asset_ids": [uuid::Uuid::now_v7()], "assessment": assessments[0]})).names_field("asset_ids[0]");
    post(json!({"title": "x", "stride": "spoofing", "attack_tree_node_ids": [uuid::Uuid::now_v7()], "assessment": assessments[0]})).names_field("attack_tree_node_ids[0]");
    assert_eq!(c.all(&threats, 50).len(), 7, "nothing half-written");

    // A tree that a threat is assessed with cannot be deleted from under it.
    let tree_url = format!("{base}/attack-trees/{}", id(&tree));
    let refused = c.delete(&tree_url).problem(409);
    let tree_threat = c.all(&format!("{threats}?method=attack_tree"), 10)[0].clone();
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains(&id(&tree_threat)),
        "{refused}"
    );

    // A merge patch reaches into the assessment.
    let first = &c.all(&threats, 1)[0];
    let url = format!("{threats}/{}", id(first));
    let patched = c
        .patch(
            &url,
            &json!({"assessment": {"vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}}),
        )
        .ok(200);
    assert_eq!(patched["assessment"]["method"], "cvss31");
    assert_eq!(patched["version"], 2);
    c.patch(&url, &json!({"assessment": {"vector": "CVSS:3.1/AV:X"}}))
        .names_field("assessment.vector.AV");
    let globex = app.client(&app.key("globex", "owner"));
    globex.get(&url).problem(404);
    // Deleting a linked asset forgets the link.
    c.delete(&format!("{base}/assets/{}", id(&asset))).ok(204);
    assert_eq!(c.get(&url).ok(200)["asset_ids"], json!([]));
    // Once no threat uses the tree, it can go.
    c.delete(&format!("{threats}/{}", id(&tree_threat))).ok(204);
    c.delete(&tree_url).ok(204);
});

both_modes!(controls_cover_threats_and_defenses, |app| {
    let c = app.client(&app.key("acme", "editor"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let threat = c.post(&format!("{base}/threats"), &json!({"title": "t", "stride": "spoofing", "assessment": {"method": "nist", "likelihood": "high", "impact": "high"}})).ok(201);
    let mut phish = json!({"kind": "leaf", "label": "phish"});
    phish["countermeasure"] = json!({"kind": "defense", "label": "training"});
    let tree = c
        .post(
            &format!("{base}/attack-trees"),
            &json!({"name": "t", "root": phish}),
        )
        .ok(201);
    let defense = id(&tree["root"]["countermeasure"]);
    let leaf = id(&tree["root"]);
    let controls = format!("{base}/controls");
    let control = c.post(&controls, &json!({"name": "MFA", "type": "preventive", "category": "technical", "status": "implemented", "effectiveness": 80,
        "threat_ids": [id(&threat)], "defense_node_ids": [defense]})).ok(201);
    assert_eq!(control["type"], "preventive");
    let post = |body: Value| c.post(&controls, &body);
    post(json!({"name": "x", "type": "preventive", "category": "technical", "status": "implemented", "effectiveness": 150})).names_field("effectiveness");
    post(json!({"name": "x", "type": "preventive", "category": "technical", "status": "someday", "effectiveness": 10})).names_field("status");
    post(json!({"name": "x", "type": "magic", "category": "technical", "status": "planned", "effectiveness": 10})).names_field("type");
    post(json!({"name": "x", "type": "preventive", "category": "technical", "status": "planned", "effectiveness": 10, "defense_node_ids": [leaf]})).names_field("defense_node_ids[0]");
    post(json!({"name": "x", "type": "preventive", "category": "technical", "status": "planned", "effectiveness": 10, "threat_ids": [uuid::Uuid::now_v7()]})).names_field("threat_ids[0]");
    assert_eq!(
        c.all(&format!("{controls}?status=implemented"), 10).len(),
        1
    );
    assert_eq!(c.all(&format!("{controls}?type=detective"), 10).len(), 0);
    let url = format!("{controls}/{}", id(&control));
    assert_eq!(
        c.patch(&url, &json!({"status": "partial"})).ok(200)["status"],
        "partial"
    );
    // Deleting the threat and the tree forgets them in the control.
    c.delete(&format!("{base}/threats/{}", id(&threat))).ok(204);
    c.delete(&format!("{base}/attack-trees/{}", id(&tree)))
        .ok(204);
    let after = c.get(&url).ok(200);
    assert_eq!(
        (
            after["threat_ids"].clone(),
            after["defense_node_ids"].clone()
        ),
        (json!([]), json!([]))
    );
    c.delete(&url).ok(204);
});

both_modes!(
    a_threat_covers_a_sensitive_asset_and_skill_takes_a_number,
    |app| {
        let c = app.client(&app.key("acme", "editor"));
        let model = c.model("m");
        let base = format!("/api/v1/models/{model}");
        let actor = c
            .post(
                &format!("{base}/threat-actors"),
                &json!({"name": "crew", "origin": "external", "category": "cybercriminal",
                    "intent": "malicious", "skill": 4}),
            )
            .ok(201);
        assert_eq!(
            actor["skill"], "high",
            "1 none … 5 expert, answered as the level"
        );
        c.post(
        &format!("{base}/threat-actors"),
        &json!({"name": "x", "origin": "external", "category": "other", "intent": "malicious", "skill": 6}),
    )
    .names_field("skill");
        let secret = c
        .post(
            &format!("{base}/assets"),
            &json!({"name": "db", "kind": "data", "classification": "restricted", "owner": "dba"}),
        )
        .ok(201);
        let step2 = |c: &common::Client| {
            let p = c.get(&format!("{base}/progress")).ok(200);
            p["steps"][1]["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["id"] == "threats.sensitive_assets_targeted")
                .unwrap()
                .clone()
        };
        assert_eq!(step2(&c)["ok"], false);
        c.post(
            &format!("{base}/threats"),
            &json!({"title": "dump", "stride": "information_disclosure", "asset_ids": [id(&secret)],
                "assessment": {"method": "nist", "likelihood": "high", "impact": "high"}}),
        )
        .ok(201);
        assert_eq!(
            step2(&c)["ok"],
            true,
            "a threat on the asset covers it, no tree needed"
        );
    }
);
