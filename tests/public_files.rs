//! End-to-end: model files that other tools wrote, taken from their public
//! repositories (`tests/data/README.md` has where each comes from, its
//! licence and what it becomes), imported on both backends. A well-formed
//! file imports, whatever Palisade cannot represent reported as dropped; a
//! malformed one is a 4xx naming what is wrong, and writes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::{Client, Palisade};
use serde_json::{json, Value};

fn data(path: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Records of each kind an import made, in the order of the summary's
/// columns: trust zones, assets, parties, interactions, threats,
/// controls, treatments.
type Counts = [u64; 7];

enum Expect {
    Imported(Counts),
    /// A 422 naming each of these pointers.
    Refused(&'static [&'static str]),
}

/// Every committed file, its format and what it must become; the same
/// table as `tests/data/README.md`.
const FILES: &[(&str, &str, Expect)] = &[
    (
        "threat-dragon/example-open-threat-model.json",
        "otm",
        Expect::Imported([2, 6, 0, 2, 1, 2, 1]),
    ),
    (
        "threat-dragon/legacy_model.json",
        "threat-dragon",
        Expect::Imported([0, 6, 1, 10, 14, 14, 14]),
    ),
    (
        "threat-dragon/v2-new-model.json",
        "threat-dragon",
        Expect::Imported([0, 0, 0, 0, 0, 0, 0]),
    ),
    (
        "threat-dragon/TEST.json",
        "threat-dragon",
        Expect::Imported([0, 0, 0, 0, 0, 0, 0]),
    ),
    (
        "threat-dragon/malformed-new-model.json",
        "threat-dragon",
        Expect::Refused(&["/summary"]),
    ),
    (
        "threat-dragon/v2-malformed-new-model.json",
        "threat-dragon",
        Expect::Refused(&["/summary/title", "/summary/description", "/detail"]),
    ),
    (
        "startleft/MTMT_MVP-excerpt.otm",
        "otm",
        Expect::Imported([2, 4, 0, 6, 8, 8, 8]),
    ),
    (
        "startleft/nested_tz.otm",
        "otm",
        Expect::Imported([3, 4, 0, 2, 0, 0, 0]),
    ),
    (
        "startleft/parent_children_component.otm",
        "otm",
        Expect::Imported([1, 2, 0, 0, 0, 0, 0]),
    ),
    (
        "startleft/orphan_dataflows.otm",
        "otm",
        Expect::Imported([1, 6, 0, 5, 0, 0, 0]),
    ),
    (
        "startleft/nested_tz_inside_component.otm",
        "otm",
        Expect::Imported([2, 2, 0, 0, 0, 0, 0]),
    ),
    (
        "startleft/bidirectional_connectors.otm",
        "otm",
        Expect::Imported([1, 6, 0, 3, 0, 0, 0]),
    ),
    (
        "startleft/otm_inconsistent_ids.otm",
        "otm",
        Expect::Refused(&[
            "/components/0/parent/trustZone",
            "/components/1/parent/trustZone",
            "/components/2/parent/trustZone",
        ]),
    ),
    (
        "startleft/otm_without_version.otm",
        "otm",
        Expect::Refused(&["/otmVersion"]),
    ),
    (
        "startleft/manual.otm",
        "otm",
        Expect::Refused(&[
            "/components/0/parent",
            "/dataflows/0/source",
            "/dataflows/0/destination",
        ]),
    ),
    (
        "threagile/stub.yaml",
        "threagile",
        Expect::Imported([1, 3, 0, 1, 1, 1, 0]),
    ),
];

/// What a user uploading the file would send: JSON and YAML by their
/// extension, and `.otm` (either) as bytes.
fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        _ => "application/octet-stream",
    }
}

fn counts(report: &Value) -> Counts {
    let c = &report["counts"];
    [
        "trust_zones",
        "assets",
        "parties",
        "interactions",
        "threats",
        "controls",
        "treatments",
    ]
    .map(|k| c[k].as_u64().unwrap())
}

