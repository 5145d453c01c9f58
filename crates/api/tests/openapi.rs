//! The committed OpenAPI document is the contract SDKs are generated from:
//! it must match the code, and every operation must be generator-friendly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::PathBuf;

use serde_json::Value;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/openapi.json")
}

#[test]
fn committed_document_matches_the_code() {
    let generated = palisade_api::openapi::document();
    let path = committed_path();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/openapi.json is out of date with the code: regenerate it with \
         `cargo run -q -- openapi > openapi/openapi.json` (or UPDATE_OPENAPI=1 cargo test -p palisade-api --test openapi) and commit it"
    );
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((path.clone(), method.clone(), op));
        }
    }
    ops
}

#[test]
fn every_operation_has_a_unique_id_and_described_responses() {
    let doc: Value = serde_json::from_str(&palisade_api::openapi::document()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut ids = HashSet::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_string()), "operationId {id} is used twice");
        let responses = op["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{id} has no responses");
        for (status, response) in responses {
            let description = response["description"].as_str().unwrap_or("");
            assert!(!description.is_empty(), "{id} {status} has no description");
        }
        if path.starts_with("/api/") {
            assert!(
                op.get("security").is_some(),
                "{id} does not declare its security"
            );
            assert!(responses.contains_key("401"), "{id} does not document 401");
        }
    }
}

#[test]
fn every_referenced_schema_exists_and_enums_list_their_values() {
    let text = palisade_api::openapi::document();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "schema {name} is referenced but not defined"
        );
    }
    for name in [
        "Severity",
        "AssetKind",
        "Classification",
        "CiaLevel",
        "Role",
        "StepStatus",
        "AuditAction",
    ] {
        let values = schemas[name]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{name} lists no values"));
        assert!(!values.is_empty());
    }
}

/// The values an enum schema lists are the ones the code writes and reads.
macro_rules! enum_values {
    ($($ty:path => $name:literal),+ $(,)?) => {
        vec![$((
            $name,
            <$ty>::ALL
                .iter()
                .map(|v| {
                    let wire = serde_json::to_value(v).unwrap();
                    let back: $ty = serde_json::from_value(wire.clone()).unwrap();
                    assert_eq!(&back, v, "{} does not read back what it writes", $name);
                    wire
                })
                .collect::<Vec<Value>>(),
        )),+]
    };
}

