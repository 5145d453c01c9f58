//! Handlers, one module per concept; each is thin: parse, authorize, call
//! the domain and the store, shape the response.

use std::str::FromStr;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

pub mod api_keys;
pub mod assets;
pub mod attack_trees;
pub mod audit;
pub mod controls;
pub mod environment;
pub mod evaluation_entries;
pub mod integrations;
pub mod interactions;
pub mod interchange;
pub mod models;
pub mod ops;
pub mod parties;
pub mod progress;
pub mod reports;
pub mod risks;
pub mod scoring;
pub mod threat_actors;
pub mod threats;
pub mod treatments;
pub mod trust_zones;
pub mod versions;
pub mod webhooks;

/// A path id; one that is not a UUID cannot exist, so it is a 404.
pub(crate) fn path_id<T: FromStr>(raw: &str) -> Result<T, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// A resource whose unsupported methods answer 405 as problem+json.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed)
    }))
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    ops::configure(cfg);
    api_keys::configure(cfg);
    audit::configure(cfg);
    interchange::configure(cfg);
    models::configure(cfg);
    assets::configure(cfg);
    progress::configure(cfg);
    scoring::configure(cfg);
    threat_actors::configure(cfg);
    attack_trees::configure(cfg);
    trust_zones::configure(cfg);
    parties::configure(cfg);
    interactions::configure(cfg);
    environment::configure(cfg);
    threats::configure(cfg);
    controls::configure(cfg);
    risks::configure(cfg);
    treatments::configure(cfg);
    evaluation_entries::configure(cfg);
    versions::configure(cfg);
    reports::configure(cfg);
    integrations::configure(cfg);
    webhooks::configure(cfg);
}
