//! Residual and projected risk (`scoring.md`, last section): controls
//! reduce likelihood, treatments remove or transfer risk. Residual counts
//! implemented and partial controls; projected adds planned controls and
//! treats open treatments as done.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::nist::{self, NistLevel};
use super::{
    attack_tree, fair, fmt_num, owasp, Assessment, Method, Score, ScoreResult, ScoringError,
};

string_enum!(ControlStatus {
    Implemented => "implemented",
    Partial => "partial",
    Planned => "planned",
});

/// A control's effect on one threat.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ControlEffect {
    /// 0 to 1 (the API's 0–100 % divided by 100).
    pub effectiveness: f64,
    pub status: ControlStatus,
}

/// CE = 1 − Π(1 − CEᵢ), a partial control at half its effectiveness;
/// planned controls only when `include_planned`.
pub fn combined_effectiveness(controls: &[ControlEffect], include_planned: bool) -> f64 {
    let remaining: f64 = controls
        .iter()
        .filter_map(|c| {
            let e = c.effectiveness.clamp(0.0, 1.0);
            match c.status {
                ControlStatus::Implemented => Some(e),
                ControlStatus::Partial => Some(e / 2.0),
                ControlStatus::Planned if include_planned => Some(e),
                ControlStatus::Planned => None,
            }
        })
        .map(|e| 1.0 - e)
        .product();
    1.0 - remaining
}

/// The mitigation decision as far as the maths is concerned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Treatment {
    None,
    /// Avoided: once done, nothing is left.
    Avoid {
        done: bool,
    },
    /// Transferred: once done, this share (0–1) of the impact is someone else's.
    Transfer {
        share: f64,
        done: bool,
    },
    /// Accepted: the score stands.
    Accept,
}

/// What can be scored with reduced likelihood and impact: a stateless
/// assessment, or an attack tree's root probability with its impact.
#[derive(Debug, Clone, Copy)]
pub enum Scored<'a> {
    Assessment(&'a Assessment),
    AttackTree {
        root_probability: f64,
        impact: NistLevel,
    },
}

/// Scores with the likelihood scaled by `lf` and the impact by `imf`
/// (both 1 for the inherent score), each method in its own terms.
pub fn reduced(scored: Scored<'_>, lf: f64, imf: f64) -> Result<ScoreResult, ScoringError> {
    match scored {
        Scored::Assessment(Assessment::Owasp(a)) => Ok(owasp::from_sums(&owasp::sums(a)?, lf, imf)),
        Scored::Assessment(Assessment::Nist(a)) => {
            let (likelihood, _) = nist::likelihood_of(a)?;
            let l = NistLevel::from_value(likelihood.value() * lf);
            let i = NistLevel::from_value(a.impact.value() * imf);
            Ok(nist::from_likelihood(
                l,
                i,
                vec![format!(
                    "likelihood {likelihood} ({}) × {} → {l}; impact {} × {} → {i}",
                    likelihood.value(),
                    fmt_num(lf),
                    a.impact,
                    fmt_num(imf)
                )],
            ))
        }
        Scored::Assessment(Assessment::Fair(a)) => {
            fair::score_analytic(&a.with_frequency_factor(lf).with_magnitude_factor(imf))
        }
        Scored::AttackTree {
            root_probability,
            impact,
        } => {
            let i = NistLevel::from_value(impact.value() * imf);
            Ok(attack_tree::score(root_probability * lf, i))
        }
        Scored::Assessment(
            a @ (Assessment::Cvss31(_) | Assessment::Cvss40(_) | Assessment::Dread(_)),
        ) => {
            let base = a.score()?;
            if lf == 1.0 && imf == 1.0 {
                return Ok(base);
            }
            // No separate likelihood: the score itself is scaled.
            let score = Score::rounded(base.score.value() * lf * imf);
            let mut explanation = base.explanation;
            explanation.push(format!(
                "{} × (1 − control effectiveness) {} × (1 − transferred share) {} = {}",
                fmt_num(base.score.value()),
                fmt_num(lf),
                fmt_num(imf),
                score.value()
            ));
            Ok(ScoreResult {
                score,
                severity: score.cvss_severity(),
                explanation,
                ..base
            })
        }
    }
}

fn method_of(scored: Scored<'_>) -> Method {
    match scored {
        Scored::Assessment(a) => a.method(),
        Scored::AttackTree { .. } => Method::AttackTree,
    }
}

/// Inherent, residual and projected figures of one threat.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskFigures {
    pub inherent: ScoreResult,
    pub residual: ScoreResult,
    pub projected: ScoreResult,
    pub residual_effectiveness: f64,
    pub projected_effectiveness: f64,
}

