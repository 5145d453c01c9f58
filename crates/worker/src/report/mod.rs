//! The `generate_report` job: pins the version a report describes (taking
//! a snapshot first when none was named), renders each asked-for format
//! from the report view, and stores the files once. Rendering runs on the
//! job's own thread, outside any write transaction.

mod render;

use palisade_domain::report::view::{self, ReportVersion};
use palisade_store::jobs::{JobContext, JobFailure};
use palisade_store::reports::GenerateReport;
use palisade_store::{reports, DbConn};

pub use render::{render, RenderError};

use crate::registry::{Context, Job};

/// Renders a report.
impl Job for GenerateReport {
    fn run(
        self,
        conn: &mut DbConn,
        job: &JobContext,
        _: &Context,
    ) -> Result<serde_json::Value, JobFailure> {
        let payload = self;
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent("generate_report without a model".into()))?;
        let report = reports::pending(conn, scope, payload.report_id)?;
        if report.done {
            return Ok(serde_json::json!({ "report_id": report.id, "already": "succeeded" }));
        }
        let version_id = match report.version_id {
            Some(v) => v,
            None => {
                let document =
                    palisade_store::snapshot::document(conn, scope.org(), scope.model())?;
                reports::pin_version(conn, scope, report.id, &document)?
            }
        };
        let summary =
            palisade_store::versions::summary(conn, scope.org(), scope.model(), version_id)?;
        let text = reports::version_document(conn, scope, version_id)?;
        let document: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            JobFailure::Permanent(format!("the version's document is not JSON: {e}"))
        })?;
        let view = view::build(
            &document,
            Some(ReportVersion {
                id: summary.id.to_string(),
                number: summary.number,
                label: summary.label,
                created_at: summary.created_at,
            }),
            chrono::Utc::now(),
        );
        // Each file's size and rendering time go in the job's result.
        let mut files = Vec::new();
        let (mut sizes, mut millis) = (serde_json::Map::new(), serde_json::Map::new());
        for format in &report.formats {
            let started = std::time::Instant::now();
            let content =
                render(&view, *format).map_err(|e| JobFailure::Permanent(e.to_string()))?;
            let took = started.elapsed().as_secs_f64() * 1000.0;
            sizes.insert(format.as_str().into(), serde_json::json!(content.len()));
            millis.insert(
                format.as_str().into(),
                serde_json::json!((took * 10.0).round() / 10.0),
            );
            files.push((*format, content));
        }
        reports::complete(conn, report.id, &files)?;
        Ok(serde_json::json!({
            "report_id": report.id,
            "version_id": version_id,
            "bytes": sizes,
            "render_ms": millis,
        }))
    }
}
