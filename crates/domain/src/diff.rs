//! What changed between two model documents: per resource the records
//! added, removed and changed (field by field), and the threats whose
//! residual severity moved. Records are matched by their stable ids, so the
//! diff is exact. It reads documents as JSON values, so a version stored
//! by an older release compares with today's state.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::severity::Severity;

/// The lists of a document that hold records, in the order of the steps.
pub const RESOURCES: [&str; 12] = [
    "model",
    "assets",
    "threat_actors",
    "attack_trees",
    "attack_tree_nodes",
    "trust_zones",
    "parties",
    "interactions",
    "threats",
    "controls",
    "treatments",
    "evaluation_entries",
];

/// Bookkeeping every record has; a change to it alone is not a change.
const BOOKKEEPING: [&str; 3] = ["version", "created_at", "updated_at"];

/// One field that differs; `field` is a dotted path into the record
/// (`cia.confidentiality`), lists are compared whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    /// `null` when the field was absent.
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub before: Value,
    #[cfg_attr(feature = "openapi", schema(value_type = serde_json::Value))]
    pub after: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordChange {
    pub id: String,
    /// The record's name or title after the change, for people.
    pub caption: String,
    pub changes: Vec<FieldChange>,
}

/// A record as it was added or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecordRef {
    pub id: String,
    /// The record's name or title, for people.
    pub caption: String,
    /// The whole record.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub record: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResourceDiff {
    /// `assets`, `threats`, … (`model` for the model's own fields,
    /// `attack_tree_nodes` for the nodes of every tree).
    pub resource: String,
    pub added: Vec<RecordRef>,
    pub removed: Vec<RecordRef>,
    pub changed: Vec<RecordChange>,
}

string_enum!(Direction {
    Up => "up",
    Down => "down",
});

/// A threat whose residual severity is not what it was.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskMovement {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub threat_id: String,
    pub title: String,
    pub direction: Direction,
    pub before_severity: Severity,
    pub after_severity: Severity,
    pub before_score: f64,
    pub after_score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelDiff {
    /// One entry per resource, in the order of the steps, changed or not.
    pub resources: Vec<ResourceDiff>,
    /// Ups first, then downs; each by threat title.
    pub risk_movements: Vec<RiskMovement>,
}

impl ModelDiff {
    /// True when nothing but bookkeeping differs.
    pub fn is_empty(&self) -> bool {
        self.risk_movements.is_empty()
            && self
                .resources
                .iter()
                .all(|r| r.added.is_empty() && r.removed.is_empty() && r.changed.is_empty())
    }
}

/// Compares two documents (`ModelDocument` as JSON).
pub fn diff(from: &Value, to: &Value) -> ModelDiff {
    let resources = RESOURCES
        .iter()
        .map(|name| diff_resource(name, &records(from, name), &records(to, name)))
        .collect();
    ModelDiff {
        resources,
        risk_movements: risk_movements(from, to),
    }
}

/// The records of one resource, by id, in document order.
fn records(doc: &Value, resource: &str) -> Vec<(String, Map<String, Value>)> {
    match resource {
        "model" => doc
            .get("model")
            .and_then(Value::as_object)
            .map(|m| vec![(id_of(m), m.clone())])
            .unwrap_or_default(),
        "attack_trees" => list(doc, "attack_trees")
            .map(|mut t| {
                // The nodes are their own resource.
                t.remove("root");
                t.remove("node_count");
                (id_of(&t), t)
            })
            .collect(),
        "attack_tree_nodes" => {
            let mut out = Vec::new();
            for tree in list(doc, "attack_trees") {
                if let Some(root) = tree.get("root") {
                    nodes(root, &id_of(&tree), None, "child", 0, &mut out);
                }
            }
            out
        }
        other => list(doc, other).map(|r| (id_of(&r), r)).collect(),
    }
}

fn list<'a>(doc: &'a Value, key: &str) -> impl Iterator<Item = Map<String, Value>> + 'a {
    doc.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.as_object().cloned())
}

