//! The six steps' completeness, computed from the model's records.

use actix_web::{web, HttpResponse};
use palisade_domain::progress::{self, ModelFacts, Progress};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

use super::resource;

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
    let all = super::assets::all_assets(&state, &auth, &model_id).await?;
    Ok(HttpResponse::Ok().json(progress::progress(&ModelFacts { assets: &all })))
}
