//! Liveness, readiness and metrics: unauthenticated, for orchestrators.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

crate::routes::routes! {
    resources: [],
    paths: {
        "/healthz" => { get: healthz },
        "/readyz" => { get: readyz },
        "/metrics" => { get: metrics },
    },
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` while the process serves requests.
    pub status: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "getHealth", tag = "operations",
    responses((status = 200, description = "The process is up", body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

#[derive(Serialize, ToSchema)]
pub struct DependencyStatus {
    pub name: String,
    pub ok: bool,
    /// Why the dependency is not reachable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: String,
    pub checks: Vec<DependencyStatus>,
}

/// The database (and in production the broker) can be reached.
#[utoipa::path(get, path = "/readyz", operation_id = "getReadiness", tag = "operations",
    responses(
        (status = 200, description = "Every dependency answers", body = Readiness),
        (status = 503, description = "A dependency does not answer", body = Readiness),
    ))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let mut checks = Vec::new();
    let db_result = state
        .db(palisade_store::db::ping)
        .await
        .map_err(|e| e.to_string());
    checks.push(DependencyStatus {
        name: "database".into(),
        ok: db_result.is_ok(),
        error: db_result.err(),
    });
    for dependency in &state.dependencies {
        let result = tokio::time::timeout(std::time::Duration::from_secs(3), dependency.check())
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".into()));
        checks.push(DependencyStatus {
            name: dependency.name().into(),
            ok: result.is_ok(),
            error: result.err(),
        });
    }
    let ready = checks.iter().all(|c| c.ok);
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" }.into(),
        checks,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", operation_id = "getMetrics", tag = "operations",
    responses((status = 200, description = "Metrics in the Prometheus text format", body = String, content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
