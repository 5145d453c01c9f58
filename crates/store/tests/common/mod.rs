//! What the store's test files share: a body run once per backend, each in
//! a fresh database, and an owner of an organisation.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use palisade_store::{orgs, Actor, Store};

/// Runs the body once per backend, each in a fresh database.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$store:ident| $body:block) => {
        mod $name {
            use super::*;
            fn run($store: Store) $body
            #[test]
            fn postgres() {
                let db = palisade_store::testing::TestDatabase::new(palisade_store::Backend::Postgres);
                run(db.store());
            }
            #[test]
            fn sqlite() {
                let db = palisade_store::testing::TestDatabase::new(palisade_store::Backend::Sqlite);
                run(db.store());
            }
        }
    };
}

/// An owner of the organisation `org` (created if needed).
pub fn actor(store: &Store, org: &str) -> Actor {
    let mut conn = store.conn().unwrap();
    let org = orgs::get_or_create(&mut conn, org).unwrap();
    Actor {
        org_id: org.id,
        key_id: None,
        request_id: Some("req-1".into()),
        role: palisade_domain::role::Role::Owner,
    }
}
