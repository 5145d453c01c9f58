//! Step 3: parties — customers, employees, partners, vendors, systems.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use palisade_domain::environment::{Party, PartyFields, PartyKind, TrustLevel};
use palisade_domain::ids::{ModelId, OrgId, PartyId, TrustZoneId};
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::schema::{assets, interactions, parties, party_assets, trust_zones};
use crate::versioned::Stored;
use crate::{parse_enum, parse_id, per_backend, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = parties, treat_none_as_null = true)]
struct PartyRow {
    id: String,
    model_id: String,
    name: String,
    kind: String,
    trust_level: String,
    trust_zone_id: Option<String>,
    services: String,
    data_processing_agreement: Option<bool>,
    last_assessment_date: Option<NaiveDate>,
    last_assessment_result: Option<String>,
    description: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl PartyRow {
    fn new(p: &Party) -> Result<Self, StoreError> {
        let f = &p.fields;
        Ok(PartyRow {
            id: p.id.to_string(),
            model_id: p.model_id.to_string(),
            name: f.name.clone(),
            kind: f.kind.as_str().into(),
            trust_level: f.trust_level.as_str().into(),
            trust_zone_id: f.trust_zone_id.map(|z| z.to_string()),
            services: serde_json::to_string(&f.services)?,
            data_processing_agreement: f.data_processing_agreement,
            last_assessment_date: f.last_assessment_date,
            last_assessment_result: f.last_assessment_result.clone(),
            description: f.description.clone(),
            version: p.version,
            created_at: p.created_at.naive_utc(),
            updated_at: p.updated_at.naive_utc(),
        })
    }

    fn into_party(self, accessible: Vec<String>) -> Result<Party, StoreError> {
        Ok(Party {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: PartyFields {
                name: self.name,
                kind: parse_enum(&self.kind, PartyKind::parse)?,
                trust_level: parse_enum(&self.trust_level, TrustLevel::parse)?,
                trust_zone_id: self.trust_zone_id.as_deref().map(parse_id).transpose()?,
                services: serde_json::from_str(&self.services)?,
                accessible_asset_ids: accessible
                    .iter()
                    .map(|a| parse_id(a))
                    .collect::<Result<_, _>>()?,
                data_processing_agreement: self.data_processing_agreement,
                last_assessment_date: self.last_assessment_date,
                last_assessment_result: self.last_assessment_result,
                description: self.description,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn with_assets(conn: &mut DbConn, rows: Vec<PartyRow>) -> Result<Vec<Party>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut links: HashMap<String, Vec<(i32, String)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(String, String, i32)> = party_assets::table
            .filter(party_assets::party_id.eq_any(chunk))
            .select((
                party_assets::party_id,
                party_assets::asset_id,
                party_assets::position,
            ))
            .load(conn)?;
        for (p, a, pos) in found {
            links.entry(p).or_default().push((pos, a));
        }
    }
    rows.into_iter()
        .map(|r| {
            let mut assets = links.remove(&r.id).unwrap_or_default();
            assets.sort();
            r.into_party(assets.into_iter().map(|(_, a)| a).collect())
        })
        .collect()
}

fn check_references(conn: &mut DbConn, party: &Party) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    if let Some(zone) = party.fields.trust_zone_id {
        let n: i64 = trust_zones::table
            .filter(trust_zones::id.eq(zone.to_string()))
            .filter(trust_zones::model_id.eq(party.model_id.to_string()))
            .count()
            .get_result(conn)?;
        if n == 0 {
            e.add(
                "trust_zone_id",
                format!("no trust zone {zone} in this model"),
            );
        }
    }
    if !party.fields.accessible_asset_ids.is_empty() {
        let wanted: Vec<String> = party
            .fields
            .accessible_asset_ids
            .iter()
            .map(|a| a.to_string())
            .collect();
        let mut found = HashSet::new();
        for chunk in wanted.chunks(500) {
            let ids: Vec<String> = assets::table
                .filter(assets::id.eq_any(chunk))
                .filter(assets::model_id.eq(party.model_id.to_string()))
                .select(assets::id)
                .load(conn)?;
            found.extend(ids);
        }
        for (i, a) in wanted.iter().enumerate() {
            if !found.contains(a) {
                e.add(
                    format!("accessible_asset_ids[{i}]"),
                    format!("no asset {a} in this model"),
                );
            }
        }
    }
    Ok(e.finish()?)
}

type AssetRow = (
    diesel::dsl::Eq<party_assets::party_id, String>,
    diesel::dsl::Eq<party_assets::asset_id, String>,
    diesel::dsl::Eq<party_assets::position, i32>,
);

fn asset_rows(party: &Party) -> Vec<AssetRow> {
    party
        .fields
        .accessible_asset_ids
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                party_assets::party_id.eq(party.id.to_string()),
                party_assets::asset_id.eq(a.to_string()),
                party_assets::position.eq(i32::try_from(i).unwrap_or(i32::MAX)),
            )
        })
        .collect()
}

