//! The six steps' completeness, computed from the model's records.

use actix_web::{web, HttpResponse};
use palisade_domain::document::Records;
use palisade_domain::ids::ModelId;
use palisade_domain::progress::Progress;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

use super::path_id;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/{model_id}/progress" => { get: get_progress },
    },
}

/// Where the model stands in each of the six steps, with every check.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/progress", operation_id = "getProgress", tag = "models",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 200, description = "The six steps and their checks", body = Progress)),
    security(("api_key" = [])))]
pub async fn get_progress(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let records = load(&state, &auth, model).await?;
    let (progress, _) = records.assess(chrono::Utc::now().date_naive());
    Ok(HttpResponse::Ok().json(progress))
}

/// Every record the model's checks and gaps read, in one consistent view.
pub(crate) async fn load(
    state: &AppState,
    auth: &Auth,
    model: ModelId,
) -> Result<Records, ApiError> {
    let org = auth.org.id;
    state
        .db(move |c| palisade_store::snapshot::records(c, org, model))
        .await
}
