//! The shape every versioned record of a model shares. A create validates,
//! checks the model is the caller's, writes and audits in one transaction;
//! an update checks `If-Match`, applies the change, validates, skips a
//! no-op, writes guarded by the version and audits; a delete checks the
//! version, removes and audits. Each store module supplies only its writes.

use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{ModelId, OrgId};
use palisade_domain::ValidationErrors;
use serde::Serialize;

use crate::db::{write_tx, DbConn};
use crate::models::{check_version, ensure_visible};
use crate::reach::Affected;
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

/// `Record` for a record kind with the usual fields; `$extra` gives what
/// a fresh record of a kind with derived fields starts with.
macro_rules! record {
    ($t:ty, $fields:ty, $id:ty, $entity:literal, $name:literal $(, $extra:ident: $value:expr)*) => {
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
                    $($extra: $value,)*
                }
            }
        }
    };
}

use palisade_domain::asset::{Asset, AssetFields};
use palisade_domain::environment::{
    Interaction, InteractionFields, Party, PartyFields, TrustZone, TrustZoneFields,
};
use palisade_domain::threat::{Control, ControlFields, Threat, ThreatFields};
use palisade_domain::threat_actor::{ThreatActor, ThreatActorFields};
use palisade_domain::treatment::{Treatment, TreatmentFields, TreatmentStatus};

use palisade_domain::evaluation::{EvaluationEntry, EvaluationEntryFields};
use palisade_domain::ids::{
    AssetId, ControlId, EvaluationEntryId, InteractionId, PartyId, ThreatActorId, ThreatId,
    TreatmentId, TrustZoneId,
};

record!(Asset, AssetFields, AssetId, "asset", "asset");
record!(
    EvaluationEntry,
    EvaluationEntryFields,
    EvaluationEntryId,
    "evaluation_entry",
    "evaluation entry"
);
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
record!(
    Treatment,
    TreatmentFields,
    TreatmentId,
    "treatment",
    "treatment",
    status: TreatmentStatus::Proposed,
    superseded_by: None
);
record!(
    Interaction,
    InteractionFields,
    InteractionId,
    "interaction",
    "interaction",
    crosses_trust_boundary: false
);

/// A record kind's own writes: the row and what goes with it (links,
/// risk marks). Validation, visibility, the transaction, the version guard
/// and the audit are `create`, `update` and `delete`'s.
pub(crate) trait Stored: Record {
    type Id: Copy;
    /// The record, a 404 unless the organisation sees the model.
    fn load(c: &mut DbConn, org: OrgId, model: ModelId, id: Self::Id) -> Result<Self, StoreError>;
    fn insert(c: &mut DbConn, a: &Actor, new: &Self) -> Result<(), StoreError>;
    /// Writes many new records whose references were all checked before
    /// (an import's plan): kinds with many records write rows and links
    /// in batches; the rest one by one.
    fn insert_many(c: &mut DbConn, a: &Actor, new: &[Self]) -> Result<(), StoreError> {
        for r in new {
            Self::insert(c, a, r)?;
        }
        Ok(())
    }
    /// Writes `now` over `was` only if `was` is still current (use
    /// `write_if_unchanged!`): the rows touched, 0 when a concurrent change won.
    fn write(c: &mut DbConn, a: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError>;
    /// Removes the record; `cascade` lets it take dependants with it
    /// where the kind allows (interactions using an asset or a party).
    fn remove(c: &mut DbConn, a: &Actor, was: &Self, cascade: bool) -> Result<(), StoreError>;
    /// The register rows a change can move (`None`: the kind does not feed
    /// the register). Asked before a delete removes anything, and after a
    /// create or an update wrote; the rows are marked and a recomputation
    /// queued last, so the model's revision row is locked only briefly.
    fn reach(
        _: &mut DbConn,
        was: Option<&Self>,
        now: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        let _ = (was, now);
        Ok(None)
    }
    /// The record as a read would give it after a write: kinds with
    /// derived fields read them again.
    fn reread(_: &mut DbConn, written: Self) -> Result<Self, StoreError> {
        Ok(written)
    }
}

fn mark(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    reach: Option<Affected>,
) -> Result<(), StoreError> {
    if let Some(reach) = reach {
        crate::jobs::enqueue_recompute(conn, actor, model_id, &reach)?;
    }
    Ok(())
}

/// Audits a change of a record: what it was and what it became.
pub(crate) fn audited<R: Record>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    action: AuditAction,
    before: Option<&R>,
    after: Option<&R>,
) -> Result<(), StoreError> {
    let id = after.or(before).map(R::id_string).unwrap_or_default();
    let change = audit::Change::of(R::ENTITY, model_id, action, id, before, after)?;
    audit::record(conn, actor, change)
}

