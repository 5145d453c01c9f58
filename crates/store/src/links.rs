//! Links from threats, controls, treatments and evaluation entries to the
//! records they name, in one table.
//! Deleting a record forgets its links in the same transaction, so a link
//! never points at nothing.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use palisade_domain::ids::ModelId;
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::schema::{
    assets, attack_tree_nodes, attack_trees, controls, interactions, parties, record_links,
    threat_actors, threats, treatments,
};
use crate::{per_backend, StoreError};

pub(crate) fn write(
    conn: &mut DbConn,
    owner: &str,
    kind: &str,
    targets: &[String],
) -> Result<(), StoreError> {
    diesel::delete(
        record_links::table
            .filter(record_links::owner_id.eq(owner))
            .filter(record_links::kind.eq(kind)),
    )
    .execute(conn)?;
    let rows: Vec<_> = targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                record_links::owner_id.eq(owner.to_string()),
                record_links::kind.eq(kind.to_string()),
                record_links::target_id.eq(t.clone()),
                record_links::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        let chunk = chunk.to_vec();
        per_backend!(conn, |c| diesel::insert_into(record_links::table)
            .values(&chunk)
            .execute(c))?;
    }
    Ok(())
}

/// The link rows of new owners, written in batches with no delete first
/// (the bulk path of an import, whose owners are all new).
pub(crate) fn insert_new(
    conn: &mut DbConn,
    links: impl IntoIterator<Item = (String, &'static str, Vec<String>)>,
) -> Result<(), StoreError> {
    let rows: Vec<_> = links
        .into_iter()
        .flat_map(|(owner, kind, targets)| {
            targets.into_iter().enumerate().map(move |(i, t)| {
                (
                    record_links::owner_id.eq(owner.clone()),
                    record_links::kind.eq(kind.to_string()),
                    record_links::target_id.eq(t),
                    record_links::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
                )
            })
        })
        .collect();
    for chunk in rows.chunks(crate::bulk::CHUNK) {
        let chunk = chunk.to_vec();
        per_backend!(conn, |c| diesel::insert_into(record_links::table)
            .values(&chunk)
            .execute(c))?;
    }
    Ok(())
}

type OfKind =
    diesel::dsl::Filter<record_links::table, diesel::dsl::Eq<record_links::kind, &'static str>>;
type Naming = diesel::dsl::Filter<OfKind, diesel::dsl::Eq<record_links::target_id, String>>;

/// The owners (threats, controls) that name `target` as `kind`, as a
/// subquery for list filters.
pub(crate) fn owners_naming(
    kind: &'static str,
    target: &str,
) -> diesel::dsl::Select<Naming, record_links::owner_id> {
    record_links::table
        .filter(record_links::kind.eq(kind))
        .filter(record_links::target_id.eq(target.to_string()))
        .select(record_links::owner_id)
}

/// Every link of these owners: (owner, kind) → targets in order.
pub(crate) fn read(
    conn: &mut DbConn,
    owners: &[String],
) -> Result<HashMap<(String, String), Vec<String>>, StoreError> {
    let mut found: HashMap<(String, String), Vec<(i32, String)>> = HashMap::new();
    for chunk in owners.chunks(500) {
        let rows: Vec<(String, String, String, i32)> = record_links::table
            .filter(record_links::owner_id.eq_any(chunk))
            .select((
                record_links::owner_id,
                record_links::kind,
                record_links::target_id,
                record_links::position,
            ))
            .load(conn)?;
        for (o, k, t, p) in rows {
            found.entry((o, k)).or_default().push((p, t));
        }
    }
    Ok(found
        .into_iter()
        .map(|(key, mut v)| {
            v.sort();
            (key, v.into_iter().map(|(_, t)| t).collect())
        })
        .collect())
}

/// Forgets every link to these records (they are being deleted).
pub(crate) fn forget_targets(conn: &mut DbConn, targets: &[String]) -> Result<(), StoreError> {
    for chunk in targets.chunks(500) {
        diesel::delete(record_links::table.filter(record_links::target_id.eq_any(chunk)))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn forget_owner(conn: &mut DbConn, owner: &str) -> Result<(), StoreError> {
    diesel::delete(record_links::table.filter(record_links::owner_id.eq(owner))).execute(conn)?;
    Ok(())
}

/// The ids of one kind of record in a model, for checking references.
/// Which of `ids` are records of `kind` in the model: one query per 500
/// ids, whatever the model's size.
pub(crate) fn present_in_model(
    conn: &mut DbConn,
    model_id: ModelId,
    kind: &str,
    ids: &[String],
) -> Result<HashSet<String>, StoreError> {
    let m = model_id.to_string();
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<String> = match kind {
            "asset" => assets::table
                .filter(assets::model_id.eq(&m))
                .filter(assets::id.eq_any(chunk))
                .select(assets::id)
                .load(conn)?,
            "actor" => threat_actors::table
                .filter(threat_actors::model_id.eq(&m))
                .filter(threat_actors::id.eq_any(chunk))
                .select(threat_actors::id)
                .load(conn)?,
            "interaction" => interactions::table
                .filter(interactions::model_id.eq(&m))
                .filter(interactions::id.eq_any(chunk))
                .select(interactions::id)
                .load(conn)?,
            "threat" => threats::table
                .filter(threats::model_id.eq(&m))
                .filter(threats::id.eq_any(chunk))
                .select(threats::id)
                .load(conn)?,
            "control" => controls::table
                .filter(controls::model_id.eq(&m))
                .filter(controls::id.eq_any(chunk))
                .select(controls::id)
                .load(conn)?,
            "treatment" => treatments::table
                .filter(treatments::model_id.eq(&m))
                .filter(treatments::id.eq_any(chunk))
                .select(treatments::id)
                .load(conn)?,
            "party" => parties::table
                .filter(parties::model_id.eq(&m))
                .filter(parties::id.eq_any(chunk))
                .select(parties::id)
                .load(conn)?,
            "tree" => attack_trees::table
                .filter(attack_trees::model_id.eq(&m))
                .filter(attack_trees::id.eq_any(chunk))
                .select(attack_trees::id)
                .load(conn)?,
            "node" | "defense_node" => {
                let mut q = attack_tree_nodes::table
                    .inner_join(attack_trees::table)
                    .filter(attack_trees::model_id.eq(&m))
                    .filter(attack_tree_nodes::id.eq_any(chunk))
                    .select(attack_tree_nodes::id)
                    .into_boxed();
                if kind == "defense_node" {
                    q = q.filter(attack_tree_nodes::kind.eq("defense"));
                }
                q.load(conn)?
            }
            _ => Vec::new(),
        };
        found.extend(rows);
    }
    Ok(found)
}

/// Adds an error for each id in `ids` that is not a `kind` of the model.
pub(crate) fn check(
    conn: &mut DbConn,
    model_id: ModelId,
    e: &mut ValidationErrors,
    field: &str,
    kind: &str,
    what: &str,
    ids: &[String],
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let known = present_in_model(conn, model_id, kind, ids)?;
    for (i, id) in ids.iter().enumerate() {
        if !known.contains(id) {
            e.add(
                format!("{field}[{i}]"),
                format!("no {what} {id} in this model"),
            );
        }
    }
    Ok(())
}
