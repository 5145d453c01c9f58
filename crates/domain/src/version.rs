//! Versions: immutable snapshots of a model, each holding its canonical
//! document (`document::ModelDocument`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::ids::{ModelId, VersionId};
use crate::validation::ValidationErrors;

/// What `POST …/versions` takes.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionInput {
    /// What this version is (`after the Q3 review`).
    pub label: String,
}

impl VersionInput {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("label", &self.label);
        e.finish()
    }
}

/// A version without its document, as listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionSummary {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: VersionId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    /// 1 for the model's first version, then one more each time.
    pub number: i64,
    pub label: String,
    /// The API key that took it (`system` for a report's own snapshot).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The size of the document in bytes.
    pub document_bytes: i64,
}

/// A version with its document, exactly as it was stored.
#[derive(Debug, Serialize)]
pub struct Version {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub document: Box<RawValue>,
}
