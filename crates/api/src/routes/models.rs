//! Threat models: the organisation's records that hold all the others.

use palisade_domain::ids::{ModelId, OrgId};
use palisade_domain::model::{Model, ModelFields};
use palisade_domain::severity::Severity;
use palisade_store::models::{self, ModelFilter};
use palisade_store::{Actor, DbConn, PageRequest, StoreError};
use serde_json::Value;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::patch;
use crate::resource::{resource, store_calls, InOrg, NoParams, Resource};
use crate::respond::{list_params, list_type};

pub struct Models;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
    },
}

resource!(in_org
    Models,
    routes: routes,
    doc: ResourceDoc,
    tag: "models",
    collection: "/api/v1/models",
    item: "/api/v1/models/{model_id}",
    id: "model_id",
    input: ModelFields,
    patch: ModelPatch,
    record: Model,
    list: ModelList,
    params: ModelParams,
    delete_params: NoParams,
    create: (create_model, "createModel", "Create a threat model."),
    list_all: (list_models, "listModels", "List the organisation's models (by id, oldest first, unless sorted)."),
    get: (get_model, "getModel", "Get a model."),
    update: (patch, update_model, "updateModel", "Change a model (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_model, "deleteModel", "Delete a model and everything in it."),
);

impl Resource for Models {
    type Parent = InOrg;
    type Record = Model;
    type Id = ModelId;
    type Input = ModelFields;
    type Fields = ModelFields;
    type Params = ModelParams;
    type Filter = ModelFilter;
    type List = ModelList;
    type DeleteParams = NoParams;
    const SEGMENT: &'static str = "models";

    fn fields(input: ModelFields) -> Result<ModelFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: ModelParams) -> Result<(PageRequest, ModelFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            ModelFilter {
                risk_appetite: q.risk_appetite,
                name: q.name,
                tag: q.tag,
            },
        ))
    }

    fn id_of(record: &Model) -> ModelId {
        record.id
    }

    store_calls!(@merge_patch);

    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        _: InOrg,
        _: Option<i64>,
        fields: ModelFields,
    ) -> Result<Model, StoreError> {
        models::create(conn, actor, fields)
    }

    fn get(conn: &mut DbConn, org: OrgId, _: InOrg, id: ModelId) -> Result<Model, StoreError> {
        models::get(conn, org, id)
    }

    fn list(
        conn: &mut DbConn,
        org: OrgId,
        _: InOrg,
        filter: &ModelFilter,
        page: &PageRequest,
    ) -> Result<ModelList, StoreError> {
        models::list(conn, org, filter, page).map(ModelList::from)
    }

    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        _: InOrg,
        id: ModelId,
        expected: Option<i64>,
        doc: Value,
    ) -> Result<Model, StoreError> {
        models::update(conn, actor, id, expected, |current| {
            Ok(patch::apply(&current.fields, doc)?)
        })
    }

    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        _: InOrg,
        id: ModelId,
        expected: Option<i64>,
        _: NoParams,
    ) -> Result<(), StoreError> {
        models::delete(conn, actor, id, expected)
    }
}

list_params!(ModelParams sorted by ModelSort { "name", "created_at", "updated_at" } {
    /// Only models with this risk appetite.
    risk_appetite: Option<Severity>,
    /// Only models with exactly this name.
    name: Option<String>,
    /// Only models carrying this tag.
    tag: Option<String>,
});

list_type!(ModelList, Model);

/// The writable fields of a model, all optional: a JSON merge patch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModelPatch {
    name: Option<String>,
    description: Option<String>,
    risk_appetite: Option<Severity>,
    tags: Option<Vec<String>>,
}
