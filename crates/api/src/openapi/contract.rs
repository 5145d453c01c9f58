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
    strategy_unions(schemas);
    flatten_all_of(schemas);
    name_union_branches(schemas);
    owasp_factors(schemas);
    fair_bounds(schemas);
    cvss_vectors(schemas);
    text_rules(schemas);
    patch_bodies(doc);
    open_objects(doc);
}

/// Text with no control characters but tab, newline and carriage return
/// (`validation::is_forbidden_char`).
pub const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// The same, with at least one character that is not white space.
pub const NAME_PATTERN: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";

/// A UUID as ids are written: hyphenated, either case.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// Fields checked as names (`check_name`) and as free text (`check_text`),
/// and lists checked as tags (`check_tags`); `*_ids` lists are id lists
/// (`check_id_list`). A field validated otherwise is caught by the fuzz run
/// of `.ci/run`, which sends every schema-valid body the document allows.
const NAME_FIELDS: &[&str] = &[
    "name", "title", "label", "owner", "protocol", "approver", "system", "key", "author",
];
const TEXT_FIELDS: &[&str] = &[
    "description",
    "text",
    "rationale",
    "removed",
    "justification",
    "note",
    "goal",
    "motivation",
    "purpose",
    "resources",
    "last_assessment_result",
];
const TAG_LISTS: &[&str] = &["tags", "services"];
/// Text with no length rule of its own (the body limit bounds it).
const PLAIN_FIELDS: &[&str] = &["step"];

fn is_string(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

fn is_array(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "array"),
        _ => false,
    }
}

fn extend(schema: &mut Value, rules: Value) {
    if let (Some(o), Value::Object(r)) = (schema.as_object_mut(), rules) {
        o.extend(r);
    }
}

/// The limits of `validation.rs`, stated where generators and validators see them.
fn text_rules(schemas: &mut Map<String, Value>) {
    use palisade_domain::validation::{ID_LIST_MAX, NAME_MAX, TAGS_MAX, TAG_MAX, TEXT_MAX};
    for schema in schemas.values_mut() {
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            let name = name.as_str();
            if NAME_FIELDS.contains(&name) && is_string(property) {
                extend(
                    property,
                    json!({"minLength": 1, "maxLength": NAME_MAX, "pattern": NAME_PATTERN}),
                );
            } else if TEXT_FIELDS.contains(&name) && is_string(property) {
                extend(
                    property,
                    json!({"maxLength": TEXT_MAX, "pattern": TEXT_PATTERN}),
                );
            } else if PLAIN_FIELDS.contains(&name) && is_string(property) {
                extend(property, json!({"pattern": TEXT_PATTERN}));
            } else if TAG_LISTS.contains(&name) && is_array(property) {
                extend(
                    property,
                    json!({"maxItems": TAGS_MAX, "uniqueItems": true,
                           "items": {"type": "string", "minLength": 1, "maxLength": TAG_MAX, "pattern": NAME_PATTERN}}),
                );
            } else if name.ends_with("_ids") && is_array(property) {
                extend(
                    property,
                    json!({"maxItems": ID_LIST_MAX, "uniqueItems": true}),
                );
            }
        }
    }
}

