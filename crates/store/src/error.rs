use diesel::result::{DatabaseErrorKind, Error as DieselError};
use palisade_domain::ValidationErrors;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// `If-Match` named a version that is no longer current.
    #[error("the record is at version {current}")]
    VersionMismatch { current: i64 },
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The change contradicts stored data (a duplicate, a record still in use).
    #[error("{0}")]
    Conflict(String),
    /// The database cannot be reached or is busy; worth retrying.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(DieselError),
    #[error("migration failed: {0}")]
    Migration(String),
    /// The caller's role may not make this decision.
    #[error("{0}")]
    Forbidden(String),
    /// A status move the state machine does not allow.
    #[error("{0}")]
    IllegalMove(palisade_domain::treatment::IllegalMove),
}

impl From<DieselError> for StoreError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::ForeignKeyViolation,
                ref info,
            ) => StoreError::Conflict(info.message().to_string()),
            DieselError::DatabaseError(_, ref info)
                if info.message().contains("database is locked") =>
            {
                StoreError::Unavailable(info.message().to_string())
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, ref info) => {
                StoreError::Unavailable(info.message().to_string())
            }
            other => StoreError::Database(other),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(e: r2d2::Error) -> Self {
        StoreError::Unavailable(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}
