//! Rewrites of the derived document where the derive cannot say what the
//! wire does. Each rewrite is generic (by shape, not by resource), so a new
//! resource is described truly without a line here; the end-to-end tests
//! validate every response they receive against the result.

use serde_json::{json, Map, Value};

use palisade_domain::scoring::Method;
use palisade_store::page::{DEFAULT_LIMIT, MAX_LIMIT};

use crate::extract::IDEMPOTENCY_KEY_MAX;

/// The schema each assessment method's fields come from, by wire value.
pub const ASSESSMENT_BRANCHES: &[(Method, &str, &str)] = &[
    (Method::Owasp, "OwaspAssessment", "OwaspInput"),
    (Method::Cvss31, "Cvss31Assessment", "CvssInput"),
    (Method::Cvss40, "Cvss40Assessment", "CvssInput"),
    (Method::Dread, "DreadAssessment", "DreadInput"),
    (Method::Nist, "NistAssessment", "NistInput"),
    (Method::Fair, "FairAssessment", "FairInput"),
    (Method::AttackTree, "AttackTreeAssessment", "TreeAssessment"),
];

pub fn finish(doc: &mut Value) {
    doc["servers"] = json!([
        {"url": "/", "description": "The server this document is served from"},
        {"url": "http://127.0.0.1:8080", "description": "`palisade serve` with its defaults"}
    ]);
    operations(doc);
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    assessment_union(schemas);
    flatten_all_of(schemas);
    name_union_branches(schemas);
    patch_bodies(doc);
    open_objects(doc);
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn referenced_name(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")?
        .as_str()?
        .strip_prefix("#/components/schemas/")
}

fn each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Map<String, Value>)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if let Some(op) = op.as_object_mut() {
                f(path, method, op);
            }
        }
    }
}

/// Operations outside `/api` need no key; headers are sent or not, never
/// `null`, and carry the same bounds the extractors check; `limit` states
/// its range.
fn operations(doc: &mut Value) {
    each_operation(doc, |path, _, op| {
        if !path.starts_with("/api/") {
            op.insert("security".into(), json!([]));
        }
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            return;
        };
        for param in params {
            let name = param["name"].as_str().unwrap_or_default().to_string();
            let schema = match (param["in"].as_str(), name.as_str()) {
                (Some("header"), "Idempotency-Key") => json!({
                    "type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX,
                    "pattern": "^[!-~]+$"
                }),
                (Some("header"), "If-Match") => json!({
                    "type": "string", "pattern": "^(\\*|(W/)?\"?[0-9]{1,15}\"?)$"
                }),
                (Some("header"), _) => json!({"type": "string"}),
                (Some("query"), "limit") => json!({
                    "type": "integer", "format": "int64",
                    "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT
                }),
                _ => continue,
            };
            param["schema"] = schema;
        }
    });
}

/// A threat's `assessment` is one of the calculator bodies plus `method`,
/// or the attack-tree form: a `oneOf` with `method` as discriminator.
fn assessment_union(schemas: &mut Map<String, Value>) {
    let mut branches = Vec::new();
    let mut mapping = Map::new();
    for (method, name, source) in ASSESSMENT_BRANCHES {
        let Some(mut branch) = schemas.get(*source).cloned() else {
            continue;
        };
        let method = method.as_str();
        if let Some(properties) = branch.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert("method".into(), json!({"type": "string", "enum": [method]}));
        }
        let mut required = vec![json!("method")];
        if let Some(r) = branch.get("required").and_then(Value::as_array) {
            required.extend(r.iter().cloned());
        }
        branch["required"] = Value::Array(required);
        branch["description"] = json!(format!("A `{method}` assessment."));
        schemas.insert((*name).to_string(), branch);
        branches.push(reference(name));
        mapping.insert(
            method.to_string(),
            json!(format!("#/components/schemas/{name}")),
        );
    }
    schemas.insert(
        "Assessment".into(),
        json!({
            "description": "How a threat is scored: a calculator body with its `method`, or `attack_tree` with a stored tree.",
            "oneOf": branches,
            "discriminator": {"propertyName": "method", "mapping": mapping}
        }),
    );
    for schema in schemas.values_mut() {
        if let Some(a) = schema.pointer_mut("/properties/assessment") {
            if a.get("type") == Some(&json!("object")) {
                *a = reference("Assessment");
            }
        }
    }
}

