//! The canonical model document: every record of the six steps, the
//! register and the progress, as one value. A version stores it, a diff
//! compares two of them, a report renders one, and export writes it.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::asset::Asset;
use crate::environment::{self, EnvironmentFacts, Interaction, Party, TrustZone};
use crate::evaluation::EvaluationEntry;
use crate::gaps::{self, Gap, GapFacts};
use crate::model::Model;
use crate::progress::{self, ModelFacts, Progress};
use crate::risk::RiskRow;
use crate::threat::{Control, Threat};
use crate::threat_actor::ThreatActor;
use crate::treatment::Treatment;
use crate::tree::AttackTree;

/// What `format` says, so a reader knows which shape it holds.
pub const FORMAT: &str = "palisade.model/1";

/// The register as it stood.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentRegister {
    /// Ranked: residual score, then inherent score, then title.
    pub items: Vec<RiskRow>,
    /// True when records had changed since the register was computed.
    pub stale: bool,
    pub computed_at: Option<DateTime<Utc>>,
}

/// Every record of a model with its progress and gaps; lists are in id
/// order, which is creation order, so two documents of one model line up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelDocument {
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    #[serde(flatten)]
    pub records: Records,
    pub progress: Progress,
    pub gaps: Vec<Gap>,
}

/// The records of a model as loaded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Records {
    pub model: Model,
    pub assets: Vec<Asset>,
    pub threat_actors: Vec<ThreatActor>,
    pub attack_trees: Vec<AttackTree>,
    pub trust_zones: Vec<TrustZone>,
    pub parties: Vec<Party>,
    pub interactions: Vec<Interaction>,
    pub threats: Vec<Threat>,
    pub controls: Vec<Control>,
    /// Every decision, current and superseded.
    pub treatments: Vec<Treatment>,
    pub evaluation_entries: Vec<EvaluationEntry>,
    pub register: DocumentRegister,
}

impl Records {
    /// The checks of every step and the open gaps, as of `today`.
    pub fn assess(&self, today: NaiveDate) -> (Progress, Vec<Gap>) {
        let environment_checks = environment::checks(&EnvironmentFacts {
            assets: &self.assets,
            zones: &self.trust_zones,
            parties: &self.parties,
            interactions: &self.interactions,
            today,
        });
        let current: Vec<Treatment> = self
            .treatments
            .iter()
            .filter(|t| t.superseded_by.is_none())
            .cloned()
            .collect();
        let gaps = gaps::gaps(&GapFacts {
            register: &self.register.items,
            threats: &self.threats,
            controls: &self.controls,
            assets: &self.assets,
            environment_checks: &environment_checks,
            treatments: &current,
        });
        let progress = progress::progress(&ModelFacts {
            assets: &self.assets,
            actor_count: self.threat_actors.len(),
            tree_count: self.attack_trees.len(),
            tree_targets: self
                .attack_trees
                .iter()
                .filter_map(|t| t.target_asset_id)
                .collect(),
            threat_targets: self
                .threats
                .iter()
                .flat_map(|t| t.fields.asset_ids.iter().copied())
                .collect::<HashSet<_>>(),
            environment_records: self.trust_zones.len()
                + self.parties.len()
                + self.interactions.len(),
            environment_checks,
            threat_count: self.threats.len(),
            control_count: self.controls.len(),
            register_stale: self.register.stale,
            gaps: gaps.clone(),
            register: &self.register.items,
            treatments: &current,
            risk_appetite: Some(self.model.fields.risk_appetite),
            entries: &self.evaluation_entries,
        });
        (progress, gaps)
    }

    /// The document of these records, generated `now`.
    pub fn into_document(self, now: DateTime<Utc>) -> ModelDocument {
        let (progress, gaps) = self.assess(now.date_naive());
        ModelDocument {
            format: FORMAT,
            generated_at: now,
            records: self,
            progress,
            gaps,
        }
    }
}
