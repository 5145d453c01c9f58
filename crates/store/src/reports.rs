//! Reports: asked for by a request (a row and its job in one transaction),
//! rendered by the worker, then immutable. A report's status is its own
//! once it has succeeded; before that it is its job's, so a job parked as
//! failed shows as a failed report without a second write that could be
//! lost.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::document::ModelDocument;
use palisade_domain::ids::{JobId, ModelId, OrgId, ReportId, VersionId};
use palisade_domain::job::JobStatus;
use palisade_domain::report::{Report, ReportFile, ReportFormat, ReportInput, ReportStatus};
use palisade_domain::ValidationErrors;
use sha2::{Digest, Sha256};

use crate::db::{write_tx, DbConn};
use crate::jobs::JobKind;
use crate::models::ensure_visible;
use crate::schema::{jobs, model_versions, report_files, reports};
use crate::scope::Scoped;
use crate::{audit, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

/// Renders a report's formats from the version it describes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct GenerateReport {
    pub report_id: ReportId,
}

impl JobKind for GenerateReport {
    const KIND: &'static str = "generate_report";
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
struct ReportRow {
    id: String,
    model_id: String,
    version_id: Option<String>,
    formats: String,
    status: String,
    job_id: String,
    error: Option<String>,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = report_files)]
struct FileRow {
    report_id: String,
    format: String,
    bytes: i64,
    sha256: String,
}

/// The rows with their files and, for unfinished ones, their job's state.
fn finish(conn: &mut DbConn, rows: Vec<ReportRow>) -> Result<Vec<Report>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let files: Vec<FileRow> = report_files::table
        .filter(report_files::report_id.eq_any(&ids))
        .select(FileRow::as_select())
        .load(conn)?;
    let unfinished: Vec<String> = rows
        .iter()
        .filter(|r| r.status != ReportStatus::Succeeded.as_str())
        .map(|r| r.job_id.clone())
        .collect();
    let job_states: Vec<(String, String, Option<String>)> = jobs::table
        .filter(jobs::id.eq_any(&unfinished))
        .select((jobs::id, jobs::status, jobs::error))
        .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let mut status = parse_enum(&r.status, ReportStatus::parse)?;
            let mut error = r.error.clone();
            if status != ReportStatus::Succeeded {
                if let Some((_, job, job_error)) =
                    job_states.iter().find(|(id, _, _)| *id == r.job_id)
                {
                    status = match JobStatus::parse(job) {
                        Some(JobStatus::Running) => ReportStatus::Running,
                        Some(JobStatus::Failed) => {
                            error = job_error.clone();
                            ReportStatus::Failed
                        }
                        _ => ReportStatus::Queued,
                    };
                }
            }
            let mut own: Vec<ReportFile> = files
                .iter()
                .filter(|f| f.report_id == r.id)
                .map(|f| {
                    let format = parse_enum(&f.format, ReportFormat::parse)?;
                    Ok(ReportFile {
                        format,
                        media_type: format.media_type(),
                        bytes: f.bytes,
                        sha256: f.sha256.clone(),
                    })
                })
                .collect::<Result<_, StoreError>>()?;
            own.sort_by_key(|f| f.format);
            Ok(Report {
                id: parse_id(&r.id)?,
                model_id: parse_id(&r.model_id)?,
                version_id: r.version_id.as_deref().map(parse_id).transpose()?,
                formats: serde_json::from_str(&r.formats)?,
                status,
                job_id: parse_id(&r.job_id)?,
                error,
                files: own,
                created_by: r.created_by,
                created_at: time::utc(r.created_at),
                updated_at: time::utc(r.updated_at),
            })
        })
        .collect()
}

/// Asks for a report: its row and its `generate_report` job, together.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    input: &ReportInput,
) -> Result<Report, StoreError> {
    input.validate()?;
    write_tx(conn, |c| {
        ensure_visible(c, actor.org_id, model_id)?;
        if let Some(v) = input.version_id {
            let found: i64 = model_versions::table
                .filter(model_versions::id.eq(v.to_string()))
                .filter(model_versions::model_id.eq(model_id.to_string()))
                .count()
                .get_result(c)?;
            if found == 0 {
                return Err(ValidationErrors::single(
                    "version_id",
                    format!("no version {v} of this model"),
                )
                .into());
            }
        }
        let id = ReportId::generate();
        let job = GenerateReport { report_id: id }.enqueue(c, actor, model_id)?;
        let now = time::now();
        let row = ReportRow {
            id: id.to_string(),
            model_id: model_id.to_string(),
            version_id: input.version_id.map(|v| v.to_string()),
            formats: serde_json::to_string(&input.formats)?,
            status: ReportStatus::Queued.as_str().into(),
            job_id: job.id.to_string(),
            error: None,
            created_by: crate::versions::author(actor),
            created_at: now,
            updated_at: now,
        };
        diesel::insert_into(reports::table)
            .values(&row)
            .execute(c)?;
        let report = finish(c, vec![row])?.pop().ok_or(StoreError::NotFound)?;
        audit::record(
            c,
            actor,
            audit::Change {
                model_id: Some(model_id),
                action: AuditAction::Create,
                entity_type: "report",
                entity_id: id.to_string(),
                before: None,
                after: Some(serde_json::to_value(&report)?),
            },
        )?;
        Ok(report)
    })
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: ReportId,
) -> Result<Report, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let row: ReportRow = reports::table
        .filter(reports::id.eq(id.to_string()))
        .filter(reports::model_id.eq(model_id.to_string()))
        .select(ReportRow::as_select())
        .first(conn)?;
    finish(conn, vec![row])?.pop().ok_or(StoreError::NotFound)
}

