//! FAIR-style quantitative risk, compatible with Netflix's riskquant: a loss
//! event frequency (a yearly rate, or a PERT estimate) and a loss magnitude
//! given as the 90 % interval of a lognormal. The analytic annualized loss
//! is the score's basis; a seeded Monte Carlo gives the distribution.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, LogNormal, Poisson};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{fmt_num, Method, Score, ScoreResult, ScoringError};

/// The z-score of the 95th percentile: a 90 % interval spans ±this many σ.
pub const Z_95: f64 = 1.644_853_626_951_472_9;
pub const DEFAULT_ITERATIONS: u32 = 100_000;
/// The most years one request may simulate: about 0.1 s of one core.
pub const MAX_ITERATIONS: u32 = 1_000_000;
pub const DEFAULT_SEED: u64 = 0;
/// The most loss events a year, as a rate or a PERT maximum: beyond what
/// FAIR estimates describe, and it bounds the simulation's inner loop.
pub const MAX_RATE: f64 = 10_000.0;
/// The most loss events one simulation may draw (simulated years × the
/// highest yearly rate): about 0.6 s of one core.
pub const MAX_SIMULATED_EVENTS: f64 = 20_000_000.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pert {
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10000.0))]
    pub min: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10000.0))]
    pub most_likely: f64,
    /// At most 10 000 loss events a year.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10000.0))]
    pub max: f64,
    /// Weight of the most likely value (riskquant's γ); 4 by default.
    #[serde(default = "default_gamma")]
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    pub gamma: f64,
}

fn default_gamma() -> f64 {
    4.0
}

/// Loss events per year: a rate, or a PERT estimate of the rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Frequency {
    Rate(f64),
    Pert(Pert),
}

/// The 90 % interval of a lognormal loss magnitude.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interval {
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    pub low: f64,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    pub high: f64,
}

/// A secondary loss that follows a primary loss event with some probability
/// (fines, notification costs…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Secondary {
    /// Probability that a loss event also causes the secondary loss; 1 by default.
    #[serde(default = "one")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub probability: f64,
    pub magnitude: Interval,
}

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FairInput {
    pub frequency: Frequency,
    pub magnitude: Interval,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secondary: Option<Secondary>,
    /// Simulated years, 1 to 1 000 000 (default 100 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000000))]
    pub iterations: Option<u32>,
    /// Seed of the simulation (default 0): the same input gives the same figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// μ and σ of the lognormal whose 5th and 95th percentiles are `low` and `high`.
pub fn lognormal_params(i: &Interval) -> (f64, f64) {
    let mu = (i.low.ln() + i.high.ln()) / 2.0;
    let sigma = (i.high.ln() - i.low.ln()) / (2.0 * Z_95);
    (mu, sigma)
}

pub fn lognormal_mean(i: &Interval) -> f64 {
    let (mu, sigma) = lognormal_params(i);
    (mu + sigma * sigma / 2.0).exp()
}

impl Frequency {
    /// E[frequency]: the rate, or the PERT mean (min + γ·mode + max) / (γ + 2).
    pub fn mean(&self) -> f64 {
        match self {
            Frequency::Rate(r) => *r,
            Frequency::Pert(p) => (p.min + p.gamma * p.most_likely + p.max) / (p.gamma + 2.0),
        }
    }

    fn scaled(&self, factor: f64) -> Frequency {
        match self {
            Frequency::Rate(r) => Frequency::Rate(r * factor),
            Frequency::Pert(p) => Frequency::Pert(Pert {
                min: p.min * factor,
                most_likely: p.most_likely * factor,
                max: p.max * factor,
                gamma: p.gamma,
            }),
        }
    }
}

impl FairInput {
    pub fn validate(&self) -> Result<(), ScoringError> {
        let mut e = ScoringError::new();
        let finite_non_negative = |v: f64| v.is_finite() && v >= 0.0;
        match &self.frequency {
            Frequency::Rate(r) if !finite_non_negative(*r) => {
                e.add("frequency.rate", format!("must be a number ≥ 0 (got {r})"))
            }
            Frequency::Rate(r) if *r > MAX_RATE => e.add(
                "frequency.rate",
                format!("must be at most {MAX_RATE} loss events a year (got {r})"),
            ),
            Frequency::Rate(_) => {}
            Frequency::Pert(p) => {
                if !(finite_non_negative(p.min)
                    && finite_non_negative(p.max)
                    && p.most_likely.is_finite())
                {
                    e.add(
                        "frequency.pert",
                        "min, most_likely and max must be numbers ≥ 0",
                    );
                } else if !(p.min <= p.most_likely && p.most_likely <= p.max) {
                    e.add(
                        "frequency.pert",
                        format!(
                            "needs min ≤ most_likely ≤ max (got {}, {}, {})",
                            p.min, p.most_likely, p.max
                        ),
                    );
                }
                if p.max > MAX_RATE {
                    e.add(
                        "frequency.pert.max",
                        format!(
                            "must be at most {MAX_RATE} loss events a year (got {})",
                            p.max
                        ),
                    );
                }
                if !(p.gamma.is_finite() && p.gamma > 0.0) {
                    e.add(
                        "frequency.pert.gamma",
                        format!("must be > 0 (got {})", p.gamma),
                    );
                }
            }
        }
        check_interval("magnitude", &self.magnitude, &mut e);
        if let Some(s) = &self.secondary {
            check_interval("secondary.magnitude", &s.magnitude, &mut e);
            if !(0.0..=1.0).contains(&s.probability) {
                e.add(
                    "secondary.probability",
                    format!("must be 0 to 1 (got {})", s.probability),
                );
            }
        }
        let iterations = self.iterations.unwrap_or(DEFAULT_ITERATIONS);
        let highest_rate = match &self.frequency {
            Frequency::Rate(r) => *r,
            Frequency::Pert(p) => p.max,
        };
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            e.add(
                "iterations",
                format!("must be 1 to {MAX_ITERATIONS} (got {iterations})"),
            );
        } else if e.is_empty() && f64::from(iterations) * highest_rate > MAX_SIMULATED_EVENTS {
            let most = (MAX_SIMULATED_EVENTS / highest_rate).floor();
            e.add(
                "iterations",
                format!(
                    "{iterations} years at up to {} loss events a year is over the budget of {} simulated events per request: simulate at most {} years",
                    fmt_num(highest_rate),
                    fmt_num(MAX_SIMULATED_EVENTS),
                    fmt_num(most)
                ),
            );
        }
        e.finish()
    }

    /// The same assessment with every frequency scaled (controls reduce how often).
    pub fn with_frequency_factor(&self, factor: f64) -> FairInput {
        FairInput {
            frequency: self.frequency.scaled(factor),
            ..self.clone()
        }
    }

    /// The same assessment with every magnitude scaled (a transferred share).
    pub fn with_magnitude_factor(&self, factor: f64) -> FairInput {
        let scale = |i: &Interval| Interval {
            low: i.low * factor,
            high: i.high * factor,
        };
        FairInput {
            magnitude: scale(&self.magnitude),
            secondary: self.secondary.as_ref().map(|s| Secondary {
                probability: s.probability,
                magnitude: scale(&s.magnitude),
            }),
            ..self.clone()
        }
    }
}

