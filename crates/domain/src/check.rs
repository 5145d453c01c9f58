//! A completeness check: what step progress reports and the gaps read
//! (step 3's environment checks become step 4's gaps).

use serde::Serialize;

/// One completeness check, with the ids of the records that fail it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    /// Stable, for clients to key on (`scope.in_scope_assets_owned`).
    pub id: &'static str,
    pub ok: bool,
    pub message: String,
    pub refs: Vec<String>,
}
