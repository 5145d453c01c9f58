//! OWASP Risk Rating Methodology: 8 likelihood factors, 4 technical and
//! optionally 4 business impact factors, each 0–9 (a number or one of the
//! methodology's named options). Levels compare integer sums, so 3.0 is
//! MEDIUM and 6.0 HIGH exactly.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{fmt_num, Method, Score, ScoreResult, ScoringError};
use crate::severity::Severity;

/// A factor: a number 0–9, or a named option of the methodology
/// (`"security_penetration_skills"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Factor {
    Value(i64),
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Likelihood {
    pub skill_level: Factor,
    pub motive: Factor,
    pub opportunity: Factor,
    pub size: Factor,
    pub ease_of_discovery: Factor,
    pub ease_of_exploit: Factor,
    pub awareness: Factor,
    pub intrusion_detection: Factor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TechnicalImpact {
    pub loss_of_confidentiality: Factor,
    pub loss_of_integrity: Factor,
    pub loss_of_availability: Factor,
    pub loss_of_accountability: Factor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BusinessImpact {
    pub financial_damage: Factor,
    pub reputation_damage: Factor,
    pub non_compliance: Factor,
    pub privacy_violation: Factor,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwaspInput {
    pub likelihood: Likelihood,
    pub technical_impact: TechnicalImpact,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_impact: Option<BusinessImpact>,
}

/// The methodology's named options for each factor.
/// The named options of a factor, with their values.
pub fn options(factor: &str) -> &'static [(&'static str, i64)] {
    match factor {
        "skill_level" => &[
            ("no_technical_skills", 1),
            ("some_technical_skills", 3),
            ("advanced_computer_user", 5),
            ("network_and_programming_skills", 6),
            ("security_penetration_skills", 9),
        ],
        "motive" => &[
            ("low_or_no_reward", 1),
            ("possible_reward", 4),
            ("high_reward", 9),
        ],
        "opportunity" => &[
            ("full_access_or_expensive_resources_required", 0),
            ("special_access_or_resources_required", 4),
            ("some_access_or_resources_required", 7),
            ("no_access_or_resources_required", 9),
        ],
        "size" => &[
            ("developers", 2),
            ("system_administrators", 2),
            ("intranet_users", 4),
            ("partners", 5),
            ("authenticated_users", 6),
            ("anonymous_internet_users", 9),
        ],
        "ease_of_discovery" => &[
            ("practically_impossible", 1),
            ("difficult", 3),
            ("easy", 7),
            ("automated_tools_available", 9),
        ],
        "ease_of_exploit" => &[
            ("theoretical", 1),
            ("difficult", 3),
            ("easy", 5),
            ("automated_tools_available", 9),
        ],
        "awareness" => &[
            ("unknown", 1),
            ("hidden", 4),
            ("obvious", 6),
            ("public_knowledge", 9),
        ],
        "intrusion_detection" => &[
            ("active_detection_in_application", 1),
            ("logged_and_reviewed", 3),
            ("logged_without_review", 8),
            ("not_logged", 9),
        ],
        "loss_of_confidentiality" => &[
            ("minimal_non_sensitive_data_disclosed", 2),
            ("minimal_critical_data_disclosed", 6),
            ("extensive_non_sensitive_data_disclosed", 6),
            ("extensive_critical_data_disclosed", 7),
            ("all_data_disclosed", 9),
        ],
        "loss_of_integrity" => &[
            ("minimal_slightly_corrupt_data", 1),
            ("minimal_seriously_corrupt_data", 3),
            ("extensive_slightly_corrupt_data", 5),
            ("extensive_seriously_corrupt_data", 7),
            ("all_data_totally_corrupt", 9),
        ],
        "loss_of_availability" => &[
            ("minimal_secondary_services_interrupted", 1),
            ("minimal_primary_services_interrupted", 5),
            ("extensive_secondary_services_interrupted", 5),
            ("extensive_primary_services_interrupted", 7),
            ("all_services_completely_lost", 9),
        ],
        "loss_of_accountability" => &[
            ("fully_traceable", 1),
            ("possibly_traceable", 7),
            ("completely_anonymous", 9),
        ],
        "financial_damage" => &[
            ("less_than_the_cost_to_fix_the_vulnerability", 1),
            ("minor_effect_on_annual_profit", 3),
            ("significant_effect_on_annual_profit", 7),
            ("bankruptcy", 9),
        ],
        "reputation_damage" => &[
            ("minimal_damage", 1),
            ("loss_of_major_accounts", 4),
            ("loss_of_goodwill", 5),
            ("brand_damage", 9),
        ],
        "non_compliance" => &[
            ("minor_violation", 2),
            ("clear_violation", 5),
            ("high_profile_violation", 7),
        ],
        "privacy_violation" => &[
            ("one_individual", 3),
            ("hundreds_of_people", 5),
            ("thousands_of_people", 7),
            ("millions_of_people", 9),
        ],
        _ => &[],
    }
}

fn resolve(group: &str, name: &str, factor: &Factor, errors: &mut ScoringError) -> i64 {
    let field = format!("{group}.{name}");
    match factor {
        Factor::Value(v) if (0..=9).contains(v) => *v,
        Factor::Value(v) => {
            errors.add(field, format!("must be 0 to 9 (got {v})"));
            0
        }
        Factor::Named(text) => match options(name).iter().find(|(n, _)| n == text) {
            Some((_, v)) => *v,
            None => {
                let names: Vec<&str> = options(name).iter().map(|(n, _)| *n).collect();
                errors.add(
                    field,
                    format!(
                        "{text:?} is not an option; a number 0–9 or one of {}",
                        names.join(", ")
                    ),
                );
                0
            }
        },
    }
}

string_enum!(
    /// OWASP's three levels.
    Level {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

/// LOW < 3 ≤ MEDIUM < 6 ≤ HIGH, on the mean, compared as integer sums.
fn level(sum: i64, count: i64) -> Level {
    if sum < 3 * count {
        Level::Low
    } else if sum < 6 * count {
        Level::Medium
    } else {
        Level::High
    }
}

/// The severity matrix: impact rows × likelihood columns.
fn matrix(impact: Level, likelihood: Level) -> Severity {
    use Level::*;
    match (impact, likelihood) {
        (High, Low) => Severity::Medium,
        (High, Medium) => Severity::High,
        (High, High) => Severity::Critical,
        (Medium, Low) => Severity::Low,
        (Medium, Medium) => Severity::Medium,
        (Medium, High) => Severity::High,
        (Low, Low) => Severity::Info,
        (Low, Medium) => Severity::Low,
        (Low, High) => Severity::Medium,
    }
}

/// The sums of each group, after validation.
pub(crate) struct Sums {
    pub likelihood: i64,
    pub technical: i64,
    pub business: Option<i64>,
}

pub(crate) fn sums(input: &OwaspInput) -> Result<Sums, ScoringError> {
    let mut e = ScoringError::new();
    let l = &input.likelihood;
    let likelihood = [
        ("skill_level", &l.skill_level),
        ("motive", &l.motive),
        ("opportunity", &l.opportunity),
        ("size", &l.size),
        ("ease_of_discovery", &l.ease_of_discovery),
        ("ease_of_exploit", &l.ease_of_exploit),
        ("awareness", &l.awareness),
        ("intrusion_detection", &l.intrusion_detection),
    ]
    .iter()
    .map(|(n, f)| resolve("likelihood", n, f, &mut e))
    .sum();
    let t = &input.technical_impact;
    let technical = [
        ("loss_of_confidentiality", &t.loss_of_confidentiality),
        ("loss_of_integrity", &t.loss_of_integrity),
        ("loss_of_availability", &t.loss_of_availability),
        ("loss_of_accountability", &t.loss_of_accountability),
    ]
    .iter()
    .map(|(n, f)| resolve("technical_impact", n, f, &mut e))
    .sum();
    let business = input.business_impact.as_ref().map(|b| {
        [
            ("financial_damage", &b.financial_damage),
            ("reputation_damage", &b.reputation_damage),
            ("non_compliance", &b.non_compliance),
            ("privacy_violation", &b.privacy_violation),
        ]
        .iter()
        .map(|(n, f)| resolve("business_impact", n, f, &mut e))
        .sum()
    });
    e.finish()?;
    Ok(Sums {
        likelihood,
        technical,
        business,
    })
}

/// Scores from sums, so residual risk can scale the likelihood first.
pub(crate) fn from_sums(s: &Sums, likelihood_factor: f64, impact_factor: f64) -> ScoreResult {
    let likelihood = s.likelihood as f64 / 8.0 * likelihood_factor;
    let likelihood_level = if likelihood_factor == 1.0 {
        level(s.likelihood, 8)
    } else {
        level_of_mean(likelihood)
    };
    let technical = s.technical as f64 / 4.0;
    let technical_level = level(s.technical, 4);
    let business = s.business.map(|b| b as f64 / 4.0);
    let business_level = s.business.map(|b| level(b, 4));
    let (impact, impact_level, impact_name) = match (business, business_level) {
        (Some(b), Some(l)) => (b, l, "business"),
        _ => (technical, technical_level, "technical"),
    };
    let (impact, impact_level) = if impact_factor == 1.0 {
        (impact, impact_level)
    } else {
        (
            impact * impact_factor,
            level_of_mean(impact * impact_factor),
        )
    };
    let severity = matrix(impact_level, likelihood_level);
    let score = Score::rounded(likelihood * impact / 8.1);
    let mut explanation = vec![format!(
        "likelihood = {} / 8 = {} → {}",
        s.likelihood,
        fmt_num(s.likelihood as f64 / 8.0),
        level(s.likelihood, 8)
    )];
    if likelihood_factor != 1.0 {
        explanation.push(format!(
            "likelihood × (1 − control effectiveness) = {} → {likelihood_level}",
            fmt_num(likelihood)
        ));
    }
    explanation.push(format!(
        "technical impact = {} / 4 = {} → {technical_level}",
        s.technical,
        fmt_num(technical)
    ));
    if let (Some(sum), Some(b), Some(l)) = (s.business, business, business_level) {
        explanation.push(format!(
            "business impact = {sum} / 4 = {} → {l}",
            fmt_num(b)
        ));
    }
    if impact_factor != 1.0 {
        explanation.push(format!(
            "{impact_name} impact × (1 − transferred share) = {} → {impact_level}",
            fmt_num(impact)
        ));
    }
    explanation.push(format!(
        "severity matrix: {impact_name} impact {impact_level} × likelihood {likelihood_level} = {severity}"
    ));
    explanation.push(format!(
        "score = likelihood × impact / 8.1 = {}",
        score.value()
    ));
    ScoreResult {
        method: Method::Owasp,
        score,
        severity,
        details: json!({
            "likelihood": likelihood,
            "likelihood_level": likelihood_level,
            "technical_impact": technical,
            "technical_impact_level": technical_level,
            "business_impact": business,
            "business_impact_level": business_level,
            "impact_used": impact_name,
        }),
        explanation,
    }
}

fn level_of_mean(mean: f64) -> Level {
    if mean < 3.0 {
        Level::Low
    } else if mean < 6.0 {
        Level::Medium
    } else {
        Level::High
    }
}

pub fn score(input: &OwaspInput) -> Result<ScoreResult, ScoringError> {
    Ok(from_sums(&sums(input)?, 1.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(l: [i64; 8], t: [i64; 4], b: Option<[i64; 4]>) -> OwaspInput {
        let f = |v: i64| Factor::Value(v);
        OwaspInput {
            likelihood: Likelihood {
                skill_level: f(l[0]),
                motive: f(l[1]),
                opportunity: f(l[2]),
                size: f(l[3]),
                ease_of_discovery: f(l[4]),
                ease_of_exploit: f(l[5]),
                awareness: f(l[6]),
                intrusion_detection: f(l[7]),
            },
            technical_impact: TechnicalImpact {
                loss_of_confidentiality: f(t[0]),
                loss_of_integrity: f(t[1]),
                loss_of_availability: f(t[2]),
                loss_of_accountability: f(t[3]),
            },
            business_impact: b.map(|b| BusinessImpact {
                financial_damage: f(b[0]),
                reputation_damage: f(b[1]),
                non_compliance: f(b[2]),
                privacy_violation: f(b[3]),
            }),
        }
    }

    #[test]
    fn the_methodology_examples() {
        let r = score(&input(
            [5, 2, 7, 1, 3, 6, 9, 2],
            [9, 7, 5, 8],
            Some([1, 2, 1, 5]),
        ))
        .unwrap();
        assert_eq!(r.details["likelihood"], 4.375);
        assert_eq!(r.details["likelihood_level"], "medium");
        assert_eq!(r.details["technical_impact"], 7.25);
        assert_eq!(r.details["technical_impact_level"], "high");
        assert_eq!(r.details["business_impact"], 2.25);
        assert_eq!(r.details["business_impact_level"], "low");
        assert_eq!(r.severity, Severity::Low);
        assert_eq!(r.score.value(), 1.2); // 4.375 × 2.25 / 8.1 = 1.215
        let technical_only = score(&input([5, 2, 7, 1, 3, 6, 9, 2], [9, 7, 5, 8], None)).unwrap();
        assert_eq!(technical_only.severity, Severity::High);

        let r = score(&input(
            [5, 4, 7, 6, 3, 1, 4, 9],
            [9, 7, 1, 9],
            Some([7, 4, 7, 9]),
        ))
        .unwrap();
        assert_eq!(
            (
                r.details["likelihood"].as_f64(),
                r.details["technical_impact"].as_f64(),
                r.details["business_impact"].as_f64()
            ),
            (Some(4.875), Some(6.5), Some(6.75))
        );
        assert_eq!(r.severity, Severity::High);
        assert_eq!(r.score.value(), 4.1); // 4.875 × 6.75 / 8.1 = 4.0625
    }

    #[test]
    fn level_boundaries_are_exact() {
        // Sum 24 over 8 factors is a mean of exactly 3.0: MEDIUM.
        assert_eq!(level(24, 8), Level::Medium);
        assert_eq!(level(23, 8), Level::Low);
        assert_eq!(level(48, 8), Level::High);
        assert_eq!(level(47, 8), Level::Medium);
        assert_eq!(level(12, 4), Level::Medium);
        assert_eq!(level(24, 4), Level::High);
    }

    #[test]
    fn note_is_info_and_the_matrix_is_complete() {
        let r = score(&input([0; 8], [1; 4], None)).unwrap();
        assert_eq!(r.severity, Severity::Info);
        let r = score(&input([9; 8], [9; 4], None)).unwrap();
        assert_eq!((r.severity, r.score.value()), (Severity::Critical, 10.0));
    }

    #[test]
    fn named_options_and_bad_factors() {
        let mut i = input([5, 2, 7, 1, 3, 6, 9, 2], [9, 7, 5, 8], None);
        i.likelihood.skill_level = Factor::Named("security_penetration_skills".into());
        assert_eq!(sums(&i).unwrap().likelihood, 35 - 5 + 9);
        i.likelihood.motive = Factor::Named("greed".into());
        i.technical_impact.loss_of_integrity = Factor::Value(10);
        let err = score(&i).unwrap_err();
        let fields: Vec<_> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["likelihood.motive", "technical_impact.loss_of_integrity"]
        );
    }

    #[test]
    fn raising_any_factor_never_lowers_the_score() {
        let base = [4i64; 8];
        for i in 0..8 {
            let mut prev = 0.0;
            for v in 0..=9 {
                let mut l = base;
                l[i] = v;
                let s = score(&input(l, [5; 4], None)).unwrap().score.value();
                assert!(s >= prev);
                prev = s;
            }
        }
    }
}
