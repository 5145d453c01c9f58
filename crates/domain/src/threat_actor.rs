//! Step 2: who threatens the system.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ModelId, ThreatActorId};
use crate::validation::ValidationErrors;

string_enum!(Origin {
    Internal => "internal",
    External => "external",
});

string_enum!(ActorCategory {
    Employee => "employee",
    Contractor => "contractor",
    Partner => "partner",
    Cybercriminal => "cybercriminal",
    NationState => "nation_state",
    Hacktivist => "hacktivist",
    Competitor => "competitor",
    Opportunist => "opportunist",
    Other => "other",
});

string_enum!(Intent {
    Malicious => "malicious",
    Accidental => "accidental",
});

string_enum!(
    /// Ordered from none to expert.
    SkillLevel {
        None => "none",
        Low => "low",
        Medium => "medium",
        High => "high",
        Expert => "expert",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatActorFields {
    pub name: String,
    pub origin: Origin,
    pub category: ActorCategory,
    pub intent: Intent,
    #[serde(default)]
    pub motivation: Option<String>,
    #[serde(default)]
    pub skill: Option<SkillLevel>,
    /// What the actor can bring to bear (money, time, tooling).
    #[serde(default)]
    pub resources: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl ThreatActorFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        e.check_optional_text("motivation", self.motivation.as_deref());
        e.check_optional_text("resources", self.resources.as_deref());
        e.check_optional_text("description", self.description.as_deref());
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThreatActor {
    pub id: ThreatActorId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: ThreatActorFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