fn check_interval(field: &str, i: &Interval, e: &mut ScoringError) {
    if !(i.low.is_finite() && i.high.is_finite() && i.low > 0.0 && i.high > i.low) {
        e.add(
            field,
            format!("needs 0 < low < high (got {}, {})", i.low, i.high),
        );
    }
}

/// The analytic figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Analytic {
    pub mu: f64,
    pub sigma: f64,
    pub magnitude_mean: f64,
    pub secondary_mean: f64,
    pub expected_frequency: f64,
    pub annualized_loss: f64,
}

pub fn analytic(input: &FairInput) -> Analytic {
    let (mu, sigma) = lognormal_params(&input.magnitude);
    let magnitude_mean = lognormal_mean(&input.magnitude);
    let secondary_mean = input
        .secondary
        .as_ref()
        .map_or(0.0, |s| s.probability * lognormal_mean(&s.magnitude));
    let expected_frequency = input.frequency.mean();
    Analytic {
        mu,
        sigma,
        magnitude_mean,
        secondary_mean,
        expected_frequency,
        annualized_loss: expected_frequency * (magnitude_mean + secondary_mean),
    }
}

/// What the simulated years show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    pub iterations: u32,
    pub seed: u64,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    /// The share of years with no loss at all.
    pub p_zero: f64,
    /// The yearly loss exceeded with each probability.
    pub loss_exceedance: Vec<Exceedance>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exceedance {
    pub probability: f64,
    pub loss: f64,
}

const EXCEEDANCE_PROBABILITIES: [f64; 9] = [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001];

