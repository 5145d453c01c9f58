//! The six steps' completeness, computed from the model's records.

use actix_web::{web, HttpResponse};
use palisade_domain::ids::ModelId;
use palisade_domain::progress::{self, ModelFacts, Progress};
use palisade_store::assets;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/models/{model_id}/progress").route(web::get().to(get_progress)));
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
    let org = auth.org.id;
    let all = state
        .db(move |c| assets::all_in_model(c, org, model))
        .await?;
    Ok(HttpResponse::Ok().json(progress::progress(&ModelFacts { assets: &all })))
}