fn nothing_left(method: Method, why: &str) -> ScoreResult {
    ScoreResult {
        method,
        score: Score::ZERO,
        severity: Score::ZERO.cvss_severity(),
        details: json!({}),
        explanation: vec![why.to_string()],
    }
}

/// Never above `cap`: controls and treatments only ever lower a risk.
fn at_most(r: ScoreResult, cap: &ScoreResult) -> ScoreResult {
    if r.score > cap.score {
        let mut capped = cap.clone();
        capped
            .explanation
            .push("capped: a reduction never raises the score".into());
        capped
    } else {
        r
    }
}

/// `controls` are those covering the threat now; `reduce_controls` those
/// its `reduce` treatment adds: counted at their status in the residual
/// figure (it moves as they are implemented) and as implemented in the
/// projected one.
pub fn assess(
    scored: Scored<'_>,
    controls: &[ControlEffect],
    reduce_controls: &[ControlEffect],
    treatment: Treatment,
) -> Result<RiskFigures, ScoringError> {
    let method = method_of(scored);
    // FAIR's score is its analytic loss: the register never simulates.
    let inherent = match scored {
        Scored::Assessment(Assessment::Fair(_)) | Scored::AttackTree { .. } => {
            reduced(scored, 1.0, 1.0)?
        }
        Scored::Assessment(a) => a.score()?,
    };
    let now: Vec<ControlEffect> = controls.iter().chain(reduce_controls).copied().collect();
    let residual_ce = combined_effectiveness(&now, false);
    let all: Vec<ControlEffect> = controls
        .iter()
        .copied()
        .chain(reduce_controls.iter().map(|c| ControlEffect {
            status: ControlStatus::Implemented,
            ..*c
        }))
        .collect();
    let projected_ce = combined_effectiveness(&all, true);

    let figure = |ce: f64, as_if_done: bool| -> Result<ScoreResult, ScoringError> {
        let mut r = match treatment {
            Treatment::Avoid { done } if done || as_if_done => {
                return Ok(nothing_left(
                    method,
                    "avoided: the threat no longer applies, residual risk 0",
                ))
            }
            Treatment::Transfer { share, done } if done || as_if_done => {
                reduced(scored, 1.0 - ce, 1.0 - share.clamp(0.0, 1.0))?
            }
            _ => reduced(scored, 1.0 - ce, 1.0)?,
        };
        r.explanation.insert(
            0,
            format!(
                "combined control effectiveness = 1 − Π(1 − CEᵢ) = {}",
                fmt_num(ce)
            ),
        );
        Ok(at_most(r, &inherent))
    };
    let residual = figure(residual_ce, false)?;
    let projected = at_most(figure(projected_ce, true)?, &residual);
    Ok(RiskFigures {
        inherent,
        residual,
        projected,
        residual_effectiveness: residual_ce,
        projected_effectiveness: projected_ce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;

    fn control(effectiveness: f64, status: ControlStatus) -> ControlEffect {
        ControlEffect {
            effectiveness,
            status,
        }
    }

    fn cvss(vector: &str) -> Assessment {
        serde_json::from_value(serde_json::json!({"method": "cvss31", "vector": vector})).unwrap()
    }

    const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";

    #[test]
    fn effectiveness_combines_and_partial_counts_half() {
        let cs = [
            control(0.5, ControlStatus::Implemented),
            control(0.4, ControlStatus::Partial),
            control(0.5, ControlStatus::Planned),
        ];
        assert!((combined_effectiveness(&cs, false) - 0.6).abs() < 1e-12);
        assert!((combined_effectiveness(&cs, true) - 0.8).abs() < 1e-12);
        assert_eq!(combined_effectiveness(&[], true), 0.0);
    }

    #[test]
    fn cvss_residual_and_projected() {
        let a = cvss(CRITICAL);
        let cs = [
            control(0.5, ControlStatus::Implemented),
            control(0.4, ControlStatus::Partial),
            control(0.5, ControlStatus::Planned),
        ];
        let f = assess(Scored::Assessment(&a), &cs, &[], Treatment::None).unwrap();
        assert_eq!(f.inherent.score.value(), 9.8);
        assert_eq!(
            (f.residual.score.value(), f.residual.severity),
            (3.9, Severity::Low)
        ); // 9.8 × 0.4
        assert_eq!(f.projected.score.value(), 2.0); // 9.8 × 0.2 = 1.96
    }

    #[test]
    fn owasp_controls_lower_the_likelihood_level() {
        let a: Assessment = serde_json::from_value(serde_json::json!({"method": "owasp",
            "likelihood": {"skill_level": 5, "motive": 4, "opportunity": 7, "size": 6, "ease_of_discovery": 3, "ease_of_exploit": 1, "awareness": 4, "intrusion_detection": 9},
            "technical_impact": {"loss_of_confidentiality": 9, "loss_of_integrity": 7, "loss_of_availability": 1, "loss_of_accountability": 9},
            "business_impact": {"financial_damage": 7, "reputation_damage": 4, "non_compliance": 7, "privacy_violation": 9}})).unwrap();
        let f = assess(
            Scored::Assessment(&a),
            &[control(0.5, ControlStatus::Implemented)],
            &[],
            Treatment::None,
        )
        .unwrap();
        assert_eq!(f.inherent.severity, Severity::High);
        // likelihood 4.875 × 0.5 = 2.4375: LOW; impact 6.75 HIGH → medium; 2.4375 × 6.75 / 8.1 = 2.03
        assert_eq!(f.residual.details["likelihood_level"], "low");
        assert_eq!(
            (f.residual.severity, f.residual.score.value()),
            (Severity::Medium, 2.0)
        );
    }

    #[test]
    fn nist_likelihood_is_scaled_and_mapped_back() {
        let a: Assessment = serde_json::from_value(
            serde_json::json!({"method": "nist", "likelihood": "high", "impact": "very_high"}),
        )
        .unwrap();
        let f = assess(
            Scored::Assessment(&a),
            &[control(0.5, ControlStatus::Implemented)],
            &[],
            Treatment::None,
        )
        .unwrap();
        assert_eq!(f.inherent.score.value(), 10.0);
        // 8 × 0.5 = 4 → moderate; moderate × very high = high.
        assert_eq!(f.residual.details["likelihood_level"], "moderate");
        assert_eq!(f.residual.score.value(), 8.0);
    }

    #[test]
    fn fair_frequency_is_scaled() {
        let a: Assessment = serde_json::from_value(
            serde_json::json!({"method": "fair", "frequency": {"rate": 0.07},
            "magnitude": {"low": 635000, "high": 19000000}, "iterations": 1000}),
        )
        .unwrap();
        let f = assess(
            Scored::Assessment(&a),
            &[control(0.5, ControlStatus::Implemented)],
            &[],
            Treatment::None,
        )
        .unwrap();
        assert_eq!(f.inherent.score.value(), 7.2); // 2 × log10(4145.89)
        assert_eq!(f.residual.score.value(), 6.6); // 2 × log10(2072.95)
        let ale = f.residual.details["annualized_loss"].as_f64().unwrap();
        assert!((ale - 414_589.478 / 2.0).abs() < 0.01);
    }

    #[test]
    fn attack_tree_probability_is_scaled() {
        let s = Scored::AttackTree {
            root_probability: 0.3882,
            impact: NistLevel::High,
        };
        let f = assess(
            s,
            &[control(0.5, ControlStatus::Implemented)],
            &[],
            Treatment::None,
        )
        .unwrap();
        assert_eq!(f.inherent.score.value(), 5.0);
        assert_eq!(f.residual.score.value(), 2.0); // 0.1941 → low; low × high = low
    }

    #[test]
    fn treatments() {
        let a = cvss(CRITICAL);
        let s = Scored::Assessment(&a);
        let avoided = assess(s, &[], &[], Treatment::Avoid { done: true }).unwrap();
        assert_eq!(
            (avoided.residual.score.value(), avoided.residual.severity),
            (0.0, Severity::Info)
        );
        let planned_avoid = assess(s, &[], &[], Treatment::Avoid { done: false }).unwrap();
        assert_eq!(planned_avoid.residual.score.value(), 9.8);
        assert_eq!(
            planned_avoid.projected.score.value(),
            0.0,
            "projected treats open treatments as done"
        );
        let transferred = assess(
            s,
            &[],
            &[],
            Treatment::Transfer {
                share: 0.5,
                done: true,
            },
        )
        .unwrap();
        assert_eq!(transferred.residual.score.value(), 4.9);
        let accepted = assess(s, &[], &[], Treatment::Accept).unwrap();
        assert_eq!(accepted.residual.score.value(), 9.8);
        let reduce = assess(
            s,
            &[],
            &[control(0.5, ControlStatus::Planned)],
            Treatment::None,
        )
        .unwrap();
        assert_eq!(
            (
                reduce.residual.score.value(),
                reduce.projected.score.value()
            ),
            (9.8, 4.9)
        );
    }

    #[test]
    fn residual_never_exceeds_inherent() {
        let vectors = [
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
        ];
        for v in vectors {
            let a = cvss(v);
            for i in 0..=20 {
                let e = i as f64 / 20.0;
                for status in [
                    ControlStatus::Implemented,
                    ControlStatus::Partial,
                    ControlStatus::Planned,
                ] {
                    let f = assess(
                        Scored::Assessment(&a),
                        &[control(e, status)],
                        &[],
                        Treatment::None,
                    )
                    .unwrap();
                    assert!(f.residual.score <= f.inherent.score);
                    assert!(f.projected.score <= f.residual.score);
                }
            }
        }
    }
}