/// Creates a record of the model from `fields`: validated, then in one
/// transaction the model checked visible, the row inserted, the creation audited.
pub(crate) fn create<R: Stored>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    fields: R::Fields,
) -> Result<R, StoreError> {
    R::validate(&fields)?;
    let fresh = R::fresh(model_id, fields);
    write_tx(conn, |conn| {
        ensure_visible(conn, actor.org_id, model_id)?;
        R::insert(conn, actor, &fresh)?;
        let record = R::reread(conn, fresh)?;
        audited(
            conn,
            actor,
            model_id,
            AuditAction::Create,
            None,
            Some(&record),
        )?;
        let reach = R::reach(conn, None, Some(&record))?;
        mark(conn, actor, model_id, reach)?;
        Ok(record)
    })
}

/// Changes a record in one transaction: `change` gives the new fields from
/// the current record; they are judged before the version (a bad body is a
/// 422 whatever the If-Match, as the OpenAPI document promises); a change
/// that alters nothing keeps the version and writes no audit record.
pub(crate) fn update<R: Stored>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    id: R::Id,
    expected_version: Option<i64>,
    change: impl FnOnce(&R) -> Result<R::Fields, StoreError>,
) -> Result<R, StoreError> {
    write_tx(conn, |conn| {
        let current = R::load(conn, actor.org_id, model_id, id)?;
        let fields = change(&current)?;
        R::validate(&fields)?;
        check_version(current.version(), expected_version)?;
        if &fields == current.fields() {
            return Ok(current);
        }
        let draft = current.next(fields);
        if R::write(conn, actor, &current, &draft)? != 1 {
            return Err(StoreError::Conflict(format!(
                "the {} was changed concurrently; retry",
                R::NAME
            )));
        }
        let updated = R::reread(conn, draft)?;
        audited(
            conn,
            actor,
            model_id,
            AuditAction::Update,
            Some(&current),
            Some(&updated),
        )?;
        let reach = R::reach(conn, Some(&current), Some(&updated))?;
        mark(conn, actor, model_id, reach)?;
        Ok(updated)
    })
}

/// Deletes a record in one transaction: the version checked, the record
/// removed (with what must go or change with it), the deletion audited.
pub(crate) fn delete<R: Stored>(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    id: R::Id,
    expected_version: Option<i64>,
    cascade: bool,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let current = R::load(conn, actor.org_id, model_id, id)?;
        check_version(current.version(), expected_version)?;
        let reach = R::reach(conn, Some(&current), None)?;
        R::remove(conn, actor, &current, cascade)?;
        audited(
            conn,
            actor,
            model_id,
            AuditAction::Delete,
            Some(&current),
            None,
        )?;
        mark(conn, actor, model_id, reach)
    })
}

