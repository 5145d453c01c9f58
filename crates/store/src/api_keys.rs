//! API keys: random secrets, stored only as SHA-256 digests. A fast hash is
//! enough for 192-bit random keys (no dictionary to guard against).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{ApiKeyId, OrgId};
use palisade_domain::org::{ApiKey, Organization};
use palisade_domain::role::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::db::{write_tx, DbConn};
use crate::schema::{api_keys, organizations};
use crate::{audit, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

const KEY_PREFIX: &str = "pal_";
/// How many leading characters are kept in clear to tell keys apart.
const SHOWN_PREFIX_LEN: usize = 12;

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", hex::encode(bytes))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys)]
struct KeyRow {
    id: String,
    name: String,
    role: String,
    prefix: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

impl KeyRow {
    fn into_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: parse_id(&self.id)?,
            name: self.name,
            role: parse_enum(&self.role, Role::parse)?,
            prefix: self.prefix,
            created_at: time::utc(self.created_at),
            last_used_at: self.last_used_at.map(time::utc),
        })
    }
}

/// Creates a key and returns it with its secret, which is not stored.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    name: &str,
    role: Role,
) -> Result<(ApiKey, String), StoreError> {
    let secret = generate_secret();
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name: name.to_string(),
        role,
        prefix: secret[..SHOWN_PREFIX_LEN].to_string(),
        created_at: time::utc(time::now()),
        last_used_at: None,
    };
    write_tx(conn, |conn| {
        diesel::insert_into(api_keys::table)
            .values((
                api_keys::id.eq(key.id.to_string()),
                api_keys::org_id.eq(actor.org_id.to_string()),
                api_keys::name.eq(&key.name),
                api_keys::role.eq(role.as_str()),
                api_keys::prefix.eq(&key.prefix),
                api_keys::key_hash.eq(hash_secret(&secret)),
                api_keys::created_at.eq(key.created_at.naive_utc()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            audit::Change {
                model_id: None,
                action: AuditAction::Create,
                entity_type: "api_key",
                entity_id: key.id.to_string(),
                before: None,
                after: Some(serde_json::to_value(&key)?),
            },
        )?;
        Ok::<_, StoreError>(())
    })?;
    Ok((key, secret))
}

/// The key and its organisation for a presented secret, if it is one of ours.
/// Notes the use at most once a minute, to keep reads from becoming writes.
pub fn authenticate(
    conn: &mut DbConn,
    secret: &str,
) -> Result<Option<(ApiKey, Organization)>, StoreError> {
    let row: Option<(KeyRow, String, String)> = api_keys::table
        .inner_join(organizations::table)
        .filter(api_keys::key_hash.eq(hash_secret(secret)))
        .select((KeyRow::as_select(), organizations::id, organizations::name))
        .first(conn)
        .optional()?;
    let Some((row, org_id, org_name)) = row else {
        return Ok(None);
    };
    let key = row.into_key()?;
    let now = time::now();
    let stale = key
        .last_used_at
        .is_none_or(|t| now - t.naive_utc() > Duration::seconds(60));
    if stale {
        diesel::update(api_keys::table.find(key.id.to_string()))
            .set(api_keys::last_used_at.eq(now))
            .execute(conn)?;
    }
    let org = Organization {
        id: parse_id(&org_id)?,
        name: org_name,
    };
    Ok(Some((key, org)))
}

pub fn list(conn: &mut DbConn, org: OrgId, page: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
    let org = org.to_string();
    let filtered = || {
        api_keys::table
            .filter(api_keys::org_id.eq(org.clone()))
            .into_boxed()
    };
    crate::list_page!(conn, page, api_keys, KeyRow, api_keys::org_id.eq(org.clone()), filtered, {
        "name" => (api_keys::name, String),
        "role" => (api_keys::role, String),
        "created_at" => (api_keys::created_at, NaiveDateTime),
    })
    .try_map(KeyRow::into_key)
}

pub fn delete(conn: &mut DbConn, actor: &Actor, id: ApiKeyId) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let key = api_keys::table
            .filter(api_keys::id.eq(id.to_string()))
            .filter(api_keys::org_id.eq(actor.org_id.to_string()))
            .select(KeyRow::as_select())
            .first::<KeyRow>(conn)?
            .into_key()?;
        if key.role == Role::Owner {
            let other_owners: i64 = api_keys::table
                .filter(api_keys::org_id.eq(actor.org_id.to_string()))
                .filter(api_keys::role.eq(Role::Owner.as_str()))
                .filter(api_keys::id.ne(id.to_string()))
                .count()
                .get_result(conn)?;
            if other_owners == 0 {
                return Err(StoreError::Conflict(
                    "this is the organisation's last owner key: without it nobody could manage keys; create another owner key first".into(),
                ));
            }
        }
        diesel::delete(api_keys::table.find(id.to_string())).execute(conn)?;
        audit::record(
            conn,
            actor,
            audit::Change {
                model_id: None,
                action: AuditAction::Delete,
                entity_type: "api_key",
                entity_id: id.to_string(),
                before: Some(serde_json::to_value(&key)?),
                after: None,
            },
        )
    })
}
