//! CVSS v3.1 (FIRST specification), base, temporal and environmental
//! scores, with the specification's integer `Roundup` (Appendix A).
//!
//! The parser is strict: `CVSS:3.1/` prefix, all eight base metrics, any
//! order, no duplicates, no unknown metrics or values, case-sensitive, `X`
//! only for temporal and environmental metrics.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{fmt_num, Method, Score, ScoreResult, ScoringError};

/// `{"vector": "CVSS:3.1/…"}` (also used for CVSS 4.0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CvssInput {
    pub vector: String,
}

pub const PREFIX: &str = "CVSS:3.1/";
/// The shape of a vector, for the OpenAPI document; which metrics and
/// values are allowed is the parser's to say.
pub const VECTOR_PATTERN: &str = r"^CVSS:3\.1(/[A-Z]{1,3}:[A-Z])+$";

/// (metric, allowed values, is a base metric)
const METRICS: [(&str, &[&str], bool); 22] = [
    ("AV", &["N", "A", "L", "P"], true),
    ("AC", &["L", "H"], true),
    ("PR", &["N", "L", "H"], true),
    ("UI", &["N", "R"], true),
    ("S", &["U", "C"], true),
    ("C", &["H", "L", "N"], true),
    ("I", &["H", "L", "N"], true),
    ("A", &["H", "L", "N"], true),
    ("E", &["X", "H", "F", "P", "U"], false),
    ("RL", &["X", "U", "W", "T", "O"], false),
    ("RC", &["X", "C", "R", "U"], false),
    ("CR", &["X", "H", "M", "L"], false),
    ("IR", &["X", "H", "M", "L"], false),
    ("AR", &["X", "H", "M", "L"], false),
    ("MAV", &["X", "N", "A", "L", "P"], false),
    ("MAC", &["X", "L", "H"], false),
    ("MPR", &["X", "N", "L", "H"], false),
    ("MUI", &["X", "N", "R"], false),
    ("MS", &["X", "U", "C"], false),
    ("MC", &["X", "H", "L", "N"], false),
    ("MI", &["X", "H", "L", "N"], false),
    ("MA", &["X", "H", "L", "N"], false),
];
const TEMPORAL: std::ops::Range<usize> = 8..11;
const ENVIRONMENTAL: std::ops::Range<usize> = 11..22;

/// A parsed vector: the value of each metric of `METRICS`, by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vector {
    values: [Option<&'static str>; 22],
}

fn index_of(metric: &str) -> Option<usize> {
    METRICS.iter().position(|(name, _, _)| *name == metric)
}

impl Vector {
    pub fn parse(text: &str) -> Result<Vector, ScoringError> {
        let mut errors = ScoringError::new();
        let Some(body) = text.strip_prefix(PREFIX) else {
            errors.add("vector", format!("must start with {PREFIX:?}"));
            return Err(errors);
        };
        let mut values: [Option<&'static str>; 22] = [None; 22];
        for part in body.split('/') {
            let Some((metric, value)) = part.split_once(':') else {
                errors.add("vector", format!("{part:?} is not METRIC:VALUE"));
                continue;
            };
            let Some(i) = index_of(metric) else {
                errors.add(
                    format!("vector.{metric}"),
                    format!("{metric:?} is not a CVSS 3.1 metric (names are case-sensitive)"),
                );
                continue;
            };
            let (_, allowed, is_base) = METRICS[i];
            if values[i].is_some() {
                errors.add(
                    format!("vector.{metric}"),
                    format!("{metric} is given twice"),
                );
                continue;
            }
            match allowed.iter().find(|a| **a == value) {
                Some(v) if *v == "X" && is_base => errors.add(
                    format!("vector.{metric}"),
                    format!("{metric} is a base metric: X (not defined) is not allowed"),
                ),
                Some(v) => values[i] = Some(v),
                None => errors.add(
                    format!("vector.{metric}"),
                    format!(
                        "{value:?} is not a value of {metric}; one of {} (case-sensitive)",
                        allowed.join(", ")
                    ),
                ),
            }
        }
        for (i, (metric, _, is_base)) in METRICS.iter().enumerate() {
            if *is_base
                && values[i].is_none()
                && errors
                    .0
                    .iter()
                    .all(|e| e.field != format!("vector.{metric}"))
            {
                errors.add(
                    format!("vector.{metric}"),
                    format!("the base metric {metric} is missing"),
                );
            }
        }
        errors.finish()?;
        Ok(Vector { values })
    }

    fn get(&self, metric: &str) -> &'static str {
        index_of(metric).and_then(|i| self.values[i]).unwrap_or("X")
    }

