//! Step 1 — scope: the asset inventory and its summary.

use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::asset::{Asset, AssetFields, AssetKind, Cia, Classification};
use palisade_domain::ids::{AssetId, ModelId, TrustZoneId};
use palisade_domain::scope::{self, ScopeSummary};
use palisade_store::assets::{self, AssetFilter};
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
        resource("/api/v1/models/{model_id}/assets")
            .route(web::post().to(create_asset))
            .route(web::get().to(list_assets)),
    )
    .service(
        resource("/api/v1/models/{model_id}/assets/{asset_id}")
            .route(web::get().to(get_asset))
            .route(web::patch().to(update_asset))
            .route(web::delete().to(delete_asset)),
    )
    .service(resource("/api/v1/models/{model_id}/scope").route(web::get().to(get_scope)));
}

fn ids(path: &(String, String)) -> Result<(ModelId, AssetId), ApiError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}

/// Add an asset to the model's inventory.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/assets", operation_id = "createAsset", tag = "scope",
    request_body = AssetFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The asset was created", body = Asset,
        headers(("Location" = String, description = "The asset's URL"), ("ETag" = String, description = "The asset's version")))),
    security(("api_key" = [])))]
pub async fn create_asset(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<AssetFields>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    body.value.validate()?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let asset = state
            .db(move |c| assets::create(c, &actor, model, fields))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/assets/{}", asset.id),
            &asset,
        )
    })
    .await
}

/// A classification, or `unclassified` for assets with none.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClassificationFilter {
    Public,
    Internal,
    Confidential,
    Restricted,
    Unclassified,
}

impl ClassificationFilter {
    fn to_store(self) -> Option<Classification> {
        match self {
            ClassificationFilter::Public => Some(Classification::Public),
            ClassificationFilter::Internal => Some(Classification::Internal),
            ClassificationFilter::Confidential => Some(Classification::Confidential),
            ClassificationFilter::Restricted => Some(Classification::Restricted),
            ClassificationFilter::Unclassified => None,
        }
    }
}

sort_keys!(AssetSort { "name", "kind", "in_scope", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AssetParams {
    pub kind: Option<AssetKind>,
    pub classification: Option<ClassificationFilter>,
    pub in_scope: Option<bool>,
    /// Only assets with exactly this owner.
    pub owner: Option<String>,
    /// Only the assets directly inside this one.
    #[param(value_type = Option<uuid::Uuid>)]
    pub parent_id: Option<AssetId>,
    #[param(value_type = Option<uuid::Uuid>)]
    pub trust_zone_id: Option<TrustZoneId>,
    /// Only assets carrying this tag.
    pub tag: Option<String>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<AssetSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(AssetList, Asset);

/// List the model's assets, oldest first, filtered by field.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/assets", operation_id = "listAssets", tag = "scope",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), AssetParams),
    responses((status = 200, description = "A page of assets", body = AssetList)),
    security(("api_key" = [])))]
pub async fn list_assets(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<AssetParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let filter = AssetFilter {
        kind: q.kind,
        classification: q.classification.map(ClassificationFilter::to_store),
        in_scope: q.in_scope,
        owner: q.owner,
        parent_id: q.parent_id,
        trust_zone_id: q.trust_zone_id,
        tag: q.tag,
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| assets::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(AssetList::from(list)))
}

/// Get an asset.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/assets/{asset_id}", operation_id = "getAsset", tag = "scope",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("asset_id" = uuid::Uuid, Path, description = "The asset's id")),
    responses((status = 200, description = "The asset", body = Asset,
        headers(("ETag" = String, description = "The asset's version")))),
    security(("api_key" = [])))]
pub async fn get_asset(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let org = auth.org.id;
    let asset = state.db(move |c| assets::get(c, org, model, id)).await?;
    Ok(versioned(&asset))
}

/// The writable fields of an asset, all optional: a JSON merge patch.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AssetPatch {
    name: Option<String>,
    kind: Option<AssetKind>,
    description: Option<String>,
    owner: Option<String>,
    classification: Option<Classification>,
    cia: Option<Cia>,
    #[schema(minimum = 1, maximum = 5)]
    business_criticality: Option<u8>,
    in_scope: Option<bool>,
    #[schema(value_type = Option<uuid::Uuid>)]
    parent_id: Option<AssetId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    trust_zone_id: Option<TrustZoneId>,
    tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    metadata: Option<Value>,
}

/// Change an asset (JSON merge patch: absent keeps, `null` clears).
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/assets/{asset_id}", operation_id = "updateAsset", tag = "scope",
    request_body = AssetPatch,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("asset_id" = uuid::Uuid, Path, description = "The asset's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The changed asset", body = Asset,
        headers(("ETag" = String, description = "The asset's new version")))),
    security(("api_key" = [])))]
pub async fn update_asset(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let actor = auth.actor();
    let patch_doc = body.value;
    let asset = state
        .db(move |c| {
            assets::update(c, &actor, model, id, if_match.0, |current| {
                Ok(patch::apply(&current.fields, patch_doc)?)
            })
        })
        .await?;
    Ok(versioned(&asset))
}

/// Delete an asset; refused (409) while other assets sit inside it or attack
/// trees target it, and while interactions use it unless `cascade=true`.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/assets/{asset_id}", operation_id = "deleteAsset", tag = "scope",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("asset_id" = uuid::Uuid, Path, description = "The asset's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412"),
           super::environment::DeleteParams),
    responses((status = 204, description = "The asset is deleted"),
              (status = 409, description = "Other assets sit inside this one", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn delete_asset(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    query: StrictQuery<super::environment::DeleteParams>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = ids(&path)?;
    let actor = auth.actor();
    state
        .db(move |c| {
            assets::delete(
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

/// The scope summary: in-scope assets by kind and classification, and what
/// is still unclassified or unowned.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/scope", operation_id = "getScope", tag = "scope",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 200, description = "The inventory summary", body = ScopeSummary)),
    security(("api_key" = [])))]
pub async fn get_scope(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let all = all_assets(&state, &auth, &model_id).await?;
    Ok(HttpResponse::Ok().json(scope::summarize(&all)))
}

/// Every asset of the model in the path, for summaries and checks.
pub(crate) async fn all_assets(
    state: &AppState,
    auth: &Auth,
    model_id: &str,
) -> Result<Vec<Asset>, ApiError> {
    let model: ModelId = path_id(model_id)?;
    let org = auth.org.id;
    state
        .db(move |c| {
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            assets::all_in_model(c, scope)
        })
        .await
}
