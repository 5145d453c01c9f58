//! A model's records read in one consistent view: what a version stores,
//! what progress and gaps are computed from, what a report describes.

use crate::ModelReads as _;
use diesel::prelude::*;
use palisade_domain::asset::Asset;
use palisade_domain::document::{DocumentRegister, ModelDocument, Records};
use palisade_domain::environment::Interaction;
use palisade_domain::environment::Party;
use palisade_domain::environment::TrustZone;
use palisade_domain::evaluation::EvaluationEntry;
use palisade_domain::ids::{ModelId, OrgId};
use palisade_domain::threat::Control;
use palisade_domain::threat::Threat;
use palisade_domain::threat_actor::ThreatActor;
use palisade_domain::treatment::Treatment;

use crate::db::{read_tx, DbConn};
use crate::models::ensure_visible;
use crate::schema::attack_trees;
use crate::{models, risks, StoreError};

/// The most records a snapshot gathers (threats, controls, treatments,
/// assets, … together): beyond it a version, a diff against the present
/// and a report are refused before any is read, so one request cannot
/// hold gigabytes. About 2 KB of document per record.
pub const MAX_RECORDS: i64 = 250_000;

/// Every record of the model as one state of the database.
pub fn records(conn: &mut DbConn, org: OrgId, model_id: ModelId) -> Result<Records, StoreError> {
    read_tx(conn, |c| {
        let scope = ensure_visible(c, org, model_id)?;
        let count = Asset::count_in_model(c, scope)?
            + ThreatActor::count_in_model(c, scope)?
            + crate::attack_trees::count_in_model(c, scope)?
            + TrustZone::count_in_model(c, scope)?
            + Party::count_in_model(c, scope)?
            + crate::schema::interactions::table
                .filter(crate::schema::interactions::model_id.eq(model_id.to_string()))
                .count()
                .get_result::<i64>(c)?
            + Threat::count_in_model(c, scope)?
            + Control::count_in_model(c, scope)?
            + Treatment::count_in_model(c, scope)?
            + EvaluationEntry::count_in_model(c, scope)?;
        if count > MAX_RECORDS {
            return Err(StoreError::Conflict(format!(
                "the model holds {count} records; a snapshot (version, diff against the present, report) holds at most {MAX_RECORDS}"
            )));
        }
        let tree_ids: Vec<String> = attack_trees::table
            .filter(attack_trees::model_id.eq(model_id.to_string()))
            .order(attack_trees::id.asc())
            .select(attack_trees::id)
            .load(c)?;
        let attack_trees = tree_ids
            .iter()
            .map(|id| crate::attack_trees::get(c, org, model_id, crate::parse_id(id)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let register = risks::read(c, org, model_id)?;
        Ok(Records {
            model: models::get(c, org, model_id)?,
            assets: Asset::all_in_model(c, scope)?,
            threat_actors: ThreatActor::all_in_model(c, scope)?,
            attack_trees,
            trust_zones: TrustZone::all_in_model(c, scope)?,
            parties: Party::all_in_model(c, scope)?,
            interactions: Interaction::all_in_model(c, scope)?,
            threats: Threat::all_in_model(c, scope)?,
            controls: Control::all_in_model(c, scope)?,
            treatments: Treatment::all_in_model(c, scope)?,
            evaluation_entries: EvaluationEntry::all_in_model(c, scope)?,
            register: DocumentRegister {
                items: register.rows,
                stale: register.stale,
                computed_at: register.computed_at,
            },
        })
    })
}

/// The model's document as of now.
pub fn document(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
) -> Result<ModelDocument, StoreError> {
    Ok(records(conn, org, model_id)?.into_document(crate::time::utc(crate::time::now())))
}
