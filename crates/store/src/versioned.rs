//! The shape every versioned record of a model shares. A create validates,
//! checks the model is the caller's, writes and audits in one transaction;
//! an update checks `If-Match`, applies the change, validates, skips a
//! no-op, writes guarded by the version and audits; a delete checks the
//! version, removes and audits. Each store module supplies only its writes.

use palisade_domain::audit::AuditAction;
use palisade_domain::ids::ModelId;
use palisade_domain::ValidationErrors;
use serde::Serialize;

use crate::db::{write_tx, DbConn};
use crate::models::{check_version, ensure_visible};
use crate::{audit, time, Actor, StoreError};

pub(crate) trait Record: Clone + Serialize {
    type Fields: PartialEq;
    /// The audit log's `entity_type`.
    const ENTITY: &'static str;
    /// For the message when a concurrent change wins.
    const NAME: &'static str;
    fn id_string(&self) -> String;
    fn version(&self) -> i64;
    fn fields(&self) -> &Self::Fields;
    fn validate(fields: &Self::Fields) -> Result<(), ValidationErrors>;
    /// The record with new fields, one version on.
    fn next(&self, fields: Self::Fields) -> Self;
    /// A new record of the model: a fresh id, version 1.
    fn fresh(model_id: ModelId, fields: Self::Fields) -> Self;
}

macro_rules! record {
    ($t:ty, $fields:ty, $id:ty, $entity:literal, $name:literal) => {
        impl Record for $t {
            type Fields = $fields;
            const ENTITY: &'static str = $entity;
            const NAME: &'static str = $name;
            fn id_string(&self) -> String {
                self.id.to_string()
            }
            fn version(&self) -> i64 {
                self.version
            }
            fn fields(&self) -> &$fields {
                &self.fields
            }
            fn validate(fields: &$fields) -> Result<(), ValidationErrors> {
                fields.validate()
            }
            fn next(&self, fields: $fields) -> Self {
                Self {
                    fields,
                    version: self.version + 1,
                    updated_at: time::utc(time::now()),
                    ..self.clone()
                }
            }
            fn fresh(model_id: ModelId, fields: $fields) -> Self {
                let now = time::utc(time::now());
                Self {
                    id: <$id>::generate(),
                    model_id,
                    fields,
                    version: 1,
                    created_at: now,
                    updated_at: now,
                }
            }
        }
    };
}

use palisade_domain::asset::{Asset, AssetFields};
use palisade_domain::environment::{Party, PartyFields, TrustZone, TrustZoneFields};
use palisade_domain::threat::{Control, ControlFields, Threat, ThreatFields};
use palisade_domain::threat_actor::{ThreatActor, ThreatActorFields};

use palisade_domain::ids::{AssetId, ControlId, PartyId, ThreatActorId, ThreatId, TrustZoneId};

record!(Asset, AssetFields, AssetId, "asset", "asset");
record!(
    ThreatActor,
    ThreatActorFields,
    ThreatActorId,
    "threat_actor",
    "threat actor"
);
record!(
    TrustZone,
    TrustZoneFields,
    TrustZoneId,
    "trust_zone",
    "trust zone"
);
record!(Party, PartyFields, PartyId, "party", "party");
record!(Threat, ThreatFields, ThreatId, "threat", "threat");
record!(Control, ControlFields, ControlId, "control", "control");

/// Creates a record of the model from `fields`: validated, then in one
/// transaction the model checked visible, `insert` run, the creation audited.
pub(crate) fn create<R: Record>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    fields: R::Fields,
    insert: impl FnOnce(&mut DbConn, &R) -> Result<(), StoreError>,
) -> Result<R, StoreError> {
    R::validate(&fields)?;
    let record = R::fresh(model_id, fields);
    write_tx(conn, |conn| {
        ensure_visible(conn, actor.org_id, model_id)?;
        insert(conn, &record)?;
        audit::record(
            conn,
            actor,
            audit::Change::of(
                R::ENTITY,
                model_id,
                AuditAction::Create,
                record.id_string(),
                None,
                Some(&record),
            )?,
        )
    })?;
    Ok(record)
}

/// Changes the record `load` finds, in one transaction (see `update`).
pub(crate) fn update_loaded<R: Record>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    load: impl FnOnce(&mut DbConn) -> Result<R, StoreError>,
    expected_version: Option<i64>,
    change: impl FnOnce(&R) -> Result<R::Fields, StoreError>,
    write: impl FnOnce(&mut DbConn, &R, &R) -> Result<usize, StoreError>,
) -> Result<R, StoreError> {
    write_tx(conn, |conn| {
        let current = load(conn)?;
        update(
            conn,
            actor,
            model_id,
            current,
            expected_version,
            change,
            write,
        )
    })
}

