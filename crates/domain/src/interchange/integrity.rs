//! Every reference of a plan checked in memory, as the store would check
//! each record against the database: so the bulk write needs no query per
//! record, and a problem names the element of the file it came from.

use std::collections::{HashMap, HashSet};

use super::plan::ImportPlan;
use crate::asset::AssetKind;
use crate::ids::{AssetId, NodeId};
use crate::scoring::attack_tree::{NestedNode, NodeKind};
use crate::threat::ThreatAssessment;
use crate::treatment::Plan;
use crate::validation::ValidationErrors;

/// Each problem with the pointer of its record (`at` gives it by id).
pub(crate) fn check(plan: &ImportPlan, at: &dyn Fn(uuid::Uuid) -> String) -> ValidationErrors {
    let mut e = ValidationErrors::new();
    let zones: HashSet<_> = plan.trust_zones.iter().map(|z| z.id).collect();
    let assets: HashMap<AssetId, AssetKind> =
        plan.assets.iter().map(|a| (a.id, a.fields.kind)).collect();
    let index: HashMap<AssetId, usize> = plan
        .assets
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id, i))
        .collect();
    let nested = super::nesting(
        &plan
            .assets
            .iter()
            .map(|a| a.fields.parent_id.and_then(|p| index.get(&p).copied()))
            .collect::<Vec<_>>(),
    );
    let parties: HashSet<_> = plan.parties.iter().map(|p| p.id).collect();
    let actors: HashSet<_> = plan.threat_actors.iter().map(|a| a.id).collect();
    let trees: HashSet<_> = plan.attack_trees.iter().map(|t| t.id).collect();
    let mut nodes: HashMap<NodeId, NodeKind> = HashMap::new();
    for t in &plan.attack_trees {
        let mut stack: Vec<&NestedNode> = vec![&t.input.root];
        while let Some(n) = stack.pop() {
            if let Some(id) = n.id.as_deref().and_then(|s| s.parse().ok()) {
                nodes.insert(id, n.kind);
            }
            stack.extend(n.children.iter());
            stack.extend(n.countermeasure.as_deref());
        }
    }
    let interactions: HashSet<_> = plan.interactions.iter().map(|i| i.id).collect();
    let threats: HashSet<_> = plan.threats.iter().map(|t| t.id).collect();
    let controls: HashSet<_> = plan.controls.iter().map(|c| c.id).collect();
    let treatments: HashMap<_, _> = plan.treatments.iter().map(|t| (t.id, t.status)).collect();

    macro_rules! each {
        ($e:ident, $at:expr, $field:literal, $ids:expr, $known:expr, $what:literal) => {
            for (i, id) in $ids.iter().enumerate() {
                if !$known(id) {
                    $e.add(
                        $at.clone(),
                        format!("{}[{i}]: no {} {id} in the file", $field, $what),
                    );
                }
            }
        };
    }

    for (a, depth) in plan.assets.iter().zip(&nested) {
        let here = at(a.id.0);
        if let Some(p) = a.fields.parent_id {
            if !assets.contains_key(&p) {
                e.add(here.clone(), format!("parent_id: no asset {p} in the file"));
            } else if depth.is_none() {
                e.add(here.clone(), "parent_id: assets nest in a cycle");
            }
        }
        if let Some(z) = a.fields.trust_zone_id {
            if !zones.contains(&z) {
                e.add(
                    here,
                    format!("trust_zone_id: no trust zone {z} in the file"),
                );
            }
        }
    }
    for p in &plan.parties {
        let here = at(p.id.0);
        if let Some(z) = p.fields.trust_zone_id {
            if !zones.contains(&z) {
                e.add(
                    here.clone(),
                    format!("trust_zone_id: no trust zone {z} in the file"),
                );
            }
        }
        each!(
            e,
            here,
            "accessible_asset_ids",
            p.fields.accessible_asset_ids,
            |a| assets.contains_key(a),
            "asset"
        );
    }
    for t in &plan.attack_trees {
        let here = at(t.id.0);
        if let Some(a) = t.input.target_asset_id {
            if !assets.contains_key(&a) {
                e.add(
                    here.clone(),
                    format!("target_asset_id: no asset {a} in the file"),
                );
            }
        }
        let mut stack: Vec<&NestedNode> = vec![&t.input.root];
        while let Some(n) = stack.pop() {
            if let Some(actor) = &n.actor_id {
                if !actor.parse().is_ok_and(|a| actors.contains(&a)) {
                    e.add(
                        here.clone(),
                        format!("actor_id: no threat actor {actor} in the file"),
                    );
                }
            }
            stack.extend(n.children.iter());
            stack.extend(n.countermeasure.as_deref());
        }
    }
    for i in &plan.interactions {
        let here = at(i.id.0);
        for (name, end) in [
            ("source", &i.fields.source),
            ("destination", &i.fields.destination),
        ] {
            if end.asset_id.is_some_and(|a| !assets.contains_key(&a))
                || end.party_id.is_some_and(|p| !parties.contains(&p))
            {
                e.add(
                    here.clone(),
                    format!("{name}: no such asset or party in the file"),
                );
            }
        }
        for (k, a) in i.fields.data_asset_ids.iter().enumerate() {
            match assets.get(a) {
                None => e.add(
                    here.clone(),
                    format!("data_asset_ids[{k}]: no asset {a} in the file"),
                ),
                Some(kind) if *kind != AssetKind::Data => e.add(
                    here.clone(),
                    format!("data_asset_ids[{k}]: asset {a} is of kind {kind}, not data"),
                ),
                _ => {}
            }
        }
    }
    for t in &plan.threats {
        let here = at(t.id.0);
        let f = &t.fields;
        each!(
            e,
            here,
            "asset_ids",
            f.asset_ids,
            |a| assets.contains_key(a),
            "asset"
        );
        each!(
            e,
            here,
            "actor_ids",
            f.actor_ids,
            |a| actors.contains(a),
            "threat actor"
        );
        each!(
            e,
            here,
            "interaction_ids",
            f.interaction_ids,
            |i| interactions.contains(i),
            "interaction"
        );
        each!(
            e,
            here,
            "attack_tree_node_ids",
            f.attack_tree_node_ids,
            |n| nodes.contains_key(n),
            "attack-tree node"
        );
        if let ThreatAssessment::AttackTree(a) = &f.assessment {
            if !trees.contains(&a.tree_id) {
                e.add(
                    here,
                    format!(
                        "assessment.tree_id: no attack tree {} in the file",
                        a.tree_id
                    ),
                );
            }
        }
    }
    for c in &plan.controls {
        let here = at(c.id.0);
        let f = &c.fields;
        each!(
            e,
            here,
            "threat_ids",
            f.threat_ids,
            |t| threats.contains(t),
            "threat"
        );
        each!(
            e,
            here,
            "asset_ids",
            f.asset_ids,
            |a| assets.contains_key(a),
            "asset"
        );
        each!(
            e,
            here,
            "defense_node_ids",
            f.defense_node_ids,
            |n| nodes.get(n) == Some(&NodeKind::Defense),
            "attack-tree defense node"
        );
    }
    for t in &plan.treatments {
        let here = at(t.id.0);
        let f = &t.fields;
        if !threats.contains(&f.threat_id) {
            e.add(
                here.clone(),
                format!("threat_id: no threat {} in the file", f.threat_id),
            );
        }
        match &f.plan {
            Plan::Transfer {
                counterparty_party_id,
                ..
            } if !parties.contains(counterparty_party_id) => e.add(
                here,
                format!("counterparty_party_id: no party {counterparty_party_id} in the file"),
            ),
            Plan::Reduce { control_ids } => {
                each!(
                    e,
                    here,
                    "control_ids",
                    control_ids,
                    |c| controls.contains(c),
                    "control"
                )
            }
            Plan::Avoid {
                removed_asset_ids, ..
            } => {
                each!(
                    e,
                    here,
                    "removed_asset_ids",
                    removed_asset_ids,
                    |a| assets.contains_key(a),
                    "asset"
                )
            }
            _ => {}
        }
    }
    for entry in &plan.evaluation_entries {
        let here = at(entry.id.0);
        let f = &entry.fields;
        each!(
            e,
            here,
            "threat_ids",
            f.threat_ids,
            |t| threats.contains(t),
            "threat"
        );
        each!(
            e,
            here,
            "treatment_ids",
            f.treatment_ids,
            |t| treatments.contains_key(t),
            "treatment"
        );
        each!(
            e,
            here,
            "control_ids",
            f.control_ids,
            |c| controls.contains(c),
            "control"
        );
        each!(
            e,
            here,
            "asset_ids",
            f.asset_ids,
            |a| assets.contains_key(a),
            "asset"
        );
        let statuses: Vec<_> = f
            .treatment_ids
            .iter()
            .filter_map(|t| treatments.get(t).map(|s| (*t, *s)))
            .collect();
        if let Err(errors) = f.check_fix(&statuses) {
            for x in errors.0 {
                e.add(here.clone(), format!("{}: {}", x.field, x.message));
            }
        }
    }
    e
}