fn id_of(record: &Map<String, Value>) -> String {
    record
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A nested tree's nodes, each with its tree, parent, link and place.
fn nodes(
    node: &Value,
    tree: &str,
    parent: Option<&str>,
    link: &str,
    position: usize,
    out: &mut Vec<(String, Map<String, Value>)>,
) {
    let Some(obj) = node.as_object() else {
        return;
    };
    let id = id_of(obj);
    let mut own: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| *k != "children" && *k != "countermeasure")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    own.insert("tree_id".into(), Value::from(tree));
    own.insert("parent_id".into(), parent.map_or(Value::Null, Value::from));
    own.insert("link".into(), Value::from(link));
    own.insert("position".into(), Value::from(position));
    out.push((id.clone(), own));
    if let Some(children) = obj.get("children").and_then(Value::as_array) {
        for (i, child) in children.iter().enumerate() {
            nodes(child, tree, Some(&id), "child", i, out);
        }
    }
    if let Some(c) = obj.get("countermeasure") {
        nodes(c, tree, Some(&id), "countermeasure", 0, out);
    }
}

fn label(record: &Map<String, Value>) -> String {
    for key in ["name", "title", "label", "text", "strategy"] {
        if let Some(s) = record.get(key).and_then(Value::as_str) {
            return s.chars().take(120).collect();
        }
    }
    id_of(record)
}

