//! Step 4 — the ranked risk register, recomputation jobs, and job status.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use palisade_domain::ids::{JobId, ModelId};
use palisade_domain::job::Job;
use palisade_domain::risk::RiskRow;
use palisade_domain::severity::Severity;
use palisade_store::{jobs, risks, threats};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::state::AppState;

use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/models/{model_id}/risks").route(web::get().to(get_risks)))
        .service(
            resource("/api/v1/models/{model_id}/risk-recomputations")
                .route(web::post().to(recompute_risks)),
        )
        .service(resource("/api/v1/models/{model_id}/gaps").route(web::get().to(get_gaps)))
        .service(resource("/api/v1/jobs/{job_id}").route(web::get().to(get_job)));
}

#[derive(Serialize, ToSchema)]
pub struct RiskRegister {
    /// Ranked by residual score, then inherent score, then title.
    pub items: Vec<RiskRow>,
    /// True when records changed after the last computation; a fresh one is queued.
    pub stale: bool,
    pub computed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RiskParams {
    /// Only rows whose residual severity is this.
    pub severity: Option<Severity>,
    /// Only threats that affect this asset.
    pub asset_id: Option<uuid::Uuid>,
    /// Only threats with this threat actor.
    pub actor_id: Option<uuid::Uuid>,
}

/// The ranked risk register, as last computed, with how fresh it is.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/risks", operation_id = "getRiskRegister", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), RiskParams),
    responses((status = 200, description = "The register", body = RiskRegister)),
    security(("api_key" = [])))]
pub async fn get_risks(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<RiskParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let org = auth.org.id;
    let q = query.0;
    let needs_links = q.asset_id.is_some() || q.actor_id.is_some();
    let (register, threats) = state
        .db(move |c| {
            let register = risks::read(c, org, model)?;
            let threats = if needs_links {
                let scope = palisade_store::models::ensure_visible(c, org, model)?;
                threats::all_in_model(c, scope)?
            } else {
                Vec::new()
            };
            Ok((register, threats))
        })
        .await?;
    let allowed: Option<std::collections::HashSet<String>> = needs_links.then(|| {
        threats
            .iter()
            .filter(|t| {
                q.asset_id
                    .is_none_or(|a| t.fields.asset_ids.iter().any(|x| x.0 == a))
            })
            .filter(|t| {
                q.actor_id
                    .is_none_or(|a| t.fields.actor_ids.iter().any(|x| x.0 == a))
            })
            .map(|t| t.id.to_string())
            .collect()
    });
    let items = register
        .rows
        .into_iter()
        .filter(|r| q.severity.is_none_or(|s| r.residual_severity == s))
        .filter(|r| {
            allowed
                .as_ref()
                .is_none_or(|a| a.contains(&r.threat_id.to_string()))
        })
        .collect();
    Ok(HttpResponse::Ok().json(RiskRegister {
        items,
        stale: register.stale,
        computed_at: register.computed_at,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct JobAccepted {
    #[schema(value_type = uuid::Uuid)]
    pub job_id: JobId,
    pub status: palisade_domain::job::JobStatus,
}

/// Queue a recomputation of the model's risk register.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/risk-recomputations", operation_id = "recomputeRisks", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 202, description = "The job is queued (or an already queued one will do)", body = JobAccepted,
        headers(("Location" = String, description = "The job's URL")))),
    security(("api_key" = [])))]
pub async fn recompute_risks(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let actor = auth.actor();
    let job = state
        .db(move |c| {
            palisade_store::db::write_tx(c, |c| {
                palisade_store::models::ensure_visible(c, actor.org_id, model)?;
                jobs::enqueue_recompute(c, &actor, model)
            })
        })
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/api/v1/jobs/{}", job.id)))
        .json(JobAccepted {
            job_id: job.id,
            status: job.status,
        }))
}

/// A job's status, attempts, and result or error.
#[utoipa::path(get, path = "/api/v1/jobs/{job_id}", operation_id = "getJob", tag = "analysis",
    params(("job_id" = uuid::Uuid, Path, description = "The job's id")),
    responses((status = 200, description = "The job", body = Job)),
    security(("api_key" = [])))]
pub async fn get_job(
    state: web::Data<AppState>,
    auth: Auth,
    job_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: JobId = path_id(&job_id)?;
    let org = auth.org.id;
    let job = state.db(move |c| jobs::get(c, org, id)).await?;
    Ok(HttpResponse::Ok().json(job))
}

#[derive(Serialize, ToSchema)]
pub struct GapList {
    pub items: Vec<palisade_domain::gaps::Gap>,
    /// True when the register the gaps read is being recomputed.
    pub stale: bool,
}

/// The model's gaps: high residual risks without an implemented control,
/// confidential or restricted assets without a control, failed step-3
/// checks, and controls that cover nothing.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/gaps", operation_id = "getGaps", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id")),
    responses((status = 200, description = "The gaps, each with the ids involved", body = GapList)),
    security(("api_key" = [])))]
pub async fn get_gaps(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let w = super::progress::load(&state, &auth, model).await?;
    Ok(HttpResponse::Ok().json(GapList {
        items: w.gaps(),
        stale: w.register.stale,
    }))
}
