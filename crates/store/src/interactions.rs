//! Step 3: interactions — data flows between parties and assets. Whether a
//! flow crosses a trust boundary is derived on every read, from the zones
//! its ends sit in now.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::asset::AssetKind;
use palisade_domain::audit::AuditAction;
use palisade_domain::environment::{crosses_boundary, Endpoint, Interaction, InteractionFields};
use palisade_domain::ids::{InteractionId, ModelId, OrgId, TrustZoneId};
use palisade_domain::ValidationErrors;

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::schema::{assets, interaction_data_assets, interactions, parties};
use crate::scope::Scoped;
use crate::versioned::Stored;
use crate::{parse_id, per_backend, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = interactions, treat_none_as_null = true)]
struct InteractionRow {
    id: String,
    model_id: String,
    source_asset_id: Option<String>,
    source_party_id: Option<String>,
    destination_asset_id: Option<String>,
    destination_party_id: Option<String>,
    purpose: Option<String>,
    protocol: Option<String>,
    authenticated: bool,
    encrypted: bool,
    bidirectional: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl InteractionRow {
    fn new(i: &Interaction) -> Self {
        let f = &i.fields;
        InteractionRow {
            id: i.id.to_string(),
            model_id: i.model_id.to_string(),
            source_asset_id: f.source.asset_id.map(|a| a.to_string()),
            source_party_id: f.source.party_id.map(|p| p.to_string()),
            destination_asset_id: f.destination.asset_id.map(|a| a.to_string()),
            destination_party_id: f.destination.party_id.map(|p| p.to_string()),
            purpose: f.purpose.clone(),
            protocol: f.protocol.clone(),
            authenticated: f.authenticated,
            encrypted: f.encrypted,
            bidirectional: f.bidirectional,
            version: i.version,
            created_at: i.created_at.naive_utc(),
            updated_at: i.updated_at.naive_utc(),
        }
    }
}

/// Zones of every asset and party of a model, to derive boundary crossings.
struct Zones {
    assets: HashMap<String, Option<String>>,
    parties: HashMap<String, Option<String>>,
}

impl Zones {
    /// The zones of the ends these rows name, and of nothing else.
    fn load(conn: &mut DbConn, rows: &[InteractionRow]) -> Result<Zones, StoreError> {
        let asset_ids: Vec<&String> = rows
            .iter()
            .flat_map(|r| [&r.source_asset_id, &r.destination_asset_id])
            .flatten()
            .collect();
        let party_ids: Vec<&String> = rows
            .iter()
            .flat_map(|r| [&r.source_party_id, &r.destination_party_id])
            .flatten()
            .collect();
        let mut zones = Zones {
            assets: HashMap::new(),
            parties: HashMap::new(),
        };
        for chunk in asset_ids.chunks(500) {
            zones.assets.extend(
                assets::table
                    .filter(assets::id.eq_any(chunk))
                    .select((assets::id, assets::trust_zone_id))
                    .load::<(String, Option<String>)>(conn)?,
            );
        }
        for chunk in party_ids.chunks(500) {
            zones.parties.extend(
                parties::table
                    .filter(parties::id.eq_any(chunk))
                    .select((parties::id, parties::trust_zone_id))
                    .load::<(String, Option<String>)>(conn)?,
            );
        }
        Ok(zones)
    }

    fn of(&self, end: &Endpoint) -> Option<TrustZoneId> {
        let zone = match (end.asset_id, end.party_id) {
            (Some(a), _) => self.assets.get(&a.to_string()).cloned().flatten(),
            (_, Some(p)) => self.parties.get(&p.to_string()).cloned().flatten(),
            _ => None,
        };
        zone.and_then(|z| z.parse().ok())
    }
}

fn endpoint(asset: &Option<String>, party: &Option<String>) -> Result<Endpoint, StoreError> {
    Ok(Endpoint {
        asset_id: asset.as_deref().map(parse_id).transpose()?,
        party_id: party.as_deref().map(parse_id).transpose()?,
    })
}

fn assemble(
    conn: &mut DbConn,
    rows: Vec<InteractionRow>,
    zones: &Zones,
) -> Result<Vec<Interaction>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut carried: HashMap<String, Vec<(i32, String)>> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<(String, String, i32)> = interaction_data_assets::table
            .filter(interaction_data_assets::interaction_id.eq_any(chunk))
            .select((
                interaction_data_assets::interaction_id,
                interaction_data_assets::asset_id,
                interaction_data_assets::position,
            ))
            .load(conn)?;
        for (i, a, pos) in found {
            carried.entry(i).or_default().push((pos, a));
        }
    }
    rows.into_iter()
        .map(|r| {
            let mut data = carried.remove(&r.id).unwrap_or_default();
            data.sort();
            let source = endpoint(&r.source_asset_id, &r.source_party_id)?;
            let destination = endpoint(&r.destination_asset_id, &r.destination_party_id)?;
            Ok(Interaction {
                id: parse_id(&r.id)?,
                model_id: parse_id(&r.model_id)?,
                crosses_trust_boundary: crosses_boundary(
                    (source, zones.of(&source)),
                    (destination, zones.of(&destination)),
                ),
                fields: InteractionFields {
                    source,
                    destination,
                    purpose: r.purpose,
                    protocol: r.protocol,
                    data_asset_ids: data
                        .iter()
                        .map(|(_, a)| parse_id(a))
                        .collect::<Result<_, _>>()?,
                    authenticated: r.authenticated,
                    encrypted: r.encrypted,
                    bidirectional: r.bidirectional,
                },
                version: r.version,
                created_at: time::utc(r.created_at),
                updated_at: time::utc(r.updated_at),
            })
        })
        .collect()
}