/// Simulates `iterations` years: each draws a frequency (PERT through its
/// Beta form), a Poisson count of events, and a magnitude per event.
pub fn simulate(input: &FairInput) -> Result<Simulation, ScoringError> {
    input.validate()?;
    let iterations = input.iterations.unwrap_or(DEFAULT_ITERATIONS);
    let seed = input.seed.unwrap_or(DEFAULT_SEED);
    let bad = |field: &str, e: &dyn std::fmt::Display| ScoringError::single(field, e.to_string());
    let (mu, sigma) = lognormal_params(&input.magnitude);
    let primary = LogNormal::new(mu, sigma).map_err(|e| bad("magnitude", &e))?;
    let secondary = match &input.secondary {
        Some(s) => {
            let (m, sd) = lognormal_params(&s.magnitude);
            Some((
                s.probability,
                LogNormal::new(m, sd).map_err(|e| bad("secondary.magnitude", &e))?,
            ))
        }
        None => None,
    };
    let pert = match &input.frequency {
        Frequency::Pert(p) if p.max > p.min => {
            let range = p.max - p.min;
            let alpha = 1.0 + p.gamma * (p.most_likely - p.min) / range;
            let beta = 1.0 + p.gamma * (p.max - p.most_likely) / range;
            Some((
                p.min,
                range,
                Beta::new(alpha, beta).map_err(|e| bad("frequency.pert", &e))?,
            ))
        }
        _ => None,
    };
    let fixed_rate = input.frequency.mean();
    let fixed_poisson = if pert.is_none() && fixed_rate > 0.0 {
        Some(Poisson::new(fixed_rate).map_err(|e| bad("frequency", &e))?)
    } else {
        None
    };

    let mut rng = SmallRng::seed_from_u64(seed);
    let mut losses = Vec::with_capacity(iterations as usize);
    for _ in 0..iterations {
        let events = match (&pert, &fixed_poisson) {
            (Some((min, range, beta)), _) => {
                let rate = min + range * beta.sample(&mut rng);
                if rate > 0.0 {
                    Poisson::new(rate)
                        .map(|p| p.sample(&mut rng))
                        .unwrap_or(0.0)
                } else {
                    0.0
                }
            }
            (None, Some(poisson)) => poisson.sample(&mut rng),
            (None, None) => 0.0,
        } as u64;
        let mut loss = 0.0;
        for _ in 0..events {
            loss += primary.sample(&mut rng);
            if let Some((p, dist)) = &secondary {
                if rng.random::<f64>() < *p {
                    loss += dist.sample(&mut rng);
                }
            }
        }
        losses.push(loss);
    }
    let n = losses.len();
    let mean = losses.iter().sum::<f64>() / n as f64;
    let zeros = losses.iter().filter(|l| **l == 0.0).count();
    losses.sort_unstable_by(f64::total_cmp);
    // Nearest-rank quantile.
    let quantile = |q: f64| -> f64 {
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        losses[rank - 1]
    };
    Ok(Simulation {
        iterations,
        seed,
        mean,
        p10: quantile(0.10),
        p50: quantile(0.50),
        p90: quantile(0.90),
        p95: quantile(0.95),
        p99: quantile(0.99),
        p_zero: zeros as f64 / n as f64,
        loss_exceedance: EXCEEDANCE_PROBABILITIES
            .iter()
            .map(|p| Exceedance {
                probability: *p,
                loss: quantile(1.0 - p),
            })
            .collect(),
    })
}

/// 2 × log10(ALE / 100), clamped to 0–10: 100 → 0, 10 000 → 4, 1 000 000 → 8.
pub fn score_of_loss(annualized_loss: f64) -> Score {
    if annualized_loss <= 0.0 {
        return Score::ZERO;
    }
    Score::rounded(2.0 * (annualized_loss / 100.0).log10())
}

/// The analytic figures only, without simulating: what residual and
/// projected risk need, thousands of times per register.
pub fn score_analytic(input: &FairInput) -> Result<ScoreResult, ScoringError> {
    input.validate()?;
    let a = analytic(input);
    let score = score_of_loss(a.annualized_loss);
    Ok(ScoreResult {
        method: Method::Fair,
        score,
        severity: score.cvss_severity(),
        details: json!({
            "annualized_loss": a.annualized_loss,
            "magnitude_mean": a.magnitude_mean,
            "expected_frequency": a.expected_frequency,
        }),
        explanation: vec![
            format!(
                "annualized loss = {} × {} = {}",
                fmt_num(a.expected_frequency),
                fmt_num(a.magnitude_mean + a.secondary_mean),
                fmt_num(a.annualized_loss)
            ),
            format!(
                "score = 2 × log10(annualized loss / 100) = {}",
                score.value()
            ),
        ],
    })
}