#[test]
fn every_enum_schema_lists_the_wire_values() {
    use palisade_domain as d;
    let doc: Value = serde_json::from_str(&palisade_api::openapi::document()).unwrap();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut expected = enum_values![
        d::threat_actor::ActorCategory => "ActorCategory",
        d::asset::AssetKind => "AssetKind",
        d::audit::AuditAction => "AuditAction",
        d::asset::CiaLevel => "CiaLevel",
        d::asset::Classification => "Classification",
        d::threat::ControlCategory => "ControlCategory",
        d::scoring::residual::ControlStatus => "ControlStatus",
        d::threat::ControlType => "ControlType",
        d::diagram::DiagramFormat => "DiagramFormat",
        d::gaps::GapKind => "GapKind",
        d::threat_actor::Intent => "Intent",
        d::job::JobStatus => "JobStatus",
        d::scoring::Method => "Method",
        d::scoring::nist::NistLevel => "NistLevel",
        d::scoring::attack_tree::NodeKind => "NodeKind",
        d::tree::NodeLink => "NodeLink",
        d::threat_actor::Origin => "Origin",
        d::environment::PartyKind => "PartyKind",
        d::role::Role => "Role",
        d::risk::RiskStatus => "RiskStatus",
        d::treatment::Mechanism => "Mechanism",
        d::treatment::Strategy => "Strategy",
        d::treatment::TreatmentStatus => "TreatmentStatus",
        d::severity::Severity => "Severity",
        d::threat_actor::SkillLevel => "SkillLevel",
        d::progress::StepStatus => "StepStatus",
        d::threat::Stride => "Stride",
        d::environment::TrustLevel => "TrustLevel",
        d::diff::Direction => "Direction",
        d::evaluation::EntryKind => "EntryKind",
        d::report::ReportFormat => "ReportFormat",
        d::report::ReportStatus => "ReportStatus",
        d::integration::IntegrationKind => "IntegrationKind",
        d::webhook::EventType => "EventType",
        d::webhook::DeliveryStatus => "DeliveryStatus",
        d::interchange::ImportFormat => "ImportFormat",
        d::interchange::ExportFormat => "ExportFormat",
        d::interchange::NoteKind => "NoteKind",
    ];
    expected.push((
        "ReceiptStatus",
        ["accepted", "duplicate", "ignored"]
            .iter()
            .map(|v| Value::from(*v))
            .collect(),
    ));
    // The receipt's wire values are the ones the handler sends.
    use palisade_api::routes::integrations::ReceiptStatus;
    assert_eq!(
        serde_json::to_value([
            ReceiptStatus::Accepted,
            ReceiptStatus::Duplicate,
            ReceiptStatus::Ignored
        ])
        .unwrap(),
        serde_json::json!(["accepted", "duplicate", "ignored"])
    );
    let filter: Vec<Value> = [
        "public",
        "internal",
        "confidential",
        "restricted",
        "unclassified",
    ]
    .iter()
    .map(|v| {
        let parsed: palisade_api::routes::assets::ClassificationFilter =
            serde_json::from_value(Value::from(*v)).unwrap();
        serde_json::to_value(parsed).unwrap()
    })
    .collect();
    expected.push(("ClassificationFilter", filter));
    let sort_keys: Vec<Value> = [
        "rank",
        "residual_score",
        "-residual_score",
        "inherent_score",
        "-inherent_score",
        "projected_score",
        "-projected_score",
        "title",
        "-title",
    ]
    .iter()
    .map(|v| {
        let parsed: palisade_api::routes::risks::RiskSortKey =
            serde_json::from_value(Value::from(*v)).unwrap();
        serde_json::to_value(parsed).unwrap()
    })
    .collect();
    expected.push(("RiskSortKey", sort_keys));
    let listed: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    for (name, schema) in schemas {
        if schema.get("enum").is_some() {
            assert!(
                listed.contains(&name.as_str()),
                "enum schema {name} is not checked here: add it to the list"
            );
        }
    }
    for (name, values) in expected {
        assert_eq!(
            schemas[name]["enum"].as_array().unwrap(),
            &values,
            "{name}: the document lists other values than the code sends"
        );
    }
}

#[test]
fn probes_headers_paging_and_unions_are_described_as_sent() {
    let doc: Value = serde_json::from_str(&palisade_api::openapi::document()).unwrap();
    assert!(!doc["servers"].as_array().unwrap().is_empty());
    for probe in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            doc["paths"][probe]["get"]["security"],
            serde_json::json!([]),
            "{probe} needs no key"
        );
    }
    for (path, method, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            let schema = &p["schema"];
            if p["in"] == "header" {
                assert_eq!(schema["type"], "string", "{method} {path} {}", p["name"]);
            }
            if p["name"] == "limit" {
                assert_eq!(
                    (schema["minimum"].as_i64(), schema["maximum"].as_i64()),
                    (Some(1), Some(500))
                );
            }
        }
        if op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["name"] == "If-Match")
        {
            assert!(
                op["responses"].get("412").is_some(),
                "{method} {path} takes If-Match"
            );
        }
    }
    let schemas = &doc["components"]["schemas"];
    for branch in schemas["Frequency"]["oneOf"].as_array().unwrap() {
        assert!(branch.get("$ref").is_some(), "Frequency branches are named");
    }
    let assessment = &schemas["Assessment"];
    assert_eq!(assessment["discriminator"]["propertyName"], "method");
    let methods: Vec<&str> = palisade_domain::scoring::Method::ALL
        .iter()
        .map(|m| m.as_str())
        .collect();
    let mapped: Vec<&str> = assessment["discriminator"]["mapping"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = methods.clone();
    sorted.sort_unstable();
    assert_eq!(mapped, sorted, "every method is a branch of Assessment");
    for record in [
        "Asset",
        "Control",
        "Interaction",
        "Model",
        "Party",
        "ThreatActor",
        "TreeNode",
        "TrustZone",
        "Threat",
    ] {
        assert!(
            schemas[record].get("allOf").is_none(),
            "{record} is one object"
        );
        assert_eq!(schemas[record]["type"], "object", "{record}");
    }
}
