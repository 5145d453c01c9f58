//! Palisade's HTTP API: handlers by step, authentication, the conventions
//! of the contract, and the OpenAPI document.

pub mod auth;
pub mod error;
pub mod extract;
pub mod observe;
pub mod openapi;
mod patch;
pub mod resource;
mod respond;
pub mod routes;
pub mod state;

use std::net::TcpListener;

use actix_web::{middleware, web, App, HttpResponse, HttpServer};
use utoipa_swagger_ui::SwaggerUi;

pub use error::ApiError;
pub use state::{ApiConfig, AppState, Dependency};

/// Serves the API on `listener` until the server is stopped (SIGTERM or
/// Ctrl-C stop it gracefully: in-flight requests finish).
pub async fn serve(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<()> {
    let metrics = web::Data::from(state.metrics.clone());
    let state = web::Data::new(state);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .wrap(middleware::from_fn(observe::observe))
            .configure(routes::configure)
            .service(
                SwaggerUi::new("/docs/{_:.*}")
                    .external_url_unchecked("/openapi.json", openapi::json().clone()),
            )
            .service(web::redirect("/docs", "/docs/"))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::NotFound)
            }))
    })
    .workers(workers)
    .shutdown_timeout(10)
    .listen(listener)?
    .run()
    .await
}
