//! Step 6: evaluation entries. Their links to threats, treatments,
//! controls and assets are `record_links` rows; a deleted record drops out
//! of the entries that named it.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use palisade_domain::evaluation::{EntryKind, EvaluationEntry, EvaluationEntryFields};
use palisade_domain::ids::{EvaluationEntryId, ModelId, OrgId};
use palisade_domain::treatment::TreatmentStatus;
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::reach::Affected;
use crate::schema::{evaluation_entries, treatments};
use crate::versioned::Stored;
use crate::{links, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

const LINKS: [(&str, &str, &str); 4] = [
    ("threat", "threat_ids", "threat"),
    ("treatment", "treatment_ids", "treatment"),
    ("control", "control_ids", "control"),
    ("asset", "asset_ids", "asset"),
];

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = evaluation_entries, treat_none_as_null = true)]
struct EntryRow {
    id: String,
    model_id: String,
    kind: String,
    text: String,
    author: String,
    entry_date: String,
    tags: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl EntryRow {
    fn new(e: &EvaluationEntry) -> Result<Self, StoreError> {
        let f = &e.fields;
        Ok(EntryRow {
            id: e.id.to_string(),
            model_id: e.model_id.to_string(),
            kind: f.kind.as_str().into(),
            text: f.text.clone(),
            author: f.author.clone(),
            entry_date: f.date.to_string(),
            tags: serde_json::to_string(&f.tags)?,
            version: e.version,
            created_at: e.created_at.naive_utc(),
            updated_at: e.updated_at.naive_utc(),
        })
    }

    fn into_entry(
        self,
        found: &mut HashMap<(String, String), Vec<String>>,
    ) -> Result<EvaluationEntry, StoreError> {
        let mut take = |kind: &str| -> Vec<String> {
            found
                .remove(&(self.id.clone(), kind.to_string()))
                .unwrap_or_default()
        };
        let (threats, treatments, controls, assets) = (
            take("threat"),
            take("treatment"),
            take("control"),
            take("asset"),
        );
        Ok(EvaluationEntry {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: EvaluationEntryFields {
                kind: parse_enum(&self.kind, EntryKind::parse)?,
                text: self.text,
                author: self.author,
                date: NaiveDate::parse_from_str(&self.entry_date, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("entry date: {e}")))?,
                tags: serde_json::from_str(&self.tags)?,
                threat_ids: crate::parse_ids(threats)?,
                treatment_ids: crate::parse_ids(treatments)?,
                control_ids: crate::parse_ids(controls)?,
                asset_ids: crate::parse_ids(assets)?,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn link_targets(f: &EvaluationEntryFields) -> [Vec<String>; 4] {
    fn strings<T: ToString>(ids: &[T]) -> Vec<String> {
        ids.iter().map(ToString::to_string).collect()
    }
    [
        strings(&f.threat_ids),
        strings(&f.treatment_ids),
        strings(&f.control_ids),
        strings(&f.asset_ids),
    ]
}

/// Every link names a record of the model; a `fix_applied` entry names a
/// finished treatment.
fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    f: &EvaluationEntryFields,
) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    for ((kind, field, what), targets) in LINKS.iter().zip(link_targets(f)) {
        links::check(conn, model_id, &mut e, field, kind, what, &targets)?;
    }
    e.finish()?;
    if f.kind == EntryKind::FixApplied {
        let ids: Vec<String> = f.treatment_ids.iter().map(ToString::to_string).collect();
        let mut statuses = Vec::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(String, String)> = treatments::table
                .filter(treatments::model_id.eq(model_id.to_string()))
                .filter(treatments::id.eq_any(chunk))
                .select((treatments::id, treatments::status))
                .load(conn)?;
            for (id, status) in rows {
                statuses.push((parse_id(&id)?, parse_enum(&status, TreatmentStatus::parse)?));
            }
        }
        f.check_fix(&statuses)?;
    }
    Ok(())
}

fn write_links(conn: &mut DbConn, entry: &EvaluationEntry) -> Result<(), StoreError> {
    let id = entry.id.to_string();
    for ((kind, _, _), targets) in LINKS.iter().zip(link_targets(&entry.fields)) {
        links::write(conn, &id, kind, &targets)?;
    }
    Ok(())
}

fn with_links(conn: &mut DbConn, rows: Vec<EntryRow>) -> Result<Vec<EvaluationEntry>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut found = links::read(conn, &ids)?;
    rows.into_iter().map(|r| r.into_entry(&mut found)).collect()
}

crate::model_reads!(
    evaluation_entries,
    EntryRow,
    EvaluationEntry,
    EvaluationEntryId,
    with_links
);

crate::model_writes!(EvaluationEntry, EvaluationEntryId, EvaluationEntryFields);

/// Entries document the model; they move no register row.
impl Stored for EvaluationEntry {
    type Id = EvaluationEntryId;

