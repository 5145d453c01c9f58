//! The six steps and their completeness checks. Advisory, never a gate:
//! people move back and forth between steps.

use serde::Serialize;

use std::collections::HashSet;

use crate::asset::Asset;
use crate::ids::AssetId;
use crate::severity::Severity;

string_enum!(StepStatus {
    NotStarted => "not_started",
    InProgress => "in_progress",
    Complete => "complete",
});

pub use crate::check::Check;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub step: u8,
    pub name: &'static str,
    pub status: StepStatus,
    pub checks: Vec<Check>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub steps: Vec<Step>,
}

/// What the checks read; grows as the steps get their records.
#[derive(Default)]
pub struct ModelFacts<'a> {
    pub assets: &'a [Asset],
    pub actor_count: usize,
    pub tree_count: usize,
    /// Assets some attack tree targets.
    pub tree_targets: HashSet<AssetId>,
    /// Assets some threat names (`asset_ids`).
    pub threat_targets: HashSet<AssetId>,
    /// Trust zones, parties and interactions together.
    pub environment_records: usize,
    /// Step 3's checks (`environment::checks`).
    pub environment_checks: Vec<Check>,
    pub threat_count: usize,
    pub control_count: usize,
    pub register_stale: bool,
    /// Step 4's gaps (`gaps::gaps`).
    pub gaps: Vec<crate::gaps::Gap>,
    /// The register's rows, for step 5's appetite check.
    pub register: &'a [crate::risk::RiskRow],
    /// The threats' current treatments.
    pub treatments: &'a [crate::treatment::Treatment],
    /// The model's risk appetite (`None`: the default, medium).
    pub risk_appetite: Option<Severity>,
    /// Step 6's evaluation entries.
    pub entries: &'a [crate::evaluation::EvaluationEntry],
}

pub const STEP_NAMES: [&str; 6] = [
    "scope",
    "threats",
    "environment",
    "analysis",
    "mitigation",
    "evaluation",
];

/// Step `n` (1-based): not started until it has records, complete when
/// every check passes, else in progress.
fn step(n: u8, started: bool, checks: Vec<Check>) -> Step {
    let status = if !started {
        StepStatus::NotStarted
    } else if checks.iter().all(|c| c.ok) {
        StepStatus::Complete
    } else {
        StepStatus::InProgress
    };
    Step {
        step: n,
        name: STEP_NAMES[usize::from(n) - 1],
        status,
        checks,
    }
}

pub fn progress(facts: &ModelFacts<'_>) -> Progress {
    let mut steps = vec![
        scope_step(facts),
        threats_step(facts),
        environment_step(facts),
        analysis_step(facts),
        mitigation_step(facts),
        evaluation_step(facts),
    ];
    steps.sort_by_key(|s| s.step);
    Progress { steps }
}

/// Step 6: the exercise is written down — what it found, which finished
/// treatments were recorded as fixes, and what was learned.
fn evaluation_step(facts: &ModelFacts<'_>) -> Step {
    use crate::evaluation::EntryKind;
    use crate::treatment::TreatmentStatus;
    let count = |kind: EntryKind| {
        facts
            .entries
            .iter()
            .filter(|e| e.fields.kind == kind)
            .count()
    };
    let recorded: HashSet<crate::ids::TreatmentId> = facts
        .entries
        .iter()
        .filter(|e| e.fields.kind == EntryKind::FixApplied)
        .flat_map(|e| e.fields.treatment_ids.iter().copied())
        .collect();
    let undocumented: Vec<String> = facts
        .treatments
        .iter()
        .filter(|t| t.superseded_by.is_none())
        .filter(|t| matches!(t.status, TreatmentStatus::Done | TreatmentStatus::Verified))
        .filter(|t| !recorded.contains(&t.id))
        .map(|t| t.id.to_string())
        .collect();
    let (findings, lessons) = (count(EntryKind::Finding), count(EntryKind::LessonLearned));
    let checks = vec![
        Check {
            id: "evaluation.findings_recorded",
            ok: findings > 0,
            message: format!("{findings} finding(s) recorded"),
            refs: Vec::new(),
        },
        Check {
            id: "evaluation.fixes_recorded",
            ok: undocumented.is_empty(),
            message: if undocumented.is_empty() {
                "every finished treatment is recorded as a fix applied".into()
            } else {
                format!(
                    "{} finished treatment(s) not yet recorded as a fix applied",
                    undocumented.len()
                )
            },
            refs: undocumented,
        },
        Check {
            id: "evaluation.lessons_recorded",
            ok: lessons > 0,
            message: format!("{lessons} lesson(s) learned recorded"),
            refs: Vec::new(),
        },
    ];
    step(6, !facts.entries.is_empty(), checks)
}

