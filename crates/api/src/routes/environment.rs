//! Step 3 — the environment: trust zones, parties, interactions, and the
//! summary with its checks.

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::environment::{
    self, EnvironmentFacts, EnvironmentSummary, Interaction, InteractionFields, Party, PartyFields,
    PartyKind, TrustLevel, TrustZone, TrustZoneFields,
};
use palisade_domain::ids::{InteractionId, ModelId, PartyId, TrustZoneId};
use palisade_store::interactions::{self, InteractionFilter};
use palisade_store::parties::{self, PartyFilter};
use palisade_store::{assets, trust_zones};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::patch;
use crate::respond::{create_once, list_request, list_type, sort_keys, versioned, Created};
use crate::state::AppState;

use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let m = "/api/v1/models/{model_id}";
    cfg.service(
        resource(&format!("{m}/trust-zones"))
            .route(web::post().to(create_trust_zone))
            .route(web::get().to(list_trust_zones)),
    )
    .service(
        resource(&format!("{m}/trust-zones/{{zone_id}}"))
            .route(web::get().to(get_trust_zone))
            .route(web::patch().to(update_trust_zone))
            .route(web::delete().to(delete_trust_zone)),
    )
    .service(
        resource(&format!("{m}/parties"))
            .route(web::post().to(create_party))
            .route(web::get().to(list_parties)),
    )
    .service(
        resource(&format!("{m}/parties/{{party_id}}"))
            .route(web::get().to(get_party))
            .route(web::patch().to(update_party))
            .route(web::delete().to(delete_party)),
    )
    .service(
        resource(&format!("{m}/interactions"))
            .route(web::post().to(create_interaction))
            .route(web::get().to(list_interactions)),
    )
    .service(
        resource(&format!("{m}/interactions/{{interaction_id}}"))
            .route(web::get().to(get_interaction))
            .route(web::patch().to(update_interaction))
            .route(web::delete().to(delete_interaction)),
    )
    .service(resource(&format!("{m}/environment")).route(web::get().to(get_environment)));
}

sort_keys!(TrustZoneSort { "name", "trust_rating", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<TrustZoneSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

sort_keys!(PartySort { "name", "kind", "trust_level", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PartyParams {
    pub kind: Option<PartyKind>,
    pub trust_level: Option<TrustLevel>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub trust_zone_id: Option<TrustZoneId>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<PartySort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

sort_keys!(InteractionSort { "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InteractionParams {
    pub crosses_trust_boundary: Option<bool>,
    pub authenticated: Option<bool>,
    pub encrypted: Option<bool>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<InteractionSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Also delete the interactions that use the record (default false: refuse with 409).
    pub cascade: Option<bool>,
}

/// Create a trust zone.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/trust-zones", operation_id = "createTrustZone", tag = "environment",
    request_body = TrustZoneFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The trust zone was created", body = TrustZone,
        headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_trust_zone(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<TrustZoneFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| trust_zones::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/trust-zones/{}", created.id),
            &created,
        )
    })
    .await
}

list_type!(TrustZoneList, TrustZone);

/// List the model's trust zones, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/trust-zones", operation_id = "listTrustZones", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ListParams),
    responses((status = 200, description = "A page of trust zones", body = TrustZoneList)),
    security(("api_key" = [])))]
pub async fn list_trust_zones(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<ListParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let org = auth.org.id;
    let list = state
        .db(move |c| trust_zones::list(c, org, model, &page))
        .await?;
    Ok(HttpResponse::Ok().json(TrustZoneList::from(list)))
}

/// Get a trust zone.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/trust-zones/{zone_id}", operation_id = "getTrustZone", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("zone_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The trust zone", body = TrustZone, headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_trust_zone(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, TrustZoneId) = (path_id(&path.0)?, path_id(&path.1)?);
    let org = auth.org.id;
    let found = state
        .db(move |c| trust_zones::get(c, org, model, id))
        .await?;
    Ok(versioned(&found))
}

/// Change a trust zone (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/trust-zones/{zone_id}", operation_id = "updateTrustZone", tag = "environment",
    request_body = TrustZoneFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("zone_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed trust zone", body = TrustZone, headers(("ETag" = String, description = "Its new version")))),
    security(("api_key" = [])))]
pub async fn update_trust_zone(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, TrustZoneId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            trust_zones::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(patch::apply(&cur.fields, doc)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a trust zone. Assets and parties in it are left in no zone.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/trust-zones/{zone_id}", operation_id = "deleteTrustZone", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("zone_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_trust_zone(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, TrustZoneId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    state
        .db(move |c| trust_zones::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create a party.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/parties", operation_id = "createParty", tag = "environment",
    request_body = PartyFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The party was created", body = Party,
        headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_party(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<PartyFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| parties::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/parties/{}", created.id),
            &created,
        )
    })
    .await
}

list_type!(PartyList, Party);

/// List the model's parties, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/parties", operation_id = "listParties", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), PartyParams),
    responses((status = 200, description = "A page of parties", body = PartyList)),
    security(("api_key" = [])))]
