//! The risk maths (`shared/spec/scoring.md`): one module per method, each
//! turning a typed assessment into a score 0–10, a severity, the method's
//! native figures and an explanation a person can follow. The worker and
//! the stateless calculators call the same functions.

pub mod attack_tree;
pub mod cvss31;
pub mod cvss40;
pub mod dread;
pub mod fair;
pub mod nist;
pub mod owasp;
pub mod residual;

use serde::{Deserialize, Serialize};

use crate::severity::Severity;
use crate::validation::ValidationErrors;

string_enum!(
    /// The scoring methods of `scoring.md`.
    Method {
        Owasp => "owasp",
        Cvss31 => "cvss31",
        Cvss40 => "cvss40",
        Dread => "dread",
        Nist => "nist",
        Fair => "fair",
        AttackTree => "attack_tree",
    }
);

/// A risk score: 0.0 to 10.0 with one decimal, the common ranking scale.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = f64))]
pub struct Score(f64);

impl Score {
    pub const ZERO: Score = Score(0.0);
    pub const MAX: Score = Score(10.0);

    /// Rounds half up to one decimal and clamps to 0–10. The tiny epsilon
    /// absorbs binary noise (4.05 stored as 4.0499999…) before rounding.
    pub fn rounded(value: f64) -> Score {
        if value.is_nan() {
            return Score::ZERO;
        }
        let tenths = (value * 10.0 + 1e-9).round() / 10.0;
        Score(tenths.clamp(0.0, 10.0))
    }

    /// A value already on the one-decimal grid (CVSS results).
    pub(crate) fn exact(value: f64) -> Score {
        Score::rounded(value)
    }

    pub fn value(self) -> f64 {
        self.0
    }

    /// Tenths as an integer, for exact comparisons and ordering.
    pub fn tenths(self) -> i64 {
        (self.0 * 10.0).round() as i64
    }

    /// The CVSS qualitative bands: 0 info, 0.1–3.9 low, 4.0–6.9 medium,
    /// 7.0–8.9 high, 9.0–10 critical.
    pub fn cvss_severity(self) -> Severity {
        match self.tenths() {
            0 => Severity::Info,
            1..=39 => Severity::Low,
            40..=69 => Severity::Medium,
            70..=89 => Severity::High,
            _ => Severity::Critical,
        }
    }
}

/// The outcome of one assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScoreResult {
    pub method: Method,
    pub score: Score,
    pub severity: Severity,
    /// The method's native figures (CVSS sub-scores, OWASP levels, FAIR loss figures…).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// How the score was reached, step by step: inputs, intermediate values, table cells.
    pub explanation: Vec<String>,
}

/// Why an assessment cannot be scored: every offending field, named.
pub type ScoringError = ValidationErrors;

/// An assessment in any stateless method (`attack_tree` needs stored trees
/// and is scored where they are).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Assessment {
    Owasp(Box<owasp::OwaspInput>),
    Cvss31(cvss31::CvssInput),
    Cvss40(cvss31::CvssInput),
    Dread(dread::DreadInput),
    Nist(nist::NistInput),
    Fair(fair::FairInput),
}

impl Assessment {
    pub fn method(&self) -> Method {
        match self {
            Assessment::Owasp(_) => Method::Owasp,
            Assessment::Cvss31(_) => Method::Cvss31,
            Assessment::Cvss40(_) => Method::Cvss40,
            Assessment::Dread(_) => Method::Dread,
            Assessment::Nist(_) => Method::Nist,
            Assessment::Fair(_) => Method::Fair,
        }
    }

    /// Whether the assessment can be scored, without the simulation FAIR
    /// runs for its figures: what validating a threat needs.
    pub fn check(&self) -> Result<(), ScoringError> {
        match self {
            Assessment::Fair(a) => a.validate(),
            other => other.score().map(|_| ()),
        }
    }

    pub fn score(&self) -> Result<ScoreResult, ScoringError> {
        match self {
            Assessment::Owasp(a) => owasp::score(a),
            Assessment::Cvss31(a) => cvss31::score(&a.vector),
            Assessment::Cvss40(a) => cvss40::score(&a.vector),
            Assessment::Dread(a) => dread::score(a),
            Assessment::Nist(a) => nist::score(a),
            Assessment::Fair(a) => fair::score(a),
        }
    }
}

/// Formats a number for explanations without float noise.
pub(crate) fn fmt_num(x: f64) -> String {
    if x.is_infinite() {
        return "∞".into();
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_round_half_up_to_one_decimal_and_clamp() {
        assert_eq!(Score::rounded(4.0625).value(), 4.1);
        assert_eq!(Score::rounded(4.05).value(), 4.1);
        assert_eq!(Score::rounded(4.04999).value(), 4.0);
        assert_eq!(Score::rounded(-3.0).value(), 0.0);
        assert_eq!(Score::rounded(12.0).value(), 10.0);
        assert_eq!(Score::rounded(f64::NAN).value(), 0.0);
    }

    #[test]
    fn cvss_bands_have_exact_edges() {
        let sev = |x: f64| Score::rounded(x).cvss_severity();
        assert_eq!(sev(0.0), Severity::Info);
        assert_eq!(sev(0.1), Severity::Low);
        assert_eq!(sev(3.9), Severity::Low);
        assert_eq!(sev(4.0), Severity::Medium);
        assert_eq!(sev(6.9), Severity::Medium);
        assert_eq!(sev(7.0), Severity::High);
        assert_eq!(sev(8.9), Severity::High);
        assert_eq!(sev(9.0), Severity::Critical);
        assert_eq!(sev(10.0), Severity::Critical);
    }
}
