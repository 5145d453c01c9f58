//! Our own document (`palisade.model/1`, as export and versions write it)
//! back into a model: every record gets a fresh id and every reference is
//! pointed at the new record; what a server derives (ids, versions,
//! timestamps, the register, progress and gaps, a treatment's supersession)
//! is derived again.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::plan::Builder;
use super::source::Node;
use crate::asset::AssetFields;
use crate::document::FORMAT;
use crate::environment::{InteractionFields, PartyFields, TrustZoneFields};
use crate::evaluation::EvaluationEntryFields;
use crate::model::ModelFields;
use crate::scoring::Assessment;
use crate::threat::{ControlFields, ThreatAssessment, ThreatInput, TreeAssessment};
use crate::threat_actor::ThreatActorFields;
use crate::treatment::{TreatmentInput, TreatmentStatus};
use crate::tree::AttackTreeInput;

/// The record lists, with the kind their ids are.
const LISTS: [(&str, &str); 10] = [
    ("trust_zones", "trust zone"),
    ("assets", "asset"),
    ("parties", "party"),
    ("threat_actors", "threat actor"),
    ("attack_trees", "attack tree"),
    ("interactions", "interaction"),
    ("threats", "threat"),
    ("controls", "control"),
    ("treatments", "treatment"),
    ("evaluation_entries", "evaluation entry"),
];

/// Fields that name another record, with the kind they name.
const REFERENCES: [(&str, &str); 20] = [
    ("parent_id", "asset"),
    ("trust_zone_id", "trust zone"),
    ("target_asset_id", "asset"),
    ("actor_id", "threat actor"),
    ("accessible_asset_ids", "asset"),
    ("asset_id", "asset"),
    ("party_id", "party"),
    ("data_asset_ids", "asset"),
    ("asset_ids", "asset"),
    ("actor_ids", "threat actor"),
    ("interaction_ids", "interaction"),
    ("attack_tree_node_ids", "attack-tree node"),
    ("tree_id", "attack tree"),
    ("threat_ids", "threat"),
    ("defense_node_ids", "attack-tree node"),
    ("threat_id", "threat"),
    ("control_ids", "control"),
    ("removed_asset_ids", "asset"),
    ("counterparty_party_id", "party"),
    ("treatment_ids", "treatment"),
];

/// What a server writes and an import derives again.
const DERIVED: [&str; 8] = [
    "id",
    "model_id",
    "version",
    "created_at",
    "updated_at",
    "crosses_trust_boundary",
    "node_count",
    "superseded_by",
];

