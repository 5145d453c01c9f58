//! What a report says, section by section, worked out from a model
//! document. It reads the document as JSON so that a version stored by an
//! older release still renders; what it cannot find it leaves out. The
//! JSON report is this value; the Markdown and HTML ones are rendered from
//! it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::diagram::Drawing;
use crate::risk::{defenses_realised, Stage};
use crate::scoring::attack_tree::{self, evaluate, flatten, NestedNode, NodeValues, Tree};
use crate::scoring::nist::NistLevel;
use crate::scoring::residual::{ControlEffect, ControlStatus};
use crate::scoring::Assessment;
use crate::severity::Severity;

pub const FORMAT: &str = "palisade.report/1";

/// How many rows the summary's top risks show.
pub const TOP_RISKS: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportModel {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub risk_appetite: String,
    pub tags: Vec<String>,
}

/// The version a report describes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportVersion {
    pub id: String,
    pub number: i64,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Count {
    /// `assets`, `threats`, …
    pub resource: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepLine {
    pub step: i64,
    pub name: String,
    /// `not_started`, `in_progress` or `complete`.
    pub status: String,
    pub checks_total: usize,
    /// The messages of the checks that fail.
    pub failing: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    pub counts: Vec<Count>,
    pub steps: Vec<StepLine>,
    /// The highest residual risks, ranked.
    pub top_risks: Vec<RegisterLine>,
    /// Threats whose residual severity is above the model's risk appetite.
    pub above_appetite: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetLine {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub classification: Option<String>,
    pub owner: Option<String>,
    pub in_scope: bool,
    pub business_criticality: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActorLine {
    pub id: String,
    pub name: String,
    pub origin: String,
    pub category: String,
    pub intent: String,
    pub skill: Option<String>,
    pub motivation: Option<String>,
}

/// A tree and its values at the root as the register sees them: defense
/// nodes weakened by the implemented and partial controls realising them
/// (`GET …/attack-trees/{id}/evaluation` gives the same).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeLine {
    pub id: String,
    pub name: String,
    pub goal: Option<String>,
    pub node_count: usize,
    /// `null` when the stored tree cannot be evaluated.
    pub root: Option<NodeValues>,
    /// The labels of the cheapest attack, root first.
    pub cheapest_path: Vec<String>,
    /// The tree drawn as SVG, cheapest path highlighted (not in the JSON report).
    #[serde(skip)]
    pub svg: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ZoneLine {
    pub id: String,
    pub name: String,
    pub trust_rating: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartyLine {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub trust_level: String,
}

/// An interaction whose ends sit in different trust zones.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CrossingLine {
    pub id: String,
    pub source: String,
    pub destination: String,
    pub purpose: Option<String>,
    pub protocol: Option<String>,
    pub authenticated: bool,
    pub encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Environment {
    pub trust_zones: Vec<ZoneLine>,
    pub parties: Vec<PartyLine>,
    pub interactions: usize,
    pub crossings: Vec<CrossingLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterLine {
    /// 1 for the highest in the ranking it appears in.
    pub rank: usize,
    pub threat_id: String,
    pub title: String,
    pub method: String,
    pub inherent_score: f64,
    pub inherent_severity: Severity,
    pub residual_score: f64,
    pub residual_severity: Severity,
    pub projected_score: f64,
    pub projected_severity: Severity,
    pub status: String,
    pub treatment_strategy: Option<String>,
    pub treatment_status: Option<String>,
}

/// Counts of threats per cell: `cells[impact − 1][likelihood − 1]`, each
/// axis 1 (very low) to 5 (very high). See `docs/evaluation.md` for how
/// each method's figures are placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeatMap {
    pub inherent: [[usize; 5]; 5],
    pub residual: [[usize; 5]; 5],
    /// Threats with no residual risk left (avoided, or fully controlled).
    pub eliminated: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreatmentLine {
    pub id: String,
    pub threat_id: String,
    pub threat_title: String,
    pub strategy: String,
    pub status: String,
    pub owner: String,
    pub due_date: Option<NaiveDate>,
    /// Due before the report's day and not finished.
    pub overdue: bool,
    pub ticket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryLine {
    pub id: String,
    pub text: String,
    pub author: String,
    pub date: String,
    pub tags: Vec<String>,
    /// The titles and names of the records it links to.
    pub links: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GapLine {
    pub kind: String,
    pub message: String,
}

/// The JSON report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportView {
    /// `palisade.report/1`.
    pub format: &'static str,
    pub generated_at: DateTime<Utc>,
    pub model: ReportModel,
    pub version: Option<ReportVersion>,
    pub summary: Summary,
    pub assets: Vec<AssetLine>,
    pub threat_actors: Vec<ActorLine>,
    pub attack_trees: Vec<TreeLine>,
    pub environment: Environment,
    /// Ranked by inherent score: the risks before treatment.
    pub register_before: Vec<RegisterLine>,
    /// Ranked by residual score: the risks after treatment.
    pub register_after: Vec<RegisterLine>,
    pub heat_map: HeatMap,
    /// The current treatment of each treated threat.
    pub treatments: Vec<TreatmentLine>,
    pub findings: Vec<EntryLine>,
    pub fixes_applied: Vec<EntryLine>,
    pub successes: Vec<EntryLine>,
    pub lessons_learned: Vec<EntryLine>,
    pub gaps: Vec<GapLine>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn opt_text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn strings(v: &Value, key: &str) -> Vec<String> {
    list(v, key)
        .iter()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn severity(v: &Value, key: &str) -> Severity {
    v.get(key)
        .and_then(Value::as_str)
        .and_then(Severity::parse)
        .unwrap_or(Severity::Info)
}

fn number(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Builds the report of `document` (a `ModelDocument` as JSON) as of `today`.
pub fn build(document: &Value, version: Option<ReportVersion>, now: DateTime<Utc>) -> ReportView {
    let today = now.date_naive();
    let model = document.get("model").cloned().unwrap_or(Value::Null);
    let appetite = severity(&model, "risk_appetite");
    let register = list(document.get("register").unwrap_or(&Value::Null), "items");

    let mut lines: Vec<RegisterLine> = register.iter().map(register_line).collect();
    let titles: HashMap<String, String> = list(document, "threats")
        .iter()
        .map(|t| (text(t, "id"), text(t, "title")))
        .collect();
    let mut names: HashMap<String, String> = titles.clone();
    for key in ["assets", "controls", "parties", "trust_zones"] {
        for r in list(document, key) {
            names.insert(text(r, "id"), text(r, "name"));
        }
    }
    for t in list(document, "treatments") {
        let threat = titles
            .get(&text(t, "threat_id"))
            .cloned()
            .unwrap_or_default();
        names.insert(
            text(t, "id"),
            format!("{} of {threat}", text(t, "strategy")),
        );
    }

    lines.sort_by(|a, b| {
        b.residual_score
            .total_cmp(&a.residual_score)
            .then(b.inherent_score.total_cmp(&a.inherent_score))
            .then(a.title.cmp(&b.title))
    });
    let register_after: Vec<RegisterLine> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| RegisterLine {
            rank: i + 1,
            ..l.clone()
        })
        .collect();
    lines.sort_by(|a, b| {
        b.inherent_score
            .total_cmp(&a.inherent_score)
            .then(a.title.cmp(&b.title))
    });
    let register_before: Vec<RegisterLine> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| RegisterLine {
            rank: i + 1,
            ..l.clone()
        })
        .collect();

    let controls = list(document, "controls");
    let trees: Vec<(TreeLine, Option<f64>)> = list(document, "attack_trees")
        .iter()
        .map(|t| tree_line(t, controls))
        .collect();
    let tree_probability: HashMap<String, f64> = trees
        .iter()
        .filter_map(|(t, p)| Some((t.id.clone(), (*p)?)))
        .collect();
    let heat_map = heat_map(document, register, &tree_probability);

    let counts = [
        "assets",
        "threat_actors",
        "attack_trees",
        "trust_zones",
        "parties",
        "interactions",
        "threats",
        "controls",
        "treatments",
        "evaluation_entries",
    ]
    .iter()
    .map(|k| Count {
        resource: (*k).to_string(),
        count: list(document, k).len(),
    })
    .collect();
    let steps = list(document.get("progress").unwrap_or(&Value::Null), "steps")
        .iter()
        .map(|s| {
            let checks = list(s, "checks");
            StepLine {
                step: s.get("step").and_then(Value::as_i64).unwrap_or(0),
                name: text(s, "name"),
                status: text(s, "status"),
                checks_total: checks.len(),
                failing: checks
                    .iter()
                    .filter(|c| c.get("ok").and_then(Value::as_bool) == Some(false))
                    .map(|c| text(c, "message"))
                    .collect(),
            }
        })
        .collect();

    let treatments = list(document, "treatments")
        .iter()
        .filter(|t| t.get("superseded_by").is_none_or(Value::is_null))
        .map(|t| {
            let status = text(t, "status");
            let due_date = opt_text(t, "due_date").and_then(|d| d.parse::<NaiveDate>().ok());
            let finished = matches!(
                status.as_str(),
                "done" | "verified" | "rejected" | "expired"
            );
            let threat_id = text(t, "threat_id");
            TreatmentLine {
                id: text(t, "id"),
                threat_title: titles.get(&threat_id).cloned().unwrap_or_default(),
                threat_id,
                strategy: text(t, "strategy"),
                overdue: !finished && due_date.is_some_and(|d| d < today),
                status,
                owner: text(t, "owner"),
                due_date,
                ticket: t
                    .get("ticket")
                    .filter(|k| !k.is_null())
                    .map(|k| format!("{} {}", text(k, "system"), text(k, "key"))),
            }
        })
        .collect();

    let entries = |kind: &str| -> Vec<EntryLine> {
        let mut out: Vec<EntryLine> = list(document, "evaluation_entries")
            .iter()
            .filter(|e| text(e, "kind") == kind)
            .map(|e| EntryLine {
                id: text(e, "id"),
                text: text(e, "text"),
                author: text(e, "author"),
                date: text(e, "date"),
                tags: strings(e, "tags"),
                links: ["threat_ids", "treatment_ids", "control_ids", "asset_ids"]
                    .iter()
                    .flat_map(|k| strings(e, k))
                    .map(|id| names.get(&id).cloned().unwrap_or(id))
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| (&a.date, &a.id).cmp(&(&b.date, &b.id)));
        out
    };

    ReportView {
        format: FORMAT,
        generated_at: now,
        model: ReportModel {
            id: text(&model, "id"),
            name: text(&model, "name"),
            description: opt_text(&model, "description"),
            risk_appetite: appetite.as_str().to_string(),
            tags: strings(&model, "tags"),
        },
        version,
        summary: Summary {
            counts,
            steps,
            top_risks: register_after.iter().take(TOP_RISKS).cloned().collect(),
            above_appetite: register_after
                .iter()
                .filter(|r| r.residual_severity > appetite)
                .count(),
        },
        assets: list(document, "assets").iter().map(asset_line).collect(),
        threat_actors: list(document, "threat_actors")
            .iter()
            .map(|a| ActorLine {
                id: text(a, "id"),
                name: text(a, "name"),
                origin: text(a, "origin"),
                category: text(a, "category"),
                intent: text(a, "intent"),
                skill: opt_text(a, "skill"),
                motivation: opt_text(a, "motivation"),
            })
            .collect(),
        attack_trees: trees.into_iter().map(|(t, _)| t).collect(),
        environment: environment(document, &names),
        register_before,
        register_after,
        heat_map,
        treatments,
        findings: entries("finding"),
        fixes_applied: entries("fix_applied"),
        successes: entries("success"),
        lessons_learned: entries("lesson_learned"),
        gaps: list(document, "gaps")
            .iter()
            .map(|g| GapLine {
                kind: text(g, "kind"),
                message: text(g, "message"),
            })
            .collect(),
    }
}

fn register_line(r: &Value) -> RegisterLine {
    RegisterLine {
        rank: 0,
        threat_id: text(r, "threat_id"),
        title: text(r, "title"),
        method: text(r, "method"),
        inherent_score: number(r, "inherent_score"),
        inherent_severity: severity(r, "inherent_severity"),
        residual_score: number(r, "residual_score"),
        residual_severity: severity(r, "residual_severity"),
        projected_score: number(r, "projected_score"),
        projected_severity: severity(r, "projected_severity"),
        status: text(r, "status"),
        treatment_strategy: opt_text(r, "treatment_strategy"),
        treatment_status: opt_text(r, "treatment_status"),
    }
}

fn asset_line(a: &Value) -> AssetLine {
    AssetLine {
        id: text(a, "id"),
        name: text(a, "name"),
        kind: text(a, "kind"),
        classification: opt_text(a, "classification"),
        owner: opt_text(a, "owner"),
        in_scope: a.get("in_scope").and_then(Value::as_bool).unwrap_or(true),
        business_criticality: a.get("business_criticality").and_then(Value::as_i64),
    }
}

/// The tree's line (evaluated with the controls realising its defenses)
/// and its root probability before any control (where threats scored
/// with it sit on the inherent heat map).
fn tree_line(t: &Value, controls: &[Value]) -> (TreeLine, Option<f64>) {
    let mut line = TreeLine {
        id: text(t, "id"),
        name: text(t, "name"),
        goal: opt_text(t, "goal"),
        node_count: t
            .get("node_count")
            .and_then(Value::as_u64)
            .map_or(0, |n| n as usize),
        root: None,
        cheapest_path: Vec::new(),
        svg: String::new(),
    };
    let Some(root_json) = t.get("root") else {
        return (line, None);
    };
    let Ok(root) = serde_json::from_value::<NestedNode>(root_json.clone()) else {
        return (line, None);
    };
    let (flat, pointers) = flatten(&root);
    let Ok(tree) = Tree::build(flat.clone(), &pointers) else {
        line.svg = Drawing::new(&flat, []).svg();
        return (line, None);
    };
    // Node ids by index: each pointer is `/root…` into the nested root.
    let node_index: HashMap<String, usize> = pointers
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let id = root_json
                .pointer(p.strip_prefix("/root")?)?
                .get("id")?
                .as_str()?;
            Some((id.to_string(), i))
        })
        .collect();
    let realising = controls.iter().filter_map(|c| {
        let status = c
            .get("status")
            .and_then(Value::as_str)
            .and_then(ControlStatus::parse)?;
        let effect = ControlEffect {
            effectiveness: number(c, "effectiveness") / 100.0,
            status,
        };
        Some((effect, strings(c, "defense_node_ids")))
    });
    let defended = evaluate(
        &tree,
        &defenses_realised(&node_index, realising, Stage::Residual),
    );
    let inherent = evaluate(&tree, &attack_tree::DefenseEffectiveness::new());
    line.cheapest_path = defended
        .cheapest_path
        .iter()
        .filter_map(|i| flat.get(*i).map(|n| n.label.clone()))
        .collect();
    line.svg = Drawing::new(&flat, defended.cheapest_path.iter().copied()).svg();
    line.root = Some(defended.root);
    (line, Some(inherent.root.probability))
}

fn environment(document: &Value, names: &HashMap<String, String>) -> Environment {
    let end = |e: &Value| -> String {
        ["asset_id", "party_id"]
            .iter()
            .find_map(|k| opt_text(e, k))
            .map(|id| names.get(&id).cloned().unwrap_or(id))
            .unwrap_or_default()
    };
    let interactions = list(document, "interactions");
    Environment {
        trust_zones: list(document, "trust_zones")
            .iter()
            .map(|z| ZoneLine {
                id: text(z, "id"),
                name: text(z, "name"),
                trust_rating: z.get("trust_rating").and_then(Value::as_i64).unwrap_or(0),
            })
            .collect(),
        parties: list(document, "parties")
            .iter()
            .map(|p| PartyLine {
                id: text(p, "id"),
                name: text(p, "name"),
                kind: text(p, "kind"),
                trust_level: text(p, "trust_level"),
            })
            .collect(),
        interactions: interactions.len(),
        crossings: interactions
            .iter()
            .filter(|i| i.get("crosses_trust_boundary").and_then(Value::as_bool) == Some(true))
            .map(|i| CrossingLine {
                id: text(i, "id"),
                source: end(i.get("source").unwrap_or(&Value::Null)),
                destination: end(i.get("destination").unwrap_or(&Value::Null)),
                purpose: opt_text(i, "purpose"),
                protocol: opt_text(i, "protocol"),
                authenticated: i
                    .get("authenticated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                encrypted: i.get("encrypted").and_then(Value::as_bool).unwrap_or(false),
            })
            .collect(),
    }
}

/// A fraction of a scale's range (0–1) as a level 1–5; a fifth's upper
/// bound belongs to it (with a margin for rounding: 0.4 computed as
/// 0.4000000000000001 is still level 2).
pub fn level(fraction: f64) -> usize {
    ((fraction.clamp(0.0, 1.0) * 5.0 - 1e-9).ceil() as usize).clamp(1, 5)
}

fn nist_fraction(level: NistLevel) -> f64 {
    match level {
        NistLevel::VeryLow => 0.1,
        NistLevel::Low => 0.3,
        NistLevel::Moderate => 0.5,
        NistLevel::High => 0.7,
        NistLevel::VeryHigh => 0.9,
    }
}

fn severity_fraction(s: Severity) -> f64 {
    match s {
        Severity::Info => 0.1,
        Severity::Low => 0.3,
        Severity::Medium => 0.5,
        Severity::High => 0.7,
        Severity::Critical => 0.9,
    }
}

/// Where a threat sits before treatment: (likelihood, impact) as fractions
/// of their scales, from its method's own figures. Methods without a
/// separate likelihood (CVSS 4.0, FAIR) sit on the diagonal at their
/// severity.
pub fn position(
    assessment: &Value,
    inherent: Severity,
    trees: &HashMap<String, f64>,
) -> (f64, f64) {
    let diagonal = (severity_fraction(inherent), severity_fraction(inherent));
    let nist = |key: &str| {
        assessment
            .get(key)
            .and_then(Value::as_str)
            .and_then(NistLevel::parse)
            .map(nist_fraction)
    };
    match assessment.get("method").and_then(Value::as_str) {
        Some("attack_tree") => {
            let p = assessment
                .get("tree_id")
                .and_then(Value::as_str)
                .and_then(|t| trees.get(t).copied());
            match (p, nist("impact")) {
                (Some(p), Some(i)) => (nist_fraction(attack_tree::likelihood_level(p)), i),
                _ => diagonal,
            }
        }
        Some("dread") => {
            let f = |k: &str| number(assessment, k) / 10.0;
            (
                (f("reproducibility") + f("exploitability") + f("discoverability")) / 3.0,
                (f("damage") + f("affected_users")) / 2.0,
            )
        }
        Some("owasp" | "cvss31" | "nist") => {
            let Some(details) = serde_json::from_value::<Assessment>(assessment.clone())
                .ok()
                .and_then(|a| a.score().ok())
                .map(|s| s.details)
            else {
                return diagonal;
            };
            match assessment.get("method").and_then(Value::as_str) {
                Some("owasp") => {
                    let impact = if text(&details, "impact_used") == "business" {
                        number(&details, "business_impact")
                    } else {
                        number(&details, "technical_impact")
                    };
                    (number(&details, "likelihood") / 9.0, impact / 9.0)
                }
                Some("cvss31") => (
                    number(&details, "exploitability_subscore") / 3.887,
                    number(&details, "impact_subscore") / 6.048,
                ),
                _ => {
                    let lvl = |k: &str| {
                        details
                            .get(k)
                            .and_then(Value::as_str)
                            .and_then(NistLevel::parse)
                            .map_or(0.5, nist_fraction)
                    };
                    (lvl("likelihood_level"), lvl("impact_level"))
                }
            }
        }
        _ => diagonal,
    }
}

/// Inherent cells from each method's figures; residual cells lower the
/// likelihood by the share the residual score is of the inherent one
/// (controls and treatments act on likelihood, `scoring.md`).
fn heat_map(document: &Value, register: &[Value], trees: &HashMap<String, f64>) -> HeatMap {
    let assessments: HashMap<String, &Value> = list(document, "threats")
        .iter()
        .filter_map(|t| Some((text(t, "id"), t.get("assessment")?)))
        .collect();
    let mut map = HeatMap {
        inherent: [[0; 5]; 5],
        residual: [[0; 5]; 5],
        eliminated: 0,
    };
    for row in register {
        let inherent = number(row, "inherent_score");
        let residual = number(row, "residual_score");
        let (likelihood, impact) = assessments
            .get(&text(row, "threat_id"))
            .map_or((0.5, 0.5), |a| {
                position(a, severity(row, "inherent_severity"), trees)
            });
        let i = level(impact) - 1;
        map.inherent[i][level(likelihood) - 1] += 1;
        if residual <= 0.0 {
            map.eliminated += 1;
        } else {
            let share = if inherent > 0.0 {
                (residual / inherent).min(1.0)
            } else {
                1.0
            };
            map.residual[i][level(likelihood * share) - 1] += 1;
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_split_a_scale_in_fifths() {
        assert_eq!(
            [0.0, 0.2, 0.21, 0.5, 0.61, 0.8, 0.99, 1.0, 7.0].map(level),
            [1, 1, 2, 3, 4, 4, 5, 5, 5]
        );
    }

    #[test]
    fn owasp_threats_sit_at_their_likelihood_and_impact() {
        // The scoring.md example: likelihood 4.375, technical impact 7.25.
        let a = json!({"method": "owasp",
            "likelihood": {"skill_level": 5, "motive": 2, "opportunity": 7, "size": 1, "ease_of_discovery": 3, "ease_of_exploit": 6, "awareness": 9, "intrusion_detection": 2},
            "technical_impact": {"loss_of_confidentiality": 9, "loss_of_integrity": 7, "loss_of_availability": 5, "loss_of_accountability": 8}});
        let (l, i) = position(&a, Severity::High, &HashMap::new());
        assert!((l - 4.375 / 9.0).abs() < 1e-9, "{l}");
        assert!((i - 7.25 / 9.0).abs() < 1e-9, "{i}");
        assert_eq!((level(l), level(i)), (3, 5));
    }

    #[test]
    fn dread_and_nist_and_trees_have_their_own_axes() {
        let d = json!({"method": "dread", "damage": 8, "reproducibility": 2, "exploitability": 4, "affected_users": 6, "discoverability": 6});
        let (l, i) = position(&d, Severity::Medium, &HashMap::new());
        assert_eq!((level(l), level(i)), (2, 4));
        let t = json!({"method": "attack_tree", "tree_id": "t1", "impact": "very_high"});
        let trees = HashMap::from([("t1".to_string(), 0.3882)]);
        assert_eq!(position(&t, Severity::High, &trees), (0.5, 0.9));
        // Without a separate likelihood: on the diagonal at the severity.
        let f = json!({"method": "fair"});
        assert_eq!(position(&f, Severity::Critical, &trees), (0.9, 0.9));
    }

    #[test]
    fn trees_are_evaluated_with_the_controls_realising_their_defenses() {
        // OR(a .5, b .2) where a is countered by defense d: with nothing
        // realising d, 1 − .5 × .8 = 0.6; an implemented 50 % control
        // realising d halves a: 1 − .75 × .8 = 0.4; a planned one counts
        // for nothing yet.
        let doc = |status: &str| {
            json!({
                "attack_trees": [{"id": "t", "name": "t", "node_count": 4, "root":
                    {"id": "r", "kind": "or", "label": "root", "children": [
                        {"id": "a", "kind": "leaf", "label": "a", "attributes": {"probability": 0.5, "cost": 10},
                         "countermeasure": {"id": "d", "kind": "defense", "label": "d"}},
                        {"id": "b", "kind": "leaf", "label": "b", "attributes": {"probability": 0.2, "cost": 20}}]}}],
                "controls": [{"id": "c", "name": "c", "status": status, "effectiveness": 50, "defense_node_ids": ["d"]}],
            })
        };
        let p = |status: &str| {
            build(&doc(status), None, Utc::now()).attack_trees[0]
                .root
                .unwrap()
                .probability
        };
        assert!((p("planned") - 0.6).abs() < 1e-9, "{}", p("planned"));
        assert!(
            (p("implemented") - 0.4).abs() < 1e-9,
            "{}",
            p("implemented")
        );
        // The heat map places threats on the tree before any control.
        let (_, before) = tree_line(
            &doc("implemented")["attack_trees"][0],
            list(&doc("implemented"), "controls"),
        );
        assert!((before.unwrap() - 0.6).abs() < 1e-9);
    }

    #[test]
    fn residual_cells_move_left_by_the_share_left_and_zero_is_eliminated() {
        let doc = json!({
            "threats": [
                {"id": "a", "assessment": {"method": "dread", "damage": 10, "reproducibility": 10, "exploitability": 10, "affected_users": 10, "discoverability": 10}},
                {"id": "b", "assessment": {"method": "dread", "damage": 10, "reproducibility": 10, "exploitability": 10, "affected_users": 10, "discoverability": 10}}
            ],
            "register": {"items": [
                {"threat_id": "a", "inherent_score": 10.0, "residual_score": 3.0, "inherent_severity": "critical"},
                {"threat_id": "b", "inherent_score": 10.0, "residual_score": 0.0, "inherent_severity": "critical"}
            ]}
        });
        let v = build(&doc, None, Utc::now());
        assert_eq!(v.heat_map.inherent[4][4], 2);
        assert_eq!(v.heat_map.residual[4][1], 1, "{:?}", v.heat_map.residual);
        assert_eq!(v.heat_map.eliminated, 1);
        assert_eq!(v.heat_map.residual.iter().flatten().sum::<usize>(), 1);
    }
}