    fn load(
        c: &mut DbConn,
        org: OrgId,
        m: ModelId,
        id: EvaluationEntryId,
    ) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new.model_id, &new.fields)?;
        diesel::insert_into(evaluation_entries::table)
            .values(EntryRow::new(new)?)
            .execute(c)?;
        write_links(c, new)
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        let rows = new
            .iter()
            .map(EntryRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        crate::insert_rows!(c, evaluation_entries::table, rows);
        links::insert_new(
            c,
            new.iter().flat_map(|r| {
                LINKS
                    .iter()
                    .zip(link_targets(&r.fields))
                    .map(move |((kind, _, _), targets)| (r.id.to_string(), *kind, targets))
            }),
        )
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        check_references(c, now.model_id, &now.fields)?;
        let n = crate::write_if_unchanged!(c, evaluation_entries, was, EntryRow::new(now)?);
        write_links(c, now)?;
        Ok(n)
    }

    fn remove(c: &mut DbConn, _: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        let id = was.id.to_string();
        links::forget_owner(c, &id)?;
        diesel::delete(evaluation_entries::table.filter(evaluation_entries::id.eq(&id)))
            .execute(c)?;
        Ok(())
    }

    fn reach(
        _: &mut DbConn,
        _: Option<&Self>,
        _: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        Ok(None)
    }
}

#[derive(Debug, Default, Clone)]
pub struct EntryFilter {
    pub kind: Option<EntryKind>,
    pub tag: Option<String>,
    pub author: Option<String>,
    /// Entries naming this record (ids as stored), by link kind.
    pub threat_id: Option<String>,
    pub treatment_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &EntryFilter,
    page: &PageRequest,
) -> Result<Page<EvaluationEntry>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = evaluation_entries::table
            .filter(evaluation_entries::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(k) = filter.kind {
            query = query.filter(evaluation_entries::kind.eq(k.as_str()));
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(crate::has_tag!(evaluation_entries::tags, tag));
        }
        if let Some(author) = &filter.author {
            query = query.filter(evaluation_entries::author.eq(author.clone()));
        }
        for (kind, target) in [
            ("threat", &filter.threat_id),
            ("treatment", &filter.treatment_id),
        ] {
            if let Some(target) = target {
                query =
                    query.filter(evaluation_entries::id.eq_any(links::owners_naming(kind, target)));
            }
        }
        query
    };
    let page = crate::list_page!(conn, page, evaluation_entries, EntryRow, evaluation_entries::model_id.eq(m.clone()), filtered, {
        "kind" => (evaluation_entries::kind, String),
        "author" => (evaluation_entries::author, String),
        "date" => (evaluation_entries::entry_date, String),
        "created_at" => (evaluation_entries::created_at, NaiveDateTime),
        "updated_at" => (evaluation_entries::updated_at, NaiveDateTime),
    });
    Ok(Page {
        items: with_links(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}
