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
    let w = load(&state, &auth, model).await?;
    let facts = ModelFacts {
        assets: &w.assets,
        actor_count: w.actor_count,
        tree_count: w.tree_count,
        tree_targets: w.tree_targets.clone(),
        threat_targets: w
            .threats
            .iter()
            .flat_map(|t| t.fields.asset_ids.iter().copied())
            .collect(),
        environment_records: w.environment_records,
        environment_checks: w.environment_checks.clone(),
        threat_count: w.threats.len(),
        control_count: w.controls.len(),
        register_stale: w.register.stale,
        gaps: w.gaps(),
        register: &w.register.rows,
        treatments: &w.treatments,
        risk_appetite: Some(w.risk_appetite),
    };
    Ok(HttpResponse::Ok().json(progress::progress(&facts)))
}

/// Everything the model's checks and gaps read, loaded in one go.
pub(crate) struct Workspace {
    pub assets: Vec<palisade_domain::asset::Asset>,
    pub actor_count: usize,
    pub tree_count: usize,
    pub tree_targets: std::collections::HashSet<palisade_domain::ids::AssetId>,
    pub environment_records: usize,
    pub environment_checks: Vec<palisade_domain::progress::Check>,
    pub threats: Vec<palisade_domain::threat::Threat>,
    pub controls: Vec<palisade_domain::threat::Control>,
    pub register: palisade_store::risks::Register,
    pub treatments: Vec<palisade_domain::treatment::Treatment>,
    pub risk_appetite: palisade_domain::severity::Severity,
}

impl Workspace {
    pub fn gaps(&self) -> Vec<palisade_domain::gaps::Gap> {
        palisade_domain::gaps::gaps(&palisade_domain::gaps::GapFacts {
            register: &self.register.rows,
            threats: &self.threats,
            controls: &self.controls,
            assets: &self.assets,
            environment_checks: &self.environment_checks,
            treatments: &self.treatments,
        })
    }
}

pub(crate) async fn load(
    state: &AppState,
    auth: &Auth,
    model: ModelId,
) -> Result<Workspace, ApiError> {
    let org = auth.org.id;
    let (
        (assets, actors, trees, targets, zones, parties, interactions, threats, controls, register),
        (treatments, risk_appetite),
    ) = state
        .db(move |c| {
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            let step5 = (
                palisade_store::treatments::current_in_model(c, scope, None)?,
                palisade_store::models::get(c, org, model)?
                    .fields
                    .risk_appetite,
            );
            Ok((
                (
                    assets::all_in_model(c, scope)?,
                    threat_actors::count_in_model(c, scope)?,
                    attack_trees::count_in_model(c, scope)?,
                    attack_trees::targets_in_model(c, scope)?,
                    trust_zones::all_in_model(c, scope)?,
                    parties::all_in_model(c, scope)?,
                    interactions::all_in_model(c, scope)?,
                    palisade_store::threats::all_in_model(c, scope)?,
                    palisade_store::controls::all_in_model(c, scope)?,
                    palisade_store::risks::read(c, org, model)?,
                ),
                step5,
            ))
        })
        .await?;
    let environment_checks = environment::checks(&EnvironmentFacts {
        assets: &assets,
        zones: &zones,
        parties: &parties,
        interactions: &interactions,
        today: chrono::Utc::now().date_naive(),
    });
    Ok(Workspace {
        actor_count: usize::try_from(actors).unwrap_or(0),
        tree_count: usize::try_from(trees).unwrap_or(0),
        tree_targets: targets.iter().filter_map(|t| t.parse().ok()).collect(),
        environment_records: zones.len() + parties.len() + interactions.len(),
        environment_checks,
        assets,
        threats,
        controls,
        register,
        treatments,
        risk_appetite,
    })
}
