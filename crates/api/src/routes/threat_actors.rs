//! Step 2 — threat actors.

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::{ModelId, ThreatActorId};
use palisade_domain::threat_actor::{
    ActorCategory, Intent, Origin, SkillLevel, ThreatActor, ThreatActorFields,
};
use palisade_store::threat_actors::{self, ActorFilter};
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
        resource("/api/v1/models/{model_id}/threat-actors")
            .route(web::post().to(create_threat_actor))
            .route(web::get().to(list_threat_actors)),
    )
    .service(
        resource("/api/v1/models/{model_id}/threat-actors/{actor_id}")
            .route(web::get().to(get_threat_actor))
            .route(web::patch().to(update_threat_actor))
            .route(web::delete().to(delete_threat_actor)),
    );
}

fn ids(path: &(String, String)) -> Result<(ModelId, ThreatActorId), ApiError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}

/// Add a threat actor to the model.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/threat-actors", operation_id = "createThreatActor", tag = "threats",
    request_body = ThreatActorFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The actor was created", body = ThreatActor,
        headers(("Location" = String, description = "The actor's URL"), ("ETag" = String, description = "The actor's version")))),
    security(("api_key" = [])))]
pub async fn create_threat_actor(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<ThreatActorFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| threat_actors::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/threat-actors/{}", created.id),
            &created,
        )
    })
    .await
}

sort_keys!(ThreatActorSort { "name", "origin", "category", "intent", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActorParams {
    pub origin: Option<Origin>,
    pub category: Option<ActorCategory>,
    pub intent: Option<Intent>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<ThreatActorSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(ThreatActorList, ThreatActor);

/// List the model's threat actors, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/threat-actors", operation_id = "listThreatActors", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ActorParams),
    responses((status = 200, description = "A page of threat actors", body = ThreatActorList)),
    security(("api_key" = [])))]
pub async fn list_threat_actors(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<ActorParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = ActorFilter {
        origin: q.origin,
        category: q.category,
        intent: q.intent,
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| threat_actors::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ThreatActorList::from(list)))
}

/// Get a threat actor.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/threat-actors/{actor_id}", operation_id = "getThreatActor", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("actor_id" = uuid::Uuid, Path, description = "The actor's id")),
    responses((status = 200, description = "The threat actor", body = ThreatActor, headers(("ETag" = String, description = "The actor's version")))),
    security(("api_key" = [])))]
pub async fn get_threat_actor(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let org = auth.org.id;
    let found = state
        .db(move |c| threat_actors::get(c, org, model, id))
        .await?;
    Ok(versioned(&found))
}

/// The writable fields of a threat actor, all optional: a JSON merge patch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ThreatActorPatch {
    name: Option<String>,
    origin: Option<Origin>,
    category: Option<ActorCategory>,
    intent: Option<Intent>,
    motivation: Option<String>,
    #[schema(schema_with = palisade_domain::threat_actor::skill_schema)]
    skill: Option<SkillLevel>,
    resources: Option<String>,
    description: Option<String>,
}

/// Change a threat actor (JSON merge patch).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/threat-actors/{actor_id}", operation_id = "updateThreatActor", tag = "threats",
    request_body = ThreatActorPatch,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("actor_id" = uuid::Uuid, Path, description = "The actor's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed actor", body = ThreatActor, headers(("ETag" = String, description = "The actor's new version")))),
    security(("api_key" = [])))]
pub async fn update_threat_actor(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            threat_actors::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(patch::apply(&cur.fields, doc)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a threat actor; attack-tree leaves that named it keep their place, unlinked.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/threat-actors/{actor_id}", operation_id = "deleteThreatActor", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("actor_id" = uuid::Uuid, Path, description = "The actor's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "The actor is deleted")),
    security(("api_key" = [])))]
pub async fn delete_threat_actor(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let actor = auth.actor();
    state
        .db(move |c| threat_actors::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
