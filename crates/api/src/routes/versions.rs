//! Versions — immutable snapshots of a model — and the diff between two of
//! them or between one and the model as it is now.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use palisade_domain::asset::Asset;
use palisade_domain::diff::ModelDiff;
use palisade_domain::document::DocumentRegister;
use palisade_domain::environment::{Interaction, Party, TrustZone};
use palisade_domain::evaluation::EvaluationEntry;
use palisade_domain::gaps::Gap;
use palisade_domain::ids::VersionId;
use palisade_domain::model::Model;
use palisade_domain::progress::Progress;
use palisade_domain::threat::{Control, Threat};
use palisade_domain::threat_actor::ThreatActor;
use palisade_domain::tree::AttackTree;
use palisade_domain::version::{VersionInput, VersionSummary};
use palisade_store::versions;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, StrictQuery};
use crate::resource::path_param;
use crate::respond::{create_once, list_params, list_type, Created};
use crate::routes::treatments::TreatmentDoc;
use crate::state::AppState;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/{model_id}/versions" => { post: create_version, get: list_versions },
        "/api/v1/models/{model_id}/versions/{version_id}" => { get: get_version },
        "/api/v1/models/{model_id}/diff" => { get: diff_model },
    },
}

/// Snapshot the whole model — every record of the six steps, the register
/// and the progress — as an immutable version.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/versions", operation_id = "createVersion", tag = "evaluation",
    request_body = VersionInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first response")),
    responses((status = 201, description = "The version (its document is at its URL)", body = VersionSummary,
        headers(("Location" = String, description = "The version's URL")))),
    security(("api_key" = [])))]
pub async fn create_version(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    idempotency_key: IdempotencyKey,
    body: JsonBody<VersionInput>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let input = body.value;
    input.validate()?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let version = state
            .db(move |c| versions::create(c, &actor, model, &input.label))
            .await?;
        let url = format!("/api/v1/models/{model}/versions/{}", version.id);
        Created::new(url, None, &version)
    })
    .await
}

list_params!(VersionParams sorted by VersionSort { "number", "label", "created_at" } {});

list_type!(VersionList, VersionSummary);

/// List the model's versions (oldest first unless sorted), without their documents.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/versions", operation_id = "listVersions", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), VersionParams),
    responses((status = 200, description = "A page of versions", body = VersionList)),
    security(("api_key" = [])))]
pub async fn list_versions(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<VersionParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let page = query.0.page()?;
    let org = auth.org.id;
    let list = state
        .db(move |c| versions::list(c, org, model, &page))
        .await?;
    Ok(HttpResponse::Ok().json(VersionList::from(list)))
}

/// Get a version with its document, exactly as it was taken.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/versions/{version_id}", operation_id = "getVersion", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("version_id" = uuid::Uuid, Path, description = "The version's id")),
    responses((status = 200, description = "The version and its document", body = VersionDoc)),
    security(("api_key" = [])))]
pub async fn get_version(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let id: VersionId = path_param(&req, "version_id")?;
    let org = auth.org.id;
    let version = state.db(move |c| versions::get(c, org, model, id)).await?;
    Ok(HttpResponse::Ok().json(version))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiffParams {
    /// The version to compare from (required).
    #[param(required = true, value_type = String, format = Uuid)]
    pub from: Option<String>,
    /// A version id, or `current` (the default) for the model as it is now.
    #[param(value_type = Option<String>, pattern = r"^(current|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")]
    pub to: Option<String>,
}

/// A version named in a query parameter; checked once the model is known
/// to be the caller's, so another organisation learns nothing from it.
fn version_param(field: &str, value: Option<&str>) -> Result<Option<VersionId>, ApiError> {
    match value {
        None | Some("current") if field == "to" => Ok(None),
        None => Err(ApiError::field(field, "is required: a version id")),
        Some(v) => uuid::Uuid::try_parse(v)
            .ok()
            .filter(|_| v.len() == 36)
            .map(|u| Some(VersionId(u)))
            .ok_or_else(|| {
                ApiError::field(
                    field,
                    if field == "to" {
                        "must be a version id or `current`"
                    } else {
                        "must be a version id"
                    },
                )
            }),
    }
}

/// A diff and what it compares.
#[derive(Serialize, ToSchema)]
pub struct DiffResponse {
    pub from: VersionSummary,
    /// `null` when compared with the model as it is now.
    pub to: Option<VersionSummary>,
    /// When the comparison was made.
    pub compared_at: DateTime<Utc>,
    #[serde(flatten)]
    pub diff: ModelDiff,
}

/// Compare a version with a later one or with the model now: per resource
/// the records added, removed and changed (field by field), and the
/// threats whose residual severity went up or down.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/diff", operation_id = "diffModel", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), DiffParams),
    responses((status = 200, description = "What changed", body = DiffResponse)),
    security(("api_key" = [])))]
pub async fn diff_model(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<DiffParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let DiffParams { from, to } = query.0;
    let org = auth.org.id;
    state
        .db(move |c| palisade_store::models::ensure_visible(c, org, model))
        .await?;
    let from = version_param("from", from.as_deref())?.ok_or(ApiError::NotFound)?;
    let to = version_param("to", to.as_deref())?;
    let response = state
        .db(move |c| {
            let missing = |field: &'static str, id: VersionId| {
                move |e: palisade_store::StoreError| match e {
                    palisade_store::StoreError::NotFound => {
                        palisade_domain::ValidationErrors::single(
                            field,
                            format!("no version {id} of this model"),
                        )
                        .into()
                    }
                    other => other,
                }
            };
            let from_summary =
                versions::summary(c, org, model, from).map_err(missing("from", from))?;
            let before: serde_json::Value =
                serde_json::from_str(&versions::document_text(c, org, model, from)?)?;
            let (to_summary, after) = match to {
                Some(to) => {
                    let summary =
                        versions::summary(c, org, model, to).map_err(missing("to", to))?;
                    let text = versions::document_text(c, org, model, to)?;
                    (Some(summary), serde_json::from_str(&text)?)
                }
                None => (
                    None,
                    serde_json::to_value(palisade_store::snapshot::document(c, org, model)?)?,
                ),
            };
            Ok(DiffResponse {
                from: from_summary,
                to: to_summary,
                compared_at: Utc::now(),
                diff: palisade_domain::diff::diff(&before, &after),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(response))
}

// What follows describes the wire for the document only.

/// A version with its document.
#[derive(ToSchema)]
#[schema(as = Version)]
#[allow(dead_code)]
pub struct VersionDoc {
    id: uuid::Uuid,
    model_id: uuid::Uuid,
    number: i64,
    label: String,
    created_by: String,
    created_at: DateTime<Utc>,
    document_bytes: i64,
    document: ModelDocumentDoc,
}

/// The canonical model document: every record of the six steps, the
/// register and the progress. Lists are in id (creation) order.
#[derive(ToSchema)]
#[schema(as = ModelDocument)]
#[allow(dead_code)]
pub struct ModelDocumentDoc {
    /// `palisade.model/1`.
    format: String,
    generated_at: DateTime<Utc>,
    model: Model,
    assets: Vec<Asset>,
    threat_actors: Vec<ThreatActor>,
    attack_trees: Vec<AttackTree>,
    trust_zones: Vec<TrustZone>,
    parties: Vec<Party>,
    interactions: Vec<Interaction>,
    threats: Vec<Threat>,
    controls: Vec<Control>,
    /// Every decision, current and superseded.
    treatments: Vec<TreatmentDoc>,
    evaluation_entries: Vec<EvaluationEntry>,
    register: DocumentRegister,
    progress: Progress,
    gaps: Vec<Gap>,
}