/// The writes every kind of model record has, on the record type
/// (`Threat::create(conn, actor, model, fields)`), from its `Stored` impl
/// (`model_writes!` gives the impl), so a search for `fn create` finds
/// them here.
pub trait ModelWrites: Sized {
    type Id;
    type Fields;

    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        model_id: ModelId,
        fields: Self::Fields,
    ) -> Result<Self, StoreError>;

    /// Changes the record: `change` makes the new fields from the current
    /// record, guarded by `expected_version` (an If-Match).
    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        model_id: ModelId,
        id: Self::Id,
        expected_version: Option<i64>,
        change: impl FnOnce(&Self) -> Result<Self::Fields, StoreError>,
    ) -> Result<Self, StoreError>;

    /// Deletes the record; with `cascade`, where the kind takes it
    /// (assets, parties), the interactions using it go too, else they make
    /// it a 409; kinds without dependants ignore it.
    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        model_id: ModelId,
        id: Self::Id,
        expected_version: Option<i64>,
        cascade: bool,
    ) -> Result<(), StoreError>;
}

/// The reads every kind of model record has, on the record type
/// (`Threat::get(conn, org, model, id)`); `model_reads!` gives the impl.
pub trait ModelReads: Sized {
    type Id;

    /// One record, a 404 unless the organisation sees the model.
    fn get(
        conn: &mut DbConn,
        org: OrgId,
        model_id: ModelId,
        id: Self::Id,
    ) -> Result<Self, StoreError>;

    /// Every record of the model, by id.
    fn all_in_model(conn: &mut DbConn, scope: crate::Scoped) -> Result<Vec<Self>, StoreError>;

    /// These records of the model (ids as stored); ids of other models or
    /// of deleted records are skipped.
    fn some_in_model(
        conn: &mut DbConn,
        scope: crate::Scoped,
        ids: &[String],
    ) -> Result<Vec<Self>, StoreError>;

    /// How many records the model holds.
    fn count_in_model(conn: &mut DbConn, scope: crate::Scoped) -> Result<i64, StoreError>;
}

/// `ModelWrites` for a record kind, from its `Stored` impl.
#[macro_export]
macro_rules! model_writes {
    ($record:ty, $id:ty, $fields:ty) => {
        impl $crate::ModelWrites for $record {
            type Id = $id;
            type Fields = $fields;

            fn create(
                conn: &mut $crate::DbConn,
                actor: &$crate::Actor,
                model_id: palisade_domain::ids::ModelId,
                fields: $fields,
            ) -> Result<$record, $crate::StoreError> {
                $crate::versioned::create(conn, actor, model_id, fields)
            }

            fn update(
                conn: &mut $crate::DbConn,
                actor: &$crate::Actor,
                model_id: palisade_domain::ids::ModelId,
                id: $id,
                expected_version: Option<i64>,
                change: impl FnOnce(&$record) -> Result<$fields, $crate::StoreError>,
            ) -> Result<$record, $crate::StoreError> {
                $crate::versioned::update(conn, actor, model_id, id, expected_version, change)
            }

            fn delete(
                conn: &mut $crate::DbConn,
                actor: &$crate::Actor,
                model_id: palisade_domain::ids::ModelId,
                id: $id,
                expected_version: Option<i64>,
                cascade: bool,
            ) -> Result<(), $crate::StoreError> {
                $crate::versioned::delete::<$record>(
                    conn,
                    actor,
                    model_id,
                    id,
                    expected_version,
                    cascade,
                )
            }
        }
    };
}

/// `ModelReads` for a table of model records; `$finish` turns rows into
/// records (reading what they link).
#[macro_export]
macro_rules! model_reads {
    ($table:ident, $row:ty, $record:ty, $id:ty, $finish:path) => {
        impl $crate::ModelReads for $record {
            type Id = $id;

            fn get(
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

            fn all_in_model(
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

            fn some_in_model(
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

            fn count_in_model(
                conn: &mut $crate::DbConn,
                scope: $crate::Scoped,
            ) -> Result<i64, $crate::StoreError> {
                Ok($table::table
                    .filter($table::model_id.eq(scope.model().to_string()))
                    .count()
                    .get_result(conn)?)
            }
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