/// Each OWASP factor takes 0–9 or the named options of that factor only.
fn owasp_factors(schemas: &mut Map<String, Value>) {
    use palisade_domain::scoring::owasp::options;
    for group in ["Likelihood", "TechnicalImpact", "BusinessImpact"] {
        let Some(properties) = schemas
            .get_mut(group)
            .and_then(|g| g.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (name, property) in properties.iter_mut() {
            let names: Vec<&str> = options(name).iter().map(|(n, _)| *n).collect();
            *property = json!({
                "description": "0 (lowest) to 9, or a named option of the methodology",
                "oneOf": [
                    {"type": "integer", "minimum": 0, "maximum": 9},
                    {"type": "string", "enum": names}
                ]
            });
        }
    }
}

fn fair_bounds(schemas: &mut Map<String, Value>) {
    use palisade_domain::scoring::fair::MAX_RATE;
    if let Some(rate) = schemas
        .get_mut("FrequencyRate")
        .and_then(|s| s.pointer_mut("/properties/rate"))
    {
        extend(
            rate,
            json!({"minimum": 0, "maximum": MAX_RATE, "description": "Loss events a year, at most 10 000"}),
        );
    }
}

/// The vectors the strict parsers take, metrics in the specification's order.
fn cvss_vectors(schemas: &mut Map<String, Value>) {
    for (name, pattern) in [
        (
            "Cvss31Assessment",
            palisade_domain::scoring::cvss31::VECTOR_PATTERN,
        ),
        (
            "Cvss40Assessment",
            palisade_domain::scoring::cvss40::VECTOR_PATTERN,
        ),
    ] {
        if let Some(v) = schemas
            .get_mut(name)
            .and_then(|s| s.pointer_mut("/properties/vector"))
        {
            extend(v, json!({"pattern": pattern}));
        }
    }
    if let Some(v) = schemas
        .get_mut("CvssInput")
        .and_then(|s| s.pointer_mut("/properties/vector"))
    {
        extend(
            v,
            json!({"pattern": r"^CVSS:(3\.1|4\.0)(/[A-Z]{1,3}:[A-Za-z]+)+$"}),
        );
    }
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
        let conditional = params.iter().any(|p| p["name"] == "If-Match");
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
                (Some("query"), "cursor") => json!({
                    "type": "string", "format": "uuid",
                    "description": "`next_cursor` of the previous page"
                }),
                (Some("query"), _) if param["schema"] == json!({"type": "string"}) => {
                    json!({"type": "string", "pattern": TEXT_PATTERN})
                }
                (Some("query"), "limit") => json!({
                    "type": "integer", "format": "int64",
                    "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT
                }),
                _ => continue,
            };
            param["schema"] = schema;
        }
        if conditional {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                responses.entry("412").or_insert_with(|| {
                    json!({
                        "description": "If-Match names a version that is no longer current",
                        "content": {"application/problem+json": {"schema": reference("Problem")}}
                    })
                });
            }
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

/// The strategies of a treatment, each with the schema of its own fields.
pub const STRATEGY_BRANCHES: &[(&str, &str)] = &[
    ("avoid", "AvoidPlan"),
    ("transfer", "TransferPlan"),
    ("reduce", "ReducePlan"),
    ("accept", "AcceptPlan"),
];

