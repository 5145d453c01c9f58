//! A threat model: the container every step's records belong to.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::ModelId;
use crate::severity::Severity;
use crate::validation::ValidationErrors;

/// The fields a client writes; POST takes them, PATCH merges into them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelFields {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Threats whose residual severity is above this need a treatment (step 5).
    #[serde(default)]
    pub risk_appetite: Severity,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl ModelFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        errors.check_name("name", &self.name);
        errors.check_optional_text("description", self.description.as_deref());
        errors.check_tags("tags", &self.tags);
        errors.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Model {
    pub id: ModelId,
    #[serde(flatten)]
    pub fields: ModelFields,
    /// Increases by one on every change; send it back in `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_what_a_client_leaves_out() {
        let f: ModelFields = serde_json::from_str(r#"{"name":"Payments"}"#).unwrap();
        assert_eq!(f.risk_appetite, Severity::Medium);
        assert!(f.tags.is_empty());
        assert!(f.validate().is_ok());
    }

    #[test]
    fn unknown_fields_and_values_are_refused() {
        assert!(serde_json::from_str::<ModelFields>(r#"{"name":"a","nmae":"b"}"#).is_err());
        assert!(
            serde_json::from_str::<ModelFields>(r#"{"name":"a","risk_appetite":"severe"}"#)
                .is_err()
        );
    }
}