fn write_assets(conn: &mut DbConn, party: &Party) -> Result<(), StoreError> {
    diesel::delete(party_assets::table.filter(party_assets::party_id.eq(party.id.to_string())))
        .execute(conn)?;
    let rows = asset_rows(party);
    for chunk in rows.chunks(500) {
        let chunk = chunk.to_vec();
        per_backend!(conn, |c| diesel::insert_into(party_assets::table)
            .values(&chunk)
            .execute(c))?;
    }
    Ok(())
}

crate::model_reads!(parties, PartyRow, Party, PartyId, with_assets);

crate::model_writes!(Party, PartyId, PartyFields);

impl Stored for Party {
    type Id = PartyId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: PartyId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new)?;
        diesel::insert_into(parties::table)
            .values(PartyRow::new(new)?)
            .execute(c)?;
        write_assets(c, new)
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        let rows = new
            .iter()
            .map(PartyRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        crate::insert_rows!(c, parties::table, rows);
        let access: Vec<_> = new.iter().flat_map(asset_rows).collect();
        crate::insert_rows!(c, party_assets::table, access);
        Ok(())
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        check_references(c, now)?;
        let n = crate::write_if_unchanged!(c, parties, was, PartyRow::new(now)?);
        write_assets(c, now)?;
        Ok(n)
    }

    /// Interactions using the party go with it only with `cascade`.
    fn remove(c: &mut DbConn, a: &Actor, was: &Self, cascade: bool) -> Result<(), StoreError> {
        let pid = was.id.to_string();
        crate::treatments::refuse_if_relied_on(c, "party", &pid)?;
        let using: Vec<String> = interactions::table
            .filter(
                interactions::source_party_id
                    .eq(&pid)
                    .or(interactions::destination_party_id.eq(&pid)),
            )
            .select(interactions::id)
            .order(interactions::id.asc())
            .load(c)?;
        let what = format!("party {pid}");
        crate::interactions::remove_users(c, a, was.model_id, &what, &using, cascade)?;
        diesel::delete(parties::table.filter(parties::id.eq(&pid))).execute(c)?;
        Ok(())
    }
}

#[derive(Debug, Default, Clone)]
pub struct PartyFilter {
    pub kind: Option<PartyKind>,
    pub trust_level: Option<TrustLevel>,
    pub trust_zone_id: Option<TrustZoneId>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &PartyFilter,
    page: &PageRequest,
) -> Result<Page<Party>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = parties::table
            .filter(parties::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(k) = filter.kind {
            query = query.filter(parties::kind.eq(k.as_str()));
        }
        if let Some(t) = filter.trust_level {
            query = query.filter(parties::trust_level.eq(t.as_str()));
        }
        if let Some(z) = filter.trust_zone_id {
            query = query.filter(parties::trust_zone_id.eq(z.to_string()));
        }
        query
    };
    let page = crate::list_page!(conn, page, parties, PartyRow, parties::model_id.eq(m.clone()), filtered, {
        "name" => (parties::name, String),
        "kind" => (parties::kind, String),
        "trust_level" => (parties::trust_level, String),
        "created_at" => (parties::created_at, NaiveDateTime),
        "updated_at" => (parties::updated_at, NaiveDateTime),
    });
    Ok(Page {
        items: with_assets(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}
