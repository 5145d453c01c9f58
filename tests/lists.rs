//! End-to-end: the list conventions on every list of the document. For
//! each list operation and each `sort` value it documents, paging through
//! with a small limit returns every record once, in that order (ties by
//! id), and `count=true` gives the total; and the filters the spec names
//! select what they say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cmp::Ordering;

use common::{Client, Mode, Palisade};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn document() -> Value {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Records of every listed kind, with repeated names so ties happen.
struct Furnished {
    model: String,
    tree: String,
    assets: Vec<String>,
    actors: Vec<String>,
    interactions: Vec<String>,
    threats: Vec<String>,
}

fn furnish(c: &Client) -> Furnished {
    for (i, tags) in [json!(["prod", "pci"]), json!(["prod"]), json!([])]
        .iter()
        .enumerate()
    {
        c.post(
            "/api/v1/models",
            &json!({"name": format!("m{}", i % 2), "tags": tags}),
        )
        .ok(201);
    }
    for (name, kind) in [
        ("tickets", "jira"),
        ("code", "github"),
        ("tickets", "gitlab"),
    ] {
        c.post("/api/v1/integrations", &json!({"name": name, "kind": kind}))
            .ok(201);
    }
    // Off: nothing is sent to these (public) addresses.
    for url in [
        "https://93.184.216.34/b",
        "https://93.184.216.34/a",
        "https://93.184.216.34/b",
    ] {
        c.post(
            "/api/v1/webhook-subscriptions",
            &json!({"url": url, "events": ["report.ready"], "enabled": false}),
        )
        .ok(201);
    }
    for (name, role) in [("ci", "editor"), ("ci", "viewer")] {
        c.post("/api/v1/api-keys", &json!({"name": name, "role": role}))
            .ok(201);
    }
    let model = c.model("lists");
    let base = format!("/api/v1/models/{model}");
    for (name, rating) in [("dmz", 20), ("core", 80), ("dmz", 50)] {
        c.post(
            &format!("{base}/trust-zones"),
            &json!({"name": name, "trust_rating": rating}),
        )
        .ok(201);
    }
    let assets: Vec<String> = [
        ("db", "data", json!(["pci"]), true),
        ("app", "application", json!(["pci", "prod"]), false),
        ("db", "service", json!(["prod"]), true),
    ]
    .iter()
    .map(|(name, kind, tags, in_scope)| {
        id(&c
            .post(
                &format!("{base}/assets"),
                &json!({"name": name, "kind": kind, "tags": tags, "in_scope": in_scope}),
            )
            .ok(201))
    })
    .collect();
    let actors: Vec<String> = [("crew", "cybercriminal"), ("insider", "employee"), ("crew", "nation_state")]
        .iter()
        .map(|(name, category)| id(&c.post(&format!("{base}/threat-actors"), &json!({"name": name, "origin": "external", "category": category, "intent": "malicious"})).ok(201)))
        .collect();
    let mut tree = String::new();
    for name in ["b", "a", "b"] {
        tree = id(&c
            .post(
                &format!("{base}/attack-trees"),
                &json!({"name": name, "root": {"kind": "or", "label": "in", "children": [
            {"kind": "leaf", "label": "phish", "attributes": {"probability": 0.5}},
            {"kind": "leaf", "label": "bribe", "attributes": {"probability": 0.1}}]}}),
            )
            .ok(201));
    }
    for (name, kind, level) in [
        ("v", "vendor", "untrusted"),
        ("p", "partner", "trusted"),
        ("v", "customer", "untrusted"),
    ] {
        c.post(
            &format!("{base}/parties"),
            &json!({"name": name, "kind": kind, "trust_level": level}),
        )
        .ok(201);
    }
    let interactions: Vec<String> = (0..3)
        .map(|i| id(&c.post(&format!("{base}/interactions"), &json!({"source": {"asset_id": assets[i]}, "destination": {"asset_id": assets[(i + 1) % 3]}})).ok(201)))
        .collect();
    let vector = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
    let threats: Vec<String> = [("leak", "information_disclosure", 0usize), ("spoof", "spoofing", 1), ("leak", "tampering", 2)]
        .iter()
        .map(|(title, stride, i)| id(&c.post(&format!("{base}/threats"), &json!({"title": title, "stride": stride,
            "asset_ids": [assets[*i]], "actor_ids": [actors[*i]], "interaction_ids": [interactions[*i]],
            "assessment": {"method": "cvss31", "vector": vector}})).ok(201)))
        .collect();
    for (name, status, effectiveness, i) in [
        ("waf", "implemented", 50, 0usize),
        ("mfa", "planned", 90, 1),
        ("waf", "partial", 50, 2),
    ] {
        c.post(&format!("{base}/controls"), &json!({"name": name, "type": "preventive", "category": "technical",
            "status": status, "effectiveness": effectiveness, "threat_ids": [threats[i]], "asset_ids": [assets[i]]})).ok(201);
    }
    let party = id(&c
        .post(
            &format!("{base}/parties"),
            &json!({"name": "insurer", "kind": "partner", "trust_level": "trusted"}),
        )
        .ok(201));
    for (i, (body, owner, due)) in [
        (json!({"strategy": "avoid", "removed": "the export"}), "b", "2027-02-01"),
        (json!({"strategy": "transfer", "counterparty_party_id": party, "mechanism": "insurance", "transferred_share": 0.5}), "a", "2027-01-01"),
        (json!({"strategy": "avoid", "removed": "the import"}), "b", "2027-01-01"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = body;
        body["threat_id"] = json!(threats[i]);
        body["owner"] = json!(owner);
        body["due_date"] = json!(due);
        c.post(&format!("{base}/treatments"), &body).ok(201);
    }
    for (kind, author, date, tags) in [
        ("finding", "b", "2026-11-02", json!(["appsec"])),
        ("lesson_learned", "a", "2026-11-01", json!([])),
        ("finding", "b", "2026-11-01", json!(["appsec", "process"])),
    ] {
        c.post(
            &format!("{base}/evaluation-entries"),
            &json!({"kind": kind, "text": "t", "author": author,
            "date": date, "tags": tags, "threat_ids": [threats[0]]}),
        )
        .ok(201);
    }
    let mut version = String::new();
    for label in ["round b", "round a", "round b"] {
        version = id(&c
            .post(&format!("{base}/versions"), &json!({"label": label}))
            .ok(201));
    }
    for formats in [
        json!(["json"]),
        json!(["html"]),
        json!(["json", "markdown"]),
    ] {
        c.post(
            &format!("{base}/reports"),
            &json!({"formats": formats, "version_id": version}),
        )
        .ok(202);
    }
    Furnished {
        model,
        tree,
        assets,
        actors,
        interactions,
        threats,
    }
}

/// Orders two JSON field values as the list does: numbers by value,
/// booleans false first, timestamps by time, other text by code point.
fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64().unwrap().total_cmp(&y.as_f64().unwrap()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => {
            match (
                chrono::DateTime::parse_from_rfc3339(x),
                chrono::DateTime::parse_from_rfc3339(y),
            ) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => x.cmp(y),
            }
        }
        _ => panic!("cannot compare {a} and {b}"),
    }
}