/// Deletes the record `load` finds, in one transaction: the version
/// checked, `remove` run (the row and what must go or change with it), the
/// deletion audited.
pub(crate) fn delete<R: Record>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    load: impl FnOnce(&mut DbConn) -> Result<R, StoreError>,
    expected_version: Option<i64>,
    remove: impl FnOnce(&mut DbConn, &R) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let current = load(conn)?;
        check_version(current.version(), expected_version)?;
        remove(conn, &current)?;
        audit::record(
            conn,
            actor,
            audit::Change::of(
                R::ENTITY,
                model_id,
                AuditAction::Delete,
                current.id_string(),
                Some(&current),
                None,
            )?,
        )
    })
}

/// Updates `current` inside the caller's transaction. `write` stores the
/// new record and returns how many rows its version-guarded `UPDATE`
/// touched (anything but 1 means a concurrent change won).
pub(crate) fn update<R: Record>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    current: R,
    expected_version: Option<i64>,
    change: impl FnOnce(&R) -> Result<R::Fields, StoreError>,
    write: impl FnOnce(&mut DbConn, &R, &R) -> Result<usize, StoreError>,
) -> Result<R, StoreError> {
    // The input is judged before the version: a bad body is a 422 whatever
    // the If-Match, as the OpenAPI document promises.
    let fields = change(&current)?;
    R::validate(&fields)?;
    check_version(current.version(), expected_version)?;
    if &fields == current.fields() {
        return Ok(current);
    }
    let updated = current.next(fields);
    if write(conn, &current, &updated)? != 1 {
        return Err(StoreError::Conflict(format!(
            "the {} was changed concurrently; retry",
            R::NAME
        )));
    }
    audit::record(
        conn,
        actor,
        audit::Change::of(
            R::ENTITY,
            model_id,
            AuditAction::Update,
            updated.id_string(),
            Some(&current),
            Some(&updated),
        )?,
    )?;
    Ok(updated)
}

/// The reads every table of model records has: one record (a 404 unless
/// the caller's organisation sees the model), every record of a model, and
/// some by id. `$finish` turns rows into records (reading what they link).
#[macro_export]
macro_rules! model_reads {
    ($table:ident, $row:ty, $record:ty, $id:ty, $finish:path) => {
        pub fn get(
            conn: &mut $crate::DbConn,
            org: palisade_domain::ids::OrgId,
            model_id: palisade_domain::ids::ModelId,
            id: $id,
        ) -> Result<$record, $crate::StoreError> {
            $crate::models::ensure_visible(conn, org, model_id)?;
            let row: $row = $table::table
                .filter($table::id.eq(id.to_string()))
                .filter($table::model_id.eq(model_id.to_string()))
                .select(<$row>::as_select())
                .first(conn)?;
            $finish(conn, vec![row])?
                .pop()
                .ok_or($crate::StoreError::NotFound)
        }

        /// Every record of the model, by id.
        pub fn all_in_model(
            conn: &mut $crate::DbConn,
            scope: $crate::Scoped,
        ) -> Result<Vec<$record>, $crate::StoreError> {
            let rows: Vec<$row> = $table::table
                .filter($table::model_id.eq(scope.model().to_string()))
                .select(<$row>::as_select())
                .order($table::id.asc())
                .load(conn)?;
            $finish(conn, rows)
        }

        /// These records of the model (ids as stored); ids of other models
        /// or of deleted records are skipped.
        pub fn some_in_model(
            conn: &mut $crate::DbConn,
            scope: $crate::Scoped,
            ids: &[String],
        ) -> Result<Vec<$record>, $crate::StoreError> {
            let mut rows: Vec<$row> = Vec::new();
            for chunk in ids.chunks(500) {
                rows.extend(
                    $table::table
                        .filter($table::model_id.eq(scope.model().to_string()))
                        .filter($table::id.eq_any(chunk))
                        .select(<$row>::as_select())
                        .load::<$row>(conn)?,
                );
            }
            $finish(conn, rows)
        }

        /// How many records the model holds.
        pub fn count_in_model(
            conn: &mut $crate::DbConn,
            scope: $crate::Scoped,
        ) -> Result<i64, $crate::StoreError> {
            Ok($table::table
                .filter($table::model_id.eq(scope.model().to_string()))
                .count()
                .get_result(conn)?)
        }
    };
}

/// Writes `row` over the record `current` names, only if it is still at
/// `current`'s version; evaluates to the rows touched (1, or 0 when a
/// concurrent change won), as `update`'s `write` returns.
#[macro_export]
macro_rules! write_if_unchanged {
    ($conn:expr, $table:ident, $current:expr, $row:expr) => {
        diesel::update(
            $table::table
                .filter($table::id.eq($current.id.to_string()))
                .filter($table::version.eq($current.version)),
        )
        .set($row)
        .execute($conn)?
    };
}
