//! NIST SP 800-30 Rev. 1: overall likelihood by Table G-5 (from initiation
//! and adverse-impact likelihoods) or given directly, risk by Table I-2.
//! Both tables are asymmetric and are written out exactly as printed.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Method, Score, ScoreResult, ScoringError};
use crate::severity::Severity;

string_enum!(
    /// SP 800-30's qualitative scale.
    NistLevel {
        VeryLow => "very_low",
        Low => "low",
        Moderate => "moderate",
        High => "high",
        VeryHigh => "very_high",
    }
);

impl NistLevel {
    fn index(self) -> usize {
        self as usize
    }

    /// Appendix I's semi-quantitative values.
    pub fn value(self) -> f64 {
        match self {
            NistLevel::VeryLow => 0.0,
            NistLevel::Low => 2.0,
            NistLevel::Moderate => 5.0,
            NistLevel::High => 8.0,
            NistLevel::VeryHigh => 10.0,
        }
    }

    /// The level whose semi-quantitative value is nearest below or at `v`'s band:
    /// VL < 1, L < 3.5, M < 6.5, H < 9, else VH (midpoints of the scale).
    pub fn from_value(v: f64) -> NistLevel {
        if v < 1.0 {
            NistLevel::VeryLow
        } else if v < 3.5 {
            NistLevel::Low
        } else if v < 6.5 {
            NistLevel::Moderate
        } else if v < 9.0 {
            NistLevel::High
        } else {
            NistLevel::VeryHigh
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            NistLevel::VeryLow => Severity::Info,
            NistLevel::Low => Severity::Low,
            NistLevel::Moderate => Severity::Medium,
            NistLevel::High => Severity::High,
            NistLevel::VeryHigh => Severity::Critical,
        }
    }
}

use NistLevel::{High as H, Low as L, Moderate as M, VeryHigh as VH, VeryLow as VL};

/// Table G-5. Rows: likelihood of threat event initiation VL..VH;
/// columns: likelihood of adverse impact VL..VH.
const G5: [[NistLevel; 5]; 5] = [
    /* VL */ [VL, VL, L, L, L],
    /* L  */ [VL, L, L, M, M],
    /* M  */ [L, L, M, M, H],
    /* H  */ [L, M, M, H, VH],
    /* VH */ [L, M, H, VH, VH],
];

/// Table I-2. Rows: overall likelihood VL..VH; columns: impact VL..VH.
const I2: [[NistLevel; 5]; 5] = [
    /* VL */ [VL, VL, VL, L, L],
    /* L  */ [VL, L, L, L, M],
    /* M  */ [VL, L, M, M, H],
    /* H  */ [VL, L, M, H, VH],
    /* VH */ [VL, L, M, H, VH],
];

pub fn overall_likelihood(initiation: NistLevel, adverse: NistLevel) -> NistLevel {
    G5[initiation.index()][adverse.index()]
}

