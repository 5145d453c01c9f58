//! End-to-end, step 3: trust zones, parties, interactions and their checks, in both modes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Client, Mode, Palisade};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

struct World {
    c: Client,
    base: String,
}

impl World {
    fn new(app: &Palisade) -> World {
        let c = app.client(&app.key("acme", "editor"));
        let model = c.model("m");
        World {
            c,
            base: format!("/api/v1/models/{model}"),
        }
    }
    fn post(&self, what: &str, body: Value) -> Value {
        self.c.post(&format!("{}/{what}", self.base), &body).ok(201)
    }
    fn flow(&self, from: Value, to: Value) -> Value {
        self.post("interactions", json!({"source": from, "destination": to}))
    }
    fn crosses(&self, flow: &Value) -> bool {
        self.c
            .get(&format!("{}/interactions/{}", self.base, id(flow)))
            .ok(200)["crosses_trust_boundary"]
            .as_bool()
            .unwrap()
    }
    fn failed(&self, check: &str) -> Vec<String> {
        let env = self.c.get(&format!("{}/environment", self.base)).ok(200);
        env["failed_checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == check)
            .flat_map(|c| {
                c["refs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap().to_string())
            })
            .collect()
    }
}

both_modes!(crud_and_bad_input_of_each_resource, |app| {
    let w = World::new(&app);
    let c = &w.c;
    let zone = w.post(
        "trust-zones",
        json!({"name": "DMZ", "trust_rating": 20, "description": "edge"}),
    );
    assert_eq!(zone["trust_rating"], 20);
    c.post(
        &format!("{}/trust-zones", w.base),
        &json!({"name": "x", "trust_rating": 101}),
    )
    .names_field("trust_rating");
    c.post(&format!("{}/trust-zones", w.base), &json!({"name": "x"}))
        .names_field("trust_rating");
    let zone_url = format!("{}/trust-zones/{}", w.base, id(&zone));
    assert_eq!(
        c.patch(&zone_url, &json!({"trust_rating": 30})).ok(200)["version"],
        2
    );

    let other = app.client(&app.key("acme", "editor")).model("other");
    let foreign_asset = c
        .post(
            &format!("/api/v1/models/{other}/assets"),
            &json!({"name": "f", "kind": "data"}),
        )
        .ok(201);
    let globex = app.client(&app.key("globex", "owner"));
    let globex_model = globex.model("g");
    let globex_party = globex
        .post(
            &format!("/api/v1/models/{globex_model}/parties"),
            &json!({"name": "p", "kind": "customer", "trust_level": "untrusted"}),
        )
        .ok(201);

    let data = w.post(
        "assets",
        json!({"name": "Card data", "kind": "data", "classification": "restricted", "owner": "x"}),
    );
    let app_asset = w.post(
        "assets",
        json!({"name": "Shop", "kind": "application", "owner": "x"}),
    );
    let vendor = w.post("parties", json!({"name": "PSP", "kind": "vendor", "trust_level": "partially_trusted", "trust_zone_id": id(&zone),
        "services": ["payments"], "accessible_asset_ids": [id(&data)], "data_processing_agreement": true, "last_assessment_date": "2026-06-01", "last_assessment_result": "pass"}));
    assert_eq!(vendor["accessible_asset_ids"], json!([id(&data)]));
    let parties = format!("{}/parties", w.base);
    c.post(
        &parties,
        &json!({"name": "x", "kind": "supplier", "trust_level": "trusted"}),
    )
    .names_field("kind");
    c.post(
        &parties,
        &json!({"name": "x", "kind": "vendor", "trust_level": "sort of"}),
    )
    .names_field("trust_level");
    c.post(&parties, &json!({"name": "x", "kind": "vendor", "trust_level": "trusted", "accessible_asset_ids": [id(&foreign_asset)]})).names_field("accessible_asset_ids[0]");
    c.post(&parties, &json!({"name": "x", "kind": "vendor", "trust_level": "trusted", "last_assessment_date": "last year"})).names_field("last_assessment_date");
    c.post(&parties, &json!({"name": "x", "kind": "vendor", "trust_level": "trusted", "trust_zone_id": uuid::Uuid::now_v7()})).names_field("trust_zone_id");

    let flows = format!("{}/interactions", w.base);
    let ok = w.post("interactions", json!({"source": {"party_id": id(&vendor)}, "destination": {"asset_id": id(&app_asset)},
        "purpose": "settlement", "protocol": "https", "data_asset_ids": [id(&data)], "authenticated": true, "encrypted": true}));
    assert_eq!(ok["crosses_trust_boundary"], true);
    assert_eq!(ok["bidirectional"], false, "one way unless said");
    let both_ways = c
        .patch(
            &format!("{flows}/{}", id(&ok)),
            &json!({"bidirectional": true}),
        )
        .ok(200);
    assert_eq!(both_ways["bidirectional"], true);
    c.patch(
        &format!("{flows}/{}", id(&ok)),
        &json!({"bidirectional": "both"}),
    )
    .names_field("bidirectional");
    c.patch(
        &format!("{flows}/{}", id(&ok)),
        &json!({"bidirectional": false}),
    )
    .ok(200);
    c.post(&flows, &json!({"source": {"asset_id": id(&foreign_asset)}, "destination": {"asset_id": id(&app_asset)}})).names_field("source.asset_id");
    c.post(&flows, &json!({"source": {"asset_id": id(&app_asset)}, "destination": {"party_id": id(&globex_party)}})).names_field("destination.party_id");
    c.post(&flows, &json!({"source": {"asset_id": id(&app_asset), "party_id": id(&vendor)}, "destination": {"asset_id": id(&app_asset)}})).names_field("source");
    c.post(
        &flows,
        &json!({"source": {}, "destination": {"asset_id": id(&app_asset)}}),
    )
    .names_field("source");
    c.post(&flows, &json!({"source": {"asset_id": id(&app_asset)}, "destination": {"party_id": id(&vendor)}, "data_asset_ids": [id(&app_asset)]})).names_field("data_asset_ids[0]");
    c.post(&flows, &json!({"source": {"asset_id": id(&app_asset)}, "destination": {"party_id": id(&vendor)}, "authenticated": "yes"})).names_field("authenticated");
    assert_eq!(c.all(&flows, 10).len(), 1, "nothing half-written");

    globex
        .get(&format!("{}/interactions/{}", w.base, id(&ok)))
        .problem(404);
    globex
        .get(&format!("{}/parties/{}", w.base, id(&vendor)))
        .problem(404);
    globex.get(&zone_url).problem(404);
    c.delete(&format!("{flows}/{}", id(&ok))).ok(204);
    c.delete(&format!("{parties}/{}", id(&vendor))).ok(204);
    c.delete(&zone_url).ok(204);
});

both_modes!(boundary_crossing_for_every_zone_combination, |app| {
    let w = World::new(&app);
    let z1 = w.post("trust-zones", json!({"name": "Z1", "trust_rating": 80}));
    let z2 = w.post("trust-zones", json!({"name": "Z2", "trust_rating": 10}));
    let asset = |name: &str, zone: Option<&Value>| {
        w.post(
            "assets",
            json!({"name": name, "kind": "service", "trust_zone_id": zone.map(id)}),
        )
    };
    let (a1, a2, a3, a4) = (
        asset("a1", Some(&z1)),
        asset("a2", Some(&z1)),
        asset("a3", Some(&z2)),
        asset("a4", None),
    );
    let p1 = w.post("parties", json!({"name": "p1", "kind": "customer", "trust_level": "untrusted", "trust_zone_id": id(&z2)}));
    let p2 = w.post(
        "parties",
        json!({"name": "p2", "kind": "customer", "trust_level": "untrusted"}),
    );
    let a = |v: &Value| json!({"asset_id": id(v)});
    let p = |v: &Value| json!({"party_id": id(v)});
    let same = w.flow(a(&a1), a(&a2));
    let across = w.flow(a(&a1), a(&a3));
    let to_nowhere = w.flow(a(&a1), a(&a4));
    let both_nowhere = w.flow(a(&a4), p(&p2));
    let party_same = w.flow(a(&a3), p(&p1));
    assert!(!w.crosses(&same));
    assert!(w.crosses(&across));
    assert!(w.crosses(&to_nowhere));
    assert!(w.crosses(&both_nowhere));
    assert!(!w.crosses(&party_same));
    // Derived on read: moving an end moves the answer.
    w.c.patch(
        &format!("{}/assets/{}", w.base, id(&a2)),
        &json!({"trust_zone_id": id(&z2)}),
    )
    .ok(200);
    assert!(w.crosses(&same));
    let crossing = w.c.all(
        &format!("{}/interactions?crosses_trust_boundary=true", w.base),
        2,
    );
    assert_eq!(crossing.len(), 4);
    assert_eq!(
        w.c.all(
            &format!("{}/interactions?crosses_trust_boundary=false", w.base),
            2
        )
        .len(),
        1
    );
    w.c.get(&format!(
        "{}/interactions?crosses_trust_boundary=maybe",
        w.base
    ))
    .names_field("crosses_trust_boundary");
    assert_eq!(
        w.c.all(&format!("{}/parties?trust_zone_id={}", w.base, id(&z2)), 10)
            .len(),
        1
    );
});

both_modes!(each_check_fails_then_passes, |app| {
    let w = World::new(&app);
    let c = &w.c;
    let inner = w.post("trust-zones", json!({"name": "inside", "trust_rating": 90}));
    let secret = w.post("assets", json!({"name": "Card data", "kind": "data", "classification": "confidential", "owner": "x", "trust_zone_id": id(&inner)}));
    let shop = w.post(
        "assets",
        json!({"name": "Shop", "kind": "application", "owner": "x", "trust_zone_id": id(&inner)}),
    );
    let vendor = w.post("parties", json!({"name": "PSP", "kind": "vendor", "trust_level": "partially_trusted", "accessible_asset_ids": [id(&secret)]}));

    // Every party interacts.
    assert_eq!(w.failed("environment.parties_interact"), [id(&vendor)]);
    let progress = || {
        c.get(&format!("{}/progress", w.base)).ok(200)["steps"][2]["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(progress(), "in_progress");
    let flow = w.flow(
        json!({"asset_id": id(&shop)}),
        json!({"party_id": id(&vendor)}),
    );
    assert!(w.failed("environment.parties_interact").is_empty());

    // Vendors reaching sensitive data need an agreement and a recent assessment.
    assert_eq!(
        w.failed("environment.third_parties_assessed"),
        [id(&vendor)]
    );
    let vendor_url = format!("{}/parties/{}", w.base, id(&vendor));
    let today = chrono::Utc::now().date_naive();
    c.patch(&vendor_url, &json!({"data_processing_agreement": true, "last_assessment_date": (today - chrono::Duration::days(400)).to_string()})).ok(200);
    assert_eq!(
        w.failed("environment.third_parties_assessed"),
        [id(&vendor)],
        "an assessment 400 days old does not count"
    );
    c.patch(
        &vendor_url,
        &json!({"last_assessment_date": (today - chrono::Duration::days(30)).to_string()}),
    )
    .ok(200);
    assert!(w.failed("environment.third_parties_assessed").is_empty());

    // Sensitive data crossing a boundary is authenticated and encrypted.
    let flow_url = format!("{}/interactions/{}", w.base, id(&flow));
    c.patch(&flow_url, &json!({"data_asset_ids": [id(&secret)]}))
        .ok(200);
    assert_eq!(
        w.failed("environment.sensitive_flows_protected"),
        [id(&flow)]
    );
    c.patch(&flow_url, &json!({"authenticated": true})).ok(200);
    assert_eq!(
        w.failed("environment.sensitive_flows_protected"),
        [id(&flow)],
        "authentication alone is not enough"
    );
    c.patch(&flow_url, &json!({"encrypted": true})).ok(200);
    assert!(w.failed("environment.sensitive_flows_protected").is_empty());

    // Carried data stays data.
    let secret_url = format!("{}/assets/{}", w.base, id(&secret));
    c.patch(&secret_url, &json!({"kind": "service"})).ok(200);
    assert_eq!(w.failed("environment.flows_carry_data_assets"), [id(&flow)]);
    c.patch(&secret_url, &json!({"kind": "data"})).ok(200);
    assert!(w.failed("environment.flows_carry_data_assets").is_empty());
    assert_eq!(progress(), "complete");

    let env = c.get(&format!("{}/environment", w.base)).ok(200);
    assert_eq!(env["parties_by_kind"]["vendor"], 1);
    assert_eq!(
        env["third_parties"][0]["highest_classification"],
        "confidential"
    );
    assert_eq!(
        env["boundary_crossing_flows"][0]["interaction_id"],
        flow["id"]
    );
});

both_modes!(
    deleting_what_interactions_use_is_refused_unless_cascading,
    |app| {
        let w = World::new(&app);
        let c = &w.c;
        let shop = w.post("assets", json!({"name": "Shop", "kind": "application"}));
        let data = w.post("assets", json!({"name": "Data", "kind": "data"}));
        let customer = w.post(
            "parties",
            json!({"name": "Customer", "kind": "customer", "trust_level": "untrusted"}),
        );
        let f1 = w.flow(
            json!({"party_id": id(&customer)}),
            json!({"asset_id": id(&shop)}),
        );
        let f2 = w.post("interactions", json!({"source": {"asset_id": id(&shop)}, "destination": {"party_id": id(&customer)}, "data_asset_ids": [id(&data)]}));

        let refused = c
            .delete(&format!("{}/assets/{}", w.base, id(&data)))
            .problem(409);
        assert!(refused["detail"].as_str().unwrap().contains(&id(&f2)));
        let refused = c
            .delete(&format!("{}/parties/{}", w.base, id(&customer)))
            .problem(409);
        assert!(
            refused["detail"].as_str().unwrap().contains(&id(&f1))
                && refused["detail"].as_str().unwrap().contains(&id(&f2))
        );
        c.delete(&format!("{}/assets/{}?cascade=true", w.base, id(&data)))
            .ok(204);
        c.get(&format!("{}/interactions/{}", w.base, id(&f2)))
            .problem(404);
        c.get(&format!("{}/interactions/{}", w.base, id(&f1)))
            .ok(200);
        c.delete(&format!(
            "{}/parties/{}?cascade=true",
            w.base,
            id(&customer)
        ))
        .ok(204);
        assert!(c.all(&format!("{}/interactions", w.base), 10).is_empty());
        c.delete(&format!(
            "{}/parties/{}?cascade=maybe",
            w.base,
            id(&customer)
        ))
        .names_field("cascade");
    }
);

both_modes!(parties_paginate_and_filter, |app| {
    let w = World::new(&app);
    for i in 0..5 {
        let kind = if i % 2 == 0 { "vendor" } else { "employee" };
        let level = if i < 2 { "trusted" } else { "untrusted" };
        w.post(
            "parties",
            json!({"name": format!("p{i}"), "kind": kind, "trust_level": level}),
        );
    }
    let all = w.c.all(&format!("{}/parties", w.base), 2);
    assert_eq!(all.len(), 5);
    assert_eq!(
        w.c.all(&format!("{}/parties?kind=vendor", w.base), 2).len(),
        3
    );
    assert_eq!(
        w.c.all(&format!("{}/parties?trust_level=trusted", w.base), 2)
            .len(),
        2
    );
    assert_eq!(
        w.c.all(
            &format!("{}/parties?kind=employee&trust_level=untrusted", w.base),
            2
        )
        .len(),
        1
    );
    w.c.get(&format!("{}/parties?kind=robot", w.base))
        .names_field("kind");
});
