//! Stateless calculators: the same domain code the worker uses, one
//! operation per method so that generated SDKs get typed bodies.

use actix_web::{web, HttpResponse};
use palisade_domain::scoring::cvss31::CvssInput;
use palisade_domain::scoring::dread::DreadInput;
use palisade_domain::scoring::fair::FairInput;
use palisade_domain::scoring::nist::NistInput;
use palisade_domain::scoring::owasp::OwaspInput;
use palisade_domain::scoring::{Assessment, Method, ScoreResult};
use palisade_domain::threat::{ThreatAssessment, TreeAssessment};
use serde_json::Value;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{parse_json, JsonBody};
use crate::state::AppState;

/// The methods with a stateless calculator (`attack_tree` needs a stored tree).
pub const CALCULATORS: [Method; 6] = [
    Method::Owasp,
    Method::Cvss31,
    Method::Cvss40,
    Method::Dread,
    Method::Nist,
    Method::Fair,
];

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/scoring/owasp" => { post: score_owasp },
        "/api/v1/scoring/cvss31" => { post: score_cvss31 },
        "/api/v1/scoring/cvss40" => { post: score_cvss40 },
        "/api/v1/scoring/dread" => { post: score_dread },
        "/api/v1/scoring/nist" => { post: score_nist },
        "/api/v1/scoring/fair" => { post: score_fair },
    },
}

/// Scores one assessment given as JSON. `method` may be left out of the
/// body when the caller names it; if both are given they must agree.
/// Shared by the HTTP calculators and `palisade score`.
pub fn score_json(method: Option<Method>, body: Value) -> Result<ScoreResult, ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(ApiError::field("body", "an assessment is a JSON object"));
    };
    let named =
        match fields.get("method") {
            None => None,
            Some(Value::String(s)) => Some(Method::parse(s).ok_or_else(|| {
                ApiError::field("method", format!("{s:?} is not a scoring method"))
            })?),
            Some(_) => return Err(ApiError::field("method", "must be a string")),
        };
    let method = match (method, named) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::field(
                "method",
                format!("the body says {b}, the request {a}"),
            ))
        }
        (Some(m), _) | (None, Some(m)) => m,
        (None, None) => {
            return Err(ApiError::field(
                "method",
                "required: one of owasp, cvss31, cvss40, dread, nist, fair",
            ))
        }
    };
    fields.remove("method");
    Ok(parse_stateless(method, fields)?.score()?)
}

/// The method's own input type, parsed directly so errors keep their paths.
fn parse_stateless(
    method: Method,
    fields: serde_json::Map<String, Value>,
) -> Result<Assessment, ApiError> {
    let bytes = serde_json::to_vec(&fields).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(match method {
        Method::Owasp => Assessment::Owasp(Box::new(parse_json(&bytes)?)),
        Method::Cvss31 => Assessment::Cvss31(parse_json(&bytes)?),
        Method::Cvss40 => Assessment::Cvss40(parse_json(&bytes)?),
        Method::Dread => Assessment::Dread(parse_json(&bytes)?),
        Method::Nist => Assessment::Nist(parse_json(&bytes)?),
        Method::Fair => Assessment::Fair(parse_json(&bytes)?),
        Method::AttackTree => {
            return Err(ApiError::field(
                "method",
                "attack_tree is scored on a stored attack tree, not here",
            ))
        }
    })
}

