//! Evaluation reports: a version of a model rendered by the worker as
//! JSON, Markdown and self-contained HTML. The record lives here; what a
//! report says, section by section, is [`view`].

pub mod view;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, ModelId, ReportId, VersionId};
use crate::validation::ValidationErrors;

string_enum!(
    /// A file a report is rendered to.
    ReportFormat {
        Json => "json",
        Markdown => "markdown",
        Html => "html",
    }
);

impl ReportFormat {
    /// The `Content-Type` it is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            ReportFormat::Json => "application/json",
            ReportFormat::Markdown => "text/markdown; charset=utf-8",
            ReportFormat::Html => "text/html; charset=utf-8",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Markdown => "md",
            ReportFormat::Html => "html",
        }
    }
}

string_enum!(ReportStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
});

/// What `POST …/reports` takes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportInput {
    /// One or more, each once.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 3))]
    pub formats: Vec<ReportFormat>,
    /// The version to describe; without it (or `null`) the job snapshots the model first.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub version_id: Option<VersionId>,
}

impl ReportInput {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.formats.is_empty() {
            e.add("formats", "name at least one of json, markdown, html");
        }
        // Checked first: the duplicate check below is quadratic.
        if self.formats.len() > ReportFormat::ALL.len() {
            e.add(
                "formats",
                format!(
                    "at most {} formats, each once (got {})",
                    ReportFormat::ALL.len(),
                    self.formats.len()
                ),
            );
            return e.finish();
        }
        for (i, f) in self.formats.iter().enumerate() {
            if self.formats[..i].contains(f) {
                e.add(format!("formats[{i}]"), format!("{f} is listed twice"));
            }
        }
        e.finish()
    }
}

/// One rendered file of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportFile {
    pub format: ReportFormat,
    pub media_type: &'static str,
    /// Size in bytes.
    pub bytes: i64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_bounded_before_they_are_compared() {
        let many = ReportInput {
            formats: vec![ReportFormat::Json; 400_000],
            version_id: None,
        };
        let e = many.validate().unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "formats");
        let twice = ReportInput {
            formats: vec![ReportFormat::Html, ReportFormat::Html],
            version_id: None,
        };
        assert_eq!(twice.validate().unwrap_err().0[0].field, "formats[1]");
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ReportId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    /// The version described; `null` until the job has snapshotted the model.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub version_id: Option<VersionId>,
    pub formats: Vec<ReportFormat>,
    pub status: ReportStatus,
    /// The job rendering it (`GET /api/v1/jobs/{job_id}`).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub job_id: JobId,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The rendered files, once it has succeeded.
    pub files: Vec<ReportFile>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
