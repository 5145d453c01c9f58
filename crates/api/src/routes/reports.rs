//! Evaluation reports: asked for here, rendered by the worker, then
//! served as they were rendered.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::ReportId;
use palisade_domain::report::view::ReportView;
use palisade_domain::report::{Report, ReportFormat, ReportInput, ReportStatus};
use palisade_store::reports::{self, ReportFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, JsonBody, StrictQuery};
use crate::resource::path_param;
use crate::respond::{create_once, list_params, list_type, Created};
use crate::state::AppState;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/{model_id}/reports" => { post: create_report, get: list_reports },
        "/api/v1/models/{model_id}/reports/{report_id}" => { get: get_report },
        "/api/v1/models/{model_id}/reports/{report_id}/content" => { get: get_report_content },
    },
}

/// Ask for an evaluation report of the model (or of one of its versions):
/// the worker renders it; follow `Location` (or the job) until it has
/// succeeded, then fetch its content.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/reports", operation_id = "createReport", tag = "evaluation",
    request_body = ReportInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first response")),
    responses((status = 202, description = "The report is queued", body = Report,
        headers(("Location" = String, description = "The report's URL")))),
    security(("api_key" = [])))]
pub async fn create_report(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    idempotency_key: IdempotencyKey,
    body: JsonBody<ReportInput>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let input = body.value;
    input.validate()?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let report = state
            .db(move |c| reports::create(c, &actor, model, &input))
            .await?;
        let url = format!("/api/v1/models/{model}/reports/{}", report.id);
        Created::accepted(url, &report)
    })
    .await
}

list_params!(ReportParams sorted by ReportSort { "created_at" } {
    /// Only reports of this version.
    version_id: Option<uuid::Uuid>,
});

list_type!(ReportList, Report);

/// List the model's reports (oldest first unless sorted).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/reports", operation_id = "listReports", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ReportParams),
    responses((status = 200, description = "A page of reports", body = ReportList)),
    security(("api_key" = [])))]
pub async fn list_reports(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<ReportParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let page = query.0.page()?;
    let filter = ReportFilter {
        version_id: query.0.version_id.map(|v| v.to_string()),
    };
    let org = auth.org.id;
    let list = state
        .db(move |c| reports::list(c, org, model, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(ReportList::from(list)))
}

/// Get a report: its status, the version it describes and its files' sizes.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/reports/{report_id}", operation_id = "getReport", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("report_id" = uuid::Uuid, Path, description = "The report's id")),
    responses((status = 200, description = "The report", body = Report)),
    security(("api_key" = [])))]
pub async fn get_report(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let id: ReportId = path_param(&req, "report_id")?;
    let org = auth.org.id;
    let report = state.db(move |c| reports::get(c, org, model, id)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContentParams {
    /// Which file (default `html`); it must be one the report was asked in.
    pub format: Option<ReportFormat>,
    /// `true` to have browsers save it (`Content-Disposition: attachment`).
    pub download: Option<bool>,
}

/// Get a rendered report file with its content type. The HTML is one
/// self-contained page (no script, no external fetch); the JSON follows
/// the `ReportView` schema.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/reports/{report_id}/content", operation_id = "getReportContent", tag = "evaluation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("report_id" = uuid::Uuid, Path, description = "The report's id"),
           ContentParams),
    responses((status = 200, description = "The file",
        content((String = "text/html"), (String = "text/markdown"), (ReportView = "application/json")),
        headers(("Content-Disposition" = String, description = "inline, or attachment with `download=true`; with a file name"))),
        (status = 409, description = "The report has not been rendered yet (or failed)",
            body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn get_report_content(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<ContentParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let id: ReportId = path_param(&req, "report_id")?;
    let format = query.0.format.unwrap_or(ReportFormat::Html);
    let download = query.0.download.unwrap_or(false);
    let org = auth.org.id;
    let report = state.db(move |c| reports::get(c, org, model, id)).await?;
    if !report.formats.contains(&format) {
        return Err(ApiError::field(
            "format",
            format!(
                "this report was asked for in {}, not {format}",
                report
                    .formats
                    .iter()
                    .map(|f| f.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    if report.status != ReportStatus::Succeeded {
        return Err(ApiError::Conflict(format!(
            "the report is {}{}; its content exists once it has succeeded",
            report.status,
            report
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )));
    }
    let (_, content) = state
        .db(move |c| reports::content(c, org, model, id, format))
        .await?;
    let disposition = if download { "attachment" } else { "inline" };
    let mut response = HttpResponse::Ok();
    response
        .content_type(format.media_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "{disposition}; filename=\"palisade-report-{id}.{}\"",
                format.extension()
            ),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if format == ReportFormat::Html {
        // The page needs nothing but its own inline styles and SVG.
        response.insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        ));
    }
    Ok(response.body(content))
}
