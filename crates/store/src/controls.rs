//! Step 4: controls — existing or planned protections.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::ControlId;
use palisade_domain::ids::{ModelId, OrgId};
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::threat::{Control, ControlCategory, ControlFields, ControlType};
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::reach::Affected;
use crate::schema::controls;
use crate::versioned::Stored;
use crate::{links, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

const LINKS: [(&str, &str, &str); 3] = [
    ("threat", "threat_ids", "threat"),
    ("asset", "asset_ids", "asset"),
    (
        "defense_node",
        "defense_node_ids",
        "attack-tree defense node",
    ),
];

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = controls, treat_none_as_null = true)]
struct ControlRow {
    id: String,
    model_id: String,
    name: String,
    description: Option<String>,
    control_type: String,
    category: String,
    status: String,
    effectiveness: i32,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ControlRow {
    fn new(c: &Control) -> Self {
        let f = &c.fields;
        ControlRow {
            id: c.id.to_string(),
            model_id: c.model_id.to_string(),
            name: f.name.clone(),
            description: f.description.clone(),
            control_type: f.control_type.as_str().into(),
            category: f.category.as_str().into(),
            status: f.status.as_str().into(),
            effectiveness: i32::try_from(f.effectiveness).unwrap_or(0),
            version: c.version,
            created_at: c.created_at.naive_utc(),
            updated_at: c.updated_at.naive_utc(),
        }
    }

    fn into_control(
        self,
        found: &mut HashMap<(String, String), Vec<String>>,
    ) -> Result<Control, StoreError> {
        let mut take = |kind: &str| -> Vec<String> {
            found
                .remove(&(self.id.clone(), kind.to_string()))
                .unwrap_or_default()
        };
        let threat_ids = crate::parse_ids(take("threat"))?;
        let asset_ids = crate::parse_ids(take("asset"))?;
        let defense_node_ids = crate::parse_ids(take("defense_node"))?;
        Ok(Control {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: ControlFields {
                name: self.name,
                description: self.description,
                control_type: parse_enum(&self.control_type, ControlType::parse)?,
                category: parse_enum(&self.category, ControlCategory::parse)?,
                status: parse_enum(&self.status, ControlStatus::parse)?,
                effectiveness: i64::from(self.effectiveness),
                threat_ids,
                asset_ids,
                defense_node_ids,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn link_targets(f: &ControlFields) -> [Vec<String>; 3] {
    [
        f.threat_ids.iter().map(|i| i.to_string()).collect(),
        f.asset_ids.iter().map(|i| i.to_string()).collect(),
        f.defense_node_ids.iter().map(|i| i.to_string()).collect(),
    ]
}

fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    f: &ControlFields,
) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    for ((kind, field, what), targets) in LINKS.iter().zip(link_targets(f)) {
        links::check(conn, model_id, &mut e, field, kind, what, &targets)?;
    }
    Ok(e.finish()?)
}

fn write_links(conn: &mut DbConn, c: &Control) -> Result<(), StoreError> {
    let id = c.id.to_string();
    for ((kind, _, _), targets) in LINKS.iter().zip(link_targets(&c.fields)) {
        links::write(conn, &id, kind, &targets)?;
    }
    Ok(())
}

fn with_links(conn: &mut DbConn, rows: Vec<ControlRow>) -> Result<Vec<Control>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut found = links::read(conn, &ids)?;
    rows.into_iter()
        .map(|r| r.into_control(&mut found))
        .collect()
}

crate::model_reads!(controls, ControlRow, Control, ControlId, with_links);

crate::model_writes!(Control, ControlId, ControlFields);

/// A control's change moves the threats it reaches, before and after.
impl Stored for Control {
    type Id = ControlId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: ControlId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new.model_id, &new.fields)?;
        diesel::insert_into(controls::table)
            .values(ControlRow::new(new))
            .execute(c)?;
        write_links(c, new)
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        crate::insert_rows!(
            c,
            controls::table,
            new.iter().map(ControlRow::new).collect::<Vec<_>>()
        );
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
        let n = crate::write_if_unchanged!(c, controls, was, ControlRow::new(now));
        write_links(c, now)?;
        Ok(n)
    }

    fn remove(c: &mut DbConn, _: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        let id = was.id.to_string();
        crate::treatments::refuse_if_relied_on(c, "control", &id)?;
        links::forget_owner(c, &id)?;
        links::forget_targets(c, std::slice::from_ref(&id))?;
        diesel::delete(controls::table.filter(controls::id.eq(&id))).execute(c)?;
        Ok(())
    }

    fn reach(
        c: &mut DbConn,
        was: Option<&Self>,
        now: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        let mut reach = Vec::new();
        for control in was.into_iter().chain(now) {
            let m = control.model_id.to_string();
            reach.extend(crate::reach::reach_of_control(c, &m, &control.fields)?);
            reach.extend(crate::reach::threats_reduced_with(
                c,
                &control.id.to_string(),
            )?);
        }
        Ok(Some(Affected::Threats(reach)))
    }
}

#[derive(Debug, Default, Clone)]
pub struct ControlFilter {
    pub status: Option<ControlStatus>,
    pub control_type: Option<ControlType>,
    pub category: Option<ControlCategory>,
    /// Controls naming this threat or asset (ids as stored).
    pub threat_id: Option<String>,
    pub asset_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &ControlFilter,
    page: &PageRequest,
) -> Result<Page<Control>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = controls::table
            .filter(controls::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(s) = filter.status {
            query = query.filter(controls::status.eq(s.as_str()));
        }
        if let Some(t) = filter.control_type {
            query = query.filter(controls::control_type.eq(t.as_str()));
        }
        if let Some(c) = filter.category {
            query = query.filter(controls::category.eq(c.as_str()));
        }
        for (kind, target) in [("threat", &filter.threat_id), ("asset", &filter.asset_id)] {
            if let Some(target) = target {
                query = query.filter(controls::id.eq_any(links::owners_naming(kind, target)));
            }
        }
        query
    };
    let page = crate::list_page!(conn, page, controls, ControlRow, controls::model_id.eq(m.clone()), filtered, {
        "name" => (controls::name, String),
        "type" => (controls::control_type, String),
        "category" => (controls::category, String),
        "status" => (controls::status, String),
        "effectiveness" => (controls::effectiveness, i32),
        "created_at" => (controls::created_at, NaiveDateTime),
        "updated_at" => (controls::updated_at, NaiveDateTime),
    });
    Ok(Page {
        items: with_links(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}