fn scope_step(facts: &ModelFacts<'_>) -> Step {
    let in_scope: Vec<&Asset> = facts.assets.iter().filter(|a| a.fields.in_scope).collect();
    let unclassified: Vec<String> = in_scope
        .iter()
        .filter(|a| a.fields.classification.is_none())
        .map(|a| a.id.to_string())
        .collect();
    let unowned: Vec<String> = in_scope
        .iter()
        .filter(|a| !a.fields.is_owned())
        .map(|a| a.id.to_string())
        .collect();

    let checks = vec![
        Check {
            id: "scope.has_in_scope_asset",
            ok: !in_scope.is_empty(),
            message: if in_scope.is_empty() {
                "no asset is in scope yet".into()
            } else {
                format!("{} asset(s) in scope", in_scope.len())
            },
            refs: Vec::new(),
        },
        Check {
            id: "scope.in_scope_assets_classified",
            ok: unclassified.is_empty(),
            message: if unclassified.is_empty() {
                "every in-scope asset is classified".into()
            } else {
                format!(
                    "{} in-scope asset(s) have no classification",
                    unclassified.len()
                )
            },
            refs: unclassified,
        },
        Check {
            id: "scope.in_scope_assets_owned",
            ok: unowned.is_empty(),
            message: if unowned.is_empty() {
                "every in-scope asset has an owner".into()
            } else {
                format!("{} in-scope asset(s) have no owner", unowned.len())
            },
            refs: unowned,
        },
    ];
    step(1, !facts.assets.is_empty(), checks)
}

fn analysis_step(facts: &ModelFacts<'_>) -> Step {
    use crate::gaps::GapKind;
    let of = |kind: GapKind| -> Vec<String> {
        facts
            .gaps
            .iter()
            .filter(|g| g.kind == kind)
            .flat_map(|g| g.refs.clone())
            .collect()
    };
    let unprotected = of(GapKind::UnprotectedThreat);
    let uncontrolled = of(GapKind::UncontrolledSensitiveAsset);
    let idle = of(GapKind::IdleControl);
    let checks = vec![
        Check {
            id: "analysis.has_threat",
            ok: facts.threat_count > 0,
            message: format!("{} threat(s) analysed", facts.threat_count),
            refs: Vec::new(),
        },
        Check {
            id: "analysis.register_fresh",
            ok: !facts.register_stale,
            message: if facts.register_stale {
                "the risk register is being recomputed".into()
            } else {
                "the risk register is up to date".into()
            },
            refs: Vec::new(),
        },
        Check {
            id: "analysis.high_risks_controlled",
            ok: unprotected.is_empty(),
            message: format!(
                "{} threat(s) at high or critical residual risk without an implemented control",
                unprotected.len()
            ),
            refs: unprotected,
        },
        Check {
            id: "analysis.sensitive_assets_controlled",
            ok: uncontrolled.is_empty(),
            message: format!(
                "{} confidential or restricted asset(s) without a control",
                uncontrolled.len()
            ),
            refs: uncontrolled,
        },
        Check {
            id: "analysis.controls_cover_something",
            ok: idle.is_empty(),
            message: format!("{} control(s) cover nothing", idle.len()),
            refs: idle,
        },
    ];
    step(4, facts.threat_count > 0 || facts.control_count > 0, checks)
}

