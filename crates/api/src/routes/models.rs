//! Threat models.

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::ModelId;
use palisade_domain::model::{Model, ModelFields};
use palisade_domain::severity::Severity;
use palisade_store::models::{self, ModelFilter};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::patch;
use crate::respond::{create_once, list_request, list_type, sort_keys, versioned, Created};
use crate::state::AppState;

use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/api/v1/models")
            .route(web::post().to(create_model))
            .route(web::get().to(list_models)),
    )
    .service(
        resource("/api/v1/models/{model_id}")
            .route(web::get().to(get_model))
            .route(web::patch().to(update_model))
            .route(web::delete().to(delete_model)),
    );
}

/// Create a threat model.
#[utoipa::path(post, path = "/api/v1/models", operation_id = "createModel", tag = "models",
    request_body = ModelFields,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The model was created", body = Model,
        headers(("Location" = String, description = "The model's URL"), ("ETag" = String, description = "The model's version")))),
    security(("api_key" = [])))]
pub async fn create_model(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<ModelFields>,
) -> Result<HttpResponse, ApiError> {
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let model = state.db(move |c| models::create(c, &actor, fields)).await?;
        Created::versioned(format!("/api/v1/models/{}", model.id), &model)
    })
    .await
}

sort_keys!(ModelSort { "name", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ModelParams {
    /// Only models with this risk appetite.
    pub risk_appetite: Option<Severity>,
    /// Only models with exactly this name.
    pub name: Option<String>,
    /// Only models carrying this tag.
    pub tag: Option<String>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<ModelSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(ModelList, Model);

/// List the organisation's models, oldest first.
#[utoipa::path(get, path = "/api/v1/models", operation_id = "listModels", tag = "models",
    params(ModelParams),
    responses((status = 200, description = "A page of models", body = ModelList)),
    security(("api_key" = [])))]
pub async fn list_models(
    state: web::Data<AppState>,
    auth: Auth,
    query: StrictQuery<ModelParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = ModelFilter {
        risk_appetite: q.risk_appetite,
        name: q.name,
        tag: q.tag,
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| models::list(c, org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ModelList::from(list)))
}

/// Get a model.
#[utoipa::path(get, path = "/api/v1/models/{model_id}", operation_id = "getModel", tag = "models",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 200, description = "The model", body = Model,
        headers(("ETag" = String, description = "The model's version")))),
    security(("api_key" = [])))]
pub async fn get_model(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: ModelId = path_id(&model_id)?;
    let org = auth.org.id;
    let model = state.db(move |c| models::get(c, org, id)).await?;
    Ok(versioned(&model))
}

/// The writable fields of a model, all optional: a JSON merge patch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModelPatch {
    name: Option<String>,
    description: Option<String>,
    risk_appetite: Option<Severity>,
    tags: Option<Vec<String>>,
}

/// Change a model (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}", operation_id = "updateModel", tag = "models",
    request_body = ModelPatch,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed model", body = Model,
        headers(("ETag" = String, description = "The model's new version")))),
    security(("api_key" = [])))]
pub async fn update_model(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let id: ModelId = path_id(&model_id)?;
    let actor = auth.actor();
    let patch_doc = body.value;
    let model = state
        .db(move |c| {
            models::update(c, &actor, id, if_match.0, |current| {
                Ok(patch::apply(&current.fields, patch_doc)?)
            })
        })
        .await?;
    Ok(versioned(&model))
}

/// Delete a model and everything in it.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}", operation_id = "deleteModel", tag = "models",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "The model and its records are deleted")),
    security(("api_key" = [])))]
pub async fn delete_model(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id: ModelId = path_id(&model_id)?;
    let actor = auth.actor();
    state
        .db(move |c| models::delete(c, &actor, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
