//! Step 3 — the environment summary with its checks, and what deleting a
//! record that interactions use takes.

use actix_web::{web, HttpResponse};
use palisade_domain::asset::Asset;
use palisade_domain::environment::Interaction;
use palisade_domain::environment::Party;
use palisade_domain::environment::TrustZone;
use palisade_domain::environment::{self, EnvironmentFacts, EnvironmentSummary};
use palisade_domain::ids::ModelId;
use palisade_store::ModelReads as _;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

use super::path_id;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/{model_id}/environment" => { get: get_environment },
    },
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
                Asset::all_in_model(c, scope)?,
                TrustZone::all_in_model(c, scope)?,
                Party::all_in_model(c, scope)?,
                Interaction::all_in_model(c, scope)?,
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
