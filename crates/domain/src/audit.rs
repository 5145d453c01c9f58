//! The audit log: who changed what, when, with the record before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{ApiKeyId, AuditEventId, ModelId};

string_enum!(AuditAction {
    Create => "create",
    Update => "update",
    Delete => "delete",
});

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub model_id: Option<ModelId>,
    /// The API key that made the change; `null` for the command line.
    pub actor_key_id: Option<ApiKeyId>,
    pub action: AuditAction,
    /// `model`, `asset`, `api_key`, …
    pub entity_type: String,
    pub entity_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}
