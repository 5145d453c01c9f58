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
    /// A level, or its number: 1 (none) to 5 (expert). Stored and answered
    /// as the level.
    #[serde(default, deserialize_with = "skill_by_name_or_number")]
    #[cfg_attr(feature = "openapi", schema(schema_with = skill_schema))]
    pub skill: Option<SkillLevel>,
    /// What the actor can bring to bear (money, time, tooling).
    #[serde(default)]
    pub resources: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `"medium"` or `3`: the product lets a skill be given either way.
fn skill_by_name_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<SkillLevel>, D::Error> {
    use serde::de::Error;
    match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => SkillLevel::parse(&s).map(Some).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown skill {s:?}: one of none, low, medium, high, expert, or 1 to 5"
            ))
        }),
        Some(serde_json::Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (1.0..=5.0).contains(f))
            .and_then(|f| SkillLevel::ALL.get(f as usize - 1).copied())
            .map(Some)
            .ok_or_else(|| {
                D::Error::custom(format!("skill must be 1 (none) to 5 (expert) (got {n})"))
            }),
        Some(other) => Err(D::Error::custom(format!(
            "skill is a level name or a number 1 to 5 (got {other})"
        ))),
    }
}

/// The skill as clients may send it: a level, or 1 (none) to 5 (expert).
#[cfg(feature = "openapi")]
pub fn skill_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    use utoipa::openapi::Ref;
    OneOfBuilder::new()
        .item(utoipa::openapi::schema::Object::with_type(Type::Null))
        .item(Ref::from_schema_name("SkillLevel"))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(5)),
        )
        .description(Some(
            "A level, or its number: 1 (none) to 5 (expert); answered as the level",
        ))
        .into()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn skill(json: &str) -> Result<Option<SkillLevel>, String> {
        serde_json::from_str::<ThreatActorFields>(&format!(
            r#"{{"name":"a","origin":"external","category":"other","intent":"malicious","skill":{json}}}"#
        ))
        .map(|f| f.skill)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn skill_is_a_level_or_its_number_one_to_five() {
        assert_eq!(skill(r#""high""#), Ok(Some(SkillLevel::High)));
        assert_eq!(skill("1"), Ok(Some(SkillLevel::None)));
        assert_eq!(skill("3"), Ok(Some(SkillLevel::Medium)));
        assert_eq!(skill("5.0"), Ok(Some(SkillLevel::Expert)));
        assert_eq!(skill("null"), Ok(None));
        for bad in ["0", "6", "2.5", r#""guru""#, "true"] {
            assert!(skill(bad).is_err(), "{bad}");
        }
        // Answered as the level.
        let f: ThreatActorFields = serde_json::from_str(
            r#"{"name":"a","origin":"external","category":"other","intent":"malicious","skill":4}"#,
        )
        .unwrap();
        assert_eq!(serde_json::to_value(&f).unwrap()["skill"], "high");
    }
}
