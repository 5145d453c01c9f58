//! Step 1: assets, the things of value in scope, and how they are classified.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetId, ModelId, TrustZoneId};
use crate::validation::{ValidationErrors, METADATA_MAX_BYTES};

string_enum!(AssetKind {
    Data => "data",
    Application => "application",
    Service => "service",
    Infrastructure => "infrastructure",
    Device => "device",
    People => "people",
    Process => "process",
    Facility => "facility",
    Other => "other",
});

string_enum!(
    /// Ordered from least to most sensitive.
    Classification {
        Public => "public",
        Internal => "internal",
        Confidential => "confidential",
        Restricted => "restricted",
    }
);

impl Classification {
    /// Confidential and restricted data drive the checks of steps 2–4.
    pub fn is_sensitive(self) -> bool {
        self >= Classification::Confidential
    }
}

string_enum!(CiaLevel {
    Low => "low",
    Medium => "medium",
    High => "high",
});

/// Confidentiality, integrity and availability requirements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cia {
    pub confidentiality: CiaLevel,
    pub integrity: CiaLevel,
    pub availability: CiaLevel,
}

/// The fields a client writes; POST takes them, PATCH merges into them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetFields {
    pub name: String,
    pub kind: AssetKind,
    #[serde(default)]
    pub description: Option<String>,
    /// Who answers for the asset; unowned in-scope assets fail step 1.
    #[serde(default)]
    pub owner: Option<String>,
    /// `null` while not yet classified; unclassified in-scope assets fail step 1.
    #[serde(default)]
    pub classification: Option<Classification>,
    #[serde(default)]
    pub cia: Option<Cia>,
    /// 1 (negligible) to 5 (business-critical).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 5))]
    pub business_criticality: Option<u8>,
    #[serde(default = "default_true")]
    pub in_scope: bool,
    /// The asset that contains this one (a service holds data); no cycles.
    #[serde(default)]
    pub parent_id: Option<AssetId>,
    #[serde(default)]
    pub trust_zone_id: Option<TrustZoneId>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Free key–value data for integrations; up to 64 KiB serialized.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub metadata: serde_json::Map<String, serde_json::Value>,
}

fn default_true() -> bool {
    true
}

impl AssetFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        errors.check_name("name", &self.name);
        errors.check_optional_text("description", self.description.as_deref());
        errors.check_optional_name("owner", self.owner.as_deref());
        if let Some(c) = self.business_criticality {
            if !(1..=5).contains(&c) {
                errors.add("business_criticality", format!("must be 1 to 5 (got {c})"));
            }
        }
        errors.check_tags("tags", &self.tags);
        let metadata_len = serde_json::to_string(&self.metadata).map_or(0, |s| s.len());
        if metadata_len > METADATA_MAX_BYTES {
            errors.add(
                "metadata",
                format!(
                    "must be at most {METADATA_MAX_BYTES} bytes serialized (got {metadata_len})"
                ),
            );
        }
        errors.finish()
    }

    /// Owned means a non-blank owner.
    pub fn is_owned(&self) -> bool {
        self.owner.as_deref().is_some_and(|o| !o.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Asset {
    pub id: AssetId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: AssetFields,
    /// Increases by one on every change; send it back in `If-Match`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> AssetFields {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_minimal_asset_is_in_scope_and_unclassified() {
        let a = fields(r#"{"name":"Customer DB","kind":"data"}"#);
        assert!(a.in_scope);
        assert_eq!(a.classification, None);
        assert!(!a.is_owned());
        assert!(a.validate().is_ok());
    }

    #[test]
    fn criticality_outside_one_to_five_is_named() {
        for bad in [0, 6] {
            let a = fields(&format!(
                r#"{{"name":"x","kind":"data","business_criticality":{bad}}}"#
            ));
            let err = a.validate().unwrap_err();
            assert_eq!(err.0[0].field, "business_criticality");
        }
    }

    #[test]
    fn classification_order_marks_sensitive_data() {
        assert!(!Classification::Internal.is_sensitive());
        assert!(Classification::Confidential.is_sensitive());
        assert!(Classification::Restricted.is_sensitive());
    }

    #[test]
    fn blank_owner_is_not_an_owner() {
        let a = fields(r#"{"name":"x","kind":"data","owner":"  "}"#);
        assert!(!a.is_owned());
    }

    #[test]
    fn oversized_metadata_is_refused() {
        let mut a = fields(r#"{"name":"x","kind":"data"}"#);
        a.metadata
            .insert("blob".into(), serde_json::Value::String("a".repeat(70_000)));
        assert_eq!(a.validate().unwrap_err().0[0].field, "metadata");
    }
}
