//! Step 6: evaluation entries — what the exercise found, the fixes applied,
//! what went well and what was learned, each linked to the records it
//! speaks of.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetId, ControlId, EvaluationEntryId, ModelId, ThreatId, TreatmentId};
use crate::treatment::TreatmentStatus;
use crate::validation::ValidationErrors;

string_enum!(
    /// What an entry records.
    EntryKind {
        Finding => "finding",
        FixApplied => "fix_applied",
        Success => "success",
        LessonLearned => "lesson_learned",
    }
);

/// The writable fields of an entry (`POST`, merged by `PATCH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = EvaluationEntryFields))]
pub struct EvaluationEntryFields {
    pub kind: EntryKind,
    pub text: String,
    /// Who wrote it.
    pub author: String,
    /// The day it speaks of; left out of a create, today (UTC).
    #[serde(default = "today")]
    pub date: NaiveDate,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub threat_ids: Vec<ThreatId>,
    /// A `fix_applied` entry names at least one treatment that is done or verified.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub treatment_ids: Vec<TreatmentId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub control_ids: Vec<ControlId>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub asset_ids: Vec<AssetId>,
}

/// An entry written without a date speaks of the day it is written.
fn today() -> NaiveDate {
    Utc::now().date_naive()
}

impl EvaluationEntryFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.text.trim().is_empty() {
            e.add("text", "must not be empty");
        } else {
            e.check_text("text", &self.text);
        }
        e.check_name("author", &self.author);
        e.check_tags("tags", &self.tags);
        e.check_id_list("threat_ids", &self.threat_ids);
        e.check_id_list("treatment_ids", &self.treatment_ids);
        e.check_id_list("control_ids", &self.control_ids);
        e.check_id_list("asset_ids", &self.asset_ids);
        if self.kind == EntryKind::FixApplied && self.treatment_ids.is_empty() {
            e.add(
                "treatment_ids",
                "a fix_applied entry names at least one treatment that is done or verified",
            );
        }
        e.finish()
    }

    /// A fix was applied only if some treatment it names is finished:
    /// `statuses` are the named treatments' (in `treatment_ids` order).
    pub fn check_fix(
        &self,
        statuses: &[(TreatmentId, TreatmentStatus)],
    ) -> Result<(), ValidationErrors> {
        if self.kind != EntryKind::FixApplied {
            return Ok(());
        }
        let finished =
            |s: TreatmentStatus| matches!(s, TreatmentStatus::Done | TreatmentStatus::Verified);
        if statuses.iter().any(|(_, s)| finished(*s)) {
            return Ok(());
        }
        let known: std::collections::HashMap<&TreatmentId, TreatmentStatus> =
            statuses.iter().map(|(t, s)| (t, *s)).collect();
        let mut e = ValidationErrors::new();
        for (i, id) in self.treatment_ids.iter().enumerate() {
            if let Some(status) = known.get(id) {
                e.add(
                    format!("treatment_ids[{i}]"),
                    format!(
                        "treatment {id} is {status}: a fix_applied entry needs one that is done or verified"
                    ),
                );
            }
        }
        if e.is_empty() {
            e.add(
                "treatment_ids",
                "a fix_applied entry names at least one treatment that is done or verified",
            );
        }
        e.finish()
    }
}

/// One stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EvaluationEntry {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: EvaluationEntryId,
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: EvaluationEntryFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, treatments: &[TreatmentId]) -> EvaluationEntryFields {
        serde_json::from_value(serde_json::json!({
            "kind": kind,
            "text": "Card numbers were logged in clear by the checkout service.",
            "author": "A. Analyst",
            "date": "2026-11-30",
            "treatment_ids": treatments,
        }))
        .unwrap()
    }

    fn fields_of(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn every_kind_reads_its_wire_value_and_unknown_ones_are_refused() {
        for kind in EntryKind::ALL {
            assert_eq!(entry(kind.as_str(), &[TreatmentId::generate()]).kind, *kind);
        }
        assert!(
            serde_json::from_value::<EvaluationEntryFields>(serde_json::json!({
                "kind": "observation", "text": "x", "author": "a", "date": "2026-11-30"
            }))
            .is_err()
        );
    }

    #[test]
    fn empty_text_and_author_are_named() {
        let mut f = entry("finding", &[]);
        f.text = "  ".into();
        f.author = String::new();
        assert_eq!(fields_of(f.validate().unwrap_err()), ["text", "author"]);
    }

    #[test]
    fn a_fix_applied_needs_a_treatment() {
        let f = entry("fix_applied", &[]);
        assert_eq!(fields_of(f.validate().unwrap_err()), ["treatment_ids"]);
        assert!(entry("finding", &[]).validate().is_ok());
    }

    #[test]
    fn a_fix_applied_needs_one_finished_treatment_and_names_the_unfinished() {
        let (a, b) = (TreatmentId::generate(), TreatmentId::generate());
        let f = entry("fix_applied", &[a, b]);
        let e = f
            .check_fix(&[
                (a, TreatmentStatus::Approved),
                (b, TreatmentStatus::InProgress),
            ])
            .unwrap_err();
        assert_eq!(
            fields_of(e.clone()),
            ["treatment_ids[0]", "treatment_ids[1]"]
        );
        assert!(e.0[0].message.contains("approved"));
        for done in [TreatmentStatus::Done, TreatmentStatus::Verified] {
            assert!(f
                .check_fix(&[(a, TreatmentStatus::Approved), (b, done)])
                .is_ok());
        }
        // Other kinds may name treatments in any state.
        assert!(entry("lesson_learned", &[a])
            .check_fix(&[(a, TreatmentStatus::Proposed)])
            .is_ok());
    }
}
