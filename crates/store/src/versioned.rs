//! The shape every versioned record's update shares: check `If-Match`,
//! apply the change, validate, skip a no-op, write guarded by the version,
//! audit. Each store module supplies only its write.

use palisade_domain::audit::AuditAction;
use palisade_domain::ids::ModelId;
use palisade_domain::ValidationErrors;
use serde::Serialize;

use crate::db::DbConn;
use crate::models::check_version;
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
}

macro_rules! record {
    ($t:ty, $fields:ty, $entity:literal, $name:literal) => {
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
        }
    };
}

use palisade_domain::asset::{Asset, AssetFields};
use palisade_domain::environment::{Party, PartyFields, TrustZone, TrustZoneFields};
use palisade_domain::threat::{Control, ControlFields, Threat, ThreatFields};
use palisade_domain::threat_actor::{ThreatActor, ThreatActorFields};

record!(Asset, AssetFields, "asset", "asset");
record!(
    ThreatActor,
    ThreatActorFields,
    "threat_actor",
    "threat actor"
);
record!(TrustZone, TrustZoneFields, "trust_zone", "trust zone");
record!(Party, PartyFields, "party", "party");
record!(Threat, ThreatFields, "threat", "threat");
record!(Control, ControlFields, "control", "control");

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
