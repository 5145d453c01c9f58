//! Step 4: threats and the controls that protect against them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{
    AssetId, AttackTreeId, ControlId, InteractionId, ModelId, NodeId, ThreatActorId, ThreatId,
};
use crate::scoring::nist::NistLevel;
use crate::scoring::residual::ControlStatus;
use crate::scoring::{Assessment, Method};
use crate::validation::ValidationErrors;

string_enum!(Stride {
    Spoofing => "spoofing",
    Tampering => "tampering",
    Repudiation => "repudiation",
    InformationDisclosure => "information_disclosure",
    DenialOfService => "denial_of_service",
    ElevationOfPrivilege => "elevation_of_privilege",
});

/// The `attack_tree` method: the likelihood comes from a stored tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeAssessment {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub tree_id: AttackTreeId,
    pub impact: NistLevel,
}

/// A threat's assessment, in any method of `scoring.md`.
#[derive(Debug, Clone, PartialEq)]
pub enum ThreatAssessment {
    Stateless(Assessment),
    AttackTree(TreeAssessment),
}

impl ThreatAssessment {
    pub fn method(&self) -> Method {
        match self {
            ThreatAssessment::Stateless(a) => a.method(),
            ThreatAssessment::AttackTree(_) => Method::AttackTree,
        }
    }

    /// The stored form: the method's fields with `method`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            ThreatAssessment::Stateless(a) => serde_json::to_value(a).unwrap_or_default(),
            ThreatAssessment::AttackTree(t) => {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert("method".into(), "attack_tree".into());
                }
                v
            }
        }
    }
}

impl Serialize for ThreatAssessment {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// What a client writes: the fields of a threat with the assessment as
/// JSON, parsed by method at the edge so errors keep their paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatInput {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub stride: Stride,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub asset_ids: Vec<AssetId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub actor_ids: Vec<ThreatActorId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub interaction_ids: Vec<InteractionId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub attack_tree_node_ids: Vec<NodeId>,
    /// `{"method": …}` and the method's fields (see the scoring calculators),
    /// or `{"method": "attack_tree", "tree_id", "impact"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub assessment: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatFields {
    pub title: String,
    pub description: Option<String>,
    pub stride: Stride,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub asset_ids: Vec<AssetId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub actor_ids: Vec<ThreatActorId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub interaction_ids: Vec<InteractionId>,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub attack_tree_node_ids: Vec<NodeId>,
    /// `{"method": "cvss31", "vector": …}` and so on (`POST /api/v1/scoring/{method}` bodies), or
    /// `{"method": "attack_tree", "tree_id", "impact"}`.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub assessment: ThreatAssessment,
}

impl ThreatInput {
    /// The fields, once the assessment (JSON here) has been read.
    pub fn with_assessment(self, assessment: ThreatAssessment) -> ThreatFields {
        ThreatFields {
            title: self.title,
            description: self.description,
            stride: self.stride,
            asset_ids: self.asset_ids,
            actor_ids: self.actor_ids,
            interaction_ids: self.interaction_ids,
            attack_tree_node_ids: self.attack_tree_node_ids,
            assessment,
        }
    }
}

impl ThreatFields {
    /// The writable form, for merge patches.
    pub fn to_input(&self) -> ThreatInput {
        ThreatInput {
            title: self.title.clone(),
            description: self.description.clone(),
            stride: self.stride,
            asset_ids: self.asset_ids.clone(),
            actor_ids: self.actor_ids.clone(),
            interaction_ids: self.interaction_ids.clone(),
            attack_tree_node_ids: self.attack_tree_node_ids.clone(),
            assessment: self.assessment.to_json(),
        }
    }

    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("title", &self.title);
        e.check_optional_text("description", self.description.as_deref());
        e.check_id_list("asset_ids", &self.asset_ids);
        e.check_id_list("actor_ids", &self.actor_ids);
        e.check_id_list("interaction_ids", &self.interaction_ids);
        e.check_id_list("attack_tree_node_ids", &self.attack_tree_node_ids);
        if let ThreatAssessment::Stateless(a) = &self.assessment {
            if let Err(errors) = a.check() {
                for f in errors.0 {
                    e.add(format!("assessment.{}", f.field), f.message);
                }
            }
        }
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Threat {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ThreatId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: ThreatFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

string_enum!(ControlType {
    Preventive => "preventive",
    Detective => "detective",
    Corrective => "corrective",
    Deterrent => "deterrent",
});

string_enum!(ControlCategory {
    Technical => "technical",
    Administrative => "administrative",
    Physical => "physical",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ControlFields {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub control_type: ControlType,
    pub category: ControlCategory,
    pub status: ControlStatus,
    /// 0 to 100 %.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub effectiveness: i64,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub threat_ids: Vec<ThreatId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub asset_ids: Vec<AssetId>,
    /// Attack-tree defense nodes this control realises.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub defense_node_ids: Vec<NodeId>,
}

impl ControlFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        e.check_optional_text("description", self.description.as_deref());
        if !(0..=100).contains(&self.effectiveness) {
            e.add(
                "effectiveness",
                format!("must be 0 to 100 (got {})", self.effectiveness),
            );
        }
        e.check_id_list("threat_ids", &self.threat_ids);
        e.check_id_list("asset_ids", &self.asset_ids);
        e.check_id_list("defense_node_ids", &self.defense_node_ids);
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Control {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: ControlId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: ControlFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
