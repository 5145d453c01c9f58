//! Step 1: the asset inventory.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::asset::{Asset, AssetFields, AssetKind, Cia, CiaLevel, Classification};
use palisade_domain::asset_tree;
use palisade_domain::ids::{AssetId, ModelId, OrgId};
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::reach::Affected;
use crate::schema::{assets, trust_zones};
use crate::versioned::Stored;
use crate::{parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = assets, treat_none_as_null = true)]
struct AssetRow {
    id: String,
    model_id: String,
    name: String,
    kind: String,
    description: Option<String>,
    owner: Option<String>,
    classification: Option<String>,
    cia_confidentiality: Option<String>,
    cia_integrity: Option<String>,
    cia_availability: Option<String>,
    business_criticality: Option<i32>,
    in_scope: bool,
    parent_id: Option<String>,
    trust_zone_id: Option<String>,
    tags: String,
    metadata: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl AssetRow {
    fn new(asset: &Asset) -> Result<Self, StoreError> {
        let f = &asset.fields;
        Ok(AssetRow {
            id: asset.id.to_string(),
            model_id: asset.model_id.to_string(),
            name: f.name.clone(),
            kind: f.kind.as_str().to_string(),
            description: f.description.clone(),
            owner: f.owner.clone(),
            classification: f.classification.map(|c| c.as_str().to_string()),
            cia_confidentiality: f.cia.map(|c| c.confidentiality.as_str().to_string()),
            cia_integrity: f.cia.map(|c| c.integrity.as_str().to_string()),
            cia_availability: f.cia.map(|c| c.availability.as_str().to_string()),
            business_criticality: f.business_criticality.map(i32::from),
            in_scope: f.in_scope,
            parent_id: f.parent_id.map(|p| p.to_string()),
            trust_zone_id: f.trust_zone_id.map(|z| z.to_string()),
            tags: serde_json::to_string(&f.tags)?,
            metadata: serde_json::to_string(&f.metadata)?,
            version: asset.version,
            created_at: asset.created_at.naive_utc(),
            updated_at: asset.updated_at.naive_utc(),
        })
    }

    fn into_asset(self) -> Result<Asset, StoreError> {
        let level = |s: &str| parse_enum(s, CiaLevel::parse);
        let cia = match (
            &self.cia_confidentiality,
            &self.cia_integrity,
            &self.cia_availability,
        ) {
            (Some(c), Some(i), Some(a)) => Some(Cia {
                confidentiality: level(c)?,
                integrity: level(i)?,
                availability: level(a)?,
            }),
            _ => None,
        };
        Ok(Asset {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: AssetFields {
                name: self.name,
                kind: parse_enum(&self.kind, AssetKind::parse)?,
                description: self.description,
                owner: self.owner,
                classification: self
                    .classification
                    .as_deref()
                    .map(|c| parse_enum(c, Classification::parse))
                    .transpose()?,
                cia,
                business_criticality: self
                    .business_criticality
                    .map(|c| {
                        u8::try_from(c).map_err(|_| StoreError::Corrupt(format!("criticality {c}")))
                    })
                    .transpose()?,
                in_scope: self.in_scope,
                parent_id: self.parent_id.as_deref().map(parse_id).transpose()?,
                trust_zone_id: self.trust_zone_id.as_deref().map(parse_id).transpose()?,
                tags: serde_json::from_str(&self.tags)?,
                metadata: serde_json::from_str(&self.metadata)?,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

/// The rules that need stored data: the parent and the zone must be of the
/// same model, and the containment must stay a tree.
fn check_references(conn: &mut DbConn, asset: &Asset) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::new();
    if let Some(parent) = asset.fields.parent_id {
        let parents: HashMap<AssetId, Option<AssetId>> = assets::table
            .filter(assets::model_id.eq(asset.model_id.to_string()))
            .select((assets::id, assets::parent_id))
            .load::<(String, Option<String>)>(conn)?
            .into_iter()
            .map(|(id, p)| Ok((parse_id(&id)?, p.as_deref().map(parse_id).transpose()?)))
            .collect::<Result<_, StoreError>>()?;
        if !parents.contains_key(&parent) {
            errors.add("parent_id", format!("no asset {parent} in this model"));
        } else if asset_tree::would_cycle(asset.id, parent, &parents) {
            errors.add(
                "parent_id",
                format!(
                    "asset {parent} is this asset or one of its descendants: assets form a tree"
                ),
            );
        }
    }
    if let Some(zone) = asset.fields.trust_zone_id {
        let found: i64 = trust_zones::table
            .filter(trust_zones::id.eq(zone.to_string()))
            .filter(trust_zones::model_id.eq(asset.model_id.to_string()))
            .count()
            .get_result(conn)?;
        if found == 0 {
            errors.add(
                "trust_zone_id",
                format!("no trust zone {zone} in this model"),
            );
        }
    }
    Ok(errors.finish()?)
}

crate::model_reads!(assets, AssetRow, Asset, AssetId, finish);

crate::model_writes!(Asset, AssetId, AssetFields);

impl Stored for Asset {
    type Id = AssetId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: AssetId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new)?;
        diesel::insert_into(assets::table)
            .values(AssetRow::new(new)?)
            .execute(c)?;
        Ok(())
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        let rows = new
            .iter()
            .map(AssetRow::new)
            .collect::<Result<Vec<_>, _>>()?;
        crate::insert_rows!(c, assets::table, rows);
        Ok(())
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        check_references(c, now)?;
        Ok(crate::write_if_unchanged!(
            c,
            assets,
            was,
            AssetRow::new(now)?
        ))
    }

    /// Refused while assets sit inside it or attack trees target it;
    /// interactions using it go with it only with `cascade`.
    fn remove(c: &mut DbConn, a: &Actor, was: &Self, cascade: bool) -> Result<(), StoreError> {
        let (id, model_id) = (was.id, was.model_id);
        let children: Vec<String> = assets::table
            .filter(assets::parent_id.eq(id.to_string()))
            .select(assets::id)
            .order(assets::id.asc())
            .load(c)?;
        if !children.is_empty() {
            return Err(StoreError::Conflict(format!(
                "asset {id} contains other assets; move or delete them first: {}",
                children.join(", ")
            )));
        }
        let trees: Vec<String> = crate::schema::attack_trees::table
            .filter(crate::schema::attack_trees::target_asset_id.eq(id.to_string()))
            .select(crate::schema::attack_trees::id)
            .load(c)?;
        if !trees.is_empty() {
            return Err(StoreError::Conflict(format!(
                "asset {id} is the target of attack trees; retarget or delete them first: {}",
                trees.join(", ")
            )));
        }
        let using = crate::interactions::using_asset(c, &id.to_string())?;
        let what = format!("asset {id}");
        crate::interactions::remove_users(c, a, model_id, &what, &using, cascade)?;
        crate::links::forget_targets(c, &[id.to_string()])?;
        diesel::delete(assets::table.filter(assets::id.eq(id.to_string()))).execute(c)?;
        Ok(())
    }

    /// A new asset is named by no threat yet; a change or a delete moves
    /// the threats naming it.
    fn reach(
        c: &mut DbConn,
        was: Option<&Self>,
        _: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        was.map(|a| naming_threats(c, a.model_id, a.id)).transpose()
    }
}

fn finish(_: &mut DbConn, rows: Vec<AssetRow>) -> Result<Vec<Asset>, StoreError> {
    rows.into_iter().map(AssetRow::into_asset).collect()
}

#[derive(Debug, Default, Clone)]
pub struct AssetFilter {
    pub kind: Option<AssetKind>,
    /// `Some(None)` selects the unclassified.
    pub classification: Option<Option<Classification>>,
    pub in_scope: Option<bool>,
    pub owner: Option<String>,
    pub parent_id: Option<AssetId>,
    pub trust_zone_id: Option<palisade_domain::ids::TrustZoneId>,
    /// Assets carrying this tag.
    pub tag: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &AssetFilter,
    page: &PageRequest,
) -> Result<Page<Asset>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = assets::table
            .filter(assets::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(kind) = filter.kind {
            query = query.filter(assets::kind.eq(kind.as_str()));
        }
        match filter.classification {
            Some(Some(c)) => query = query.filter(assets::classification.eq(c.as_str())),
            Some(None) => query = query.filter(assets::classification.is_null()),
            None => {}
        }
        if let Some(in_scope) = filter.in_scope {
            query = query.filter(assets::in_scope.eq(in_scope));
        }
        if let Some(owner) = &filter.owner {
            query = query.filter(assets::owner.eq(owner.clone()));
        }
        if let Some(parent) = filter.parent_id {
            query = query.filter(assets::parent_id.eq(parent.to_string()));
        }
        if let Some(zone) = filter.trust_zone_id {
            query = query.filter(assets::trust_zone_id.eq(zone.to_string()));
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(crate::has_tag!(assets::tags, tag));
        }
        query
    };
    crate::list_page!(conn, page, assets, AssetRow, assets::model_id.eq(m.clone()), filtered, {
        "name" => (assets::name, String),
        "kind" => (assets::kind, String),
        "in_scope" => (assets::in_scope, bool),
        "created_at" => (assets::created_at, NaiveDateTime),
        "updated_at" => (assets::updated_at, NaiveDateTime),
    })
    .try_map(AssetRow::into_asset)
}

/// The rows a change to an asset moves: the threats naming it.
fn naming_threats(
    conn: &mut DbConn,
    model_id: ModelId,
    id: AssetId,
) -> Result<Affected, StoreError> {
    Ok(Affected::Threats(crate::reach::threats_naming(
        conn,
        &model_id.to_string(),
        "asset",
        &[id.to_string()],
    )?))
}
