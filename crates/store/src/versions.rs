//! Model versions: the canonical document of a model at one moment,
//! written once and never changed. The document is read in a read-only
//! transaction and serialised before the short write transaction that
//! stores it, so a large model does not hold the write lock while it is
//! gathered.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::document::ModelDocument;
use palisade_domain::ids::{ModelId, OrgId, VersionId};
use palisade_domain::version::{Version, VersionSummary};
use serde_json::value::RawValue;

use crate::db::{write_tx, DbConn};
use crate::models::ensure_visible;
use crate::schema::model_versions;
use crate::{audit, parse_id, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable)]
#[diesel(table_name = model_versions)]
struct SummaryRow {
    id: String,
    model_id: String,
    number: i64,
    label: String,
    created_by: String,
    created_at: NaiveDateTime,
    document_bytes: i64,
}

impl SummaryRow {
    fn into_summary(self) -> Result<VersionSummary, StoreError> {
        Ok(VersionSummary {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            number: self.number,
            label: self.label,
            created_by: self.created_by,
            created_at: time::utc(self.created_at),
            document_bytes: self.document_bytes,
        })
    }
}

/// Who made a version, as it is shown.
pub(crate) fn author(actor: &Actor) -> String {
    actor
        .key_id
        .map_or_else(|| "system".to_string(), |k| k.to_string())
}

/// Snapshots the model now under `label`.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    label: &str,
) -> Result<VersionSummary, StoreError> {
    let document = crate::snapshot::document(conn, actor.org_id, model_id)?;
    store(conn, actor, &document, label)
}

/// Stores a document already gathered as a new version of its model.
pub fn store(
    conn: &mut DbConn,
    actor: &Actor,
    document: &ModelDocument,
    label: &str,
) -> Result<VersionSummary, StoreError> {
    let text = serde_json::to_string(document)?;
    // Two versions taken at once may pick the same number on PostgreSQL;
    // the unique index refuses the second, which tries the next number.
    let mut attempt = 0;
    loop {
        match write_tx(conn, |c| {
            insert(c, actor, document.records.model.id, label, &text)
        }) {
            Err(StoreError::Conflict(_)) if attempt < 4 => attempt += 1,
            other => return other,
        }
    }
}

/// Inside the caller's write transaction: the next number of the model.
pub(crate) fn insert(
    c: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    label: &str,
    document: &str,
) -> Result<VersionSummary, StoreError> {
    let m = model_id.to_string();
    let last: Option<i64> = model_versions::table
        .filter(model_versions::model_id.eq(&m))
        .select(diesel::dsl::max(model_versions::number))
        .first(c)?;
    let row = SummaryRow {
        id: VersionId::generate().to_string(),
        model_id: m.clone(),
        number: last.unwrap_or(0) + 1,
        label: label.to_string(),
        created_by: author(actor),
        created_at: time::now(),
        document_bytes: i64::try_from(document.len()).unwrap_or(i64::MAX),
    };
    diesel::insert_into(model_versions::table)
        .values((
            model_versions::id.eq(&row.id),
            model_versions::model_id.eq(&row.model_id),
            model_versions::number.eq(row.number),
            model_versions::label.eq(&row.label),
            model_versions::document.eq(document),
            model_versions::document_bytes.eq(row.document_bytes),
            model_versions::created_by.eq(&row.created_by),
            model_versions::created_at.eq(row.created_at),
        ))
        .execute(c)?;
    let summary = row.into_summary()?;
    audit::record(
        c,
        actor,
        audit::Change {
            model_id: Some(model_id),
            action: AuditAction::Create,
            entity_type: "version",
            entity_id: summary.id.to_string(),
            before: None,
            after: Some(serde_json::to_value(&summary)?),
        },
    )?;
    Ok(summary)
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: VersionId,
) -> Result<Version, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let (row, document): (SummaryRow, String) = model_versions::table
        .filter(model_versions::id.eq(id.to_string()))
        .filter(model_versions::model_id.eq(model_id.to_string()))
        .select((SummaryRow::as_select(), model_versions::document))
        .first(conn)?;
    Ok(Version {
        summary: row.into_summary()?,
        document: RawValue::from_string(document)?,
    })
}

/// A version's summary alone.
pub fn summary(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: VersionId,
) -> Result<VersionSummary, StoreError> {
    ensure_visible(conn, org, model_id)?;
    model_versions::table
        .filter(model_versions::id.eq(id.to_string()))
        .filter(model_versions::model_id.eq(model_id.to_string()))
        .select(SummaryRow::as_select())
        .first::<SummaryRow>(conn)?
        .into_summary()
}

/// A version's document as stored.
pub fn document_text(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: VersionId,
) -> Result<String, StoreError> {
    ensure_visible(conn, org, model_id)?;
    Ok(model_versions::table
        .filter(model_versions::id.eq(id.to_string()))
        .filter(model_versions::model_id.eq(model_id.to_string()))
        .select(model_versions::document)
        .first(conn)?)
}

/// Oldest first (by id) unless sorted.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    page: &PageRequest,
) -> Result<Page<VersionSummary>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        model_versions::table
            .filter(model_versions::model_id.eq(m.clone()))
            .into_boxed()
    };
    crate::list_page!(conn, page, model_versions, SummaryRow, model_versions::model_id.eq(m.clone()), filtered, {
        "number" => (model_versions::number, i64),
        "label" => (model_versions::label, String),
        "created_at" => (model_versions::created_at, NaiveDateTime),
    })
    .try_map(SummaryRow::into_summary)
}
