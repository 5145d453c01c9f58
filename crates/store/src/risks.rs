//! The risk register: computed by jobs, read by the API with how fresh it is.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{AttackTreeId, ModelId, OrgId};
use palisade_domain::risk::{register, RiskRow, TreeForRisk};
use palisade_domain::scoring::attack_tree::Tree;
use palisade_domain::threat::ThreatAssessment;

use crate::db::{write_tx, DbConn};
use crate::models::ensure_visible;
use crate::schema::{attack_trees, risk_registers};
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

/// Computes the register from the model's current records and stores it,
/// unless a result for a newer revision is already there.
pub fn recompute(conn: &mut DbConn, model_id: ModelId) -> Result<serde_json::Value, StoreError> {
    let m = model_id.to_string();
    // The revision first: changes made while computing bump it and queue another job.
    let revision: i64 = risk_registers::table
        .filter(risk_registers::model_id.eq(&m))
        .select(risk_registers::revision)
        .first(conn)
        .optional()?
        .unwrap_or(0);
    let threats = threats::all_in_model(conn, model_id)?;
    let controls = controls::all_in_model(conn, model_id)?;
    let mut tree_inputs: HashMap<AttackTreeId, Result<TreeForRisk, String>> = HashMap::new();
    let model_trees: Vec<String> = attack_trees::table
        .filter(attack_trees::model_id.eq(&m))
        .select(attack_trees::id)
        .load(conn)?;
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
    let count = rows.len();
    let stored = write_tx(conn, |conn| {
        let computed: i64 = risk_registers::table
            .filter(risk_registers::model_id.eq(&m))
            .select(risk_registers::computed_revision)
            .first(conn)
            .optional()?
            .unwrap_or(-1);
        if computed >= revision && computed > 0 {
            return Ok::<_, StoreError>(false);
        }
        diesel::update(risk_registers::table.filter(risk_registers::model_id.eq(&m)))
            .set((
                risk_registers::rows.eq(serde_json::to_string(&rows)?),
                risk_registers::computed_revision.eq(revision),
                risk_registers::computed_at.eq(time::now()),
            ))
            .execute(conn)?;
        Ok(true)
    })?;
    Ok(serde_json::json!({ "revision": revision, "threats": count, "written": stored }))
}
