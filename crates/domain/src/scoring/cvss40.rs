//! CVSS v4.0. Our strict parser (fixed metric order, case-sensitive values,
//! all eleven base metrics) stands in front of the RustSec `cvss` crate,
//! which implements FIRST's macrovector lookup and interpolation including
//! the November 2024 rounding fix but accepts some invalid vectors.

use std::str::FromStr;

use serde_json::json;

use super::{fmt_num, Method, Score, ScoreResult, ScoringError};

pub const PREFIX: &str = "CVSS:4.0/";
/// The shape of a vector, for the OpenAPI document; which metrics, values
/// and order are allowed is the parser's to say.
pub const VECTOR_PATTERN: &str = r"^CVSS:4\.0(/[A-Z]{1,3}:[A-Za-z]+)+$";

/// Every metric in the specification's fixed order: (name, values, is base).
const METRICS: [(&str, &[&str], bool); 32] = [
    ("AV", &["N", "A", "L", "P"], true),
    ("AC", &["L", "H"], true),
    ("AT", &["N", "P"], true),
    ("PR", &["N", "L", "H"], true),
    ("UI", &["N", "P", "A"], true),
    ("VC", &["H", "L", "N"], true),
    ("VI", &["H", "L", "N"], true),
    ("VA", &["H", "L", "N"], true),
    ("SC", &["H", "L", "N"], true),
    ("SI", &["H", "L", "N"], true),
    ("SA", &["H", "L", "N"], true),
    ("E", &["X", "A", "P", "U"], false),
    ("CR", &["X", "H", "M", "L"], false),
    ("IR", &["X", "H", "M", "L"], false),
    ("AR", &["X", "H", "M", "L"], false),
    ("MAV", &["X", "N", "A", "L", "P"], false),
    ("MAC", &["X", "L", "H"], false),
    ("MAT", &["X", "N", "P"], false),
    ("MPR", &["X", "N", "L", "H"], false),
    ("MUI", &["X", "N", "P", "A"], false),
    ("MVC", &["X", "H", "L", "N"], false),
    ("MVI", &["X", "H", "L", "N"], false),
    ("MVA", &["X", "H", "L", "N"], false),
    ("MSC", &["X", "H", "L", "N"], false),
    ("MSI", &["X", "S", "H", "L", "N"], false),
    ("MSA", &["X", "S", "H", "L", "N"], false),
    ("S", &["X", "N", "P"], false),
    ("AU", &["X", "N", "Y"], false),
    ("R", &["X", "A", "U", "I"], false),
    ("V", &["X", "D", "C"], false),
    ("RE", &["X", "L", "M", "H"], false),
    ("U", &["X", "Clear", "Green", "Amber", "Red"], false),
];
const BASE_COUNT: usize = 11;
const THREAT: usize = 11;
const ENVIRONMENTAL: std::ops::Range<usize> = 12..26;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    values: [Option<&'static str>; 32],
}

