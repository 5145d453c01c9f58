//! What a change reaches in the register: which rows it can move, marked
//! in the change's own transaction for the next computation to rescore
//! (decision 0007), and the register as a change reads it. Record kinds
//! call this module; it reads tables, never their modules, so the register
//! (`risks`) can depend on the kinds and not the other way round.

use std::collections::HashSet;

use diesel::prelude::*;
use palisade_domain::ids::{ModelId, ThreatId};
use palisade_domain::scoring::Method;
use palisade_domain::severity::Severity;
use palisade_domain::threat::ControlFields;

use crate::db::DbConn;
use crate::schema::{
    attack_tree_nodes, record_links, risk_dirty, risk_rows, threats as threats_table,
};
use crate::{parse_enum, per_backend, StoreError};

/// Which register rows a change can move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Affected {
    /// Every row: on demand, or when a change's reach is not worked out.
    All,
    /// These threats' rows (threat ids as stored).
    Threats(Vec<String>),
}

/// The `risk_dirty` mark that stands for every row.
pub(crate) const ALL: &str = "*";

/// Marks rows out of date as of `revision`, inside the change's transaction.
pub(crate) fn mark(
    conn: &mut DbConn,
    model: &str,
    revision: i64,
    affected: &Affected,
) -> Result<(), StoreError> {
    let ids: Vec<String> = match affected {
        Affected::All => vec![ALL.to_string()],
        Affected::Threats(ids) => {
            let mut ids = ids.clone();
            ids.sort();
            ids.dedup();
            ids
        }
    };
    for chunk in ids.chunks(500) {
        diesel::delete(
            risk_dirty::table
                .filter(risk_dirty::model_id.eq(model))
                .filter(risk_dirty::threat_id.eq_any(chunk)),
        )
        .execute(conn)?;
        let rows: Vec<_> = chunk
            .iter()
            .map(|t| {
                (
                    risk_dirty::model_id.eq(model.to_string()),
                    risk_dirty::threat_id.eq(t.clone()),
                    risk_dirty::revision.eq(revision),
                )
            })
            .collect();
        per_backend!(conn, |c| diesel::insert_into(risk_dirty::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// The model's threats that name any of `targets` as `kind` (e.g. an asset).
pub(crate) fn threats_naming(
    conn: &mut DbConn,
    model: &str,
    kind: &str,
    targets: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut found = Vec::new();
    for chunk in targets.chunks(500) {
        found.extend(
            threats_table::table
                .filter(threats_table::model_id.eq(model))
                .filter(
                    threats_table::id.eq_any(
                        record_links::table
                            .filter(record_links::kind.eq(kind))
                            .filter(record_links::target_id.eq_any(chunk))
                            .select(record_links::owner_id),
                    ),
                )
                .select(threats_table::id)
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// The model's threats scored with any of these attack trees.
pub(crate) fn threats_assessed_with(
    conn: &mut DbConn,
    model: &str,
    trees: &HashSet<String>,
) -> Result<Vec<String>, StoreError> {
    if trees.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(serde::Deserialize)]
    struct TreeRef {
        tree_id: String,
    }
    let assessed: Vec<(String, String)> = threats_table::table
        .filter(threats_table::model_id.eq(model))
        .filter(threats_table::method.eq(Method::AttackTree.as_str()))
        .select((threats_table::id, threats_table::assessment))
        .load(conn)?;
    Ok(assessed
        .into_iter()
        .filter(|(_, a)| {
            serde_json::from_str::<TreeRef>(a).is_ok_and(|r| trees.contains(&r.tree_id))
        })
        .map(|(id, _)| id)
        .collect())
}

/// The trees holding any of these nodes.
fn trees_holding(conn: &mut DbConn, nodes: &[String]) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for chunk in nodes.chunks(500) {
        found.extend(
            attack_tree_nodes::table
                .filter(attack_tree_nodes::id.eq_any(chunk))
                .select(attack_tree_nodes::tree_id)
                .distinct()
                .load::<String>(conn)?,
        );
    }
    Ok(found)
}

/// The rows a control moves: the threats it covers and the threats scored
/// with a tree whose defense nodes it realises.
pub(crate) fn reach_of_control(
    conn: &mut DbConn,
    model: &str,
    c: &ControlFields,
) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = c.threat_ids.iter().map(ToString::to_string).collect();
    let nodes: Vec<String> = c.defense_node_ids.iter().map(ToString::to_string).collect();
    let trees = trees_holding(conn, &nodes)?;
    ids.extend(threats_assessed_with(conn, model, &trees)?);
    Ok(ids)
}

/// The threats whose current reduce treatment names this control.
pub(crate) fn threats_reduced_with(
    conn: &mut DbConn,
    control: &str,
) -> Result<Vec<String>, StoreError> {
    use crate::schema::treatments;
    Ok(treatments::table
        .filter(treatments::superseded_by.is_null())
        .filter(
            treatments::id.eq_any(
                record_links::table
                    .filter(record_links::kind.eq("control"))
                    .filter(record_links::target_id.eq(control.to_string()))
                    .select(record_links::owner_id),
            ),
        )
        .select(treatments::threat_id)
        .load(conn)?)
}

/// A threat's residual severity as last computed, if it has been.
pub fn residual_severity(
    conn: &mut DbConn,
    model: ModelId,
    threat: ThreatId,
) -> Result<Option<Severity>, StoreError> {
    let stored: Option<String> = risk_rows::table
        .filter(risk_rows::model_id.eq(model.to_string()))
        .filter(risk_rows::threat_id.eq(threat.to_string()))
        .select(risk_rows::residual_severity)
        .first(conn)
        .optional()?;
    stored.map(|s| parse_enum(&s, Severity::parse)).transpose()
}
