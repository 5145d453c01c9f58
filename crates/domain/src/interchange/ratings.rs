//! OTM's 0–100 ratings and our scales, both ways. Likelihood and impact
//! use NIST SP 800-30's semi-quantitative bins (0–4 very low, 5–20 low,
//! 21–79 moderate, 80–95 high, 96–100 very high) and export each level as
//! 0, 20, 50, 80 and 100, which fall back into their own bins; CIA ratings
//! are thirds (0–33 low, 34–66 medium, 67–100 high) exported as 0, 50, 100.
//! So a file written by us reads back to the same levels, and a file whose
//! ratings are those values round-trips exactly.

use crate::asset::CiaLevel;
use crate::scoring::nist::{NistInput, NistLevel};
use crate::scoring::Assessment;
use crate::threat::ThreatAssessment;

/// The assessment every imported threat gets: NIST with an overall likelihood.
pub(crate) fn nist(likelihood: NistLevel, impact: NistLevel) -> ThreatAssessment {
    ThreatAssessment::Stateless(Assessment::Nist(NistInput {
        likelihood: Some(likelihood),
        initiation_likelihood: None,
        adverse_impact_likelihood: None,
        impact,
    }))
}

/// A 0–100 rating as a NIST level (the caller has checked the range).
pub fn nist_level(rating: f64) -> NistLevel {
    let r = rating.round();
    if r <= 4.0 {
        NistLevel::VeryLow
    } else if r <= 20.0 {
        NistLevel::Low
    } else if r <= 79.0 {
        NistLevel::Moderate
    } else if r <= 95.0 {
        NistLevel::High
    } else {
        NistLevel::VeryHigh
    }
}

/// The rating a NIST level is exported as.
pub fn nist_rating(level: NistLevel) -> u8 {
    match level {
        NistLevel::VeryLow => 0,
        NistLevel::Low => 20,
        NistLevel::Moderate => 50,
        NistLevel::High => 80,
        NistLevel::VeryHigh => 100,
    }
}

pub fn cia_level(rating: f64) -> CiaLevel {
    let r = rating.round();
    if r <= 33.0 {
        CiaLevel::Low
    } else if r <= 66.0 {
        CiaLevel::Medium
    } else {
        CiaLevel::High
    }
}

pub fn cia_rating(level: CiaLevel) -> u8 {
    match level {
        CiaLevel::Low => 0,
        CiaLevel::Medium => 50,
        CiaLevel::High => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_follow_sp_800_30() {
        let cases = [
            (0.0, NistLevel::VeryLow),
            (4.0, NistLevel::VeryLow),
            (4.6, NistLevel::Low),
            (5.0, NistLevel::Low),
            (20.0, NistLevel::Low),
            (21.0, NistLevel::Moderate),
            (79.0, NistLevel::Moderate),
            (80.0, NistLevel::High),
            (95.0, NistLevel::High),
            (96.0, NistLevel::VeryHigh),
            (100.0, NistLevel::VeryHigh),
        ];
        for (rating, level) in cases {
            assert_eq!(nist_level(rating), level, "{rating}");
        }
    }

    #[test]
    fn exported_ratings_read_back_to_their_level() {
        for level in NistLevel::ALL {
            assert_eq!(nist_level(f64::from(nist_rating(*level))), *level);
        }
        for level in CiaLevel::ALL {
            assert_eq!(cia_level(f64::from(cia_rating(*level))), *level);
        }
        assert_eq!(cia_level(33.0), CiaLevel::Low);
        assert_eq!(cia_level(34.0), CiaLevel::Medium);
        assert_eq!(cia_level(67.0), CiaLevel::High);
    }
}
