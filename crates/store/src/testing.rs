//! Throwaway databases for tests: a fresh PostgreSQL database or a SQLite
//! file in a temporary folder, dropped with the value.

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};

use crate::{Backend, Store};

/// The PostgreSQL server tests use; `PALISADE_TEST_PG` overrides it.
pub fn pg_server_url() -> String {
    std::env::var("PALISADE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub enum TestDatabase {
    Postgres {
        url: String,
        name: String,
    },
    Sqlite {
        url: String,
        _dir: tempfile::TempDir,
    },
}

impl TestDatabase {
    pub fn new(backend: Backend) -> Self {
        match backend {
            Backend::Postgres => {
                let name = format!("palisade_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = PgConnection::establish(&format!("{}/postgres", pg_server_url()))
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {} is needed for tests: {e}", pg_server_url())
                    });
                diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"))
                    .execute(&mut admin)
                    .unwrap_or_else(|e| panic!("cannot create test database: {e}"));
                TestDatabase::Postgres {
                    url: format!("{}/{name}", pg_server_url()),
                    name,
                }
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
                let url = dir.path().join("palisade.db").display().to_string();
                TestDatabase::Sqlite { url, _dir: dir }
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Postgres { url, .. } | TestDatabase::Sqlite { url, .. } => url,
        }
    }

    /// A migrated store on this database.
    pub fn store(&self) -> Store {
        let store = Store::open(self.url(), 4)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", self.url()));
        store
            .migrate()
            .unwrap_or_else(|e| panic!("cannot migrate: {e}"));
        store
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { name, .. } = self {
            if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", pg_server_url()))
            {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}
