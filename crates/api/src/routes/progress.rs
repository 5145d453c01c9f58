//! The six steps' completeness, computed from the model's records.

use actix_web::{web, HttpResponse};
use palisade_domain::progress::{self, ModelFacts, Progress};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;

use palisade_domain::environment::{self, EnvironmentFacts};
use palisade_domain::ids::ModelId;
use palisade_store::{assets, attack_trees, interactions, parties, threat_actors, trust_zones};

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
    let (assets, actor_count, tree_count, targets, (zones, parties, interactions)) = state
        .db(move |c| {
            let assets = assets::all_in_model(c, org, model)?;
            let actors = threat_actors::count_in_model(c, model)?;
            let trees = attack_trees::count_in_model(c, model)?;
            let targets = attack_trees::targets_in_model(c, model)?;
            let environment = (
                trust_zones::all_in_model(c, model)?,
                parties::all_in_model(c, model)?,
                interactions::all_in_model(c, model)?,
            );
            Ok((assets, actors, trees, targets, environment))
        })
        .await?;
    let environment_checks = environment::checks(&EnvironmentFacts {
        assets: &assets,
        zones: &zones,
        parties: &parties,
        interactions: &interactions,
        today: chrono::Utc::now().date_naive(),
    });
    let facts = ModelFacts {
        assets: &assets,
        actor_count: usize::try_from(actor_count).unwrap_or(0),
        tree_count: usize::try_from(tree_count).unwrap_or(0),
        tree_targets: targets.iter().filter_map(|t| t.parse().ok()).collect(),
        environment_records: zones.len() + parties.len() + interactions.len(),
        environment_checks,
    };
    Ok(HttpResponse::Ok().json(progress::progress(&facts)))
}
