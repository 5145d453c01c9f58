//! Every response the end-to-end tests receive is checked against the
//! committed `openapi/openapi.json`: the status must be documented for the
//! operation, the content type declared, and a JSON body valid against the
//! declared schema (JSON Schema 2020-12, formats checked). A response the
//! document does not describe fails the test that received it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{json, Value};

static DOC: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let text = std::fs::read_to_string(path).expect("openapi/openapi.json is readable");
    serde_json::from_str(&text).expect("openapi/openapi.json is JSON")
});

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;
static VALIDATORS: LazyLock<Validators> = LazyLock::new(Default::default);

/// The path template of the document that `path` matches, preferring the
/// one with the most literal segments (`/models/import` over `/models/{id}`).
fn template_for(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(&'static str, usize)> = None;
    for template in DOC["paths"].as_object()?.keys() {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let matches = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') {
                !s.is_empty()
            } else {
                literal += 1;
                t == s
            }
        });
        if matches && best.is_none_or(|(_, l)| literal > l) {
            best = Some((template.as_str(), literal));
        }
    }
    best.map(|(t, _)| t)
}

fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
    cache
        .entry(key.to_string())
        .or_insert_with(|| {
            let root = json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "allOf": [schema],
                "components": DOC["components"],
            });
            Arc::new(
                jsonschema::draft202012::options()
                    .should_validate_formats(true)
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema of {key} does not compile: {e}")),
            )
        })
        .clone()
}

fn problem_schema() -> Value {
    json!({"$ref": "#/components/schemas/Problem"})
}

/// Panics, naming the operation, when the response is not one the
/// document describes.
pub fn check(method: &str, url: &str, status: u16, content_type: Option<&str>, body: &str) {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let essence = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let label = format!("{method} {path} → {status}");
    let shown = body
        .char_indices()
        .nth(600)
        .map_or(body, |(i, _)| &body[..i]);
    // Served beside the API, not part of it: the document itself and its viewer.
    if path == "/openapi.json" || path.starts_with("/docs") {
        return;
    }

    let Some(template) = template_for(path) else {
        assert!(
            status == 404 && essence == "application/problem+json",
            "{label}: the path is not in the document, so only a 404 problem may answer it: {shown}"
        );
        validate("404 problem", &problem_schema(), &label, body);
        return;
    };
    let op = &DOC["paths"][template][method.to_ascii_lowercase()];
    if op.is_null() {
        assert!(
            status == 405 && essence == "application/problem+json",
            "{label}: {method} is not an operation of {template}, so only a 405 problem may answer it: {shown}"
        );
        validate("405 problem", &problem_schema(), &label, body);
        return;
    }
    let operation_id = op["operationId"].as_str().unwrap_or(template);
    let status_text = status.to_string();
    let response = match op["responses"].get(&status_text) {
        Some(r) => r,
        None => op["responses"].get("default").unwrap_or_else(|| {
            panic!("{label}: status {status} is not documented for {operation_id}: {shown}")
        }),
    };
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(
            body.is_empty(),
            "{label}: {operation_id} documents no body for {status}, got {shown}"
        );
        return;
    };
    let media = content.get(&essence).unwrap_or_else(|| {
        panic!(
            "{label}: content type {essence:?} is not documented for {operation_id} {status} (documented: {:?})",
            content.keys().collect::<Vec<_>>()
        )
    });
    if essence.ends_with("json") {
        let schema = media.get("schema").cloned().unwrap_or(json!({}));
        validate(
            &format!("{operation_id} {status} {essence}"),
            &schema,
            &label,
            body,
        );
    }
}

fn validate(key: &str, schema: &Value, label: &str, body: &str) {
    let shown = body
        .char_indices()
        .nth(1500)
        .map_or(body, |(i, _)| &body[..i]);
    let instance: Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("{label}: the body is not JSON ({e}): {shown}"));
    let validator = validator(key, schema);
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "{label}: the body does not match the documented schema:\n  {}\nbody: {shown}",
        errors.join("\n  ")
    );
}