pub async fn list_parties(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<PartyParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = PartyFilter {
        kind: q.kind,
        trust_level: q.trust_level,
        trust_zone_id: q.trust_zone_id,
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| parties::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(PartyList::from(list)))
}

/// Get a party.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/parties/{party_id}", operation_id = "getParty", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("party_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The party", body = Party, headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_party(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, PartyId) = (path_id(&path.0)?, path_id(&path.1)?);
    let org = auth.org.id;
    let found = state.db(move |c| parties::get(c, org, model, id)).await?;
    Ok(versioned(&found))
}

/// Change a party (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/parties/{party_id}", operation_id = "updateParty", tag = "environment",
    request_body = PartyFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("party_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed party", body = Party, headers(("ETag" = String, description = "Its new version")))),
    security(("api_key" = [])))]
pub async fn update_party(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, PartyId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            parties::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(patch::apply(&cur.fields, doc)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a party. Refused (409, naming them) while interactions use it, unless `cascade=true` deletes them too.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/parties/{party_id}", operation_id = "deleteParty", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("party_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412"), DeleteParams),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_party(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    query: StrictQuery<DeleteParams>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, PartyId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    state
        .db(move |c| {
            parties::delete(
                c,
                &actor,
                model,
                id,
                if_match.0,
                query.0.cascade.unwrap_or(false),
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create a interaction.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/interactions", operation_id = "createInteraction", tag = "environment",
    request_body = InteractionFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The interaction was created", body = Interaction,
        headers(("Location" = String, description = "Its URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_interaction(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<InteractionFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let created = state
            .db(move |c| interactions::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/interactions/{}", created.id),
            &created,
        )
    })
    .await
}

list_type!(InteractionList, Interaction);

/// List the model's interactions, oldest first.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/interactions", operation_id = "listInteractions", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), InteractionParams),
    responses((status = 200, description = "A page of interactions", body = InteractionList)),
    security(("api_key" = [])))]
pub async fn list_interactions(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<InteractionParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = InteractionFilter {
        crosses_trust_boundary: q.crosses_trust_boundary,
        authenticated: q.authenticated,
        encrypted: q.encrypted,
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| interactions::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(InteractionList::from(list)))
}

/// Get a interaction.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/interactions/{interaction_id}", operation_id = "getInteraction", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("interaction_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 200, description = "The interaction", body = Interaction, headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_interaction(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, InteractionId) = (path_id(&path.0)?, path_id(&path.1)?);
    let org = auth.org.id;
    let found = state
        .db(move |c| interactions::get(c, org, model, id))
        .await?;
    Ok(versioned(&found))
}

/// Change a interaction (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/interactions/{interaction_id}", operation_id = "updateInteraction", tag = "environment",
    request_body = InteractionFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("interaction_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed interaction", body = Interaction, headers(("ETag" = String, description = "Its new version")))),
    security(("api_key" = [])))]
pub async fn update_interaction(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, InteractionId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            interactions::update(c, &actor, model, id, if_match.0, |cur| {
                Ok(patch::apply(&cur.fields, doc)?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a interaction.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/interactions/{interaction_id}", operation_id = "deleteInteraction", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("interaction_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_interaction(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id): (ModelId, InteractionId) = (path_id(&path.0)?, path_id(&path.1)?);
    let actor = auth.actor();
    state
        .db(move |c| interactions::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The environment: parties by kind and trust level, third parties and what
/// they reach, the flows that cross a trust boundary, and the failed checks.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/environment", operation_id = "getEnvironment", tag = "environment",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 200, description = "The environment summary", body = EnvironmentSummary)),
    security(("api_key" = [])))]
pub async fn get_environment(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let org = auth.org.id;
    let (assets, zones, parties, interactions) = state
        .db(move |c| {
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            Ok((
                assets::all_in_model(c, scope)?,
                trust_zones::all_in_model(c, scope)?,
                parties::all_in_model(c, scope)?,
                interactions::all_in_model(c, scope)?,
            ))
        })
        .await?;
    let facts = EnvironmentFacts {
        assets: &assets,
        zones: &zones,
        parties: &parties,
        interactions: &interactions,
        today: chrono::Utc::now().date_naive(),
    };
    Ok(HttpResponse::Ok().json(environment::summarize(&facts)))
}