both_modes!(every_list_sorts_pages_and_counts_as_documented, |app| {
    let c = app.client(&app.key("acme", "owner"));
    let f = furnish(&c);
    let doc = document();
    let mut lists = 0;
    let mut orders = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(get) = item.get("get") else { continue };
        let Some(sort) = get["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "sort"))
        else {
            continue;
        };
        let Some(values) = sort["schema"]["enum"].as_array() else {
            continue;
        };
        let url = path
            .replace("{model_id}", &f.model)
            .replace("{tree_id}", &f.tree);
        let unsorted = c.all(&url, 500);
        assert!(
            unsorted.len() >= 3,
            "{path} lists the furnished records: {unsorted:?}"
        );
        lists += 1;
        for value in values {
            let value = value.as_str().unwrap();
            let (descending, key) = value
                .strip_prefix('-')
                .map_or((false, value), |k| (true, k));
            let rows = c.all(&format!("{url}?sort={value}"), 2);
            let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
            let mut expected: Vec<&str> =
                unsorted.iter().map(|r| r["id"].as_str().unwrap()).collect();
            let mut seen = ids.clone();
            seen.sort();
            expected.sort();
            assert_eq!(seen, expected, "{path}?sort={value}: every record once");
            // A threat's `method` is its assessment's.
            let field = |r: &Value| -> Value {
                if key == "method" {
                    r["assessment"]["method"].clone()
                } else {
                    r[key].clone()
                }
            };
            for w in rows.windows(2) {
                assert!(
                    !field(&w[0]).is_null(),
                    "{path}?sort={value}: the sort key is a field of the record: {}",
                    w[0]
                );
                let by_key = compare(&field(&w[0]), &field(&w[1]));
                let by_key = if descending { by_key.reverse() } else { by_key };
                let in_order = by_key.then_with(|| w[0]["id"].as_str().cmp(&w[1]["id"].as_str()));
                assert_eq!(
                    in_order,
                    Ordering::Less,
                    "{path}?sort={value}: {} before {}",
                    w[0],
                    w[1]
                );
            }
            let counted = c
                .get(&format!("{url}?sort={value}&count=true&limit=1"))
                .ok(200);
            assert_eq!(counted["total"], json!(unsorted.len()), "{path}?count=true");
            orders += 1;
        }
        assert!(
            c.get(&format!("{url}?limit=1"))
                .ok(200)
                .get("total")
                .is_none(),
            "total only when asked"
        );
        c.get(&format!("{url}?sort=nonsense")).names_field("sort");
    }
    assert!(
        lists >= 11 && orders >= 60,
        "{lists} lists, {orders} orders checked"
    );
});

