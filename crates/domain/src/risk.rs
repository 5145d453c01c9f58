//! Step 4's register: every threat's inherent, residual and projected risk,
//! ranked. Pure: the worker loads the records and calls `register`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use chrono::NaiveDate;

use crate::ids::{AttackTreeId, ControlId, ModelId, ThreatId};
use crate::scoring::attack_tree::{evaluate, DefenseEffectiveness, Evaluation, Tree};
use crate::scoring::residual::{assess, ControlEffect, ControlStatus, Scored};
use crate::scoring::{Method, Score, ScoreResult};
use crate::severity::Severity;
use crate::threat::{Control, Stride, Threat, ThreatAssessment};
use crate::treatment::{Effect, Strategy, TreatmentStatus};

pub use crate::treatment::RiskStatus;

/// One row of the register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RiskRow {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub threat_id: ThreatId,
    /// The threat's model (the organisation-wide register lists several).
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub model_id: ModelId,
    pub title: String,
    pub stride: Stride,
    pub method: Method,
    pub inherent_score: f64,
    pub inherent_severity: Severity,
    pub residual_score: f64,
    pub residual_severity: Severity,
    pub projected_score: f64,
    pub projected_severity: Severity,
    pub status: RiskStatus,
    /// The threat's current treatment, if it has one (step 5).
    pub treatment_strategy: Option<Strategy>,
    pub treatment_status: Option<TreatmentStatus>,
    pub explanation: Vec<String>,
    /// When the row was computed (set when it is stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A stored tree with, for each of its defense nodes (by index), the ids of
/// the controls that realise it.
pub struct TreeForRisk {
    pub tree: Tree,
    /// Node id → index in `tree`.
    pub node_index: HashMap<String, usize>,
}

fn effect(c: &Control) -> ControlEffect {
    ControlEffect {
        effectiveness: c.fields.effectiveness as f64 / 100.0,
        status: c.fields.status,
    }
}

/// Defense probabilities from the controls realising each defense node.
/// Which controls a figure counts: none (inherent), implemented and
/// partial ones (residual), or planned ones too (projected).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Inherent,
    Residual,
    Projected,
}

impl Stage {
    fn counts(self, status: ControlStatus) -> bool {
        match self {
            Stage::Inherent => false,
            Stage::Residual => status != ControlStatus::Planned,
            Stage::Projected => true,
        }
    }
}

fn defense_effectiveness(
    tree: &TreeForRisk,
    controls: &[Control],
    stage: Stage,
) -> DefenseEffectiveness {
    defenses_realised(
        &tree.node_index,
        controls.iter().map(|c| {
            (
                effect(c),
                c.fields
                    .defense_node_ids
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            )
        }),
        stage,
    )
}

/// Defense probabilities from controls given as their effect and the
/// defense node ids they realise (`node_index`: node id → index in the
/// tree); a report reads them from a stored document this way.
pub fn defenses_realised(
    node_index: &HashMap<String, usize>,
    controls: impl IntoIterator<Item = (ControlEffect, Vec<String>)>,
    stage: Stage,
) -> DefenseEffectiveness {
    let mut per_node: HashMap<usize, Vec<ControlEffect>> = HashMap::new();
    for (effect, nodes) in controls {
        if !stage.counts(effect.status) {
            continue;
        }
        for node in &nodes {
            if let Some(i) = node_index.get(node) {
                per_node.entry(*i).or_default().push(ControlEffect {
                    status: ControlStatus::Implemented,
                    ..effect
                });
            }
        }
    }
    per_node
        .into_iter()
        .map(|(i, effects)| {
            (
                i,
                crate::scoring::residual::combined_effectiveness(&effects, true),
            )
        })
        .collect()
}

/// The tree as the controls realising its defense nodes leave it at
/// `stage`: the one computation behind both the register's attack-tree rows
/// and `GET …/attack-trees/{id}/evaluation`, so the two always agree.
pub fn evaluate_defended(tree: &TreeForRisk, controls: &[Control], stage: Stage) -> Evaluation {
    evaluate(&tree.tree, &defense_effectiveness(tree, controls, stage))
}

/// A control that realises a defense node of the tree already lowers the
/// root probability through it; it is not applied to the threat again.
fn realises_a_defense_of(tree: &TreeForRisk, control: &Control) -> bool {
    control
        .fields
        .defense_node_ids
        .iter()
        .any(|n| tree.node_index.contains_key(&n.to_string()))
}