/// Step 5: every threat whose residual risk is above the model's appetite
/// has a treatment that stands (not rejected, not expired).
fn mitigation_step(facts: &ModelFacts<'_>) -> Step {
    let appetite = facts.risk_appetite.unwrap_or(Severity::Medium);
    let standing: HashSet<crate::ids::ThreatId> = facts
        .treatments
        .iter()
        .filter(|t| t.superseded_by.is_none() && t.status.stands())
        .map(|t| t.fields.threat_id)
        .collect();
    let untreated: Vec<&crate::risk::RiskRow> = facts
        .register
        .iter()
        .filter(|r| r.residual_severity > appetite && !standing.contains(&r.threat_id))
        .collect();
    let expired = facts
        .gaps
        .iter()
        .filter(|g| g.kind == crate::gaps::GapKind::ExpiredAcceptance)
        .flat_map(|g| g.refs.first().cloned())
        .collect::<Vec<_>>();
    let checks = vec![
        Check {
            id: "mitigation.above_appetite_treated",
            ok: untreated.is_empty(),
            message: if untreated.is_empty() {
                format!("every threat above the risk appetite ({appetite}) has a treatment")
            } else {
                format!(
                    "{} threat(s) above the risk appetite ({appetite}) without a treatment that stands: {}",
                    untreated.len(),
                    untreated
                        .iter()
                        .map(|r| format!("{:?} ({})", r.title, r.residual_severity))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            refs: untreated.iter().map(|r| r.threat_id.to_string()).collect(),
        },
        Check {
            id: "mitigation.acceptances_in_force",
            ok: expired.is_empty(),
            message: format!("{} acceptance(s) expired", expired.len()),
            refs: expired,
        },
    ];
    step(5, !facts.treatments.is_empty(), checks)
}

fn environment_step(facts: &ModelFacts<'_>) -> Step {
    let checks = facts.environment_checks.clone();
    step(3, facts.environment_records != 0, checks)
}

fn threats_step(facts: &ModelFacts<'_>) -> Step {
    let untargeted: Vec<String> = facts
        .assets
        .iter()
        .filter(|a| a.fields.in_scope && a.fields.classification.is_some_and(|c| c.is_sensitive()))
        .filter(|a| !facts.tree_targets.contains(&a.id) && !facts.threat_targets.contains(&a.id))
        .map(|a| a.id.to_string())
        .collect();
    let checks = vec![
        Check {
            id: "threats.has_actor",
            ok: facts.actor_count > 0,
            message: if facts.actor_count == 0 {
                "no threat actor is described yet".into()
            } else {
                format!("{} threat actor(s)", facts.actor_count)
            },
            refs: Vec::new(),
        },
        Check {
            id: "threats.sensitive_assets_targeted",
            ok: untargeted.is_empty(),
            message: if untargeted.is_empty() {
                "every in-scope confidential or restricted asset is the target of an attack tree or a threat"
                    .into()
            } else {
                format!("{} in-scope confidential or restricted asset(s) are the target of no attack tree and no threat", untargeted.len())
            },
            refs: untargeted,
        },
    ];
    step(2, facts.actor_count > 0 || facts.tree_count > 0, checks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::tests::asset;

    #[test]
    fn an_empty_model_has_not_started() {
        let p = progress(&ModelFacts::default());
        assert_eq!(p.steps.len(), 6);
        assert!(p.steps.iter().all(|s| s.status == StepStatus::NotStarted));
        assert!(!p.steps[0].checks[0].ok);
    }

    #[test]
    fn scope_completes_when_every_in_scope_asset_is_classified_and_owned() {
        let good =
            asset(r#"{"name":"db","kind":"data","classification":"restricted","owner":"dba"}"#);
        let bare = asset(r#"{"name":"api","kind":"service"}"#);
        let out = asset(r#"{"name":"old","kind":"data","in_scope":false}"#);

        let p = progress(&ModelFacts {
            assets: &[good.clone(), bare.clone(), out.clone()],
            ..Default::default()
        });
        assert_eq!(p.steps[0].status, StepStatus::InProgress);
        let failing: Vec<_> = p.steps[0].checks.iter().filter(|c| !c.ok).collect();
        assert_eq!(failing.len(), 2);
        assert!(failing.iter().all(|c| c.refs == [bare.id.to_string()]));

        let p = progress(&ModelFacts {
            assets: &[good, out],
            ..Default::default()
        });
        assert_eq!(p.steps[0].status, StepStatus::Complete);
    }

    #[test]
    fn only_out_of_scope_assets_fail_the_first_check() {
        let out = asset(r#"{"name":"old","kind":"data","in_scope":false}"#);
        let p = progress(&ModelFacts {
            assets: &[out],
            ..Default::default()
        });
        assert_eq!(p.steps[0].status, StepStatus::InProgress);
        assert!(!p.steps[0].checks[0].ok);
    }

    #[test]
    fn threats_step_needs_an_actor_and_a_tree_on_every_sensitive_asset() {
        let secret =
            asset(r#"{"name":"db","kind":"data","classification":"restricted","owner":"dba"}"#);
        let public = asset(
            r#"{"name":"site","kind":"application","classification":"public","owner":"web"}"#,
        );
        let assets = [secret.clone(), public];
        let p = progress(&ModelFacts {
            assets: &assets,
            ..Default::default()
        });
        assert_eq!(p.steps[1].status, StepStatus::NotStarted);
        let p = progress(&ModelFacts {
            assets: &assets,
            actor_count: 1,
            ..Default::default()
        });
        assert_eq!(p.steps[1].status, StepStatus::InProgress);
        assert_eq!(p.steps[1].checks[1].refs, [secret.id.to_string()]);
        let p = progress(&ModelFacts {
            assets: &assets,
            actor_count: 1,
            tree_count: 1,
            tree_targets: HashSet::from([secret.id]),
            ..Default::default()
        });
        assert_eq!(p.steps[1].status, StepStatus::Complete);
        // A threat naming the asset covers it as well as a tree does.
        let p = progress(&ModelFacts {
            assets: &assets,
            actor_count: 1,
            threat_targets: HashSet::from([secret.id]),
            ..Default::default()
        });
        assert!(p.steps[1].checks[1].ok, "{:?}", p.steps[1].checks[1]);
    }
}