pub fn risk(likelihood: NistLevel, impact: NistLevel) -> NistLevel {
    I2[likelihood.index()][impact.index()]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NistInput {
    /// The overall likelihood, or leave it out and give the two below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<NistLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiation_likelihood: Option<NistLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adverse_impact_likelihood: Option<NistLevel>,
    pub impact: NistLevel,
}

pub(crate) fn likelihood_of(
    input: &NistInput,
) -> Result<(NistLevel, Option<String>), ScoringError> {
    match (input.likelihood, input.initiation_likelihood, input.adverse_impact_likelihood) {
        (Some(l), None, None) => Ok((l, None)),
        (None, Some(i), Some(a)) => {
            let l = overall_likelihood(i, a);
            Ok((l, Some(format!("Table G-5: initiation {i} × adverse impact {a} = likelihood {l}"))))
        }
        (Some(_), _, _) => Err(ScoringError::single(
            "likelihood",
            "give either likelihood, or initiation_likelihood and adverse_impact_likelihood, not both",
        )),
        (None, None, _) => Err(ScoringError::single("initiation_likelihood", "required when likelihood is not given")),
        (None, Some(_), None) => Err(ScoringError::single("adverse_impact_likelihood", "required with initiation_likelihood")),
    }
}

pub(crate) fn from_likelihood(
    likelihood: NistLevel,
    impact: NistLevel,
    mut explanation: Vec<String>,
) -> ScoreResult {
    let level = risk(likelihood, impact);
    let score = Score::rounded(level.value());
    explanation.push(format!(
        "Table I-2: likelihood {likelihood} × impact {impact} = risk {level}"
    ));
    explanation.push(format!(
        "score = the semi-quantitative value of {level} = {}; severity {}",
        score.value(),
        level.severity()
    ));
    ScoreResult {
        method: Method::Nist,
        score,
        severity: level.severity(),
        details: json!({ "likelihood_level": likelihood, "impact_level": impact, "risk_level": level }),
        explanation,
    }
}

pub fn score(input: &NistInput) -> Result<ScoreResult, ScoringError> {
    let (likelihood, g5) = likelihood_of(input)?;
    Ok(from_likelihood(
        likelihood,
        input.impact,
        g5.into_iter().collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_asymmetric_as_printed() {
        // G-5: initiation H with adverse L is moderate; initiation L with adverse H is moderate too,
        // but initiation VH / adverse VL is low while VL / VH is low: check cells that differ.
        assert_eq!(overall_likelihood(H, VL), L);
        assert_eq!(overall_likelihood(VL, H), L);
        assert_eq!(overall_likelihood(H, M), M);
        assert_eq!(overall_likelihood(M, H), M);
        assert_eq!(overall_likelihood(VH, M), H);
        assert_eq!(overall_likelihood(M, VH), H);
        assert_eq!(overall_likelihood(L, VH), M);
        assert_eq!(overall_likelihood(VH, L), M);
        assert_eq!(overall_likelihood(H, VH), VH);
        assert_eq!(overall_likelihood(VH, H), VH);
        assert_eq!(overall_likelihood(M, M), M);
        assert_eq!(overall_likelihood(L, H), M);
        assert_eq!(overall_likelihood(H, L), M);
        // I-2 is not symmetric: likelihood L × impact VH is moderate, likelihood VH × impact L is low.
        assert_eq!(risk(L, VH), M);
        assert_eq!(risk(VH, L), L);
        assert_eq!(risk(M, H), M);
        assert_eq!(risk(H, M), M);
        assert_eq!(risk(VL, VH), L);
        assert_eq!(risk(VH, VL), VL);
    }

    #[test]
    fn the_spec_rows_exactly() {
        // G-5 rows as the spec prints them (VH first; columns VL..VH).
        let g5_printed = [
            (VH, [L, M, H, VH, VH]),
            (H, [L, M, M, H, VH]),
            (M, [L, L, M, M, H]),
            (L, [VL, L, L, M, M]),
            (VL, [VL, VL, L, L, L]),
        ];
        for (row, cells) in g5_printed {
            for (col, cell) in NistLevel::ALL.iter().zip(cells) {
                assert_eq!(overall_likelihood(row, *col), cell, "G-5 {row} × {col}");
            }
        }
        let i2_printed = [
            (VH, [VL, L, M, H, VH]),
            (H, [VL, L, M, H, VH]),
            (M, [VL, L, M, M, H]),
            (L, [VL, L, L, L, M]),
            (VL, [VL, VL, VL, L, L]),
        ];
        for (row, cells) in i2_printed {
            for (col, cell) in NistLevel::ALL.iter().zip(cells) {
                assert_eq!(risk(row, *col), cell, "I-2 {row} × {col}");
            }
        }
    }

    #[test]
    fn inputs_and_scores() {
        let direct = NistInput {
            likelihood: Some(H),
            initiation_likelihood: None,
            adverse_impact_likelihood: None,
            impact: M,
        };
        let r = score(&direct).unwrap();
        assert_eq!((r.score.value(), r.severity), (5.0, Severity::Medium));
        let combined = NistInput {
            likelihood: None,
            initiation_likelihood: Some(L),
            adverse_impact_likelihood: Some(H),
            impact: VH,
        };
        let r = score(&combined).unwrap();
        assert_eq!(r.details["likelihood_level"], "moderate");
        assert_eq!(r.details["risk_level"], "high");
        assert_eq!((r.score.value(), r.severity), (8.0, Severity::High));
        let both = NistInput {
            likelihood: Some(H),
            initiation_likelihood: Some(L),
            adverse_impact_likelihood: None,
            impact: M,
        };
        assert_eq!(score(&both).unwrap_err().0[0].field, "likelihood");
        let half = NistInput {
            likelihood: None,
            initiation_likelihood: Some(L),
            adverse_impact_likelihood: None,
            impact: M,
        };
        assert_eq!(
            score(&half).unwrap_err().0[0].field,
            "adverse_impact_likelihood"
        );
    }
}
