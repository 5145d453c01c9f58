//! Palisade's persistence: one diesel code path over SQLite (the embedded
//! default) and PostgreSQL (production). See `docs/architecture.md`.

pub mod api_keys;
pub mod assets;
pub mod attack_trees;
pub mod audit;
mod bulk;
pub mod controls;
pub mod db;
mod error;
pub mod evaluation_entries;
pub mod events;
pub mod idempotency;
pub mod import;
pub mod integrations;
pub mod interactions;
pub mod jobs;
mod links;
pub mod models;
pub mod orgs;
pub mod page;
pub mod parties;
mod queue;
pub mod reach;
pub mod reports;
pub mod risks;
mod schema;
pub mod scope;
pub mod sealed;
pub mod snapshot;
#[cfg(feature = "testing")]
pub mod testing;
pub mod threat_actors;
pub mod threats;
pub mod tickets;
mod time;
pub mod treatments;
pub mod trust_zones;
mod versioned;
pub mod versions;
pub mod webhooks;

pub use db::{Backend, DbConn, Store};
pub use error::StoreError;
pub use page::{Page, PageRequest, Sort};
pub use scope::Scoped;
pub use versioned::{ModelReads, ModelWrites};

use palisade_domain::ids::{ApiKeyId, OrgId};
use palisade_domain::role::Role;

/// Who is making a change: recorded in the audit log with every write.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org_id: OrgId,
    /// `None` for changes made by the CLI.
    pub key_id: Option<ApiKeyId>,
    pub request_id: Option<String>,
    /// What the caller may decide (some rules depend on it: accepting a
    /// high risk is the owner's).
    pub role: Role,
}

impl Actor {
    /// Palisade itself (the expiry sweep) or an operator at the CLI.
    pub fn system(org_id: OrgId) -> Actor {
        Actor {
            org_id,
            key_id: None,
            request_id: None,
            role: Role::Owner,
        }
    }
}

/// Ids are stored as text; a malformed one means the row was not written by us.
pub(crate) fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("malformed id {s:?}")))
}

pub(crate) fn parse_enum<T>(value: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("unknown value {value:?}")))
}

pub(crate) fn parse_ids<T: std::str::FromStr>(ids: Vec<String>) -> Result<Vec<T>, StoreError> {
    ids.iter().map(|s| parse_id(s)).collect()
}