/// Both ends and every carried asset belong to the model; carried assets are data.
fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    f: &InteractionFields,
) -> Result<(), StoreError> {
    let m = model_id.to_string();
    let mut e = ValidationErrors::new();
    let asset_kinds: HashMap<String, String> = assets::table
        .filter(assets::model_id.eq(&m))
        .select((assets::id, assets::kind))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let party_ids: HashSet<String> = parties::table
        .filter(parties::model_id.eq(&m))
        .select(parties::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for (name, end) in [("source", &f.source), ("destination", &f.destination)] {
        if let Some(a) = end.asset_id {
            if !asset_kinds.contains_key(&a.to_string()) {
                e.add(
                    format!("{name}.asset_id"),
                    format!("no asset {a} in this model"),
                );
            }
        }
        if let Some(p) = end.party_id {
            if !party_ids.contains(&p.to_string()) {
                e.add(
                    format!("{name}.party_id"),
                    format!("no party {p} in this model"),
                );
            }
        }
    }
    for (i, a) in f.data_asset_ids.iter().enumerate() {
        match asset_kinds.get(&a.to_string()) {
            None => e.add(
                format!("data_asset_ids[{i}]"),
                format!("no asset {a} in this model"),
            ),
            Some(kind) if kind != AssetKind::Data.as_str() => e.add(
                format!("data_asset_ids[{i}]"),
                format!("asset {a} is of kind {kind}, not data"),
            ),
            Some(_) => {}
        }
    }
    Ok(e.finish()?)
}

type DataRow = (
    diesel::dsl::Eq<interaction_data_assets::interaction_id, String>,
    diesel::dsl::Eq<interaction_data_assets::asset_id, String>,
    diesel::dsl::Eq<interaction_data_assets::position, i32>,
);

fn data_rows(i: &Interaction) -> Vec<DataRow> {
    i.fields
        .data_asset_ids
        .iter()
        .enumerate()
        .map(|(k, a)| {
            (
                interaction_data_assets::interaction_id.eq(i.id.to_string()),
                interaction_data_assets::asset_id.eq(a.to_string()),
                interaction_data_assets::position.eq(i32::try_from(k).unwrap_or(i32::MAX)),
            )
        })
        .collect()
}

fn write_data(conn: &mut DbConn, i: &Interaction) -> Result<(), StoreError> {
    diesel::delete(
        interaction_data_assets::table
            .filter(interaction_data_assets::interaction_id.eq(i.id.to_string())),
    )
    .execute(conn)?;
    let rows = data_rows(i);
    for chunk in rows.chunks(500) {
        let chunk = chunk.to_vec();
        per_backend!(conn, |c| diesel::insert_into(
            interaction_data_assets::table
        )
        .values(&chunk)
        .execute(c))?;
    }
    Ok(())
}

fn load_one(
    conn: &mut DbConn,
    model_id: ModelId,
    id: InteractionId,
) -> Result<Interaction, StoreError> {
    let row: InteractionRow = interactions::table
        .filter(interactions::id.eq(id.to_string()))
        .filter(interactions::model_id.eq(model_id.to_string()))
        .select(InteractionRow::as_select())
        .first(conn)?;
    let rows = vec![row];
    let zones = Zones::load(conn, &rows)?;
    assemble(conn, rows, &zones)?
        .pop()
        .ok_or(StoreError::NotFound)
}

crate::model_writes!(Interaction, InteractionId, InteractionFields);

/// Whether a flow crosses a trust boundary is derived: a write reads it back.
impl Stored for Interaction {
    type Id = InteractionId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: InteractionId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new.model_id, &new.fields)?;
        diesel::insert_into(interactions::table)
            .values(InteractionRow::new(new))
            .execute(c)?;
        write_data(c, new)
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        crate::insert_rows!(
            c,
            interactions::table,
            new.iter().map(InteractionRow::new).collect::<Vec<_>>()
        );
        let data: Vec<_> = new.iter().flat_map(data_rows).collect();
        crate::insert_rows!(c, interaction_data_assets::table, data);
        Ok(())
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        check_references(c, now.model_id, &now.fields)?;
        let n = crate::write_if_unchanged!(c, interactions, was, InteractionRow::new(now));
        write_data(c, now)?;
        Ok(n)
    }

    fn remove(c: &mut DbConn, _: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        let id = was.id.to_string();
        diesel::delete(
            interaction_data_assets::table.filter(interaction_data_assets::interaction_id.eq(&id)),
        )
        .execute(c)?;
        diesel::delete(interactions::table.filter(interactions::id.eq(&id))).execute(c)?;
        Ok(())
    }

    fn reread(c: &mut DbConn, written: Self) -> Result<Self, StoreError> {
        load_one(c, written.model_id, written.id)
    }
}

