//! Step 4 — threats: what can go wrong, against which assets, by whom, and
//! how it is scored.

use palisade_domain::ids::ThreatId;
use palisade_domain::scoring::Method;
use palisade_domain::threat::{Stride, Threat, ThreatFields, ThreatInput};
use palisade_domain::ValidationErrors;
use palisade_store::threats::ThreatFilter;
use palisade_store::ModelWrites as _;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::patch;
use crate::resource::{resource, store_calls, Resource};
use crate::respond::{list_params, list_type};

use super::scoring::parse_threat_assessment;

pub struct Threats;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    Threats,
    routes: routes,
    doc: ResourceDoc,
    tag: "analysis",
    collection: "/api/v1/models/{model_id}/threats",
    item: "/api/v1/models/{model_id}/threats/{threat_id}",
    id: "threat_id",
    input: ThreatInput,
    patch: ThreatInput,
    record: Threat,
    list: ThreatList,
    params: ThreatParams,
    delete_params: crate::resource::NoParams,
    create: (create_threat, "createThreat", "Create a threat."),
    list_all: (list_threats, "listThreats", "List the model's threats (by id unless sorted)."),
    get: (get_threat, "getThreat", "Get a threat."),
    update: (patch, update_threat, "updateThreat", "Change a threat (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_threat, "deleteThreat", "Delete a threat; controls that covered it stop naming it."),
);

impl Resource for Threats {
    type Record = Threat;
    type Id = ThreatId;
    type Input = ThreatInput;
    type Fields = ThreatFields;
    type Params = ThreatParams;
    type Filter = ThreatFilter;
    type List = ThreatList;
    const SEGMENT: &'static str = "threats";

    fn fields(input: ThreatInput) -> Result<ThreatFields, ApiError> {
        let fields = threat_fields(input)?;
        fields.validate()?;
        Ok(fields)
    }

    fn query(q: ThreatParams) -> Result<(PageRequest, ThreatFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            ThreatFilter {
                stride: q.stride,
                method: q.method,
                asset_id: q.asset_id.map(|i| i.to_string()),
                actor_id: q.actor_id.map(|i| i.to_string()),
                interaction_id: q.interaction_id.map(|i| i.to_string()),
            },
        ))
    }

    fn id_of(record: &Threat) -> ThreatId {
        record.id
    }

    store_calls!(@create_get_list palisade_store::threats);
    store_calls!(@merge_patch);

    /// The patch applies to the threat as written, so the assessment is
    /// parsed again by its (possibly new) method.
    fn update(
        conn: &mut palisade_store::DbConn,
        actor: &palisade_store::Actor,
        model: palisade_domain::ids::ModelId,
        id: ThreatId,
        expected: Option<i64>,
        doc: serde_json::Value,
    ) -> Result<Threat, palisade_store::StoreError> {
        Threat::update(conn, actor, model, id, expected, |cur| {
            Ok(threat_fields(patch::apply(&cur.fields.to_input(), doc)?)?)
        })
    }

    store_calls!(@delete palisade_store::threats);
}

/// A threat as written, with its assessment parsed by method.
fn threat_fields(mut input: ThreatInput) -> Result<ThreatFields, ValidationErrors> {
    let assessment = parse_threat_assessment(std::mem::take(&mut input.assessment))?;
    Ok(input.with_assessment(assessment))
}

list_params!(ThreatParams sorted by ThreatSort { "title", "stride", "method", "created_at", "updated_at" } {
    stride: Option<Stride>,
    method: Option<Method>,
    /// Only threats naming this asset.
    asset_id: Option<uuid::Uuid>,
    /// Only threats naming this threat actor.
    actor_id: Option<uuid::Uuid>,
    /// Only threats naming this interaction.
    interaction_id: Option<uuid::Uuid>,
});

list_type!(ThreatList, Threat);