/// A treatment and a new treatment are each a `oneOf` over the strategies
/// with `strategy` as discriminator: the common fields, `strategy` fixed
/// to the branch's value, and that strategy's fields (another strategy's
/// fields are refused, so each branch is closed).
fn strategy_unions(schemas: &mut Map<String, Value>) {
    for (union, common, suffix, description) in [
        (
            "Treatment",
            "TreatmentCommon",
            "Treatment",
            "A treatment: the decision on a threat, with its strategy's fields.",
        ),
        (
            "TreatmentInput",
            "TreatmentInputCommon",
            "TreatmentInput",
            "A new treatment: the common fields and its strategy's fields.",
        ),
    ] {
        let Some(common) = schemas.get(common).cloned() else {
            continue;
        };
        let mut branches = Vec::new();
        let mut mapping = Map::new();
        for (strategy, plan) in STRATEGY_BRANCHES {
            let Some(plan) = schemas.get(*plan) else {
                continue;
            };
            let mut branch = common.clone();
            let mut required: Vec<Value> =
                branch["required"].as_array().cloned().unwrap_or_default();
            if let (Some(p), Some(own)) = (
                branch.get_mut("properties").and_then(Value::as_object_mut),
                plan.get("properties").and_then(Value::as_object),
            ) {
                p.extend(own.clone());
                p.insert(
                    "strategy".into(),
                    json!({"type": "string", "enum": [strategy]}),
                );
            }
            required.extend(plan["required"].as_array().cloned().unwrap_or_default());
            branch["required"] = Value::Array(required);
            branch["additionalProperties"] = json!(false);
            branch["description"] = json!(format!("{description} (`{strategy}`)"));
            let name = format!("{}{suffix}", pascal(strategy));
            schemas.insert(name.clone(), branch);
            branches.push(reference(&name));
            mapping.insert(
                (*strategy).to_string(),
                json!(format!("#/components/schemas/{name}")),
            );
        }
        schemas.insert(
            union.into(),
            json!({
                "description": description,
                "oneOf": branches,
                "discriminator": {"propertyName": "strategy", "mapping": mapping}
            }),
        );
    }
    for helper in ["TreatmentCommon", "TreatmentInputCommon"]
        .into_iter()
        .chain(STRATEGY_BRANCHES.iter().map(|(_, plan)| *plan))
    {
        schemas.remove(helper);
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
    // The create schema of each collection, by path, for what a patch may not clear.
    let mut creates: Map<String, Value> = Map::new();
    each_operation(doc, |path, method, op| {
        if method == "post" {
            if let Some(name) = op
                .get("requestBody")
                .and_then(|b| b.pointer("/content/application~1json/schema"))
                .and_then(referenced_name)
            {
                creates.insert(path.to_string(), json!(name));
            }
        }
    });
    let mut wanted = Vec::new();
    each_operation(doc, |path, method, op| {
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
        let collection = path.rsplit_once('/').map_or("", |(c, _)| c).to_string();
        let create = creates
            .get(&collection)
            .and_then(Value::as_str)
            .map(str::to_string);
        let patch = match source.strip_suffix("Patch") {
            Some(_) => source.clone(),
            None => {
                let base = source
                    .strip_suffix("Fields")
                    .or_else(|| source.strip_suffix("Input"))
                    .unwrap_or(&source);
                format!("{base}Patch")
            }
        };
        *schema = reference(&patch);
        wanted.push((patch, source, create));
    });
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    // Every field any method's assessment has: what a merge patch may name.
    let mut assessment_fields: Vec<Value> = ASSESSMENT_BRANCHES
        .iter()
        .filter_map(|(_, name, _)| schemas.get(*name)?.get("properties")?.as_object())
        .flat_map(|p| p.keys().map(|k| json!(k)))
        .collect();
    assessment_fields.sort_by_key(|v| v.to_string());
    assessment_fields.dedup();
    for (patch, source, create) in wanted {
        let required: Vec<Value> = create
            .and_then(|c| schemas.get(&c))
            .and_then(|c| c.get("required"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(mut schema) = schemas
            .get(&patch)
            .or_else(|| schemas.get(&source))
            .cloned()
        else {
            continue;
        };
        if let Some(o) = schema.as_object_mut() {
            o.remove("required");
            o.insert("additionalProperties".into(), json!(false));
            o.insert(
                "description".into(),
                json!("A JSON merge patch (RFC 7396): a field left out is kept, `null` clears it, a value replaces it; a field the record cannot be without cannot be cleared."),
            );
        }
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, value) in properties.iter_mut() {
                if referenced_name(value) == Some("Assessment") {
                    *value = json!({
                        "type": "object",
                        "propertyNames": {"enum": assessment_fields},
                        "description": "A merge patch of the assessment; without `method` the method is kept."
                    });
                } else if required.contains(&json!(name)) {
                    not_null(value);
                }
            }
        }
        schemas.insert(patch, schema);
    }
}

/// The schema without its `null`: a patch may leave the field out, not clear it.
fn not_null(schema: &mut Value) {
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            schema["type"] = only;
        }
        return;
    }
    if let Some(branches) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        branches.retain(|b| b != &json!({"type": "null"}));
        if branches.len() == 1 {
            let only = branches[0].clone();
            let description = schema.get("description").cloned();
            *schema = only;
            if let Some(d) = description {
                schema["description"] = d;
            }
        }
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
                "propertyNames",
                "$ref",
                "oneOf",
                "allOf",
                "anyOf",
            ]
            .iter()
            .any(|k| map.contains_key(*k));
            let uuid = map.get("format") == Some(&json!("uuid"));
            if uuid && !map.contains_key("pattern") {
                map.insert("pattern".into(), json!(UUID_PATTERN));
            }
            if is_object_type && !shaped {
                // Keys are text; values are any JSON (whose strings the
                // server also holds to the text rule, which generators
                // could not type).
                map.insert("propertyNames".into(), json!({"pattern": TEXT_PATTERN}));
                map.insert("additionalProperties".into(), json!(true));
            }
            for v in map.values_mut() {
                open_objects(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(open_objects),
        _ => {}
    }
}