fn by_name(c: &Client, model: &str, kind: &str) -> HashMap<String, Value> {
    c.all(&format!("/api/v1/models/{model}/{kind}"), 100)
        .into_iter()
        .map(|r| {
            let name = ["name", "title", "purpose"]
                .iter()
                .find_map(|k| r[*k].as_str())
                .unwrap_or_default()
                .to_string();
            (name, r)
        })
        .collect()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn run(app: Palisade) {
    let c = app.client(&app.key("acme", "editor"));
    let mut models = HashMap::new();
    let mut reports = HashMap::new();
    for (path, format, expect) in FILES {
        let before = c.all("/api/v1/models", 100).len();
        let r = c.request(
            "POST",
            &format!("/api/v1/models/import?format={format}"),
            &[("Content-Type", content_type(path))],
            Some(&data(path)),
        );
        match expect {
            Expect::Imported(want) => {
                assert_eq!(r.status, 201, "{path}: {}", r.text);
                let body = r.json();
                assert_eq!(counts(&body["report"]), *want, "{path}: {body}");
                // Nothing is approximated silently into a refusal: every
                // note is a dropped or approximated element of the file.
                for n in body["report"]["notes"].as_array().unwrap() {
                    assert!(
                        n["kind"] == "dropped" || n["kind"] == "approximated",
                        "{path}: {n}"
                    );
                }
                models.insert(*path, id(&body["model"]));
                reports.insert(*path, body["report"].clone());
            }
            Expect::Refused(fields) => {
                for f in *fields {
                    r.names_field(f);
                }
                assert_eq!(
                    c.all("/api/v1/models", 100).len(),
                    before,
                    "{path}: a refused file writes nothing"
                );
            }
        }
    }

    // Threat Dragon's OTM sample: what is not kept is said, member by
    // member; its 0.1-style riskComments is the asset's risk comment.
    let m = &models["threat-dragon/example-open-threat-model.json"];
    let assets = by_name(&c, m, "assets");
    assert!(assets["Credit Card Data"]["metadata"]["otm"]["comment"]
        .as_str()
        .unwrap()
        .starts_with("We have decided"));
    let notes = reports["threat-dragon/example-open-threat-model.json"]["notes"].clone();
    for pointer in [
        "/project/ownerContact",
        "/threats/0/risk/likelihoodComment",
        "/threats/0/risk/impactComment",
        "/trustZones/0/type",
        "/trustZones/0/representations",
    ] {
        assert!(
            notes
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["pointer"] == pointer && n["kind"] == "dropped"),
            "{pointer} is reported dropped: {notes}"
        );
    }

    // Microsoft Threat Modeling Tool threats through startleft: threat 55
    // and mitigation 55 are two elements; each threat is on its component
    // with its own mitigation as a planned control under a proposed reduce.
    let m = &models["startleft/MTMT_MVP-excerpt.otm"];
    let assets = by_name(&c, m, "assets");
    let threats = by_name(&c, m, "threats");
    let controls = by_name(&c, m, "controls");
    let postgres = &assets["Accounting PostgreSQL"];
    let t55 = &threats["An adversary can gain unauthorized access to Azure Postgres DB instances due to weak network security configuration"];
    assert_eq!(t55["stride"], "elevation_of_privilege");
    assert_eq!(t55["asset_ids"], json!([id(postgres)]));
    let firewall = controls
        .values()
        .find(|c| {
            c["name"]
                .as_str()
                .unwrap()
                .starts_with("Restrict access to Azure Postgres DB")
        })
        .unwrap();
    assert_eq!(firewall["threat_ids"], json!([id(t55)]));
    assert_eq!(firewall["status"], "planned");
    assert_eq!(assets["Public API v2"]["kind"], "service");
    assert_eq!(
        postgres["metadata"]["otm"]["attributes"]["Azure Postgres DB TLS Enforced"],
        "Select"
    );

    // The Threat Dragon v1 demo: stores and processes are assets, the
    // browser a party, labels name the flows, threats sit on their cells.
    let m = &models["threat-dragon/legacy_model.json"];
    let assets = by_name(&c, m, "assets");
    let flows = by_name(&c, m, "interactions");
    let worker = &assets["Background Worker Process"];
    assert_eq!(worker["kind"], "application");
    assert_eq!(assets["Database"]["kind"], "data");
    let request = &flows["Web Request"];
    assert_eq!(
        request["source"]["party_id"],
        id(&by_name(&c, m, "parties")["Browser"]).as_str()
    );
    assert_eq!(
        (request["protocol"].as_str(), request["encrypted"].as_bool()),
        (Some("HTTP/S"), Some(true))
    );
    assert!(flows.contains_key("Web App Query Results"));
    let treatments = c.all(&format!("/api/v1/models/{m}/treatments"), 100);
    let done = treatments.iter().filter(|t| t["status"] == "done").count();
    assert_eq!(done, 4, "four threats are Mitigated in the file");

    // Visio via startleft: a trust zone drawn inside a component is
    // flattened, its component still in it; connectors both ways.
    let m = &models["startleft/nested_tz_inside_component.otm"];
    let assets = by_name(&c, m, "assets");
    let zones = by_name(&c, m, "trust-zones");
    assert_eq!(
        assets["Private Database"]["trust_zone_id"],
        id(&zones["Private Secured Cloud"]).as_str()
    );
    let m = &models["startleft/bidirectional_connectors.otm"];
    for flow in c.all(&format!("/api/v1/models/{m}/interactions"), 10) {
        assert_eq!(flow["bidirectional"], true, "{flow}");
    }

    // startleft's Terraform nesting: the task definition sits in its service.
    let m = &models["startleft/parent_children_component.otm"];
    let assets = by_name(&c, m, "assets");
    assert_eq!(
        assets["service"]["parent_id"],
        id(&assets["mongo"]).as_str()
    );
    assert_eq!(
        assets["service"]["trust_zone_id"],
        assets["mongo"]["trust_zone_id"]
    );
}

mod public_model_files_import_as_their_tools_wrote_them {
    use super::*;

    #[test]
    fn embedded() {
        run(Palisade::start(common::Mode::Embedded));
    }

    #[test]
    fn production() {
        run(Palisade::start(common::Mode::Production));
    }
}
