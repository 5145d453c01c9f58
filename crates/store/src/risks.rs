//! The risk register: computed by jobs, read by the API with how fresh it is.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{AttackTreeId, ModelId, OrgId};
use palisade_domain::risk::{register, RiskRow, TreeForRisk};
use palisade_domain::scoring::attack_tree::Tree;
use palisade_domain::threat::ThreatAssessment;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::schema::{attack_trees, risk_registers};
use crate::scope::Scoped;
use crate::{attack_trees as trees, controls, threats, time, StoreError};

/// The register as stored, and whether changes have happened since.
#[derive(Debug, Clone)]
pub struct Register {
    pub rows: Vec<RiskRow>,
    pub stale: bool,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revision: i64,
    pub computed_revision: i64,
}

pub fn read(conn: &mut DbConn, org: OrgId, model_id: ModelId) -> Result<Register, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let row: Option<(i64, i64, String, Option<NaiveDateTime>)> = risk_registers::table
        .filter(risk_registers::model_id.eq(model_id.to_string()))
        .select((
            risk_registers::revision,
            risk_registers::computed_revision,
            risk_registers::rows,
            risk_registers::computed_at,
        ))
        .first(conn)
        .optional()?;
    let (revision, computed_revision, rows, computed_at) = row.unwrap_or((0, 0, "[]".into(), None));
    Ok(Register {
        rows: serde_json::from_str(&rows)?,
        stale: revision > computed_revision,
        computed_at: computed_at.map(time::utc),
        revision,
        computed_revision,
    })
}

/// A register computed from the records as they were at `revision`.
#[derive(Debug, Clone)]
pub struct Computation {
    pub model_id: ModelId,
    pub revision: i64,
    pub rows: Vec<RiskRow>,
}

/// Computes the register from the model's current records and stores it,
/// unless a result for a newer revision is already there.
pub fn recompute(conn: &mut DbConn, scope: Scoped) -> Result<serde_json::Value, StoreError> {
    let computation = compute(conn, scope)?;
    let written = store(conn, &computation)?;
    Ok(serde_json::json!({
        "revision": computation.revision,
        "threats": computation.rows.len(),
        "written": written,
    }))
}

/// Reads the model and computes its register, outside any write
/// transaction: the work may be long and must not hold the write lock.
pub fn compute(conn: &mut DbConn, scope: Scoped) -> Result<Computation, StoreError> {
    let model_id = scope.model();
    let m = model_id.to_string();
    // The revision first: changes made while computing bump it and queue another job.
    let revision: i64 = risk_registers::table
        .filter(risk_registers::model_id.eq(&m))
        .select(risk_registers::revision)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    let threats = threats::all_in_model(conn, scope)?;
    let controls = controls::all_in_model(conn, scope)?;
    let mut tree_inputs: HashMap<AttackTreeId, Result<TreeForRisk, String>> = HashMap::new();
    let model_trees: HashSet<String> = attack_trees::table
        .filter(attack_trees::model_id.eq(&m))
        .select(attack_trees::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for t in &threats {
        if let ThreatAssessment::AttackTree(ta) = &t.fields.assessment {
            if tree_inputs.contains_key(&ta.tree_id)
                || !model_trees.contains(&ta.tree_id.to_string())
            {
                continue;
            }
            let loaded = trees::load_flat_unscoped(conn, ta.tree_id)?;
            let input = loaded.and_then(|(flat, ids)| {
                let pointers: Vec<String> = ids.iter().map(|i| format!("/nodes/{i}")).collect();
                Tree::build(flat, &pointers)
                    .map(|tree| TreeForRisk {
                        tree,
                        node_index: ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect(),
                    })
                    .map_err(|e| e.to_string())
            });
            tree_inputs.insert(ta.tree_id, input);
        }
    }
    let rows = register(&threats, &controls, &tree_inputs);
    Ok(Computation {
        model_id,
        revision,
        rows,
    })
}

/// Stores a computation unless the register already holds one of the same
/// or a newer revision. The guard is in the `UPDATE` itself, so two workers
/// finishing in either order can never move the register backwards.
pub fn store(conn: &mut DbConn, computation: &Computation) -> Result<bool, StoreError> {
    let rows = serde_json::to_string(&computation.rows)?;
    let updated = diesel::update(
        risk_registers::table
            .filter(risk_registers::model_id.eq(computation.model_id.to_string()))
            .filter(
                risk_registers::computed_revision
                    .lt(computation.revision)
                    .or(risk_registers::computed_at.is_null()),
            ),
    )
    .set((
        risk_registers::rows.eq(rows),
        risk_registers::computed_revision.eq(computation.revision),
        risk_registers::computed_at.eq(time::now()),
    ))
    .execute(conn)?;
    Ok(updated > 0)
}