/// `allOf` of a closed `*Fields` schema and the record's own fields can
/// never validate (the closed part refuses `id`): say the record's shape
/// in one object instead.
fn flatten_all_of(schemas: &mut Map<String, Value>) {
    let names: Vec<String> = schemas
        .iter()
        .filter(|(_, s)| s.get("allOf").is_some())
        .map(|(n, _)| n.clone())
        .collect();
    for name in names {
        let Some(parts) = schemas[&name]["allOf"].as_array().cloned() else {
            continue;
        };
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let description = schemas[&name].get("description").cloned();
        for part in parts {
            let part = match referenced_name(&part) {
                Some(r) => schemas.get(r).cloned().unwrap_or_default(),
                None => part,
            };
            if let Some(p) = part.get("properties").and_then(Value::as_object) {
                properties.extend(p.clone());
            }
            if let Some(r) = part.get("required").and_then(Value::as_array) {
                required.extend(
                    r.iter()
                        .filter(|x| !required.contains(x))
                        .cloned()
                        .collect::<Vec<_>>(),
                );
            }
        }
        let mut merged = json!({"type": "object", "required": required, "properties": properties});
        if let Some(d) = description {
            merged["description"] = d;
        }
        schemas.insert(name, merged);
    }
}

/// Externally tagged unions (`{"rate": …}` or `{"pert": …}`) get named
/// branches, `FrequencyRate` and `FrequencyPert`, so SDKs name their types.
fn name_union_branches(schemas: &mut Map<String, Value>) {
    let mut hoisted = Vec::new();
    for (name, schema) in schemas.iter_mut() {
        let Some(branches) = schema.get_mut("oneOf").and_then(Value::as_array_mut) else {
            continue;
        };
        for branch in branches {
            let tag = match branch.get("required").and_then(Value::as_array) {
                Some(r) if r.len() == 1 && branch.get("type") == Some(&json!("object")) => {
                    r[0].as_str().unwrap_or_default().to_string()
                }
                _ => continue,
            };
            let branch_name = format!("{name}{}", pascal(&tag));
            let mut body = std::mem::replace(branch, reference(&branch_name));
            body["additionalProperties"] = json!(false);
            hoisted.push((branch_name, body));
        }
    }
    schemas.extend(hoisted);
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// A `PATCH` takes a merge patch: every field may be left out. Where the
/// code declares the create schema, publish `<Name>Patch` without
/// `required`, and with an open object for a nested union (a patch of an
/// assessment may carry only the fields it changes).
fn patch_bodies(doc: &mut Value) {
    let mut wanted = Vec::new();
    each_operation(doc, |_, method, op| {
        if method != "patch" {
            return;
        }
        let Some(schema) = op
            .get_mut("requestBody")
            .and_then(|b| b.pointer_mut("/content/application~1json/schema"))
        else {
            return;
        };
        let Some(source) = referenced_name(schema).map(str::to_string) else {
            return;
        };
        if source.ends_with("Patch") {
            return;
        }
        let base = source
            .strip_suffix("Fields")
            .or_else(|| source.strip_suffix("Input"))
            .unwrap_or(&source);
        let patch = format!("{base}Patch");
        *schema = reference(&patch);
        wanted.push((patch, source));
    });
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (patch, source) in wanted {
        if schemas.contains_key(&patch) {
            continue;
        }
        let Some(mut schema) = schemas.get(&source).cloned() else {
            continue;
        };
        if let Some(o) = schema.as_object_mut() {
            o.remove("required");
            o.insert(
                "description".into(),
                json!("A JSON merge patch (RFC 7396): a field left out is kept, `null` clears it, a value replaces it."),
            );
        }
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for value in properties.values_mut() {
                if referenced_name(value) == Some("Assessment") {
                    *value = json!({
                        "type": "object", "additionalProperties": true,
                        "description": "A merge patch of the assessment; without `method` the method is kept."
                    });
                }
            }
        }
        schemas.insert(patch, schema);
    }
}

/// Free-form objects (`metadata`, audit `before`/`after`, job `result`,
/// score `details`) say so, rather than leaving generators to guess.
fn open_objects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_object_type = match map.get("type") {
                Some(Value::String(t)) => t == "object",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
                _ => false,
            };
            let shaped = [
                "properties",
                "additionalProperties",
                "$ref",
                "oneOf",
                "allOf",
                "anyOf",
            ]
            .iter()
            .any(|k| map.contains_key(*k));
            if is_object_type && !shaped {
                map.insert("additionalProperties".into(), Value::Bool(true));
            }
            for v in map.values_mut() {
                open_objects(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(open_objects),
        _ => {}
    }
}