/// Reads assemble each flow with its data and derive whether it crosses
/// a trust boundary from its ends' zones.
impl crate::ModelReads for Interaction {
    type Id = InteractionId;

    fn get(
        conn: &mut DbConn,
        org: OrgId,
        model_id: ModelId,
        id: InteractionId,
    ) -> Result<Interaction, StoreError> {
        ensure_visible(conn, org, model_id)?;
        load_one(conn, model_id, id)
    }

    fn all_in_model(conn: &mut DbConn, scope: Scoped) -> Result<Vec<Interaction>, StoreError> {
        let rows: Vec<InteractionRow> = interactions::table
            .filter(interactions::model_id.eq(scope.model().to_string()))
            .select(InteractionRow::as_select())
            .order(interactions::id.asc())
            .load(conn)?;
        let zones = Zones::load(conn, &rows)?;
        assemble(conn, rows, &zones)
    }

    fn some_in_model(
        conn: &mut DbConn,
        scope: Scoped,
        ids: &[String],
    ) -> Result<Vec<Interaction>, StoreError> {
        let mut rows: Vec<InteractionRow> = Vec::new();
        for chunk in ids.chunks(500) {
            rows.extend(
                interactions::table
                    .filter(interactions::model_id.eq(scope.model().to_string()))
                    .filter(interactions::id.eq_any(chunk))
                    .select(InteractionRow::as_select())
                    .load::<InteractionRow>(conn)?,
            );
        }
        let zones = Zones::load(conn, &rows)?;
        assemble(conn, rows, &zones)
    }

    fn count_in_model(conn: &mut DbConn, scope: Scoped) -> Result<i64, StoreError> {
        Ok(interactions::table
            .filter(interactions::model_id.eq(scope.model().to_string()))
            .count()
            .get_result(conn)?)
    }
}

#[derive(Debug, Default, Clone)]
pub struct InteractionFilter {
    pub crosses_trust_boundary: Option<bool>,
    pub authenticated: Option<bool>,
    pub encrypted: Option<bool>,
}

/// Filters on the derived crossing, so the page is cut after deriving it.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &InteractionFilter,
    page: &PageRequest,
) -> Result<Page<Interaction>, StoreError> {
    let scope = ensure_visible(conn, org, model_id)?;
    let matching: Vec<Interaction> = <Interaction as crate::ModelReads>::all_in_model(conn, scope)?
        .into_iter()
        .filter(|i| {
            filter
                .crosses_trust_boundary
                .is_none_or(|c| i.crosses_trust_boundary == c)
        })
        .filter(|i| {
            filter
                .authenticated
                .is_none_or(|a| i.fields.authenticated == a)
        })
        .filter(|i| filter.encrypted.is_none_or(|e| i.fields.encrypted == e))
        .collect();
    let id_of = |i: &Interaction| i.id.to_string();
    match page.sort.map(|s| s.key) {
        None => {
            crate::page::page_in_memory(matching, page, id_of, None::<fn(&Interaction) -> bool>)
        }
        Some("created_at") => {
            crate::page::page_in_memory(matching, page, id_of, Some(|i: &Interaction| i.created_at))
        }
        Some("updated_at") => {
            crate::page::page_in_memory(matching, page, id_of, Some(|i: &Interaction| i.updated_at))
        }
        Some(other) => Err(StoreError::Invalid(ValidationErrors::single(
            "sort",
            format!("cannot sort by {other}"),
        ))),
    }
}

/// Interactions that use an asset (as an end or as carried data).
pub fn using_asset(conn: &mut DbConn, asset: &str) -> Result<Vec<String>, StoreError> {
    let mut ids: Vec<String> = interactions::table
        .filter(
            interactions::source_asset_id
                .eq(asset)
                .or(interactions::destination_asset_id.eq(asset)),
        )
        .select(interactions::id)
        .load(conn)?;
    ids.extend(
        interaction_data_assets::table
            .filter(interaction_data_assets::asset_id.eq(asset))
            .select(interaction_data_assets::interaction_id)
            .load::<String>(conn)?,
    );
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Before deleting something interactions use: refuse, naming them, or
/// (with `cascade`) delete them first.
pub(crate) fn remove_users(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    what: &str,
    ids: &[String],
    cascade: bool,
) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    if !cascade {
        return Err(StoreError::Conflict(format!(
            "{what} is used by interactions {}; delete them first or pass ?cascade=true",
            ids.join(", ")
        )));
    }
    for id in ids {
        let current = load_one(conn, model_id, parse_id(id)?)?;
        Interaction::remove(conn, actor, &current, false)?;
        crate::versioned::audited(
            conn,
            actor,
            model_id,
            AuditAction::Delete,
            Some(&current),
            None,
        )?;
    }
    Ok(())
}
