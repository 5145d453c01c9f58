//! Step 4 — controls: the protections that exist or are planned, what they
//! cover, and how well.

use palisade_domain::ids::ControlId;
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::threat::{Control, ControlCategory, ControlFields, ControlType};
use palisade_store::controls::ControlFilter;
use palisade_store::PageRequest;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct Controls;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_model
    Controls,
    routes: routes,
    doc: ResourceDoc,
    tag: "analysis",
    collection: "/api/v1/models/{model_id}/controls",
    item: "/api/v1/models/{model_id}/controls/{control_id}",
    id: "control_id",
    input: ControlFields,
    patch: ControlFields,
    record: Control,
    list: ControlList,
    params: ControlParams,
    delete_params: NoParams,
    create: (create_control, "createControl", "Create a control."),
    list_all: (list_controls, "listControls", "List the model's controls (by id unless sorted)."),
    get: (get_control, "getControl", "Get a control."),
    update: (patch, update_control, "updateControl", "Change a control (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_control, "deleteControl", "Delete a control."),
);

impl Resource for Controls {
    type Record = Control;
    type Id = ControlId;
    type Input = ControlFields;
    type Fields = ControlFields;
    type Params = ControlParams;
    type Filter = ControlFilter;
    type List = ControlList;
    const SEGMENT: &'static str = "controls";

    fn fields(input: ControlFields) -> Result<ControlFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: ControlParams) -> Result<(PageRequest, ControlFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            ControlFilter {
                status: q.status,
                control_type: q.control_type,
                category: q.category,
                threat_id: q.threat_id.map(|i| i.to_string()),
                asset_id: q.asset_id.map(|i| i.to_string()),
            },
        ))
    }

    fn id_of(record: &Control) -> ControlId {
        record.id
    }

    store_calls!(palisade_store::controls);
}

list_params!(ControlParams sorted by ControlSort { "name", "type", "category", "status", "effectiveness", "created_at", "updated_at" } {
    status: Option<ControlStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    control_type: Option<ControlType>,
    category: Option<ControlCategory>,
    /// Only controls covering this threat.
    threat_id: Option<uuid::Uuid>,
    /// Only controls naming this asset.
    asset_id: Option<uuid::Uuid>,
});

list_type!(ControlList, Control);
