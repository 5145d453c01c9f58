//! DREAD: the mean of five ratings 0–10.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{fmt_num, Method, Score, ScoreResult, ScoringError};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DreadInput {
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub damage: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub reproducibility: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub exploitability: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub affected_users: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub discoverability: i64,
}

pub(crate) fn sum(input: &DreadInput) -> Result<i64, ScoringError> {
    let mut errors = ScoringError::new();
    let ratings = [
        ("damage", input.damage),
        ("reproducibility", input.reproducibility),
        ("exploitability", input.exploitability),
        ("affected_users", input.affected_users),
        ("discoverability", input.discoverability),
    ];
    for (name, v) in ratings {
        if !(0..=10).contains(&v) {
            errors.add(name, format!("must be 0 to 10 (got {v})"));
        }
    }
    errors.finish()?;
    Ok(ratings.iter().map(|(_, v)| v).sum())
}

pub fn score(input: &DreadInput) -> Result<ScoreResult, ScoringError> {
    let total = sum(input)?;
    // A sum of five integers over five is exact on the one-decimal grid.
    let mean = total as f64 / 5.0;
    let score = Score::rounded(mean);
    Ok(ScoreResult {
        method: Method::Dread,
        score,
        severity: score.cvss_severity(),
        details: json!({ "mean": mean }),
        explanation: vec![
            format!(
                "mean of damage {}, reproducibility {}, exploitability {}, affected users {}, discoverability {} = {total} / 5 = {}",
                input.damage, input.reproducibility, input.exploitability, input.affected_users, input.discoverability, fmt_num(mean)
            ),
            format!("severity by the CVSS bands: {}", score.cvss_severity()),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;

    fn d(v: [i64; 5]) -> DreadInput {
        DreadInput {
            damage: v[0],
            reproducibility: v[1],
            exploitability: v[2],
            affected_users: v[3],
            discoverability: v[4],
        }
    }

    #[test]
    fn mean_is_exact() {
        let r = score(&d([10, 10, 5, 5, 5])).unwrap();
        assert_eq!((r.score.value(), r.severity), (7.0, Severity::High));
        assert_eq!(score(&d([1, 0, 0, 0, 0])).unwrap().score.value(), 0.2);
        assert_eq!(score(&d([0; 5])).unwrap().severity, Severity::Info);
        assert_eq!(score(&d([10; 5])).unwrap().severity, Severity::Critical);
    }

    #[test]
    fn ratings_outside_zero_to_ten_are_named() {
        let e = score(&d([11, 0, -1, 0, 0])).unwrap_err();
        assert_eq!(
            e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["damage", "exploitability"]
        );
    }
}
