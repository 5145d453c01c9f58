//! Organisations (tenants) and the API keys that act for them.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ids::{ApiKeyId, OrgId};
use crate::role::Role;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
}

/// An API key as listed: the secret itself is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// The first characters of the key, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}
