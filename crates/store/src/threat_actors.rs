//! Step 2: threat actors.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{ModelId, OrgId, ThreatActorId};
use palisade_domain::threat_actor::{
    ActorCategory, Intent, Origin, SkillLevel, ThreatActor, ThreatActorFields,
};

use crate::db::DbConn;
use crate::models::ensure_visible;
use crate::schema::threat_actors;
use crate::versioned::Stored;
use crate::{parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = threat_actors, treat_none_as_null = true)]
struct ActorRow {
    id: String,
    model_id: String,
    name: String,
    origin: String,
    category: String,
    intent: String,
    motivation: Option<String>,
    skill: Option<String>,
    resources: Option<String>,
    description: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ActorRow {
    fn new(a: &ThreatActor) -> Self {
        let f = &a.fields;
        ActorRow {
            id: a.id.to_string(),
            model_id: a.model_id.to_string(),
            name: f.name.clone(),
            origin: f.origin.as_str().into(),
            category: f.category.as_str().into(),
            intent: f.intent.as_str().into(),
            motivation: f.motivation.clone(),
            skill: f.skill.map(|s| s.as_str().into()),
            resources: f.resources.clone(),
            description: f.description.clone(),
            version: a.version,
            created_at: a.created_at.naive_utc(),
            updated_at: a.updated_at.naive_utc(),
        }
    }

    fn into_actor(self) -> Result<ThreatActor, StoreError> {
        Ok(ThreatActor {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: ThreatActorFields {
                name: self.name,
                origin: parse_enum(&self.origin, Origin::parse)?,
                category: parse_enum(&self.category, ActorCategory::parse)?,
                intent: parse_enum(&self.intent, Intent::parse)?,
                motivation: self.motivation,
                skill: self
                    .skill
                    .as_deref()
                    .map(|s| parse_enum(s, SkillLevel::parse))
                    .transpose()?,
                resources: self.resources,
                description: self.description,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

crate::model_reads!(threat_actors, ActorRow, ThreatActor, ThreatActorId, finish);

crate::model_writes!(ThreatActor, ThreatActorId, ThreatActorFields);

impl Stored for ThreatActor {
    type Id = ThreatActorId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: ThreatActorId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, _: &Actor, new: &Self) -> Result<(), StoreError> {
        diesel::insert_into(threat_actors::table)
            .values(ActorRow::new(new))
            .execute(c)?;
        Ok(())
    }

    fn insert_many(c: &mut DbConn, _: &Actor, new: &[Self]) -> Result<(), StoreError> {
        crate::insert_rows!(
            c,
            threat_actors::table,
            new.iter().map(ActorRow::new).collect::<Vec<_>>()
        );
        Ok(())
    }

    fn write(c: &mut DbConn, _: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        Ok(crate::write_if_unchanged!(
            c,
            threat_actors,
            was,
            ActorRow::new(now)
        ))
    }

    /// Attack-tree leaves that named the actor stay, unlinked.
    fn remove(c: &mut DbConn, _: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        use crate::schema::attack_tree_nodes as nodes;
        let id = was.id.to_string();
        diesel::update(nodes::table.filter(nodes::actor_id.eq(&id)))
            .set(nodes::actor_id.eq(None::<String>))
            .execute(c)?;
        diesel::delete(threat_actors::table.filter(threat_actors::id.eq(&id))).execute(c)?;
        Ok(())
    }
}

fn finish(_: &mut DbConn, rows: Vec<ActorRow>) -> Result<Vec<ThreatActor>, StoreError> {
    rows.into_iter().map(ActorRow::into_actor).collect()
}

#[derive(Debug, Default, Clone)]
pub struct ActorFilter {
    pub origin: Option<Origin>,
    pub category: Option<ActorCategory>,
    pub intent: Option<Intent>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &ActorFilter,
    page: &PageRequest,
) -> Result<Page<ThreatActor>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = threat_actors::table
            .filter(threat_actors::model_id.eq(m.clone()))
            .into_boxed();
        if let Some(o) = filter.origin {
            query = query.filter(threat_actors::origin.eq(o.as_str()));
        }
        if let Some(c) = filter.category {
            query = query.filter(threat_actors::category.eq(c.as_str()));
        }
        if let Some(i) = filter.intent {
            query = query.filter(threat_actors::intent.eq(i.as_str()));
        }
        query
    };
    crate::list_page!(conn, page, threat_actors, ActorRow, threat_actors::model_id.eq(m.clone()), filtered, {
        "name" => (threat_actors::name, String),
        "origin" => (threat_actors::origin, String),
        "category" => (threat_actors::category, String),
        "intent" => (threat_actors::intent, String),
        "created_at" => (threat_actors::created_at, NaiveDateTime),
        "updated_at" => (threat_actors::updated_at, NaiveDateTime),
    })
    .try_map(ActorRow::into_actor)
}

/// Ids of the model's actors, for checking references from trees.
pub(crate) fn ids_in_model(
    conn: &mut DbConn,
    model_id: ModelId,
) -> Result<Vec<String>, StoreError> {
    Ok(threat_actors::table
        .filter(threat_actors::model_id.eq(model_id.to_string()))
        .select(threat_actors::id)
        .load(conn)?)
}
