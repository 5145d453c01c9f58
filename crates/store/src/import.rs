//! Writing an import: the model and every record of the plan in one
//! transaction, so a failure leaves nothing behind. The bulk path: no
//! record marks the register on its own; one recomputation of the whole
//! register is queued at the end, and the import is audited once, as the
//! model's creation with its counts.

use palisade_domain::interchange::{ImportCounts, ImportPlan};
use palisade_domain::model::Model;

use crate::db::{write_tx, DbConn};
use crate::reach::Affected;
use crate::versioned::Stored;
use crate::{Actor, StoreError};

/// Writes `plan` as a new model of the actor's organisation.
pub fn import(conn: &mut DbConn, actor: &Actor, plan: &ImportPlan) -> Result<Model, StoreError> {
    let counts: ImportCounts = plan.counts();
    write_tx(conn, |conn| {
        crate::models::insert(
            conn,
            actor,
            &plan.model,
            Some(serde_json::to_value(&counts)?),
        )?;
        insert_all(conn, actor, &plan.trust_zones)?;
        insert_all(conn, actor, &plan.assets)?;
        insert_all(conn, actor, &plan.parties)?;
        insert_all(conn, actor, &plan.threat_actors)?;
        for tree in &plan.attack_trees {
            crate::attack_trees::insert_planned(conn, plan.model.id, tree)?;
        }
        insert_all(conn, actor, &plan.interactions)?;
        insert_all(conn, actor, &plan.threats)?;
        insert_all(conn, actor, &plan.controls)?;
        insert_all(conn, actor, &plan.treatments)?;
        insert_all(conn, actor, &plan.evaluation_entries)?;
        crate::jobs::enqueue_recompute(conn, actor, plan.model.id, &Affected::All)?;
        Ok(plan.model.clone())
    })
}

fn insert_all<R: Stored>(
    conn: &mut DbConn,
    actor: &Actor,
    records: &[R],
) -> Result<(), StoreError> {
    R::insert_many(conn, actor, records)
}
