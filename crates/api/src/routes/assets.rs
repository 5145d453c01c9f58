//! Step 1 — scope: the asset inventory and its summary.

use actix_web::{web, HttpResponse};
use palisade_domain::asset::{Asset, AssetFields, AssetKind, Cia, Classification};
use palisade_domain::ids::{AssetId, ModelId, TrustZoneId};
use palisade_domain::scope::{self, ScopeSummary};
use palisade_store::assets::AssetFilter;
use palisade_store::ModelReads as _;
use palisade_store::PageRequest;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::resource::{resource, store_calls, CascadeParams, Resource};
use crate::respond::{list_params, list_type};
use crate::state::AppState;

use super::path_id;

pub struct Assets;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
        "/api/v1/models/{model_id}/scope" => { get: get_scope },
    },
}

resource!(in_model
    Assets,
    routes: routes,
    doc: ResourceDoc,
    tag: "scope",
    collection: "/api/v1/models/{model_id}/assets",
    item: "/api/v1/models/{model_id}/assets/{asset_id}",
    id: "asset_id",
    input: AssetFields,
    patch: AssetPatch,
    record: Asset,
    list: AssetList,
    params: AssetParams,
    delete_params: CascadeParams,
    create: (create_asset, "createAsset", "Add an asset to the model's inventory."),
    list_all: (list_assets, "listAssets", "List the model's assets (by id unless sorted), filtered by field."),
    get: (get_asset, "getAsset", "Get an asset."),
    update: (patch, update_asset, "updateAsset", "Change an asset (JSON merge patch: absent keeps, `null` clears)."),
    delete: (delete_asset, "deleteAsset", "Delete an asset; refused (409) while other assets sit inside it or attack trees target it, and while interactions use it unless `cascade=true`."),
);

impl Resource for Assets {
    type Record = Asset;
    type Id = AssetId;
    type Input = AssetFields;
    type Fields = AssetFields;
    type Params = AssetParams;
    type Filter = AssetFilter;
    type List = AssetList;
    const SEGMENT: &'static str = "assets";

    fn fields(input: AssetFields) -> Result<AssetFields, ApiError> {
        input.validate()?;
        Ok(input)
    }

    fn query(q: AssetParams) -> Result<(PageRequest, AssetFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            AssetFilter {
                kind: q.kind,
                classification: q.classification.map(ClassificationFilter::to_store),
                in_scope: q.in_scope,
                owner: q.owner,
                parent_id: q.parent_id,
                trust_zone_id: q.trust_zone_id,
                tag: q.tag,
            },
        ))
    }

    fn id_of(record: &Asset) -> AssetId {
        record.id
    }

    store_calls!(@crud palisade_store::assets);
    store_calls!(@delete palisade_store::assets, cascade);
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

list_params!(AssetParams sorted by AssetSort { "name", "kind", "in_scope", "created_at", "updated_at" } {
    kind: Option<AssetKind>,
    classification: Option<ClassificationFilter>,
    in_scope: Option<bool>,
    /// Only assets with exactly this owner.
    owner: Option<String>,
    /// Only the assets directly inside this one.
    #[param(value_type = Option<uuid::Uuid>)]
    parent_id: Option<AssetId>,
    #[param(value_type = Option<uuid::Uuid>)]
    trust_zone_id: Option<TrustZoneId>,
    /// Only assets carrying this tag.
    tag: Option<String>,
});

list_type!(AssetList, Asset);

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
            Asset::all_in_model(c, scope)
        })
        .await
}
