//! Step 4: threats.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{ModelId, OrgId, ThreatId};
use palisade_domain::scoring::{Assessment, Method};
use palisade_domain::threat::{Stride, Threat, ThreatAssessment, ThreatFields, TreeAssessment};
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::reach::Affected;
use crate::schema::threats;
use crate::versioned::Stored;
use crate::{links, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

/// Link kinds, with the field and record names used in messages.
const LINKS: [(&str, &str, &str); 4] = [
    ("asset", "asset_ids", "asset"),
    ("actor", "actor_ids", "threat actor"),
    ("interaction", "interaction_ids", "interaction"),
    ("node", "attack_tree_node_ids", "attack-tree node"),
];

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = threats, treat_none_as_null = true)]
struct ThreatRow {
    id: String,
    model_id: String,
    title: String,
    description: Option<String>,
    stride: String,
    method: String,
    assessment: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ThreatRow {
    fn new(t: &Threat) -> Self {
        ThreatRow {
            id: t.id.to_string(),
            model_id: t.model_id.to_string(),
            title: t.fields.title.clone(),
            description: t.fields.description.clone(),
            stride: t.fields.stride.as_str().into(),
            method: t.fields.assessment.method().as_str().into(),
            assessment: t.fields.assessment.to_json().to_string(),
            version: t.version,
            created_at: t.created_at.naive_utc(),
            updated_at: t.updated_at.naive_utc(),
        }
    }

    fn into_threat(
        self,
        links: &mut HashMap<(String, String), Vec<String>>,
    ) -> Result<Threat, StoreError> {
        let mut take = |kind: &str| -> Vec<String> {
            links
                .remove(&(self.id.clone(), kind.to_string()))
                .unwrap_or_default()
        };
        let asset_ids = crate::parse_ids(take("asset"))?;
        let actor_ids = crate::parse_ids(take("actor"))?;
        let interaction_ids = crate::parse_ids(take("interaction"))?;
        let attack_tree_node_ids = crate::parse_ids(take("node"))?;
        let assessment = match parse_enum(&self.method, Method::parse)? {
            Method::AttackTree => ThreatAssessment::AttackTree(
                serde_json::from_str::<TreeAssessmentStored>(&self.assessment)?.into(),
            ),
            _ => ThreatAssessment::Stateless(serde_json::from_str::<Assessment>(&self.assessment)?),
        };
        Ok(Threat {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: ThreatFields {
                title: self.title,
                description: self.description,
                stride: parse_enum(&self.stride, Stride::parse)?,
                asset_ids,
                actor_ids,
                interaction_ids,
                attack_tree_node_ids,
                assessment,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

/// The stored tree assessment carries `method` next to its fields.
#[derive(serde::Deserialize)]
struct TreeAssessmentStored {
    tree_id: palisade_domain::ids::AttackTreeId,
    impact: palisade_domain::scoring::nist::NistLevel,
}

impl From<TreeAssessmentStored> for TreeAssessment {
    fn from(s: TreeAssessmentStored) -> Self {
        TreeAssessment {
            tree_id: s.tree_id,
            impact: s.impact,
        }
    }
}

fn link_targets(f: &ThreatFields) -> [Vec<String>; 4] {
    [
        f.asset_ids.iter().map(|i| i.to_string()).collect(),
        f.actor_ids.iter().map(|i| i.to_string()).collect(),
        f.interaction_ids.iter().map(|i| i.to_string()).collect(),
        f.attack_tree_node_ids
            .iter()
            .map(|i| i.to_string())
            .collect(),
    ]
}

fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    f: &ThreatFields,
) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    for ((kind, field, what), targets) in LINKS.iter().zip(link_targets(f)) {
        links::check(conn, model_id, &mut e, field, kind, what, &targets)?;
    }
    if let ThreatAssessment::AttackTree(t) = &f.assessment {
        let tree = [t.tree_id.to_string()];
        if links::present_in_model(conn, model_id, "tree", &tree)?.is_empty() {
            e.add(
                "assessment.tree_id",
                format!("no attack tree {} in this model", t.tree_id),
            );
        }
    }
    Ok(e.finish()?)
}

fn write_links(conn: &mut DbConn, t: &Threat) -> Result<(), StoreError> {
    let id = t.id.to_string();
    for ((kind, _, _), targets) in LINKS.iter().zip(link_targets(&t.fields)) {
        links::write(conn, &id, kind, &targets)?;
    }
    Ok(())
}

fn with_links(conn: &mut DbConn, rows: Vec<ThreatRow>) -> Result<Vec<Threat>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut found = links::read(conn, &ids)?;
    rows.into_iter()
        .map(|r| r.into_threat(&mut found))
        .collect()
}

crate::model_reads!(threats, ThreatRow, Threat, ThreatId, with_links);

crate::model_writes!(Threat, ThreatId, ThreatFields);

/// A threat's change moves its own register row, and only it.
impl Stored for Threat {
    type Id = ThreatId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: ThreatId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new.model_id, &new.fields)?;
        diesel::insert_into(threats::table)
            .values(ThreatRow::new(new))
            .execute(c)?;
        write_links(c, new)
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        crate::insert_rows!(
            c,
            threats::table,
            new.iter().map(ThreatRow::new).collect::<Vec<_>>()
        );
        links::insert_new(
            c,
            new.iter().flat_map(|t| {
                LINKS
                    .iter()
                    .zip(link_targets(&t.fields))
                    .map(move |((kind, _, _), targets)| (t.id.to_string(), *kind, targets))
            }),
        )
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        check_references(c, now.model_id, &now.fields)?;
        let n = crate::write_if_unchanged!(c, threats, was, ThreatRow::new(now));
        write_links(c, now)?;
        Ok(n)
    }

    /// Its treatments go with it.
    fn remove(c: &mut DbConn, a: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        crate::treatments::forget_threat(c, a, was)?;
        let tid = was.id.to_string();
        links::forget_owner(c, &tid)?;
        links::forget_targets(c, std::slice::from_ref(&tid))?;
        diesel::delete(threats::table.filter(threats::id.eq(&tid))).execute(c)?;
        Ok(())
    }

    fn reach(
        _: &mut DbConn,
        was: Option<&Self>,
        now: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        let id = now.or(was).map(|t| t.id.to_string());
        Ok(id.map(|id| Affected::Threats(vec![id])))
    }
}

#[derive(Debug, Default, Clone)]
pub struct ThreatFilter {
    pub stride: Option<Stride>,
    pub method: Option<Method>,
    /// Threats naming this asset, threat actor or interaction (ids as stored).
    pub asset_id: Option<String>,
    pub actor_id: Option<String>,
    pub interaction_id: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &ThreatFilter,
    page: &PageRequest,
) -> Result<Page<Threat>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = threats::table
            .filter(threats::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(s) = filter.stride {
            query = query.filter(threats::stride.eq(s.as_str()));
        }
        if let Some(method) = filter.method {
            query = query.filter(threats::method.eq(method.as_str()));
        }
        for (kind, target) in [
            ("asset", &filter.asset_id),
            ("actor", &filter.actor_id),
            ("interaction", &filter.interaction_id),
        ] {
            if let Some(target) = target {
                query = query.filter(threats::id.eq_any(links::owners_naming(kind, target)));
            }
        }
        query
    };
    let page = crate::list_page!(conn, page, threats, ThreatRow, threats::model_id.eq(m.clone()), filtered, {
        "title" => (threats::title, String),
        "stride" => (threats::stride, String),
        "method" => (threats::method, String),
        "created_at" => (threats::created_at, NaiveDateTime),
        "updated_at" => (threats::updated_at, NaiveDateTime),
    });
    Ok(Page {
        items: with_links(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}
