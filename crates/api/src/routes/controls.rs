//! Step 4 — controls: the protections that exist or are planned, what they
//! cover, and how well.

use palisade_domain::ids::ControlId;
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::threat::{Control, ControlCategory, ControlFields, ControlType};
use palisade_store::controls::ControlFilter;
use palisade_store::PageRequest;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::resource::{resource, store_calls, NoParams, Resource};
use crate::respond::{list_request, list_type, sort_keys};

pub struct Controls;

pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    routes(cfg);
}

resource!(in_model
    Controls,
    routes: routes,
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
    type DeleteParams = NoParams;
    const SEGMENT: &'static str = "controls";

    fn fields(input: ControlFields) -> Result<ControlFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: ControlParams) -> Result<(PageRequest, ControlFilter), ApiError> {
        let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
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

sort_keys!(ControlSort { "name", "type", "category", "status", "effectiveness", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ControlParams {
    pub status: Option<ControlStatus>,
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub control_type: Option<ControlType>,
    pub category: Option<ControlCategory>,
    /// Only controls covering this threat.
    pub threat_id: Option<uuid::Uuid>,
    /// Only controls naming this asset.
    pub asset_id: Option<uuid::Uuid>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<ControlSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(ControlList, Control);
