//! Step 3: trust zones.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::environment::{TrustZone, TrustZoneFields};
use palisade_domain::ids::{ModelId, OrgId, TrustZoneId};

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::schema::trust_zones;
use crate::versioned::Stored;
use crate::{parse_id, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = trust_zones, treat_none_as_null = true)]
struct ZoneRow {
    id: String,
    model_id: String,
    name: String,
    trust_rating: i32,
    description: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ZoneRow {
    fn new(z: &TrustZone) -> Self {
        ZoneRow {
            id: z.id.to_string(),
            model_id: z.model_id.to_string(),
            name: z.fields.name.clone(),
            trust_rating: i32::try_from(z.fields.trust_rating).unwrap_or(0),
            description: z.fields.description.clone(),
            version: z.version,
            created_at: z.created_at.naive_utc(),
            updated_at: z.updated_at.naive_utc(),
        }
    }

    fn into_zone(self) -> Result<TrustZone, StoreError> {
        Ok(TrustZone {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: TrustZoneFields {
                name: self.name,
                trust_rating: i64::from(self.trust_rating),
                description: self.description,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

crate::model_reads!(trust_zones, ZoneRow, TrustZone, TrustZoneId, finish);

crate::model_writes!(TrustZone, TrustZoneId, TrustZoneFields);

impl Stored for TrustZone {
    type Id = TrustZoneId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: TrustZoneId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        diesel::insert_into(trust_zones::table)
            .values(ZoneRow::new(new))
            .execute(c)?;
        Ok(())
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        crate::insert_rows!(
            c,
            trust_zones::table,
            new.iter().map(ZoneRow::new).collect::<Vec<_>>()
        );
        Ok(())
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        Ok(crate::write_if_unchanged!(
            c,
            trust_zones,
            was,
            ZoneRow::new(now)
        ))
    }

    /// Assets and parties in the zone stay, outside any zone.
    fn remove(c: &mut DbConn, _: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        use crate::schema::{assets, parties};
        let id = was.id.to_string();
        diesel::update(assets::table.filter(assets::trust_zone_id.eq(&id)))
            .set(assets::trust_zone_id.eq(None::<String>))
            .execute(c)?;
        diesel::update(parties::table.filter(parties::trust_zone_id.eq(&id)))
            .set(parties::trust_zone_id.eq(None::<String>))
            .execute(c)?;
        diesel::delete(trust_zones::table.filter(trust_zones::id.eq(&id))).execute(c)?;
        Ok(())
    }
}

fn finish(_: &mut DbConn, rows: Vec<ZoneRow>) -> Result<Vec<TrustZone>, StoreError> {
    rows.into_iter().map(ZoneRow::into_zone).collect()
}

#[derive(Debug, Default, Clone)]
pub struct TrustZoneFilter {
    /// Zones with exactly this name.
    pub name: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &TrustZoneFilter,
    page: &PageRequest,
) -> Result<Page<TrustZone>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = trust_zones::table
            .filter(trust_zones::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(name) = &filter.name {
            query = query.filter(trust_zones::name.eq(name.clone()));
        }
        query
    };
    crate::list_page!(conn, page, trust_zones, ZoneRow, trust_zones::model_id.eq(m.clone()), filtered, {
        "name" => (trust_zones::name, String),
        "trust_rating" => (trust_zones::trust_rating, i32),
        "created_at" => (trust_zones::created_at, NaiveDateTime),
        "updated_at" => (trust_zones::updated_at, NaiveDateTime),
    })
    .try_map(ZoneRow::into_zone)
}
