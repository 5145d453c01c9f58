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

#[cfg(test)]
thread_local! {
    /// Every path `resource` was asked for while configuring, for the test
    /// that holds the routes and the document to each other.
    static REGISTERED: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A resource whose unsupported methods answer 405 as problem+json; every
/// route is made through it.
pub(crate) fn resource(path: &str) -> actix_web::Resource {
    #[cfg(test)]
    REGISTERED.with(|r| r.borrow_mut().push(path.to_string()));
    web::resource(path).default_service(web::to(|| async {
        Err::<HttpResponse, _>(ApiError::MethodNotAllowed)
    }))
}

/// A module's routes and the operations the document lists for them, from
/// one registration: each path with its methods and handlers (the
/// handlers' `#[utoipa::path]` say the rest), and the `resource!`
/// invocations of the module by their routes function and document.
/// A handler cannot be routed without being documented, or documented
/// without being routed.
macro_rules! routes {
    (
        resources: [$($res_routes:ident => $res_doc:ident),* $(,)?],
        paths: {$($path:literal => {$($method:ident: $handler:ident),+ $(,)?}),* $(,)?} $(,)?
    ) => {
        pub fn configure(cfg: &mut actix_web::web::ServiceConfig) {
            $($res_routes(cfg);)*
            $(
                cfg.service(
                    $crate::routes::resource($path)
                        $(.route(actix_web::web::$method().to($handler)))+,
                );
            )*
        }

        /// The operations `configure` routes, for the document.
        pub fn openapi() -> utoipa::openapi::OpenApi {
            $crate::routes::routes!(@own $($($handler),+),*);
            #[allow(unused_mut)]
            let mut doc = own();
            $(doc.merge(<$res_doc as utoipa::OpenApi>::openapi());)*
            doc
        }
    };
    (@own) => {
        fn own() -> utoipa::openapi::OpenApi {
            utoipa::openapi::OpenApiBuilder::new().build()
        }
    };
    (@own $($handler:ident),+) => {
        fn own() -> utoipa::openapi::OpenApi {
            #[derive(utoipa::OpenApi)]
            #[openapi(paths($($handler),+))]
            struct Own;
            <Own as utoipa::OpenApi>::openapi()
        }
    };
}
pub(crate) use routes;

/// Every routes module, once: what the server routes and what the
/// document lists come from the same list.
macro_rules! modules {
    ($($module:ident),+ $(,)?) => {
        pub fn configure(cfg: &mut web::ServiceConfig) {
            $($module::configure(cfg);)+
        }

        /// Each module's operations, to be merged into the document.
        pub fn openapi_parts() -> Vec<utoipa::openapi::OpenApi> {
            vec![$($module::openapi()),+]
        }
    };
}

modules!(
    ops,
    api_keys,
    audit,
    interchange,
    models,
    assets,
    progress,
    scoring,
    threat_actors,
    attack_trees,
    trust_zones,
    parties,
    interactions,
    environment,
    threats,
    controls,
    risks,
    treatments,
    evaluation_entries,
    versions,
    reports,
    integrations,
    webhooks,
);

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use actix_web::http::{Method, StatusCode};
    use actix_web::{test, App};

    use super::*;

    /// The routes and the OpenAPI document are written apart (handlers
    /// registered here, operations listed in `openapi/mod.rs`); this holds
    /// them together: every path routed is documented with exactly the
    /// methods it answers, and every documented operation is routed.
    #[actix_web::test]
    async fn every_route_is_documented_and_every_operation_routed() {
        REGISTERED.with(|r| r.borrow_mut().clear());
        let unrouted = StatusCode::from_u16(599).unwrap_or(StatusCode::IM_A_TEAPOT);
        let app = test::init_service(
            App::new()
                .configure(configure)
                .default_service(web::to(move || async move { HttpResponse::new(unrouted) })),
        )
        .await;
        let registered: BTreeSet<String> =
            REGISTERED.with(|r| r.borrow().iter().cloned().collect());
        let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, item) in crate::openapi::json()["paths"]
            .as_object()
            .into_iter()
            .flatten()
        {
            let methods = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(m, _)| m.to_ascii_uppercase())
                .filter(|m| ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m.as_str()))
                .collect();
            documented.insert(path.clone(), methods);
        }
        assert_eq!(
            registered,
            documented.keys().cloned().collect::<BTreeSet<_>>(),
            "paths routed (left) and documented (right) differ"
        );
        for (path, methods) in &documented {
            // Any id will do: a route answers (401, 404, 422…), an
            // unrouted path answers the marker, a method not routed 405.
            let uri: String = path
                .split('/')
                .map(|seg| {
                    if seg.starts_with('{') {
                        "01939a4e-0000-7000-8000-000000000000"
                    } else {
                        seg
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
                let req = test::TestRequest::default()
                    .method(Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET))
                    .uri(&uri)
                    .to_request();
                let status = test::call_service(&app, req).await.status();
                assert_ne!(status, unrouted, "{path} is documented but not routed");
                let answered = status != StatusCode::METHOD_NOT_ALLOWED;
                assert_eq!(
                    answered,
                    methods.contains(method),
                    "{method} {path}: routed {answered}, documented {}",
                    methods.contains(method)
                );
            }
        }
    }
}