pub fn score(input: &FairInput) -> Result<ScoreResult, ScoringError> {
    input.validate()?;
    let a = analytic(input);
    let simulation = simulate(input)?;
    let score = score_of_loss(a.annualized_loss);
    let mode_x_mean = match &input.frequency {
        Frequency::Pert(p) => Some(p.most_likely * (a.magnitude_mean + a.secondary_mean)),
        Frequency::Rate(_) => None,
    };
    let mut explanation = vec![
        format!(
            "magnitude: lognormal with μ = (ln {} + ln {}) / 2 = {}, σ = (ln {} − ln {}) / (2 × {}) = {}",
            fmt_num(input.magnitude.low), fmt_num(input.magnitude.high), fmt_num(a.mu),
            fmt_num(input.magnitude.high), fmt_num(input.magnitude.low), Z_95, fmt_num(a.sigma)
        ),
        format!("mean magnitude = exp(μ + σ²/2) = {}", fmt_num(a.magnitude_mean)),
    ];
    if a.secondary_mean > 0.0 {
        explanation.push(format!(
            "expected secondary loss per event = {}",
            fmt_num(a.secondary_mean)
        ));
    }
    explanation.push(format!(
        "expected frequency = {} per year",
        fmt_num(a.expected_frequency)
    ));
    explanation.push(format!(
        "annualized loss = frequency × mean loss per event = {}",
        fmt_num(a.annualized_loss)
    ));
    if let Some(m) = mode_x_mean {
        explanation.push(format!(
            "riskquant's PERT variant (most likely frequency × mean loss) = {}",
            fmt_num(m)
        ));
    }
    explanation.push(format!(
        "simulation of {} years (seed {}): mean {}, p50 {}, p90 {}, p99 {}, no loss in {:.1} % of years",
        simulation.iterations, simulation.seed, fmt_num(simulation.mean), fmt_num(simulation.p50),
        fmt_num(simulation.p90), fmt_num(simulation.p99), simulation.p_zero * 100.0
    ));
    explanation.push(format!(
        "score = 2 × log10(annualized loss / 100) = {}: severity {}",
        score.value(),
        score.cvss_severity()
    ));
    Ok(ScoreResult {
        method: Method::Fair,
        score,
        severity: score.cvss_severity(),
        details: json!({
            "annualized_loss": a.annualized_loss,
            "annualized_loss_mode_x_mean": mode_x_mean,
            "magnitude_mean": a.magnitude_mean,
            "secondary_loss_mean": a.secondary_mean,
            "expected_frequency": a.expected_frequency,
            "mu": a.mu,
            "sigma": a.sigma,
            "simulation": simulation,
        }),
        explanation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(p: f64, low: f64, high: f64) -> FairInput {
        FairInput {
            frequency: Frequency::Rate(p),
            magnitude: Interval { low, high },
            secondary: None,
            iterations: None,
            seed: None,
        }
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    #[test]
    fn riskquant_vectors() {
        let a = analytic(&rate(0.1, 1.0, 10.0));
        assert!(
            close(a.annualized_loss, 0.404_001_282_694_57, 1e-12),
            "{}",
            a.annualized_loss
        );
        let a = analytic(&rate(0.07, 635_000.0, 19_000_000.0));
        assert!(
            close(a.magnitude_mean, 5_922_706.833_5, 1e-10),
            "{}",
            a.magnitude_mean
        );
        assert!(
            close(a.annualized_loss, 414_589.478, 1e-9),
            "{}",
            a.annualized_loss
        );
    }

    #[test]
    fn scores_follow_the_log_scale() {
        assert_eq!(score_of_loss(100.0).value(), 0.0);
        assert_eq!(score_of_loss(10_000.0).value(), 4.0);
        assert_eq!(score_of_loss(1_000_000.0).value(), 8.0);
        assert_eq!(score_of_loss(1e12).value(), 10.0);
        assert_eq!(score_of_loss(5.0).value(), 0.0);
        assert_eq!(score_of_loss(0.0).value(), 0.0);
    }

    #[test]
    fn the_simulation_agrees_with_the_analytic_mean() {
        for input in [rate(0.5, 1_000.0, 50_000.0), rate(3.0, 10.0, 100.0)] {
            let mut i = input.clone();
            i.iterations = Some(400_000);
            i.seed = Some(42);
            let sim = simulate(&i).unwrap();
            let ale = analytic(&i).annualized_loss;
            assert!(
                close(sim.mean, ale, 0.05),
                "simulated {} vs analytic {ale}",
                sim.mean
            );
            assert!(
                sim.p10 <= sim.p50
                    && sim.p50 <= sim.p90
                    && sim.p90 <= sim.p95
                    && sim.p95 <= sim.p99
            );
        }
        // P(no event in a year) = e^{−0.5} for a rate of 0.5.
        let mut i = rate(0.5, 1_000.0, 50_000.0);
        i.iterations = Some(200_000);
        let sim = simulate(&i).unwrap();
        assert!(
            (sim.p_zero - (-0.5f64).exp()).abs() < 0.01,
            "{}",
            sim.p_zero
        );
    }

    #[test]
    fn pert_frequency_and_secondary_loss() {
        let input = FairInput {
            frequency: Frequency::Pert(Pert {
                min: 0.5,
                most_likely: 2.0,
                max: 6.0,
                gamma: 4.0,
            }),
            magnitude: Interval {
                low: 10_000.0,
                high: 200_000.0,
            },
            secondary: Some(Secondary {
                probability: 0.5,
                magnitude: Interval {
                    low: 1_000.0,
                    high: 10_000.0,
                },
            }),
            iterations: Some(300_000),
            seed: Some(7),
        };
        let a = analytic(&input);
        assert!(close(a.expected_frequency, (0.5 + 8.0 + 6.0) / 6.0, 1e-12));
        let expected = a.expected_frequency
            * (lognormal_mean(&input.magnitude)
                + 0.5
                    * lognormal_mean(&Interval {
                        low: 1_000.0,
                        high: 10_000.0,
                    }));
        assert!(close(a.annualized_loss, expected, 1e-12));
        let sim = simulate(&input).unwrap();
        assert!(
            close(sim.mean, a.annualized_loss, 0.05),
            "{} vs {}",
            sim.mean,
            a.annualized_loss
        );
        let r = score(&input).unwrap();
        assert!(r.details["annualized_loss_mode_x_mean"].as_f64().unwrap() > 0.0);
    }

    #[test]
    fn the_same_seed_gives_the_same_figures() {
        let mut i = rate(0.3, 100.0, 10_000.0);
        i.iterations = Some(10_000);
        i.seed = Some(99);
        assert_eq!(simulate(&i).unwrap(), simulate(&i).unwrap());
    }

    #[test]
    fn bad_inputs_name_their_field() {
        let fields = |i: &FairInput| {
            i.validate()
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(fields(&rate(-1.0, 1.0, 10.0)), ["frequency.rate"]);
        assert_eq!(fields(&rate(0.1, 10.0, 1.0)), ["magnitude"]);
        assert_eq!(fields(&rate(0.1, 0.0, 1.0)), ["magnitude"]);
        let mut i = rate(0.1, 1.0, 10.0);
        i.iterations = Some(MAX_ITERATIONS + 1);
        assert_eq!(fields(&i), ["iterations"]);
        i.iterations = Some(0);
        assert_eq!(fields(&i), ["iterations"]);
        let pert = FairInput {
            frequency: Frequency::Pert(Pert {
                min: 3.0,
                most_likely: 2.0,
                max: 6.0,
                gamma: 0.0,
            }),
            ..rate(0.1, 1.0, 10.0)
        };
        assert_eq!(fields(&pert), ["frequency.pert", "frequency.pert.gamma"]);
    }

    #[test]
    fn a_zero_rate_loses_nothing() {
        let r = score(&rate(0.0, 1.0, 10.0)).unwrap();
        assert_eq!(r.score.value(), 0.0);
        assert_eq!(r.details["simulation"]["p_zero"], 1.0);
    }

    #[test]
    fn inputs_that_would_pin_a_core_are_refused_before_simulating() {
        let base = |frequency: serde_json::Value, iterations: Option<u32>| {
            let mut v = json!({"frequency": frequency, "magnitude": {"low": 1.0, "high": 10.0}});
            if let Some(n) = iterations {
                v["iterations"] = json!(n);
            }
            serde_json::from_value::<FairInput>(v).unwrap()
        };
        let field = |i: &FairInput| i.validate().unwrap_err().0[0].field.clone();
        assert_eq!(field(&base(json!({"rate": 1e9}), None)), "frequency.rate");
        assert_eq!(
            field(&base(
                json!({"pert": {"min": 0, "most_likely": 1, "max": 1e9}}),
                None
            )),
            "frequency.pert.max"
        );
        // Within the rate bound, but a million years of 10 000 events each.
        assert_eq!(
            field(&base(json!({"rate": 10_000}), Some(1_000_000))),
            "iterations"
        );
        assert_eq!(field(&base(json!({"rate": 500}), None)), "iterations");
        assert!(base(json!({"rate": 500}), Some(40_000)).validate().is_ok());
        assert!(base(json!({"rate": 200}), None).validate().is_ok());
        assert!(base(json!({"rate": 2}), Some(MAX_ITERATIONS))
            .validate()
            .is_ok());
    }
}
