//! Step 4 — analysis: threats and controls.

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::{ControlId, ModelId, ThreatId};
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::scoring::Method;
use palisade_domain::threat::{
    Control, ControlCategory, ControlFields, ControlType, Stride, Threat, ThreatFields, ThreatInput,
};
use palisade_domain::ValidationErrors;
use palisade_store::controls::{self, ControlFilter};
use palisade_store::threats::{self, ThreatFilter};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::patch;
use crate::respond::{create_once, list_request, list_type, sort_keys, versioned, Created};
use crate::state::AppState;

use super::scoring::parse_threat_assessment;
use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let m = "/api/v1/models/{model_id}";
    cfg.service(
        resource(&format!("{m}/threats"))
            .route(web::post().to(create_threat))
            .route(web::get().to(list_threats)),
    )
    .service(
        resource(&format!("{m}/threats/{{threat_id}}"))
            .route(web::get().to(get_threat))
            .route(web::patch().to(update_threat))
            .route(web::delete().to(delete_threat)),
    )
    .service(
        resource(&format!("{m}/controls"))
            .route(web::post().to(create_control))
            .route(web::get().to(list_controls)),
    )
    .service(
        resource(&format!("{m}/controls/{{control_id}}"))
            .route(web::get().to(get_control))
            .route(web::patch().to(update_control))
            .route(web::delete().to(delete_control)),
    );
}

/// A threat as written, with its assessment parsed by method.
fn threat_fields(input: ThreatInput) -> Result<ThreatFields, ValidationErrors> {
    Ok(ThreatFields {
        assessment: parse_threat_assessment(input.assessment)?,
        title: input.title,
        description: input.description,
        stride: input.stride,
        asset_ids: input.asset_ids,
        actor_ids: input.actor_ids,
        interaction_ids: input.interaction_ids,
        attack_tree_node_ids: input.attack_tree_node_ids,
    })
}

sort_keys!(ThreatSort { "title", "stride", "method", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ThreatParams {
    pub stride: Option<Stride>,
    pub method: Option<Method>,
    /// Only threats naming this asset.
    pub asset_id: Option<uuid::Uuid>,
    /// Only threats naming this threat actor.
    pub actor_id: Option<uuid::Uuid>,
    /// Only threats naming this interaction.
    pub interaction_id: Option<uuid::Uuid>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<ThreatSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
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

/// Create a threat.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/threats", operation_id = "createThreat", tag = "analysis",
    request_body = ThreatInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The threat was created", body = Threat,
        headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_threat(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<ThreatInput>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let fields = threat_fields(body.value)?;
    fields.validate()?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| threats::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/threats/{}", created.id),
            &created,
        )
    })
    .await
}

list_type!(ThreatList, Threat);

/// List the model's threats, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/threats", operation_id = "listThreats", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ThreatParams),
    responses((status = 200, description = "A page of threats", body = ThreatList)),
    security(("api_key" = [])))]
pub async fn list_threats(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<ThreatParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = ThreatFilter {
        stride: q.stride,
        method: q.method,
        asset_id: q.asset_id.map(|i| i.to_string()),
        actor_id: q.actor_id.map(|i| i.to_string()),
        interaction_id: q.interaction_id.map(|i| i.to_string()),
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| threats::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ThreatList::from(list)))
}

/// Get a threat.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/threats/{threat_id}", operation_id = "getThreat", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("threat_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The threat", body = Threat, headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_threat(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ThreatId) = (path_id(&path.0)?, path_id(&path.1)?);
    let org = auth.org.id;
    let found = state.db(move |c| threats::get(c, org, model, id)).await?;
    Ok(versioned(&found))
}

/// Change a threat (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/threats/{threat_id}", operation_id = "updateThreat", tag = "analysis",
    request_body = ThreatInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("threat_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed threat", body = Threat, headers(("ETag" = String, description = "Its new version")))),
    security(("api_key" = [])))]
pub async fn update_threat(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ThreatId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            threats::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(threat_fields(patch::apply(&cur.fields.to_input(), doc)?)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a threat.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/threats/{threat_id}", operation_id = "deleteThreat", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("threat_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_threat(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ThreatId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    state
        .db(move |c| threats::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create a control.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/controls", operation_id = "createControl", tag = "analysis",
    request_body = ControlFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The control was created", body = Control,
        headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_control(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<ControlFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let fields = body.value;
    fields.validate()?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| controls::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/controls/{}", created.id),
            &created,
        )
    })
    .await
}

list_type!(ControlList, Control);

/// List the model's controls, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/controls", operation_id = "listControls", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ControlParams),
    responses((status = 200, description = "A page of controls", body = ControlList)),
    security(("api_key" = [])))]
pub async fn list_controls(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<ControlParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = ControlFilter {
        status: q.status,
        control_type: q.control_type,
        category: q.category,
        threat_id: q.threat_id.map(|i| i.to_string()),
        asset_id: q.asset_id.map(|i| i.to_string()),
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| controls::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ControlList::from(list)))
}

/// Get a control.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/controls/{control_id}", operation_id = "getControl", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("control_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The control", body = Control, headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_control(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ControlId) = (path_id(&path.0)?, path_id(&path.1)?);
    let org = auth.org.id;
    let found = state.db(move |c| controls::get(c, org, model, id)).await?;
    Ok(versioned(&found))
}

/// Change a control (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/controls/{control_id}", operation_id = "updateControl", tag = "analysis",
    request_body = ControlFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("control_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed control", body = Control, headers(("ETag" = String, description = "Its new version")))),
    security(("api_key" = [])))]
pub async fn update_control(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ControlId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            controls::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(patch::apply(&cur.fields, doc)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a control.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/controls/{control_id}", operation_id = "deleteControl", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("control_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_control(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, ControlId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    state
        .db(move |c| controls::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