fn failed_row(threat: &Threat, why: String) -> RiskRow {
    RiskRow {
        threat_id: threat.id,
        model_id: threat.model_id,
        title: threat.fields.title.clone(),
        stride: threat.fields.stride,
        method: threat.fields.assessment.method(),
        inherent_score: 0.0,
        inherent_severity: Severity::Info,
        residual_score: 0.0,
        residual_severity: Severity::Info,
        projected_score: 0.0,
        projected_severity: Severity::Info,
        status: RiskStatus::Open,
        treatment_strategy: None,
        treatment_status: None,
        explanation: vec![format!("not scored: {why}")],
        computed_at: None,
    }
}

fn row(
    threat: &Threat,
    inherent: ScoreResult,
    residual: ScoreResult,
    projected: ScoreResult,
    mut explanation: Vec<String>,
) -> RiskRow {
    explanation.extend(
        residual
            .explanation
            .iter()
            .map(|l| format!("residual: {l}")),
    );
    RiskRow {
        threat_id: threat.id,
        model_id: threat.model_id,
        title: threat.fields.title.clone(),
        stride: threat.fields.stride,
        method: threat.fields.assessment.method(),
        inherent_score: inherent.score.value(),
        inherent_severity: inherent.severity,
        residual_score: residual.score.value(),
        residual_severity: residual.severity,
        projected_score: projected.score.value(),
        projected_severity: projected.severity,
        status: RiskStatus::Open,
        treatment_strategy: None,
        treatment_status: None,
        explanation,
        computed_at: None,
    }
}