both_modes!(lists_filter_by_the_fields_the_spec_names, |app| {
    let c = app.client(&app.key("acme", "owner"));
    let f = furnish(&c);
    let base = format!("/api/v1/models/{}", f.model);
    let ids = |path: &str| -> Vec<String> {
        let mut v: Vec<String> = c.all(path, 50).iter().map(id).collect();
        v.sort();
        v
    };
    // Threats by asset, actor and interaction: each furnished threat names the i-th of each.
    for i in 0..3 {
        let one = vec![f.threats[i].clone()];
        assert_eq!(
            ids(&format!("{base}/threats?asset_id={}", f.assets[i])),
            one
        );
        assert_eq!(
            ids(&format!("{base}/threats?actor_id={}", f.actors[i])),
            one
        );
        assert_eq!(
            ids(&format!(
                "{base}/threats?interaction_id={}",
                f.interactions[i]
            )),
            one
        );
    }
    let t = c
        .get(&format!("{base}/threats?stride=spoofing&count=true"))
        .ok(200);
    assert_eq!(t["total"], 1);
    // Controls by threat, asset, status.
    let control = |q: &str| c.all(&format!("{base}/controls?{q}"), 50);
    assert_eq!(
        control(&format!("threat_id={}", f.threats[1]))[0]["name"],
        "mfa"
    );
    assert_eq!(
        control(&format!("asset_id={}", f.assets[2]))[0]["status"],
        "partial"
    );
    assert_eq!(
        control(&format!("threat_id={}&status=planned", f.threats[0])).len(),
        0
    );
    assert_eq!(control("status=implemented").len(), 1);
    // Tags, exactly: not a prefix, not a substring, not another case.
    let names = |path: &str| -> Vec<String> {
        let mut v: Vec<String> = c
            .all(path, 50)
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(c.all(&format!("{base}/assets?tag=pci"), 50).len(), 2);
    c.get(&format!("{base}/assets?tags=prod"))
        .names_field("tags");
    assert_eq!(names(&format!("{base}/assets?tag=prod")), ["app", "db"]);
    assert!(c.all(&format!("{base}/assets?tag=pc"), 50).is_empty());
    assert!(c.all(&format!("{base}/assets?tag=PCI"), 50).is_empty());
    assert_eq!(names("/api/v1/models?tag=prod"), ["m0", "m1"]);
    assert_eq!(names("/api/v1/models?tag=pci"), ["m0"]);
    // A model of another organisation is never counted.
    let other = app.client(&app.key("globex", "owner"));
    other
        .post(
            "/api/v1/models",
            &json!({"name": "theirs", "tags": ["prod"]}),
        )
        .ok(201);
    assert_eq!(
        c.get("/api/v1/models?tag=prod&count=true").ok(200)["total"],
        2
    );
});