/// A threat's assessment: any method, `attack_tree` included. Errors name
/// `assessment.<field>`.
pub fn parse_threat_assessment(
    body: Value,
) -> Result<ThreatAssessment, palisade_domain::ValidationErrors> {
    let prefix = |e: ApiError| match e {
        ApiError::Validation(errors) => palisade_domain::ValidationErrors(
            errors
                .0
                .into_iter()
                .map(|f| palisade_domain::FieldError {
                    field: format!("assessment.{}", f.field),
                    message: f.message,
                })
                .collect(),
        ),
        other => palisade_domain::ValidationErrors::single("assessment", other.to_string()),
    };
    let Value::Object(mut fields) = body else {
        return Err(palisade_domain::ValidationErrors::single(
            "assessment",
            "an assessment is a JSON object with its method",
        ));
    };
    let method = match fields.remove("method") {
        Some(Value::String(m)) => Method::parse(&m).ok_or_else(|| {
            palisade_domain::ValidationErrors::single(
                "assessment.method",
                format!("{m:?} is not a scoring method"),
            )
        })?,
        _ => {
            return Err(palisade_domain::ValidationErrors::single(
                "assessment.method",
                "required: owasp, cvss31, cvss40, dread, nist, fair or attack_tree",
            ))
        }
    };
    if method == Method::AttackTree {
        let bytes = serde_json::to_vec(&fields)
            .map_err(|e| palisade_domain::ValidationErrors::single("assessment", e.to_string()))?;
        return parse_json::<TreeAssessment>(&bytes)
            .map(ThreatAssessment::AttackTree)
            .map_err(prefix);
    }
    parse_stateless(method, fields)
        .map(ThreatAssessment::Stateless)
        .map_err(prefix)
}

async fn run(state: &AppState, method: Method, body: Value) -> Result<HttpResponse, ApiError> {
    let _ = state;
    // FAIR simulates up to a million years: keep it off the async threads.
    let result = web::block(move || score_json(Some(method), body))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))??;
    Ok(HttpResponse::Ok().json(result))
}

macro_rules! calculator {
    ($fn:ident, $method:expr, $body:ty, $path:literal, $id:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, operation_id = $id, tag = "scoring",
            request_body = $body,
            responses((status = 200, description = "The score, severity, native figures and explanation", body = ScoreResult)),
            security(("api_key" = [])))]
        pub async fn $fn(state: web::Data<AppState>, _auth: Auth, body: JsonBody<Value>) -> Result<HttpResponse, ApiError> {
            run(&state, $method, body.value).await
        }
    };
}

calculator!(score_owasp, Method::Owasp, OwaspInput, "/api/v1/scoring/owasp", "scoreOwasp",
    "OWASP Risk Rating: 8 likelihood, 4 technical and optionally 4 business impact factors, 0–9 or named options.");
calculator!(
    score_cvss31,
    Method::Cvss31,
    CvssInput,
    "/api/v1/scoring/cvss31",
    "scoreCvss31",
    "CVSS v3.1 vector: base, temporal and environmental scores; the most specific is the score."
);
calculator!(
    score_cvss40,
    Method::Cvss40,
    CvssInput,
    "/api/v1/scoring/cvss40",
    "scoreCvss40",
    "CVSS v4.0 vector (metrics in the specification's order): CVSS-B, -BT, -BE or -BTE."
);
calculator!(
    score_dread,
    Method::Dread,
    DreadInput,
    "/api/v1/scoring/dread",
    "scoreDread",
    "DREAD: the mean of five ratings 0–10."
);
calculator!(score_nist, Method::Nist, NistInput, "/api/v1/scoring/nist", "scoreNist",
    "NIST SP 800-30: likelihood (or initiation and adverse-impact likelihoods by Table G-5) × impact by Table I-2.");
calculator!(score_fair, Method::Fair, FairInput, "/api/v1/scoring/fair", "scoreFair",
    "FAIR: annualized loss from a frequency and a 90 % loss interval, with a seeded Monte Carlo (at most 1 000 000 years).");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_method_comes_from_the_path_or_the_body_and_must_agree() {
        let dread = json!({"damage": 10, "reproducibility": 10, "exploitability": 5, "affected_users": 5, "discoverability": 5});
        assert_eq!(
            score_json(Some(Method::Dread), dread.clone())
                .unwrap()
                .score
                .value(),
            7.0
        );
        let mut with = dread.clone();
        with["method"] = json!("dread");
        assert_eq!(score_json(None, with.clone()).unwrap().score.value(), 7.0);
        with["method"] = json!("owasp");
        assert!(score_json(Some(Method::Dread), with).is_err());
        assert!(score_json(None, dread.clone()).is_err());
        assert!(score_json(Some(Method::AttackTree), dread).is_err());
    }
}
