//! Audit records are written inside the transaction of the change they
//! describe: a change is never without its record, nor a record without it.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::{AuditAction, AuditEvent};
use palisade_domain::ids::{AuditEventId, ModelId, OrgId};

use crate::db::DbConn;
use crate::schema::audit_events;
use crate::{parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

pub struct Change {
    pub model_id: Option<ModelId>,
    pub action: AuditAction,
    pub entity_type: &'static str,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    /// A change to a record of a model, with the record as it was and as it is.
    pub fn of<T: serde::Serialize>(
        entity_type: &'static str,
        model: ModelId,
        action: AuditAction,
        id: impl ToString,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<Change, StoreError> {
        Ok(Change {
            model_id: Some(model),
            action,
            entity_type,
            entity_id: id.to_string(),
            before: before.map(serde_json::to_value).transpose()?,
            after: after.map(serde_json::to_value).transpose()?,
        })
    }
}

impl Change {
    /// A change to an organisation's own record (an integration, a webhook
    /// subscription), outside any model.
    pub fn of_org<T: serde::Serialize>(
        entity_type: &'static str,
        action: AuditAction,
        id: impl ToString,
        before: Option<&T>,
        after: Option<&T>,
    ) -> Result<Change, StoreError> {
        Ok(Change {
            model_id: None,
            action,
            entity_type,
            entity_id: id.to_string(),
            before: before.map(serde_json::to_value).transpose()?,
            after: after.map(serde_json::to_value).transpose()?,
        })
    }
}

pub fn record(conn: &mut DbConn, actor: &Actor, change: Change) -> Result<(), StoreError> {
    let to_text = |v: Option<serde_json::Value>| v.map(|v| v.to_string());
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(AuditEventId::generate().to_string()),
            audit_events::org_id.eq(actor.org_id.to_string()),
            audit_events::model_id.eq(change.model_id.map(|m| m.to_string())),
            audit_events::actor_key_id.eq(actor.key_id.map(|k| k.to_string())),
            audit_events::action.eq(change.action.as_str()),
            audit_events::entity_type.eq(change.entity_type),
            audit_events::entity_id.eq(change.entity_id),
            audit_events::before_state.eq(to_text(change.before)),
            audit_events::after_state.eq(to_text(change.after)),
            audit_events::request_id.eq(actor.request_id.clone()),
            audit_events::created_at.eq(time::now()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub model_id: Option<ModelId>,
    pub since: Option<NaiveDateTime>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct Row {
    id: String,
    model_id: Option<String>,
    actor_key_id: Option<String>,
    action: String,
    entity_type: String,
    entity_id: String,
    before_state: Option<String>,
    after_state: Option<String>,
    request_id: Option<String>,
    created_at: NaiveDateTime,
}

/// Oldest first, so a client can follow the log with `since` and the cursor.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>, StoreError> {
    let org = org.to_string();
    let filtered = || {
        let mut query = audit_events::table
            .filter(audit_events::org_id.eq(org.clone()))
            .into_boxed();
        if let Some(model) = filter.model_id {
            query = query.filter(audit_events::model_id.eq(model.to_string()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::created_at.ge(since));
        }
        if let Some(t) = &filter.entity_type {
            query = query.filter(audit_events::entity_type.eq(t.clone()));
        }
        if let Some(id) = &filter.entity_id {
            query = query.filter(audit_events::entity_id.eq(id.clone()));
        }
        query
    };
    crate::list_page!(conn, page, audit_events, Row, audit_events::org_id.eq(org.clone()), filtered, {
        "created_at" => (audit_events::created_at, NaiveDateTime),
        "action" => (audit_events::action, String),
        "entity_type" => (audit_events::entity_type, String),
    })
    .try_map(|r| {
        let parse_json = |s: Option<String>| -> Result<Option<serde_json::Value>, StoreError> {
            s.map(|s| serde_json::from_str(&s))
                .transpose()
                .map_err(Into::into)
        };
        Ok(AuditEvent {
            id: parse_id(&r.id)?,
            model_id: r.model_id.as_deref().map(parse_id).transpose()?,
            actor_key_id: r.actor_key_id.as_deref().map(parse_id).transpose()?,
            action: parse_enum(&r.action, AuditAction::parse)?,
            entity_type: r.entity_type,
            entity_id: r.entity_id,
            before: parse_json(r.before_state)?,
            after: parse_json(r.after_state)?,
            request_id: r.request_id,
            created_at: time::utc(r.created_at),
        })
    })
}