/// The ranked register: residual score, then inherent score (both
/// descending), then title and threat id.
/// `treatments` are the threats' current treatments (`treatment::effect`
/// says what each does); `today` decides whether an acceptance is in force.
pub fn register(
    threats: &[Threat],
    controls: &[Control],
    trees: &HashMap<AttackTreeId, Result<TreeForRisk, String>>,
    treatments: &[crate::treatment::Treatment],
    today: NaiveDate,
) -> Vec<RiskRow> {
    // Controls by the threats they cover, once, rather than a scan per threat.
    let mut by_threat: HashMap<ThreatId, Vec<&Control>> = HashMap::new();
    for c in controls {
        for t in &c.fields.threat_ids {
            by_threat.entry(*t).or_default().push(c);
        }
    }
    let by_id: HashMap<ControlId, &Control> = controls.iter().map(|c| (c.id, c)).collect();
    let decided: HashMap<ThreatId, &crate::treatment::Treatment> = treatments
        .iter()
        .filter(|t| t.superseded_by.is_none())
        .map(|t| (t.fields.threat_id, t))
        .collect();
    let mut rows: Vec<RiskRow> = threats
        .iter()
        .map(|t| {
            let on_threat: &[&Control] = by_threat.get(&t.id).map_or(&[], Vec::as_slice);
            let covering: Vec<ControlEffect> = on_threat.iter().map(|c| effect(c)).collect();
            let decision = decided.get(&t.id).copied();
            let treated = decision.map_or(Effect::NONE, |d| crate::treatment::effect(d, today));
            // A reduce treatment's controls that do not cover the threat already.
            let added: Vec<ControlEffect> = treated
                .controls
                .iter()
                .filter(|id| !on_threat.iter().any(|c| c.id == **id))
                .filter_map(|id| by_id.get(id))
                .map(|c| effect(c))
                .collect();
            let mut base = vec![format!("{} control(s) cover this threat", covering.len())];
            if let Some(d) = decision {
                base.push(format!(
                    "treatment: {} ({}){}",
                    d.fields.plan.strategy(),
                    d.status,
                    if added.is_empty() { String::new() } else { format!(", adding {} control(s)", added.len()) }
                ));
            }
            let decide = treated.treatment;
            let mut scored = match &t.fields.assessment {
                ThreatAssessment::Stateless(a) => match assess(Scored::Assessment(a), &covering, &added, decide) {
                    Ok(f) => {
                        let mut explanation = base;
                        explanation.extend(f.inherent.explanation.iter().cloned());
                        row(t, f.inherent, f.residual, f.projected, explanation)
                    }
                    Err(e) => failed_row(t, e.to_string()),
                },
                ThreatAssessment::AttackTree(ta) => match trees.get(&ta.tree_id) {
                    Some(Ok(tree)) => {
                        // Defense nodes realised by controls lower the tree's own probability.
                        let p = |stage| evaluate_defended(tree, controls, stage).root.probability;
                        let inherent_p = p(Stage::Inherent);
                        let residual_p = p(Stage::Residual);
                        let projected_p = p(Stage::Projected);
                        let beside_the_tree: Vec<ControlEffect> = on_threat
                            .iter()
                            .filter(|c| !realises_a_defense_of(tree, c))
                            .map(|c| effect(c))
                            .collect();
                        let direct = |p: f64| assess(Scored::AttackTree { root_probability: p, impact: ta.impact }, &beside_the_tree, &added, decide);
                        match (direct(inherent_p), direct(residual_p), direct(projected_p)) {
                            (Ok(i), Ok(r), Ok(pr)) => {
                                let mut explanation = base;
                                explanation.push(format!(
                                    "attack tree root probability: {inherent_p:.4} without controls, {residual_p:.4} with implemented and partial defenses, {projected_p:.4} with planned ones"
                                ));
                                let cap = |x: ScoreResult, c: &ScoreResult| if x.score > c.score { c.clone() } else { x };
                                let residual = cap(r.residual, &i.inherent);
                                let projected = cap(pr.projected, &residual);
                                row(t, i.inherent, residual, projected, explanation)
                            }
                            _ => failed_row(t, "the attack tree's figures could not be scored".into()),
                        }
                    }
                    Some(Err(why)) => failed_row(t, format!("attack tree {}: {why}", ta.tree_id)),
                    None => failed_row(t, format!("attack tree {} is gone", ta.tree_id)),
                },
            };
            scored.status = treated.status;
            scored.treatment_strategy = decision.map(|d| d.fields.plan.strategy());
            scored.treatment_status = decision.map(|d| d.status);
            scored
        })
        .collect();
    rows.sort_by(|a, b| {
        Score::rounded(b.residual_score)
            .tenths()
            .cmp(&Score::rounded(a.residual_score).tenths())
            .then(
                Score::rounded(b.inherent_score)
                    .tenths()
                    .cmp(&Score::rounded(a.inherent_score).tenths()),
            )
            .then(a.title.cmp(&b.title))
            .then(a.threat_id.cmp(&b.threat_id))
    });
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::{ControlCategory, ControlFields, ControlType, Stride, ThreatFields};
    use chrono::Utc;

    fn threat(title: &str, vector: &str) -> Threat {
        let a = serde_json::from_value(serde_json::json!({"method": "cvss31", "vector": vector}))
            .unwrap();
        Threat {
            id: ThreatId::generate(),
            model_id: crate::ids::ModelId::generate(),
            fields: ThreatFields {
                title: title.into(),
                description: None,
                stride: Stride::Tampering,
                asset_ids: vec![],
                actor_ids: vec![],
                interaction_ids: vec![],
                attack_tree_node_ids: vec![],
                assessment: ThreatAssessment::Stateless(a),
            },
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn control(threats: &[&Threat], effectiveness: i64, status: ControlStatus) -> Control {
        Control {
            id: crate::ids::ControlId::generate(),
            model_id: crate::ids::ModelId::generate(),
            fields: ControlFields {
                name: "c".into(),
                description: None,
                control_type: ControlType::Preventive,
                category: ControlCategory::Technical,
                status,
                effectiveness,
                threat_ids: threats.iter().map(|t| t.id).collect(),
                asset_ids: vec![],
                defense_node_ids: vec![],
            },
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
    const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"; // 7.5

    #[test]
    fn ranked_by_residual_then_inherent_then_title() {
        let a = threat("a", CRITICAL);
        let b = threat("b", HIGH);
        let c = threat("c", HIGH);
        let c2 = threat("b2", HIGH);
        // a: 9.8 × 0.5 = 4.9 residual; b, b2, c stay 7.5.
        let rows = register(
            &[a.clone(), b.clone(), c.clone(), c2.clone()],
            &[control(&[&a], 50, ControlStatus::Implemented)],
            &HashMap::new(),
            &[],
            chrono::NaiveDate::MIN,
        );
        let titles: Vec<&str> = rows.iter().map(|r| r.title.as_str()).collect();
        assert_eq!(titles, ["b", "b2", "c", "a"]);
        assert_eq!((rows[3].inherent_score, rows[3].residual_score), (9.8, 4.9));
    }

    #[test]
    fn planned_controls_count_in_projected_only() {
        let a = threat("a", CRITICAL);
        let rows = register(
            std::slice::from_ref(&a),
            &[control(&[&a], 50, ControlStatus::Planned)],
            &HashMap::new(),
            &[],
            chrono::NaiveDate::MIN,
        );
        assert_eq!(
            (rows[0].residual_score, rows[0].projected_score),
            (9.8, 4.9)
        );
    }
}
