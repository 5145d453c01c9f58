//! Interchange: a model imported from another tool's file (OTM, Threat
//! Dragon, Threagile) or from our own document, and exported as OTM or
//! as our own document.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::interchange::{
    self, ExportFormat, ImportError, ImportFormat, ImportReport, Syntax,
};
use palisade_domain::model::Model;
use palisade_store::{import, snapshot};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{read_limited, IdempotencyKey, StrictQuery};
use crate::resource::path_param;
use crate::respond::{create_once, Created};
use crate::state::AppState;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/models/import" => { post: import_model },
        "/api/v1/models/{model_id}/export" => { get: export_model },
    },
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The file's format.
    #[param(required = true, value_type = ImportFormat)]
    pub format: Option<ImportFormat>,
}

/// A model file in JSON: an object whose members the format names.
pub struct ImportDocument;

impl utoipa::PartialSchema for ImportDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(true)))
            .description(Some(
                "An OTM, Threat Dragon, Threagile or Palisade document, as `format` says",
            ))
            .into()
    }
}

impl ToSchema for ImportDocument {}

/// A file's bytes, as sent.
pub struct ImportFile;

impl utoipa::PartialSchema for ImportFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .description(Some("The file's bytes: JSON or YAML"))
            .into()
    }
}

impl ToSchema for ImportFile {}

/// The imported model and what the import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub model: Model,
    pub report: ImportReport,
}

/// The syntax of a body by its Content-Type: JSON unless it says YAML.
fn syntax_of(req: &HttpRequest) -> Result<Syntax, ApiError> {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(Syntax::Json);
    };
    let essence = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Syntax::Json),
        e if e.ends_with("+json") => Ok(Syntax::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => {
            Ok(Syntax::Yaml)
        }
        "application/octet-stream" => Ok(Syntax::Detect),
        _ => Err(ApiError::UnsupportedMediaTypeOf(
            "an import is JSON or YAML: send `Content-Type: application/json`, `application/yaml` or `application/octet-stream`"
                .into(),
        )),
    }
}

/// Import a model from a file: everything is validated first and every
/// problem reported at once (each `field` a JSON pointer into the file);
/// then the whole model is written in one transaction, or nothing is.
#[utoipa::path(post, path = "/api/v1/models/import", operation_id = "importModel", tag = "models",
    params(ImportParams,
           ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key get the first response")),
    request_body(description = "The file. `application/json`: JSON; `application/octet-stream`: the file's bytes, read as JSON when they are JSON and as YAML otherwise. `application/yaml` (also `application/x-yaml`, `text/yaml`) is read as YAML too; it is not listed here because SDK generators do not all support it.", content(
        (ImportDocument = "application/json"),
        (ImportFile = "application/octet-stream"))),
    responses((status = 201, description = "The new model and the import report", body = ImportResult,
        headers(("Location" = String, description = "The model's URL"))),
        (status = 400, description = "The file is not well-formed JSON or YAML", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than the import limit (`PALISADE_MAX_IMPORT`)", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither JSON nor YAML", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The file has problems: `errors` lists every one, each `field` a JSON pointer into the file", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn import_model(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    idempotency_key: IdempotencyKey,
    query: StrictQuery<ImportParams>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let format = query.0.format.ok_or_else(|| {
        ApiError::field(
            "format",
            "is required: otm, threat-dragon, threagile or json",
        )
    })?;
    let syntax = syntax_of(&req)?;
    let limit = state.config.max_import_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let body = read_limited(&mut payload, limit).await?;
    // The format is part of what is imported, so part of the fingerprint;
    // without a key no fingerprint is taken, so the file is not copied.
    let fingerprint = match idempotency_key.0 {
        Some(_) => Bytes::from([format.as_str().as_bytes(), b"\n", &body[..]].concat()),
        None => Bytes::new(),
    };
    let actor = auth.actor();
    let st = state.clone();
    create_once(
        &state,
        &auth,
        idempotency_key,
        &req,
        &fingerprint,
        || async move {
            let now = chrono::Utc::now();
            let (plan, report) =
                web::block(move || interchange::import(format, &body, syntax, now))
                    .await
                    .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
                    .map_err(|e| match e {
                        ImportError::Unreadable(detail) => ApiError::MalformedRequest {
                            detail: format!("the file could not be read: {detail}"),
                            field: None,
                        },
                        ImportError::Invalid(errors) => ApiError::Validation(errors),
                    })?;
            let model = st.db(move |c| import::import(c, &actor, &plan)).await?;
            let url = format!("/api/v1/models/{}", model.id);
            Created::new(url, None, &ImportResult { model, report })
        },
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `json` (the default): Palisade's own document; `otm`: Open Threat Model 0.2.0.
    #[param(value_type = Option<ExportFormat>)]
    pub format: Option<ExportFormat>,
}

/// Whether the client asks for YAML rather than JSON.
fn wants_yaml(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').any(|t| {
                let t = t
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                t == "application/yaml" || t == "application/x-yaml" || t == "text/yaml"
            }) && !a.contains("json")
        })
}

/// Export the model: `format=json` is the canonical document (importing it
/// gives an equal model); `format=otm` is Open Threat Model 0.2.0, as JSON
/// or, with `Accept: application/yaml`, YAML. The two JSON forms are told
/// apart by their required members (`format` or `otmVersion`).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/export", operation_id = "exportModel", tag = "models",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ExportParams),
    responses((status = 200, description = "The model in the asked format", content(
        (ModelExport = "application/json"),
        (String = "application/yaml"))),
        (status = 406, description = "YAML was asked for the json format", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The model is larger than an export holds", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn export_model(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: StrictQuery<ExportParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let format = query.0.format.unwrap_or(ExportFormat::Json);
    let yaml = wants_yaml(&req);
    if yaml && format == ExportFormat::Json {
        return Err(ApiError::NotAcceptable(
            "the json format is JSON only; YAML is offered for format=otm".into(),
        ));
    }
    let org = auth.org.id;
    let records = state.db(move |c| snapshot::records(c, org, model)).await?;
    let (content_type, body) = web::block(move || -> Result<(&str, String), String> {
        match format {
            ExportFormat::Json => {
                let doc = records.into_document(chrono::Utc::now());
                serde_json::to_string(&doc)
                    .map(|b| ("application/json", b))
                    .map_err(|e| e.to_string())
            }
            ExportFormat::Otm => {
                let otm = interchange::otm::export(&records);
                if yaml {
                    serde_norway::to_string(&otm)
                        .map(|b| ("application/yaml", b))
                        .map_err(|e| e.to_string())
                } else {
                    serde_json::to_string(&otm)
                        .map(|b| ("application/json", b))
                        .map_err(|e| e.to_string())
                }
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
    .map_err(ApiError::Internal)?;
    Ok(HttpResponse::Ok().content_type(content_type).body(body))
}

/// What an export answers in JSON: our document (`format=json`) or an OTM
/// document (`format=otm`).
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code, clippy::large_enum_variant)]
pub enum ModelExport {
    Document(crate::routes::versions::ModelDocumentDoc),
    Otm(OtmDocument),
}

/// An Open Threat Model 0.2.0 document (its schema is the OTM project's
/// `otm_schema.json`; `docs/interchange.md` says what each record becomes).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct OtmDocument {
    /// `0.2.0`.
    #[serde(rename = "otmVersion")]
    otm_version: String,
    #[schema(value_type = Object)]
    project: serde_json::Value,
    #[serde(rename = "trustZones")]
    #[schema(value_type = Vec<Object>)]
    trust_zones: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    assets: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    components: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    dataflows: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    threats: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    mitigations: Vec<serde_json::Value>,
}
