//! The records an import will write, built and validated in memory: each
//! gets a fresh id, so references between them are settled before the
//! store sees them, and every problem is collected with its pointer.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{
    ImportCounts, ImportError, ImportFormat, ImportNote, ImportReport, NoteKind, MAX_NOTES,
};
use crate::asset::{Asset, AssetFields};
use crate::environment::{
    Interaction, InteractionFields, Party, PartyFields, TrustZone, TrustZoneFields,
};
use crate::evaluation::{EvaluationEntry, EvaluationEntryFields};
use crate::ids::{
    AssetId, AttackTreeId, ControlId, EvaluationEntryId, InteractionId, ModelId, PartyId,
    ThreatActorId, ThreatId, TreatmentId, TrustZoneId,
};
use crate::model::{Model, ModelFields};
use crate::threat::{Control, ControlFields, Threat, ThreatFields};
use crate::threat_actor::{ThreatActor, ThreatActorFields};
use crate::treatment::{Treatment, TreatmentFields, TreatmentInput, TreatmentStatus};
use crate::tree::AttackTreeInput;
use crate::validation::ValidationErrors;

/// An attack tree to create with the node ids its document carries.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedTree {
    pub id: AttackTreeId,
    pub input: AttackTreeInput,
}

/// A new model and its records, in an order the store can write them in:
/// an asset's parent before it, a threat's tree before it, a threat's
/// treatments oldest first (each later one supersedes the one before).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    pub model: Model,
    pub trust_zones: Vec<TrustZone>,
    pub assets: Vec<Asset>,
    pub parties: Vec<Party>,
    pub threat_actors: Vec<ThreatActor>,
    pub attack_trees: Vec<PlannedTree>,
    pub interactions: Vec<Interaction>,
    pub threats: Vec<Threat>,
    pub controls: Vec<Control>,
    pub treatments: Vec<Treatment>,
    pub evaluation_entries: Vec<EvaluationEntry>,
}

impl ImportPlan {
    pub fn counts(&self) -> ImportCounts {
        ImportCounts {
            trust_zones: self.trust_zones.len(),
            assets: self.assets.len(),
            parties: self.parties.len(),
            threat_actors: self.threat_actors.len(),
            attack_trees: self.attack_trees.len(),
            interactions: self.interactions.len(),
            threats: self.threats.len(),
            controls: self.controls.len(),
            treatments: self.treatments.len(),
            evaluation_entries: self.evaluation_entries.len(),
        }
    }
}

pub(crate) struct Builder {
    now: DateTime<Utc>,
    model_id: ModelId,
    model: Option<ModelFields>,
    plan: Records,
    problems: ValidationErrors,
    notes: Vec<ImportNote>,
    omitted: usize,
    /// Where in the file each record came from.
    at_of: HashMap<uuid::Uuid, String>,
}

#[derive(Default)]
struct Records {
    trust_zones: Vec<TrustZone>,
    assets: Vec<Asset>,
    parties: Vec<Party>,
    threat_actors: Vec<ThreatActor>,
    attack_trees: Vec<PlannedTree>,
    interactions: Vec<Interaction>,
    threats: Vec<Threat>,
    controls: Vec<Control>,
    treatments: Vec<Treatment>,
    evaluation_entries: Vec<EvaluationEntry>,
}

/// A fresh record of the model: version 1, dated now.
macro_rules! fresh {
    ($self:ident, $at:expr, $list:ident, $t:ident, $id:expr, $fields:expr $(, $extra:ident: $value:expr)*) => {{
        let id = $id;
        $self.at_of.insert(id.0, $at.to_string());
        $self.plan.$list.push($t {
            id,
            model_id: $self.model_id,
            fields: $fields,
            $($extra: $value,)*
            version: 1,
            created_at: $self.now,
            updated_at: $self.now,
        });
        id
    }};
}

/// For each record kind: `kind(at, fields)` adds a record with a new id,
/// `kind_with(at, id, fields)` one with an id given beforehand (`None`: a
/// new one), so a mapping can point references at records not yet added.
macro_rules! adders {
    ($($name:ident, $with:ident, $list:ident, $t:ident, $fields:ty, $id:ty, $what:literal $(, $extra:ident: $value:expr)*;)*) => {
        $(
            #[allow(dead_code)]
            pub fn $name(&mut self, at: &str, fields: $fields) -> $id {
                self.$with(at, None, fields)
            }

            pub fn $with(&mut self, at: &str, id: Option<$id>, fields: $fields) -> $id {
                self.judged(at, $what, fields.validate());
                fresh!(self, at, $list, $t, id.unwrap_or_else(<$id>::generate), fields $(, $extra: $value)*)
            }
        )*
    };
}

impl Builder {
    pub fn new(now: DateTime<Utc>) -> Self {
        Builder {
            now,
            model_id: ModelId::generate(),
            model: None,
            plan: Records::default(),
            problems: ValidationErrors::new(),
            notes: Vec::new(),
            omitted: 0,
            at_of: HashMap::new(),
        }
    }

    pub fn today(&self) -> NaiveDate {
        self.now.date_naive()
    }

    pub fn problem(&mut self, at: impl Into<String>, message: impl Into<String>) {
        self.problems.add(at, message);
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    fn note(&mut self, at: &str, kind: NoteKind, message: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(ImportNote {
                pointer: at.to_string(),
                kind,
                message,
            });
        } else {
            self.omitted += 1;
        }
    }

    pub fn dropped(&mut self, at: &str, message: impl Into<String>) {
        self.note(at, NoteKind::Dropped, message.into());
    }