impl Vector {
    pub fn parse(text: &str) -> Result<Vector, ScoringError> {
        let mut errors = ScoringError::new();
        let Some(body) = text.strip_prefix(PREFIX) else {
            errors.add("vector", format!("must start with {PREFIX:?}"));
            return Err(errors);
        };
        let mut values: [Option<&'static str>; 32] = [None; 32];
        // Metrics must appear in the fixed order: each one after the last seen.
        let mut next = 0;
        for part in body.split('/') {
            let Some((metric, value)) = part.split_once(':') else {
                errors.add("vector", format!("{part:?} is not METRIC:VALUE"));
                return Err(errors);
            };
            let Some(i) = METRICS.iter().position(|(m, _, _)| *m == metric) else {
                errors.add(
                    format!("vector.{metric}"),
                    format!("{metric:?} is not a CVSS 4.0 metric (names are case-sensitive)"),
                );
                return Err(errors);
            };
            if values[i].is_some() {
                errors.add(
                    format!("vector.{metric}"),
                    format!("{metric} is given twice"),
                );
                return Err(errors);
            }
            if i < next {
                errors.add(
                    format!("vector.{metric}"),
                    format!("{metric} is out of order: CVSS 4.0 metrics follow the specification's fixed order (AV/AC/AT/PR/UI/VC/VI/VA/SC/SI/SA, then E, CR, IR, AR, MAV … U)"),
                );
                return Err(errors);
            }
            if i < BASE_COUNT && i != next {
                let expected = METRICS[next].0;
                let later = body
                    .split('/')
                    .any(|p| p.split(':').next() == Some(expected));
                let message = if later {
                    format!("{expected} must come before {metric}: CVSS 4.0 metrics follow the specification's fixed order (AV/AC/AT/PR/UI/VC/VI/VA/SC/SI/SA, then E, CR, IR, AR, MAV … U)")
                } else {
                    format!("the base metric {expected} is missing")
                };
                errors.add(format!("vector.{expected}"), message);
                return Err(errors);
            }
            let (_, allowed, is_base) = METRICS[i];
            match allowed.iter().find(|a| **a == value) {
                Some(v) if *v == "X" && is_base => {
                    errors.add(
                        format!("vector.{metric}"),
                        format!("{metric} is a base metric: X (not defined) is not allowed"),
                    );
                    return Err(errors);
                }
                Some(v) => values[i] = Some(v),
                None => {
                    errors.add(
                        format!("vector.{metric}"),
                        format!(
                            "{value:?} is not a value of {metric}; one of {} (case-sensitive)",
                            allowed.join(", ")
                        ),
                    );
                    return Err(errors);
                }
            }
            next = i + 1;
        }
        if let Some(missing) = METRICS[..BASE_COUNT]
            .iter()
            .zip(values.iter())
            .find(|(_, v)| v.is_none())
        {
            errors.add(
                format!("vector.{}", missing.0 .0),
                format!("the base metric {} is missing", missing.0 .0),
            );
            return Err(errors);
        }
        Ok(Vector { values })
    }

    /// The vector with only the metrics `keep` selects, in canonical order.
    fn canonical(&self, keep: impl Fn(usize) -> bool) -> String {
        let mut s = PREFIX.trim_end_matches('/').to_string();
        for (i, (metric, _, _)) in METRICS.iter().enumerate() {
            if let (true, Some(v)) = (keep(i), self.values[i]) {
                s.push('/');
                s.push_str(metric);
                s.push(':');
                s.push_str(v);
            }
        }
        s
    }

    fn defined(&self, i: usize) -> bool {
        self.values[i].is_some_and(|v| v != "X")
    }
}

fn crate_score(vector: &str) -> Result<f64, ScoringError> {
    cvss::v4::Vector::from_str(vector)
        .map(|v| v.score().value())
        .map_err(|e| ScoringError::single("vector", format!("not scorable: {e}")))
}

pub fn score(vector: &str) -> Result<ScoreResult, ScoringError> {
    let parsed = Vector::parse(vector)?;
    let has_threat = parsed.defined(THREAT);
    let has_env = ENVIRONMENTAL.clone().any(|i| parsed.defined(i));
    let base = crate_score(&parsed.canonical(|i| i < BASE_COUNT))?;
    let threat = if has_threat {
        Some(crate_score(&parsed.canonical(|i| i <= THREAT))?)
    } else {
        None
    };
    let environmental = if has_env {
        Some(crate_score(&parsed.canonical(|i| i < ENVIRONMENTAL.end))?)
    } else {
        None
    };
    let (value, which) = match (environmental, threat) {
        (Some(e), _) => (e, if has_threat { "CVSS-BTE" } else { "CVSS-BE" }),
        (None, Some(t)) => (t, "CVSS-BT"),
        (None, None) => (base, "CVSS-B"),
    };
    let score = Score::exact(value);
    let mut explanation = vec![
        format!("vector {vector}"),
        format!(
            "CVSS-B (base metrics only, macrovector lookup and interpolation) = {}",
            fmt_num(base)
        ),
    ];
    if let Some(t) = threat {
        explanation.push(format!("CVSS-BT (with threat metric E) = {}", fmt_num(t)));
    }
    if let Some(e) = environmental {
        explanation.push(format!(
            "{which} (with environmental metrics) = {}",
            fmt_num(e)
        ));
    }
    explanation.push(format!(
        "score = {which} = {}: severity {}",
        fmt_num(value),
        score.cvss_severity()
    ));
    Ok(ScoreResult {
        method: Method::Cvss40,
        score,
        severity: score.cvss_severity(),
        details: json!({
            "base_score": base,
            "threat_score": threat,
            "environmental_score": environmental,
            "nomenclature": which,
        }),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vectors() {
        for (vector, expected) in [
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H",
                10.0,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L",
                5.2,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N",
                6.9,
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
                5.1,
            ),
        ] {
            assert_eq!(score(vector).unwrap().score.value(), expected, "{vector}");
        }
    }

    #[test]
    fn threat_and_environmental_scores_are_reported_and_the_most_specific_wins() {
        let r =
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:U").unwrap();
        assert_eq!(r.details["base_score"], 9.3);
        let threat = r.details["threat_score"].as_f64().unwrap();
        assert!(threat < 9.3, "unreported exploits lower the score");
        assert_eq!(r.score.value(), threat);
        let env =
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/CR:L/IR:L/AR:L")
                .unwrap();
        assert_eq!(env.details["nomenclature"], "CVSS-BE");
        assert!(env.score.value() <= 9.3);
        let sup =
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/S:P/U:Amber")
                .unwrap();
        assert_eq!(
            sup.score.value(),
            9.3,
            "supplemental metrics do not change the score"
        );
    }

    fn rejected(vector: &str) -> String {
        match Vector::parse(vector) {
            Err(e) => e.0[0].field.clone(),
            Ok(_) => panic!("{vector} was accepted"),
        }
    }

    #[test]
    fn strict_parsing_names_the_metric() {
        const OK: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert!(Vector::parse(OK).is_ok());
        assert_eq!(
            rejected("CVSS:4.0/AC:L/AV:N/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            "vector.AV"
        );
        assert_eq!(rejected(&format!("{OK}/U:red")), "vector.U");
        assert_eq!(rejected(&format!("{OK}/U:amber")), "vector.U");
        assert!(Vector::parse(&format!("{OK}/U:Amber")).is_ok());
        assert_eq!(
            rejected("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N"),
            "vector.SA"
        );
        assert_eq!(
            rejected("CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            "vector.AT"
        );
        assert_eq!(rejected(&format!("{OK}/E:A/E:P")), "vector.E");
        assert_eq!(rejected(&format!("{OK}/CR:H/E:A")), "vector.E");
        assert_eq!(
            rejected("CVSS:4.0/AV:n/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            "vector.AV"
        );
        assert_eq!(
            rejected("CVSS:4.0/AV:X/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"),
            "vector.AV"
        );
        assert_eq!(rejected(&format!("{OK}/MSI:Q")), "vector.MSI");
        assert_eq!(rejected("CVSS:3.1/AV:N"), "vector");
        assert!(Vector::parse(&format!("{OK}/E:A/CR:H/MSI:S/S:P/AU:Y/R:I/V:C/RE:H/U:Red")).is_ok());
    }
}
