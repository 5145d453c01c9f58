//! Responses remembered per `Idempotency-Key`, so a retried POST returns the
//! first answer instead of creating a second record.

use chrono::Duration;
use diesel::prelude::*;
use palisade_domain::ids::OrgId;

use crate::db::DbConn;
use crate::schema::idempotency_keys;
use crate::{time, StoreError};

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    /// A digest of method, path and body: the same key with another request is refused.
    pub request_hash: String,
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
}

pub fn get(conn: &mut DbConn, org: OrgId, key: &str) -> Result<Option<StoredResponse>, StoreError> {
    let cutoff = time::now() - Duration::hours(RETENTION_HOURS);
    let row: Option<(String, i32, Option<String>, Option<String>, String)> =
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(org.to_string()))
            .filter(idempotency_keys::key.eq(key))
            .filter(idempotency_keys::created_at.gt(cutoff))
            .select((
                idempotency_keys::request_hash,
                idempotency_keys::status,
                idempotency_keys::location,
                idempotency_keys::etag,
                idempotency_keys::body,
            ))
            .first(conn)
            .optional()?;
    Ok(row.map(|(request_hash, status, location, etag, body)| StoredResponse {
        request_hash,
        status: u16::try_from(status).unwrap_or(500),
        location,
        etag,
        body,
    }))
}

/// Remembers a response. Expired keys are dropped first, so a key can be
/// reused after the retention period; a concurrent twin that got there
/// first wins.
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    key: &str,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    let now = time::now();
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::created_at.le(now - Duration::hours(RETENTION_HOURS))),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::org_id.eq(org.to_string()),
            idempotency_keys::key.eq(key),
            idempotency_keys::request_hash.eq(&response.request_hash),
            idempotency_keys::status.eq(i32::from(response.status)),
            idempotency_keys::location.eq(&response.location),
            idempotency_keys::etag.eq(&response.etag),
            idempotency_keys::body.eq(&response.body),
            idempotency_keys::created_at.eq(now),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