/// Old id → (kind, new id).
type Ids = HashMap<String, (&'static str, Uuid)>;

pub(super) fn import(root: Node, b: &mut Builder) {
    if !root.object(b) {
        return;
    }
    match root.req_str(b, "format") {
        Some(FORMAT) | None => {}
        Some(other) => b.problem(root.ptr("format"), format!("{other:?} is not {FORMAT:?}")),
    }
    let mut ids = Ids::new();
    let lists: Vec<(&str, Vec<Node>)> = LISTS
        .iter()
        .map(|(list, kind)| {
            let items = root.items(b, list);
            for item in &items {
                claim(b, &mut ids, item, kind);
                if *list == "attack_trees" {
                    if let Some(r) = item.get("root") {
                        claim_nodes(b, &mut ids, &r);
                    }
                }
            }
            (*list, items)
        })
        .collect();

    match root.get("model") {
        None => b.problem(root.ptr("model"), "is required"),
        Some(m) => {
            if let Some(fields) = fields_of::<ModelFields>(b, &m, &ids, &[]) {
                b.model(&m.at, fields);
            }
        }
    }
    for (list, items) in &lists {
        for n in items {
            add(b, &ids, list, n);
        }
    }
}

fn claim(b: &mut Builder, ids: &mut Ids, n: &Node, kind: &'static str) {
    let Some(old) = n.req_str(b, "id") else {
        return;
    };
    if ids
        .insert(old.to_string(), (kind, Uuid::now_v7()))
        .is_some()
    {
        b.problem(
            n.ptr("id"),
            format!("id {old} appears twice in the document"),
        );
    }
}

fn claim_nodes(b: &mut Builder, ids: &mut Ids, n: &Node) {
    if n.get("id").is_some() {
        claim(b, ids, n, "attack-tree node");
    }
    for c in n.items(b, "children") {
        claim_nodes(b, ids, &c);
    }
    if let Some(c) = n.get("countermeasure") {
        claim_nodes(b, ids, &c);
    }
}

/// `v` with every reference pointed at its new record; a reference to no
/// record of the document, or to one of another kind, is a problem.
fn remap(b: &mut Builder, ids: &Ids, at: &str, key: Option<&str>, v: &Value) -> Value {
    // Free key-value data is the client's own: nothing in it is a reference.
    if key == Some("metadata") {
        return v.clone();
    }
    let names = key.and_then(|k| {
        REFERENCES
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, kind)| *kind)
    });
    match v {
        Value::String(s) if names.is_some() => {
            let want = names.unwrap_or_default();
            match ids.get(s.as_str()) {
                Some((kind, new)) if *kind == want => Value::String(new.to_string()),
                Some((kind, _)) => {
                    b.problem(at, format!("{s} is a {kind} of the document, not a {want}"));
                    v.clone()
                }
                None => {
                    b.problem(at, format!("no {want} {s} in the document"));
                    v.clone()
                }
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| remap(b, ids, &format!("{at}/{i}"), key, x))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| {
                    let at = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                    (k.clone(), remap(b, ids, &at, Some(k), x))
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A record's writable fields: server-set fields and `drop` removed,
/// references remapped, read as `T`.
fn fields_of<T: DeserializeOwned>(
    b: &mut Builder,
    n: &Node,
    ids: &Ids,
    drop: &[&str],
) -> Option<T> {
    let Value::Object(m) = n.v else {
        b.problem(&n.at, "must be an object");
        return None;
    };
    let kept: Map<String, Value> = m
        .iter()
        .filter(|(k, _)| !DERIVED.contains(&k.as_str()) && !drop.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), remap(b, ids, &n.ptr(k), Some(k), v)))
        .collect();
    match serde_json::from_value(Value::Object(kept)) {
        Ok(f) => Some(f),
        Err(e) => {
            b.problem(&n.at, e.to_string());
            None
        }
    }
}

/// An attack-tree node with its id made new (remap only touches `*_id`).
fn new_node_ids(ids: &Ids, v: &mut Value) {
    if let Some(o) = v.as_object_mut() {
        if let Some(Value::String(id)) = o.get("id") {
            if let Some((_, new)) = ids.get(id) {
                o.insert("id".into(), Value::String(new.to_string()));
            }
        }
        if let Some(Value::Array(children)) = o.get_mut("children") {
            children.iter_mut().for_each(|c| new_node_ids(ids, c));
        }
        if let Some(c) = o.get_mut("countermeasure") {
            new_node_ids(ids, c);
        }
    }
}

fn new_id<T: From<Uuid>>(ids: &Ids, n: &Node) -> Option<T> {
    n.v.get("id")
        .and_then(Value::as_str)
        .and_then(|s| ids.get(s))
        .map(|(_, u)| T::from(*u))
}

fn add(b: &mut Builder, ids: &Ids, list: &str, n: &Node) {
    match list {
        "trust_zones" => {
            if let Some(f) = fields_of::<TrustZoneFields>(b, n, ids, &[]) {
                b.zone_with(&n.at, new_id(ids, n), f);
            }
        }
        "assets" => {
            if let Some(f) = fields_of::<AssetFields>(b, n, ids, &[]) {
                b.asset_with(&n.at, new_id(ids, n), f);
            }
        }
        "parties" => {
            if let Some(f) = fields_of::<PartyFields>(b, n, ids, &[]) {
                b.party_with(&n.at, new_id(ids, n), f);
            }
        }
        "threat_actors" => {
            if let Some(f) = fields_of::<ThreatActorFields>(b, n, ids, &[]) {
                b.actor_with(&n.at, new_id(ids, n), f);
            }
        }
        "attack_trees" => {
            if let Some(mut input) = fields_of::<Value>(b, n, ids, &[]) {
                if let Some(root) = input.get_mut("root") {
                    new_node_ids(ids, root);
                }
                match serde_json::from_value::<AttackTreeInput>(input) {
                    Ok(t) => {
                        b.tree_with(&n.at, new_id(ids, n), t);
                    }
                    Err(e) => b.problem(&n.at, e.to_string()),
                }
            }
        }
        "interactions" => {
            if let Some(f) = fields_of::<InteractionFields>(b, n, ids, &[]) {
                b.interaction_with(&n.at, new_id(ids, n), f);
            }
        }
        "threats" => {
            let Some(input) = fields_of::<ThreatInput>(b, n, ids, &[]) else {
                return;
            };
            let mut assessment = input.assessment.clone();
            let tree = assessment.get("method").and_then(Value::as_str) == Some("attack_tree");
            let parsed = if tree {
                if let Some(o) = assessment.as_object_mut() {
                    o.remove("method");
                }
                serde_json::from_value::<TreeAssessment>(assessment)
                    .map(ThreatAssessment::AttackTree)
            } else {
                serde_json::from_value::<Assessment>(assessment).map(ThreatAssessment::Stateless)
            };
            match parsed {
                Ok(assessment) => {
                    b.threat_with(&n.at, new_id(ids, n), input.with_assessment(assessment));
                }
                Err(e) => b.problem(n.ptr("assessment"), e.to_string()),
            }
        }
        "controls" => {
            if let Some(f) = fields_of::<ControlFields>(b, n, ids, &[]) {
                b.control_with(&n.at, new_id(ids, n), f);
            }
        }
        "treatments" => {
            let status = match n
                .v
                .get("status")
                .and_then(Value::as_str)
                .map(TreatmentStatus::parse)
            {
                Some(Some(s)) => s,
                _ => {
                    b.problem(n.ptr("status"), "must be a treatment status");
                    return;
                }
            };
            if let Some(input) = fields_of::<TreatmentInput>(b, n, ids, &["status"]) {
                b.treatment_with(&n.at, new_id(ids, n), input, status, false);
            }
        }
        "evaluation_entries" => {
            if let Some(f) = fields_of::<EvaluationEntryFields>(b, n, ids, &[]) {
                b.entry_with(&n.at, new_id(ids, n), f);
            }
        }
        _ => {}
    }
}