fn diff_resource(
    name: &str,
    from: &[(String, Map<String, Value>)],
    to: &[(String, Map<String, Value>)],
) -> ResourceDiff {
    let before: HashMap<&str, &Map<String, Value>> =
        from.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let after: HashMap<&str, &Map<String, Value>> =
        to.iter().map(|(id, r)| (id.as_str(), r)).collect();
    let reference = |id: &str, r: &Map<String, Value>| RecordRef {
        id: id.to_string(),
        caption: label(r),
        record: Value::Object(r.clone()),
    };
    let mut out = ResourceDiff {
        resource: name.to_string(),
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    for (id, r) in to {
        match before.get(id.as_str()) {
            None => out.added.push(reference(id, r)),
            Some(was) => {
                let mut changes = Vec::new();
                compare("", was, r, &mut changes);
                if !changes.is_empty() {
                    out.changed.push(RecordChange {
                        id: id.clone(),
                        caption: label(r),
                        changes,
                    });
                }
            }
        }
    }
    for (id, r) in from {
        if !after.contains_key(id.as_str()) {
            out.removed.push(reference(id, r));
        }
    }
    out
}

/// Field by field; objects are entered, anything else compared whole.
fn compare(
    prefix: &str,
    was: &Map<String, Value>,
    now: &Map<String, Value>,
    out: &mut Vec<FieldChange>,
) {
    let keys: BTreeMap<&String, ()> = was.keys().chain(now.keys()).map(|k| (k, ())).collect();
    for key in keys.into_keys() {
        if prefix.is_empty() && BOOKKEEPING.contains(&key.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let (a, b) = (was.get(key), now.get(key));
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => compare(&path, x, y, out),
            _ if a == b => {}
            // An absent field and an explicit null say the same.
            (None, Some(Value::Null)) | (Some(Value::Null), None) => {}
            _ => out.push(FieldChange {
                field: path,
                before: a.cloned().unwrap_or(Value::Null),
                after: b.cloned().unwrap_or(Value::Null),
            }),
        }
    }
}

fn risk_movements(from: &Value, to: &Value) -> Vec<RiskMovement> {
    let rows = |doc: &Value| -> HashMap<String, (String, Severity, f64)> {
        doc.get("register")
            .and_then(|r| r.get("items"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|row| {
                let id = row.get("threat_id")?.as_str()?.to_string();
                let title = row.get("title")?.as_str()?.to_string();
                let severity = Severity::parse(row.get("residual_severity")?.as_str()?)?;
                let score = row.get("residual_score")?.as_f64()?;
                Some((id, (title, severity, score)))
            })
            .collect()
    };
    let (before, after) = (rows(from), rows(to));
    let mut moved: Vec<RiskMovement> = after
        .iter()
        .filter_map(|(id, (title, now, now_score))| {
            let (_, was, was_score) = before.get(id)?;
            let direction = match now.cmp(was) {
                std::cmp::Ordering::Greater => Direction::Up,
                std::cmp::Ordering::Less => Direction::Down,
                std::cmp::Ordering::Equal => return None,
            };
            Some(RiskMovement {
                threat_id: id.clone(),
                title: title.clone(),
                direction,
                before_severity: *was,
                after_severity: *now,
                before_score: *was_score,
                after_score: *now_score,
            })
        })
        .collect();
    moved.sort_by(|a, b| {
        (a.direction, &a.title, &a.threat_id).cmp(&(b.direction, &b.title, &b.threat_id))
    });
    moved
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(assets: Value, tree_root: Value, register: Value) -> Value {
        json!({
            "model": {"id": "m", "name": "Payments", "version": 1, "tags": []},
            "assets": assets,
            "attack_trees": [{"id": "t", "name": "Steal cards", "root": tree_root, "node_count": 2, "version": 1}],
            "register": {"items": register},
        })
    }

    fn resource<'a>(d: &'a ModelDiff, name: &str) -> &'a ResourceDiff {
        d.resources.iter().find(|r| r.resource == name).unwrap()
    }

    #[test]
    fn equal_documents_differ_in_nothing_even_in_bookkeeping() {
        let a = doc(
            json!([{"id": "a1", "name": "db", "version": 1}]),
            json!({"id": "n1", "label": "root"}),
            json!([]),
        );
        let b = doc(
            json!([{"id": "a1", "name": "db", "version": 7, "updated_at": "x"}]),
            json!({"id": "n1", "label": "root"}),
            json!([]),
        );
        let d = diff(&a, &b);
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(d.resources.len(), RESOURCES.len());
    }

    #[test]
    fn added_removed_and_changed_records_with_dotted_fields() {
        let a = doc(
            json!([{"id": "a1", "name": "db", "cia": {"confidentiality": 3, "integrity": 2}}, {"id": "a2", "name": "old"}]),
            json!({"id": "n1", "label": "root"}),
            json!([]),
        );
        let b = doc(
            json!([{"id": "a1", "name": "db", "cia": {"confidentiality": 5, "integrity": 2}}, {"id": "a3", "name": "new"}]),
            json!({"id": "n1", "label": "root"}),
            json!([]),
        );
        let d = diff(&a, &b);
        let assets = resource(&d, "assets");
        assert_eq!(
            assets.added.iter().map(|r| &r.caption).collect::<Vec<_>>(),
            ["new"]
        );
        assert_eq!(
            assets.removed.iter().map(|r| &r.id).collect::<Vec<_>>(),
            ["a2"]
        );
        assert_eq!(
            assets.changed,
            [RecordChange {
                id: "a1".into(),
                caption: "db".into(),
                changes: vec![FieldChange {
                    field: "cia.confidentiality".into(),
                    before: json!(3),
                    after: json!(5)
                }]
            }]
        );
    }

    #[test]
    fn tree_nodes_are_records_of_their_own_with_parent_and_place() {
        let a = doc(
            json!([]),
            json!({"id": "n1", "label": "root", "children": [{"id": "n2", "label": "phish"}]}),
            json!([]),
        );
        let b = doc(
            json!([]),
            json!({"id": "n1", "label": "root", "children": [{"id": "n3", "label": "bribe"}, {"id": "n2", "label": "phish staff"}]}),
            json!([]),
        );
        let d = diff(&a, &b);
        assert!(resource(&d, "attack_trees").changed.is_empty());
        let nodes = resource(&d, "attack_tree_nodes");
        assert_eq!(nodes.added[0].id, "n3");
        assert_eq!(nodes.added[0].record["parent_id"], "n1");
        let fields: Vec<&str> = nodes.changed[0]
            .changes
            .iter()
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(fields, ["label", "position"]);
    }

    #[test]
    fn risk_movements_up_then_down_and_unmoved_rows_left_out() {
        let row = |id: &str, title: &str, sev: &str, score: f64| json!({"threat_id": id, "title": title, "residual_severity": sev, "residual_score": score});
        let root = json!({"id": "n1", "label": "root"});
        let a = doc(
            json!([]),
            root.clone(),
            json!([
                row("t1", "A", "high", 15.0),
                row("t2", "B", "low", 3.0),
                row("t3", "C", "medium", 9.0),
                row("t4", "D", "low", 2.0)
            ]),
        );
        let b = doc(
            json!([]),
            root,
            json!([
                row("t1", "A", "low", 4.0),
                row("t2", "B", "critical", 22.0),
                row("t3", "C", "medium", 10.0)
            ]),
        );
        let d = diff(&a, &b);
        let moved: Vec<(&str, Direction)> = d
            .risk_movements
            .iter()
            .map(|m| (m.threat_id.as_str(), m.direction))
            .collect();
        assert_eq!(moved, [("t2", Direction::Up), ("t1", Direction::Down)]);
        assert_eq!(d.risk_movements[1].before_score, 15.0);
        assert_eq!(d.risk_movements[1].after_severity, Severity::Low);
    }
}