    /// A modified metric, falling back to its base metric when not defined.
    fn modified(&self, metric: &str) -> &'static str {
        match self.get(&format!("M{metric}")) {
            "X" => self.get(metric),
            v => v,
        }
    }

    fn has_temporal(&self) -> bool {
        self.values[TEMPORAL].iter().any(Option::is_some)
    }

    fn has_environmental(&self) -> bool {
        self.values[ENVIRONMENTAL].iter().any(Option::is_some)
    }
}

/// CVSS v3.1 Appendix A: round up to one decimal, computed on integers so
/// that 4.000000001 is not lifted to 4.1 by floating-point noise.
pub fn roundup(value: f64) -> f64 {
    let int_input = (value * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

fn av(v: &str) -> f64 {
    match v {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        _ => 0.2,
    }
}
fn ac(v: &str) -> f64 {
    if v == "L" {
        0.77
    } else {
        0.44
    }
}
fn pr(v: &str, scope_changed: bool) -> f64 {
    match (v, scope_changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        (_, false) => 0.27,
        (_, true) => 0.5,
    }
}
fn ui(v: &str) -> f64 {
    if v == "N" {
        0.85
    } else {
        0.62
    }
}
fn cia(v: &str) -> f64 {
    match v {
        "H" => 0.56,
        "L" => 0.22,
        _ => 0.0,
    }
}
fn exploit_maturity(v: &str) -> f64 {
    match v {
        "F" => 0.97,
        "P" => 0.94,
        "U" => 0.91,
        _ => 1.0,
    }
}
fn remediation(v: &str) -> f64 {
    match v {
        "W" => 0.97,
        "T" => 0.96,
        "O" => 0.95,
        _ => 1.0,
    }
}
fn confidence(v: &str) -> f64 {
    match v {
        "R" => 0.96,
        "U" => 0.92,
        _ => 1.0,
    }
}
fn requirement(v: &str) -> f64 {
    match v {
        "H" => 1.5,
        "L" => 0.5,
        _ => 1.0,
    }
}

/// Every figure of one vector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub base: f64,
    pub impact: f64,
    pub exploitability: f64,
    pub temporal: Option<f64>,
    pub environmental: Option<f64>,
    pub modified_impact: Option<f64>,
    pub modified_exploitability: Option<f64>,
}

impl Vector {
    pub fn scores(&self) -> Scores {
        let changed = self.get("S") == "C";
        let iss = 1.0
            - (1.0 - cia(self.get("C"))) * (1.0 - cia(self.get("I"))) * (1.0 - cia(self.get("A")));
        let impact = if changed {
            7.52 * (iss - 0.029) - 3.25 * (iss - 0.02).powi(15)
        } else {
            6.42 * iss
        };
        let exploitability = 8.22
            * av(self.get("AV"))
            * ac(self.get("AC"))
            * pr(self.get("PR"), changed)
            * ui(self.get("UI"));
        let base = if impact <= 0.0 {
            0.0
        } else if changed {
            roundup((1.08 * (impact + exploitability)).min(10.0))
        } else {
            roundup((impact + exploitability).min(10.0))
        };
        let temporal_factor = exploit_maturity(self.get("E"))
            * remediation(self.get("RL"))
            * confidence(self.get("RC"));
        let temporal = self.has_temporal().then(|| roundup(base * temporal_factor));

        let (mut environmental, mut modified_impact, mut modified_exploitability) =
            (None, None, None);
        if self.has_environmental() {
            let m_changed = self.modified("S") == "C";
            let miss = (1.0
                - (1.0 - requirement(self.get("CR")) * cia(self.modified("C")))
                    * (1.0 - requirement(self.get("IR")) * cia(self.modified("I")))
                    * (1.0 - requirement(self.get("AR")) * cia(self.modified("A"))))
            .min(0.915);
            let m_impact = if m_changed {
                7.52 * (miss - 0.029) - 3.25 * (miss * 0.9731 - 0.02).powi(13)
            } else {
                6.42 * miss
            };
            let m_exploit = 8.22
                * av(self.modified("AV"))
                * ac(self.modified("AC"))
                * pr(self.modified("PR"), m_changed)
                * ui(self.modified("UI"));
            let env = if m_impact <= 0.0 {
                0.0
            } else if m_changed {
                roundup(roundup((1.08 * (m_impact + m_exploit)).min(10.0)) * temporal_factor)
            } else {
                roundup(roundup((m_impact + m_exploit).min(10.0)) * temporal_factor)
            };
            environmental = Some(env);
            modified_impact = Some(m_impact);
            modified_exploitability = Some(m_exploit);
        }
        Scores {
            base,
            impact,
            exploitability,
            temporal,
            environmental,
            modified_impact,
            modified_exploitability,
        }
    }
}

pub fn score(vector: &str) -> Result<ScoreResult, ScoringError> {
    let parsed = Vector::parse(vector)?;
    let s = parsed.scores();
    let (value, which) = match (s.environmental, s.temporal) {
        (Some(e), _) => (e, "environmental"),
        (None, Some(t)) => (t, "temporal"),
        (None, None) => (s.base, "base"),
    };
    let score = Score::exact(value);
    let mut explanation = vec![
        format!("vector {vector}"),
        format!(
            "exploitability = 8.22 × AV × AC × PR × UI = {}; impact ({}) = {}",
            fmt_num(s.exploitability),
            if parsed.get("S") == "C" {
                "scope changed"
            } else {
                "scope unchanged"
            },
            fmt_num(s.impact)
        ),
        format!("base score = Roundup(…) = {}", fmt_num(s.base)),
    ];
    if let Some(t) = s.temporal {
        explanation.push(format!(
            "temporal score = Roundup(base × E × RL × RC) = {}",
            fmt_num(t)
        ));
    }
    if let (Some(e), Some(mi), Some(me)) = (
        s.environmental,
        s.modified_impact,
        s.modified_exploitability,
    ) {
        explanation.push(format!(
            "modified impact = {}, modified exploitability = {}, environmental score = {}",
            fmt_num(mi),
            fmt_num(me),
            fmt_num(e)
        ));
    }
    explanation.push(format!(
        "score = the {which} score, {}: severity {}",
        fmt_num(value),
        score.cvss_severity()
    ));
    Ok(ScoreResult {
        method: Method::Cvss31,
        score,
        severity: score.cvss_severity(),
        details: json!({
            "base_score": s.base,
            "impact_subscore": round6(s.impact),
            "exploitability_subscore": round6(s.exploitability),
            "temporal_score": s.temporal,
            "environmental_score": s.environmental,
            "score_type": which,
        }),
        explanation,
    })
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Every metric name and its values, for iterating over all base vectors.
pub fn base_metric_values() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
    METRICS
        .iter()
        .filter(|(_, _, base)| *base)
        .map(|(m, v, _)| (*m, *v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;

    #[test]
    fn published_vectors() {
        for (vector, expected) in [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", 9.8),
        ] {
            let r = score(vector).unwrap();
            assert_eq!(r.score.value(), expected, "{vector}");
            assert_eq!(r.details["base_score"], expected, "{vector}");
        }
        let t = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C").unwrap();
        assert_eq!(t.details["base_score"], 9.8);
        assert_eq!(t.details["temporal_score"], 8.8);
        assert_eq!(
            t.score.value(),
            8.8,
            "the most specific score is the threat-model score"
        );
        assert_eq!(t.severity, Severity::High);
        assert_eq!(
            score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N")
                .unwrap()
                .severity,
            Severity::Info
        );
    }

    #[test]
    fn environmental_scores_match_hand_worked_cases() {
        // CR:H raises a confidentiality-only vector; MAV:P lowers it.
        let e = Vector::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/CR:H")
            .unwrap()
            .scores();
        // MISS = min(1 − (1 − 1.5 × 0.56), 0.915) = 0.84; MI = 6.42 × 0.84 = 5.3928;
        // ME = 8.22 × .85 × .77 × .85 × .85 = 3.887; Roundup(9.2798) = 9.3
        assert_eq!(e.environmental, Some(9.3));
        let p = Vector::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N/MAV:P")
            .unwrap()
            .scores();
        // ME = 8.22 × .2 × .77 × .85 × .85 = 0.9146; MI = 6.42 × .56 = 3.5952; Roundup(4.5098) = 4.6
        assert_eq!(p.environmental, Some(4.6));
        let x = Vector::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/CR:X/MAV:X")
            .unwrap()
            .scores();
        assert_eq!(
            x.environmental,
            Some(9.8),
            "all X: the environmental score is the base score"
        );
    }

    #[test]
    fn roundup_is_the_integer_algorithm() {
        assert_eq!(roundup(4.0), 4.0);
        assert_eq!(roundup(4.02), 4.1);
        assert_eq!(
            roundup(4.000_000_000_01),
            4.0,
            "float noise is not rounded up"
        );
        assert_eq!(roundup(0.000_01), 0.1);
    }

    fn rejected(vector: &str) -> String {
        match Vector::parse(vector) {
            Err(e) => e.0[0].field.clone(),
            Ok(_) => panic!("{vector} was accepted"),
        }
    }

    #[test]
    fn strict_parsing_names_the_metric() {
        assert_eq!(
            rejected("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H"),
            "vector.S"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:n/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            "vector.AV"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            "vector.AV"
        );
        assert_eq!(
            rejected("CVSS:3.1/av:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            "vector.av"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            "vector.AV"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:Z"),
            "vector.E"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:H"),
            "vector.XX"
        );
        assert_eq!(
            rejected("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            "vector"
        );
        assert_eq!(
            rejected("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/"),
            "vector"
        );
        assert_eq!(rejected(""), "vector");
        assert!(
            Vector::parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/MS:X").is_ok(),
            "X is fine off the base"
        );
    }

    /// Every one of the 2 592 base vectors.
    fn all_base_vectors() -> Vec<String> {
        let metrics: Vec<_> = base_metric_values().collect();
        let mut vectors = vec![PREFIX.trim_end_matches('/').to_string()];
        for (metric, values) in metrics {
            vectors = vectors
                .iter()
                .flat_map(|v| {
                    values
                        .iter()
                        .map(move |value| format!("{v}/{metric}:{value}"))
                })
                .collect();
        }
        vectors
    }

    #[test]
    fn every_base_vector_agrees_with_an_independent_implementation() {
        let vectors = all_base_vectors();
        assert_eq!(vectors.len(), 2592);
        for v in &vectors {
            let ours = Vector::parse(v).unwrap().scores().base;
            let theirs: cvss::v3::Vector = v.parse().unwrap();
            assert_eq!(ours, theirs.base_score().value(), "{v}");
            assert!((0.0..=10.0).contains(&ours));
        }
    }

    #[test]
    fn raising_a_metric_never_lowers_the_score() {
        // Values ordered from least to most severe.
        let ladders: [(&str, &[&str]); 7] = [
            ("AV", &["P", "L", "A", "N"]),
            ("AC", &["H", "L"]),
            ("PR", &["H", "L", "N"]),
            ("UI", &["R", "N"]),
            ("C", &["N", "L", "H"]),
            ("I", &["N", "L", "H"]),
            ("A", &["N", "L", "H"]),
        ];
        for v in all_base_vectors() {
            for (metric, ladder) in ladders {
                let current = v
                    .split('/')
                    .find_map(|p| p.strip_prefix(&format!("{metric}:")))
                    .unwrap();
                let pos = ladder.iter().position(|x| *x == current).unwrap();
                if let Some(next) = ladder.get(pos + 1) {
                    let raised = v.replace(
                        &format!("/{metric}:{current}"),
                        &format!("/{metric}:{next}"),
                    );
                    let a = Vector::parse(&v).unwrap().scores().base;
                    let b = Vector::parse(&raised).unwrap().scores().base;
                    assert!(b >= a, "{v} → {raised}: {a} → {b}");
                }
            }
        }
    }

    #[test]
    fn temporal_and_environmental_agree_with_an_independent_implementation() {
        let suffixes = [
            "/E:U/RL:W/RC:R",
            "/E:F/RL:T/RC:U",
            "/CR:H/IR:L/AR:M",
            "/MAV:L/MAC:H/MPR:H/MUI:R/MS:C/MC:L/MI:H/MA:N",
            "/E:P/RL:O/RC:C/CR:L/IR:H/AR:H/MS:U/MC:H",
            "/MPR:L/MS:C",
        ];
        for base in all_base_vectors().iter().step_by(37) {
            for suffix in suffixes {
                let v = format!("{base}{suffix}");
                let ours = Vector::parse(&v).unwrap().scores();
                let theirs: cvss::v3::Vector = v.parse().unwrap();
                if let Some(t) = ours.temporal {
                    assert_eq!(t, theirs.temporal_score().value(), "temporal {v}");
                }
                if let Some(e) = ours.environmental {
                    assert_eq!(e, theirs.environmental_score().value(), "environmental {v}");
                }
            }
        }
    }
}
