use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::web;
use palisade_store::{DbConn, Store, StoreError};

use crate::error::ApiError;
use crate::observe::Metrics;

/// Something the API depends on besides the database (the broker in
/// production), checked by `/readyz`.
pub trait Dependency: Send + Sync {
    fn name(&self) -> &'static str;
    fn check(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
}

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub max_body_bytes: usize,
    /// The largest file `POST /api/v1/models/import` reads.
    pub max_import_bytes: usize,
    /// Seals webhook secrets and ticketing tokens at rest.
    pub sealer: palisade_store::sealed::Sealer,
    /// What subscription URLs and ticketing base URLs may point at.
    pub outbound: palisade_domain::webhook::OutboundPolicy,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 * 1024 * 1024,
            max_import_bytes: 64 * 1024 * 1024,
            sealer: palisade_store::sealed::Sealer::missing(),
            outbound: palisade_domain::webhook::OutboundPolicy::default(),
        }
    }
}

pub struct AppState {
    pub store: Store,
    pub config: ApiConfig,
    /// Shared with the request middleware, which reads it on its own.
    pub metrics: Arc<Metrics>,
    pub dependencies: Vec<Arc<dyn Dependency>>,
}

impl AppState {
    pub fn new(store: Store, config: ApiConfig, dependencies: Vec<Arc<dyn Dependency>>) -> Self {
        AppState {
            store,
            config,
            metrics: Arc::new(Metrics::new()),
            dependencies,
        }
    }

    /// Runs blocking database work off the async threads.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        web::block(move || {
            let mut conn = store.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
        .map_err(ApiError::from)
    }
}