/// One rendered file: its description and content. `NotFound` until the
/// report has succeeded or for a format it was not asked in.
pub fn content(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: ReportId,
    format: ReportFormat,
) -> Result<(Report, String), StoreError> {
    let report = get(conn, org, model_id, id)?;
    let content: String = report_files::table
        .filter(report_files::report_id.eq(id.to_string()))
        .filter(report_files::format.eq(format.as_str()))
        .select(report_files::content)
        .first(conn)?;
    Ok((report, content))
}

#[derive(Debug, Default, Clone)]
pub struct ReportFilter {
    pub version_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &ReportFilter,
    page: &PageRequest,
) -> Result<Page<Report>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut q = reports::table
            .filter(reports::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(v) = &filter.version_id {
            q = q.filter(reports::version_id.eq(v.clone()));
        }
        q
    };
    let page = crate::list_page!(conn, page, reports, ReportRow, reports::model_id.eq(m.clone()), filtered, {
        "created_at" => (reports::created_at, NaiveDateTime),
    });
    Ok(Page {
        items: finish(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}

/// What the job needs of its report.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: ReportId,
    pub formats: Vec<ReportFormat>,
    pub version_id: Option<VersionId>,
    pub job_id: JobId,
    pub done: bool,
}

/// The report a job renders, if it is of the job's model.
pub fn pending(conn: &mut DbConn, scope: Scoped, id: ReportId) -> Result<Pending, StoreError> {
    let row: ReportRow = reports::table
        .filter(reports::id.eq(id.to_string()))
        .filter(reports::model_id.eq(scope.model().to_string()))
        .select(ReportRow::as_select())
        .first(conn)?;
    Ok(Pending {
        id,
        formats: serde_json::from_str(&row.formats)?,
        version_id: row.version_id.as_deref().map(parse_id).transpose()?,
        job_id: parse_id(&row.job_id)?,
        done: row.status == ReportStatus::Succeeded.as_str(),
    })
}

/// Pins the version a report describes: the document just gathered
/// becomes a new version, unless an earlier run of the job already pinned
/// one (then that one stands and the document is dropped).
pub fn pin_version(
    conn: &mut DbConn,
    scope: Scoped,
    id: ReportId,
    document: &ModelDocument,
) -> Result<VersionId, StoreError> {
    let text = serde_json::to_string(document)?;
    let actor = Actor::system(scope.org());
    write_tx(conn, |c| {
        let pinned: Option<String> = reports::table
            .filter(reports::id.eq(id.to_string()))
            .select(reports::version_id)
            .first(c)?;
        if let Some(v) = pinned {
            return parse_id(&v);
        }
        let label = format!("for report {id}");
        let version = crate::versions::insert(c, &actor, scope.model(), &label, &text)?;
        diesel::update(reports::table.filter(reports::id.eq(id.to_string())))
            .set((
                reports::version_id.eq(version.id.to_string()),
                reports::updated_at.eq(time::now()),
            ))
            .execute(c)?;
        Ok(version.id)
    })
}

/// A version's document for the job (the model is the job's own).
pub fn version_document(
    conn: &mut DbConn,
    scope: Scoped,
    id: VersionId,
) -> Result<String, StoreError> {
    crate::versions::document_text(conn, scope.org(), scope.model(), id)
}

/// Stores the rendered files and marks the report succeeded, once: a
/// second run that gets here finds it done and writes nothing.
pub fn complete(
    conn: &mut DbConn,
    id: ReportId,
    files: &[(ReportFormat, String)],
) -> Result<bool, StoreError> {
    write_tx(conn, |c| {
        let status: String = reports::table
            .filter(reports::id.eq(id.to_string()))
            .select(reports::status)
            .first(c)?;
        if status == ReportStatus::Succeeded.as_str() {
            return Ok(false);
        }
        for (format, content) in files {
            let digest = Sha256::digest(content.as_bytes());
            diesel::insert_into(report_files::table)
                .values((
                    report_files::report_id.eq(id.to_string()),
                    report_files::format.eq(format.as_str()),
                    report_files::content.eq(content),
                    report_files::bytes.eq(i64::try_from(content.len()).unwrap_or(i64::MAX)),
                    report_files::sha256.eq(hex::encode(digest)),
                ))
                .execute(c)?;
        }
        diesel::update(reports::table.filter(reports::id.eq(id.to_string())))
            .set((
                reports::status.eq(ReportStatus::Succeeded.as_str()),
                reports::error.eq(None::<String>),
                reports::updated_at.eq(time::now()),
            ))
            .execute(c)?;
        let (model, org, version): (String, String, Option<String>) = reports::table
            .inner_join(crate::schema::models::table)
            .filter(reports::id.eq(id.to_string()))
            .select((
                reports::model_id,
                crate::schema::models::org_id,
                reports::version_id,
            ))
            .first(c)?;
        let formats: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
        crate::events::record_event(
            c,
            crate::parse_id(&org)?,
            Some(crate::parse_id(&model)?),
            palisade_domain::webhook::EventType::ReportReady,
            serde_json::json!({
                "report_id": id,
                "version_id": version,
                "formats": formats,
                "url": format!("/api/v1/models/{model}/reports/{id}"),
            }),
            None,
        )?;
        Ok(true)
    })
}
