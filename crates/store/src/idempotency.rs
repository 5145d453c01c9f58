//! Responses remembered per `Idempotency-Key`, so a retried POST returns the
//! first answer instead of creating a second record. A key is reserved
//! before the work runs, so two concurrent requests with one key cannot both
//! create.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use palisade_domain::ids::OrgId;

use crate::db::{write_tx, DbConn};
use crate::schema::idempotency_keys;
use crate::{time, StoreError};

/// How long a key is remembered.
pub const RETENTION_HOURS: i64 = 24;
/// A reservation older than this was abandoned (its process died) and may be taken over.
pub const ABANDONED_AFTER_SECONDS: i64 = 60;
/// `status` of a reservation whose request is still running.
const IN_PROGRESS: i32 = 0;

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    pub location: Option<String>,
    pub etag: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Reservation {
    /// The key is ours: run the request, then `complete` or `release`.
    Reserved,
    /// The same request ran before: this is its response.
    Replay(StoredResponse),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key has not finished.
    InProgress,
}

type Row = (
    String,
    i32,
    Option<String>,
    Option<String>,
    String,
    chrono::NaiveDateTime,
);

/// `request_hash` is a digest of method, path and body.
pub fn reserve(
    conn: &mut DbConn,
    org: OrgId,
    key: &str,
    request_hash: &str,
) -> Result<Reservation, StoreError> {
    write_tx(conn, |conn| {
        let now = time::now();
        let expired = now - Duration::hours(RETENTION_HOURS);
        let abandoned = now - Duration::seconds(ABANDONED_AFTER_SECONDS);
        let existing: Option<Row> = idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(org.to_string()))
            .filter(idempotency_keys::key.eq(key))
            .select((
                idempotency_keys::request_hash,
                idempotency_keys::status,
                idempotency_keys::location,
                idempotency_keys::etag,
                idempotency_keys::body,
                idempotency_keys::created_at,
            ))
            .first(conn)
            .optional()?;
        if let Some((hash, status, location, etag, body, created_at)) = existing {
            let stale = created_at <= expired || (status == IN_PROGRESS && created_at <= abandoned);
            if !stale {
                return Ok(if hash != request_hash {
                    Reservation::Mismatch
                } else if status == IN_PROGRESS {
                    Reservation::InProgress
                } else {
                    Reservation::Replay(StoredResponse {
                        status: u16::try_from(status).unwrap_or(500),
                        location,
                        etag,
                        body,
                    })
                });
            }
            release(conn, org, key)?;
        }
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::org_id.eq(org.to_string()),
                idempotency_keys::key.eq(key),
                idempotency_keys::request_hash.eq(request_hash),
                idempotency_keys::status.eq(IN_PROGRESS),
                idempotency_keys::body.eq(""),
                idempotency_keys::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Reservation::Reserved)
    })
    .or_else(|e| match e {
        // A concurrent twin reserved it between our read and our insert.
        StoreError::Conflict(_) => Ok(Reservation::InProgress),
        e => Err(e),
    })
}

/// Stores the response of a reserved key.
pub fn complete(
    conn: &mut DbConn,
    org: OrgId,
    key: &str,
    response: &StoredResponse,
) -> Result<(), StoreError> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(org.to_string()))
            .filter(idempotency_keys::key.eq(key)),
    )
    .set((
        idempotency_keys::status.eq(i32::from(response.status)),
        idempotency_keys::location.eq(&response.location),
        idempotency_keys::etag.eq(&response.etag),
        idempotency_keys::body.eq(&response.body),
    ))
    .execute(conn)?;
    Ok(())
}

/// Forgets a key whose request failed, so the client can retry with it.
pub fn release(conn: &mut DbConn, org: OrgId, key: &str) -> Result<(), StoreError> {
    diesel::delete(
        idempotency_keys::table
            .filter(idempotency_keys::org_id.eq(org.to_string()))
            .filter(idempotency_keys::key.eq(key)),
    )
    .execute(conn)?;
    Ok(())
}

/// Drops keys past retention at `now`; called by the housekeeping task,
/// not on every request.
pub fn purge_expired(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let expired = now - Duration::hours(RETENTION_HOURS);
    Ok(
        diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.le(expired)))
            .execute(conn)?,
    )
}
