//! Jobs: work done outside the request that caused it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{JobId, ModelId};

string_enum!(JobStatus {
    Queued => "queued",
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
});

/// How many times a job runs before it is parked as failed.
pub const MAX_ATTEMPTS: i32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: JobId,
    /// `recompute_risk`, …
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub model_id: Option<ModelId>,
    pub status: JobStatus,
    pub attempts: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a job message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: String,
    pub kind: String,
    #[serde(default)]
    pub request_id: Option<String>,
    /// The model the job works on: a worker never runs two jobs of one
    /// model at once. Older messages without it are keyed by the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
}