    pub fn approximated(&mut self, at: &str, message: impl Into<String>) {
        self.note(at, NoteKind::Approximated, message.into());
    }

    /// Each of a record's own validation errors, as a problem of the
    /// element it came from.
    fn judged(&mut self, at: &str, what: &str, result: Result<(), ValidationErrors>) {
        if let Err(errors) = result {
            for f in errors.0 {
                self.problem(
                    at,
                    format!("as a Palisade {what}, {}: {}", f.field, f.message),
                );
            }
        }
    }

    pub fn model(&mut self, at: &str, fields: ModelFields) {
        self.judged(at, "model", fields.validate());
        self.model = Some(fields);
    }

    adders! {
        zone, zone_with, trust_zones, TrustZone, TrustZoneFields, TrustZoneId, "trust zone";
        asset, asset_with, assets, Asset, AssetFields, AssetId, "asset";
        party, party_with, parties, Party, PartyFields, PartyId, "party";
        actor, actor_with, threat_actors, ThreatActor, ThreatActorFields, ThreatActorId, "threat actor";
        interaction, interaction_with, interactions, Interaction, InteractionFields, InteractionId, "interaction",
            crosses_trust_boundary: false;
        threat, threat_with, threats, Threat, ThreatFields, ThreatId, "threat";
        control, control_with, controls, Control, ControlFields, ControlId, "control";
        entry, entry_with, evaluation_entries, EvaluationEntry, EvaluationEntryFields, EvaluationEntryId, "evaluation entry";
    }

    /// The tree's header is judged here, its structure by the store.
    pub fn tree_with(
        &mut self,
        at: &str,
        id: Option<AttackTreeId>,
        input: AttackTreeInput,
    ) -> AttackTreeId {
        self.judged(at, "attack tree", input.validate_header());
        let id = id.unwrap_or_else(AttackTreeId::generate);
        self.at_of.insert(id.0, at.to_string());
        self.plan.attack_trees.push(PlannedTree { id, input });
        id
    }

    /// A treatment as a client would write it, judged as one would be
    /// (`today` for an acceptance's expiry), standing at `status`.
    pub fn treatment(
        &mut self,
        at: &str,
        input: TreatmentInput,
        status: TreatmentStatus,
    ) -> Option<TreatmentId> {
        self.treatment_with(at, None, input, status, true)
    }

    /// With `judge_expiry` false an acceptance may have ended already (a
    /// document's history).
    pub fn treatment_with(
        &mut self,
        at: &str,
        id: Option<TreatmentId>,
        input: TreatmentInput,
        status: TreatmentStatus,
        judge_expiry: bool,
    ) -> Option<TreatmentId> {
        let today = judge_expiry.then(|| self.today());
        let fields = match TreatmentFields::from_input(input, today) {
            Ok(f) => f,
            Err(e) => {
                self.judged(at, "treatment", Err(e));
                return None;
            }
        };
        self.judged(at, "treatment", fields.validate());
        Some(
            fresh!(self, at, treatments, Treatment, id.unwrap_or_else(TreatmentId::generate), fields,
            status: status, superseded_by: None),
        )
    }

    /// A control added before, so a mapping can add where it applies as it
    /// finds out; controls are judged again when the plan is finished.
    pub fn control_mut(&mut self, id: ControlId) -> Option<&mut Control> {
        self.plan.controls.iter_mut().find(|c| c.id == id)
    }

    pub fn has_treatments(&self) -> bool {
        !self.plan.treatments.is_empty()
    }

    pub fn finish(
        mut self,
        format: ImportFormat,
    ) -> Result<(ImportPlan, ImportReport), ImportError> {
        let Some(fields) = self.model.take() else {
            self.problem("", "the file names no model (a title or name is required)");
            return Err(ImportError::Invalid(self.problems));
        };
        let grown: Vec<(String, Result<(), ValidationErrors>)> = self
            .plan
            .controls
            .iter()
            .map(|c| (c.fields.name.clone(), c.fields.validate()))
            .collect();
        for (name, result) in grown {
            self.judged("", &format!("control {name:?}"), result);
        }
        if !self.problems.is_empty() {
            return Err(ImportError::Invalid(self.problems));
        }
        let r = self.plan;
        let plan = ImportPlan {
            model: Model {
                id: self.model_id,
                fields,
                version: 1,
                created_at: self.now,
                updated_at: self.now,
            },
            trust_zones: r.trust_zones,
            assets: r.assets,
            parties: r.parties,
            threat_actors: r.threat_actors,
            attack_trees: r.attack_trees,
            interactions: r.interactions,
            threats: r.threats,
            controls: r.controls,
            treatments: r.treatments,
            evaluation_entries: r.evaluation_entries,
        };
        if !plan_problems_free(&plan, &self.at_of, &mut self.problems) {
            return Err(ImportError::Invalid(self.problems));
        }
        let report = ImportReport {
            format,
            counts: plan.counts(),
            notes: self.notes,
            notes_omitted: self.omitted,
        };
        Ok((plan, report))
    }
}

/// Checks the plan's references; false (with the problems added) if any fails.
fn plan_problems_free(
    plan: &ImportPlan,
    at_of: &HashMap<uuid::Uuid, String>,
    problems: &mut ValidationErrors,
) -> bool {
    let found = super::integrity::check(plan, &|id| at_of.get(&id).cloned().unwrap_or_default());
    let clean = found.is_empty();
    problems.0.extend(found.0);
    clean
}
