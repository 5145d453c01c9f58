//! Step 4 — the ranked risk register, recomputation jobs, and job status.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use palisade_domain::ids::{JobId, ModelId, OrgId};
use palisade_domain::job::Job;
use palisade_domain::risk::{RiskRow, RiskStatus};
use palisade_domain::scoring::Method;
use palisade_domain::severity::Severity;
use palisade_domain::threat::Stride;
use palisade_store::risks::{RiskQuery, RiskSort};
use palisade_store::{jobs, risks, Scoped};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::respond::list_request;
use crate::state::AppState;

use super::path_id;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/{model_id}/risks" => { get: get_risks },
        "/api/v1/risks" => { get: list_portfolio_risks },
        "/api/v1/models/{model_id}/risk-recomputations" => { post: recompute_risks },
        "/api/v1/models/{model_id}/gaps" => { get: get_gaps },
        "/api/v1/jobs/{job_id}" => { get: get_job },
    },
}

#[derive(Serialize, ToSchema)]
pub struct RiskRegister {
    /// A page of rows, in the order asked for (by default the register's
    /// ranking: residual score, then inherent score, then title).
    pub items: Vec<RiskRow>,
    /// Pass as `cursor` for the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
    /// True when records changed after the last computation; a fresh one is queued.
    pub stale: bool,
    pub computed_at: Option<DateTime<Utc>>,
    /// With `count=true`: how many rows the filters select, across pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub total: Option<i64>,
}

/// The organisation's register rows across its models.
#[derive(Serialize, ToSchema)]
pub struct PortfolioRiskList {
    pub items: Vec<RiskRow>,
    /// Pass as `cursor` for the next page; `null` when this is the last.
    pub next_cursor: Option<String>,
    /// With `count=true`: how many rows the filters select, across pages.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub total: Option<i64>,
}

/// How a register page is ordered; `-` sorts descending. Ties go by threat id.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
pub enum RiskSortKey {
    #[serde(rename = "rank")]
    Rank,
    #[serde(rename = "residual_score")]
    ResidualScore,
    #[serde(rename = "-residual_score")]
    ResidualScoreDescending,
    #[serde(rename = "inherent_score")]
    InherentScore,
    #[serde(rename = "-inherent_score")]
    InherentScoreDescending,
    #[serde(rename = "projected_score")]
    ProjectedScore,
    #[serde(rename = "-projected_score")]
    ProjectedScoreDescending,
    #[serde(rename = "title")]
    Title,
    #[serde(rename = "-title")]
    TitleDescending,
}

impl RiskSortKey {
    fn to_store(self) -> RiskSort {
        use RiskSortKey as K;
        match self {
            K::Rank => RiskSort::Rank,
            K::ResidualScore => RiskSort::Residual { descending: false },
            K::ResidualScoreDescending => RiskSort::Residual { descending: true },
            K::InherentScore => RiskSort::Inherent { descending: false },
            K::InherentScoreDescending => RiskSort::Inherent { descending: true },
            K::ProjectedScore => RiskSort::Projected { descending: false },
            K::ProjectedScoreDescending => RiskSort::Projected { descending: true },
            K::Title => RiskSort::Title { descending: false },
            K::TitleDescending => RiskSort::Title { descending: true },
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RiskParams {
    /// Only rows whose residual severity is this.
    pub severity: Option<Severity>,
    /// Only rows whose residual severity is this or worse.
    pub residual_severity_at_least: Option<Severity>,
    /// Only threats that affect this asset.
    pub asset_id: Option<uuid::Uuid>,
    /// Only threats with this threat actor.
    pub actor_id: Option<uuid::Uuid>,
    pub stride: Option<Stride>,
    pub method: Option<Method>,
    /// Only rows with this status (`open` until step 5's treatments settle a risk).
    pub status: Option<RiskStatus>,
    /// `rank` (default for one model: residual, then inherent score, both
    /// descending, then title; across models the same one ranking), `residual_score`, `-residual_score` (default across
    /// models), `inherent_score`, `projected_score`, `title`, each also with `-`.
    pub sort: Option<RiskSortKey>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `true` adds `total`: how many rows the filters select.
    pub count: Option<bool>,
}

impl RiskParams {
    /// The page and whether to count.
    pub fn page(&self) -> Result<palisade_store::PageRequest, ApiError> {
        list_request(self.limit, self.cursor.as_deref(), None, self.count)
    }

    pub fn query(&self, org: OrgId, model: Option<Scoped>) -> RiskQuery {
        RiskQuery {
            model,
            org,
            severity: self.severity,
            at_least: self.residual_severity_at_least,
            asset_id: self.asset_id.map(|a| a.to_string()),
            actor_id: self.actor_id.map(|a| a.to_string()),
            stride: self.stride,
            method: self.method,
            status: self.status,
            sort: self.sort.map_or(
                if model.is_some() {
                    RiskSort::Rank
                } else {
                    RiskSort::Residual { descending: true }
                },
                RiskSortKey::to_store,
            ),
        }
    }
}

/// The ranked risk register as last computed, a page at a time, with how fresh it is.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/risks", operation_id = "getRiskRegister", tag = "analysis",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), RiskParams),
    responses((status = 200, description = "A page of the register", body = RiskRegister)),
    security(("api_key" = [])))]
pub async fn get_risks(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<RiskParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let org = auth.org.id;
    let params = query.0;
    let page = list_request(params.limit, params.cursor.as_deref(), None, params.count)?;
    let (rows, (stale, computed_at)) = state
        .db(move |c| {
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            // Freshness before rows: a computation stored in between makes
            // the page newer than it says, never older.
            let freshness = risks::freshness(c, scope)?;
            Ok((
                risks::page(c, &params.query(org, Some(scope)), &page)?,
                freshness,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(RiskRegister {
        next_cursor: rows.next_after,
        total: rows.total,
        items: rows.items,
        stale,
        computed_at,
    }))
}

/// The organisation's risks over all its models (portfolio view), each row
/// naming its model; by default the highest residual scores first.
#[utoipa::path(get, path = "/api/v1/risks", operation_id = "listPortfolioRisks", tag = "analysis",
    params(RiskParams),
    responses((status = 200, description = "A page of register rows across models", body = PortfolioRiskList)),
    security(("api_key" = [])))]
pub async fn list_portfolio_risks(
    state: web::Data<AppState>,
    auth: Auth,
    query: StrictQuery<RiskParams>,
) -> Result<HttpResponse, ApiError> {
    let org = auth.org.id;
    let params = query.0;
    let page = list_request(params.limit, params.cursor.as_deref(), None, params.count)?;
    let rows = state
        .db(move |c| risks::page(c, &params.query(org, None), &page))
        .await?;
    Ok(HttpResponse::Ok().json(PortfolioRiskList {
        next_cursor: rows.next_after,
        total: rows.total,
        items: rows.items,
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
                jobs::enqueue_recompute(c, &actor, model, &palisade_store::reach::Affected::All)
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
    let records = super::progress::load(&state, &auth, model).await?;
    let (_, items) = records.assess(chrono::Utc::now().date_naive());
    Ok(HttpResponse::Ok().json(GapList {
        items,
        stale: records.register.stale,
    }))
}
