//! Threat models: the root of every step's records, scoped to an organisation.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{ModelId, OrgId};
use palisade_domain::model::{Model, ModelFields};
use palisade_domain::severity::Severity;

use crate::db::{write_tx, DbConn};
use crate::schema::models;
use crate::scope::Scoped;
use crate::{audit, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = models, treat_none_as_null = true)]
struct ModelRow {
    id: String,
    org_id: String,
    name: String,
    description: Option<String>,
    risk_appetite: String,
    tags: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl ModelRow {
    fn new(org: OrgId, model: &Model) -> Result<Self, StoreError> {
        Ok(ModelRow {
            id: model.id.to_string(),
            org_id: org.to_string(),
            name: model.fields.name.clone(),
            description: model.fields.description.clone(),
            risk_appetite: model.fields.risk_appetite.as_str().to_string(),
            tags: serde_json::to_string(&model.fields.tags)?,
            version: model.version,
            created_at: model.created_at.naive_utc(),
            updated_at: model.updated_at.naive_utc(),
        })
    }

    fn into_model(self) -> Result<Model, StoreError> {
        Ok(Model {
            id: parse_id(&self.id)?,
            fields: ModelFields {
                name: self.name,
                description: self.description,
                risk_appetite: parse_enum(&self.risk_appetite, Severity::parse)?,
                tags: serde_json::from_str(&self.tags)?,
            },
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

/// Refuses a write that names a version other than the current one.
pub(crate) fn check_version(current: i64, expected: Option<i64>) -> Result<(), StoreError> {
    match expected {
        Some(v) if v != current => Err(StoreError::VersionMismatch { current }),
        _ => Ok(()),
    }
}

pub fn create(conn: &mut DbConn, actor: &Actor, fields: ModelFields) -> Result<Model, StoreError> {
    fields.validate()?;
    let now = time::utc(time::now());
    let model = Model {
        id: ModelId::generate(),
        fields,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    write_tx(conn, |conn| insert(conn, actor, &model, None))?;
    Ok(model)
}

/// Writes a new model's row and audits its creation (with `extra`, what
/// else came with it: an import's counts).
pub(crate) fn insert(
    conn: &mut DbConn,
    actor: &Actor,
    model: &Model,
    extra: Option<serde_json::Value>,
) -> Result<(), StoreError> {
    let row = ModelRow::new(actor.org_id, model)?;
    diesel::insert_into(models::table)
        .values(&row)
        .execute(conn)?;
    let mut after = serde_json::to_value(model)?;
    if let (Some(extra), Some(o)) = (extra, after.as_object_mut()) {
        o.insert("import".into(), extra);
    }
    audit::record(
        conn,
        actor,
        audit::Change {
            model_id: Some(model.id),
            action: AuditAction::Create,
            entity_type: "model",
            entity_id: model.id.to_string(),
            before: None,
            after: Some(after),
        },
    )
}

/// A model of this organisation; another organisation's is `NotFound`.
pub fn get(conn: &mut DbConn, org: OrgId, id: ModelId) -> Result<Model, StoreError> {
    models::table
        .filter(models::id.eq(id.to_string()))
        .filter(models::org_id.eq(org.to_string()))
        .select(ModelRow::as_select())
        .first(conn)?
        .into_model()
}

/// The model as one the organisation may see; `NotFound` unless it belongs
/// to the organisation.
pub fn ensure_visible(conn: &mut DbConn, org: OrgId, id: ModelId) -> Result<Scoped, StoreError> {
    let found: i64 = models::table
        .filter(models::id.eq(id.to_string()))
        .filter(models::org_id.eq(org.to_string()))
        .count()
        .get_result(conn)?;
    if found == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(Scoped::trusted(org, id))
    }
}

#[derive(Debug, Default, Clone)]
pub struct ModelFilter {
    pub risk_appetite: Option<Severity>,
    pub name: Option<String>,
    /// Models carrying this tag.
    pub tag: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    filter: &ModelFilter,
    page: &PageRequest,
) -> Result<Page<Model>, StoreError> {
    let org = org.to_string();
    let filtered = || {
        let mut query = models::table
            .filter(models::org_id.eq(org.clone()))
            .into_boxed();
        if let Some(r) = filter.risk_appetite {
            query = query.filter(models::risk_appetite.eq(r.as_str()));
        }
        if let Some(name) = &filter.name {
            query = query.filter(models::name.eq(name.clone()));
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(crate::has_tag!(models::tags, tag));
        }
        query
    };
    crate::list_page!(conn, page, models, ModelRow, models::org_id.eq(org.clone()), filtered, {
        "name" => (models::name, String),
        "created_at" => (models::created_at, NaiveDateTime),
        "updated_at" => (models::updated_at, NaiveDateTime),
    })
    .try_map(ModelRow::into_model)
}

/// Applies `change` to the current fields. A change that alters nothing
/// keeps the version and writes no audit record.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: ModelId,
    expected_version: Option<i64>,
    change: impl FnOnce(&Model) -> Result<ModelFields, StoreError>,
) -> Result<Model, StoreError> {
    write_tx(conn, |conn| {
        let current = get(conn, actor.org_id, id)?;
        let fields = change(&current)?;
        fields.validate()?;
        check_version(current.version, expected_version)?;
        if fields == current.fields {
            return Ok(current);
        }
        let updated = Model {
            fields,
            version: current.version + 1,
            updated_at: time::utc(time::now()),
            ..current.clone()
        };
        let n = diesel::update(
            models::table
                .filter(models::id.eq(id.to_string()))
                .filter(models::version.eq(current.version)),
        )
        .set(ModelRow::new(actor.org_id, &updated)?)
        .execute(conn)?;
        if n != 1 {
            return Err(StoreError::Conflict(
                "the model was changed concurrently; retry".into(),
            ));
        }
        audit::record(
            conn,
            actor,
            audit::Change {
                model_id: Some(id),
                action: AuditAction::Update,
                entity_type: "model",
                entity_id: id.to_string(),
                before: Some(serde_json::to_value(&current)?),
                after: Some(serde_json::to_value(&updated)?),
            },
        )?;
        crate::events::record_event(
            conn,
            actor.org_id,
            Some(id),
            palisade_domain::webhook::EventType::ModelUpdated,
            serde_json::json!({ "model": updated }),
            None,
        )?;
        Ok(updated)
    })
}

/// Deletes the model and, by cascade, every record in it.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: ModelId,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let current = get(conn, actor.org_id, id)?;
        check_version(current.version, expected_version)?;
        delete_contents(conn, id)?;
        diesel::delete(models::table.filter(models::id.eq(id.to_string()))).execute(conn)?;
        audit::record(
            conn,
            actor,
            audit::Change {
                model_id: Some(id),
                action: AuditAction::Delete,
                entity_type: "model",
                entity_id: id.to_string(),
                before: Some(serde_json::to_value(&current)?),
                after: None,
            },
        )
    })
}

/// Deletes a model's records in dependency order. Cascading from the model
/// alone is not enough on PostgreSQL: rows that point at assets without
/// `ON DELETE CASCADE` (carried data, interaction ends, tree targets) can be
/// checked before the rows that hold them are gone.
fn delete_contents(conn: &mut DbConn, id: ModelId) -> Result<(), StoreError> {
    use crate::schema::{
        assets, attack_tree_nodes, attack_trees, controls, evaluation_entries,
        interaction_data_assets, interactions, model_versions, parties, party_assets, record_links,
        report_files, reports, threat_actors, threats, treatments,
    };
    let m = id.to_string();
    let model_reports = reports::table
        .filter(reports::model_id.eq(m.clone()))
        .select(reports::id);
    diesel::delete(report_files::table.filter(report_files::report_id.eq_any(model_reports)))
        .execute(conn)?;
    diesel::delete(reports::table.filter(reports::model_id.eq(&m))).execute(conn)?;
    diesel::delete(model_versions::table.filter(model_versions::model_id.eq(&m))).execute(conn)?;
    let model_interactions = interactions::table
        .filter(interactions::model_id.eq(m.clone()))
        .select(interactions::id);
    diesel::delete(
        interaction_data_assets::table
            .filter(interaction_data_assets::interaction_id.eq_any(model_interactions)),
    )
    .execute(conn)?;
    diesel::delete(interactions::table.filter(interactions::model_id.eq(&m))).execute(conn)?;
    let model_parties = parties::table
        .filter(parties::model_id.eq(m.clone()))
        .select(parties::id);
    diesel::delete(party_assets::table.filter(party_assets::party_id.eq_any(model_parties)))
        .execute(conn)?;
    diesel::delete(parties::table.filter(parties::model_id.eq(&m))).execute(conn)?;
    let model_threats = threats::table
        .filter(threats::model_id.eq(m.clone()))
        .select(threats::id);
    diesel::delete(record_links::table.filter(record_links::owner_id.eq_any(model_threats)))
        .execute(conn)?;
    let model_controls = controls::table
        .filter(controls::model_id.eq(m.clone()))
        .select(controls::id);
    diesel::delete(record_links::table.filter(record_links::owner_id.eq_any(model_controls)))
        .execute(conn)?;
    let model_treatments = treatments::table
        .filter(treatments::model_id.eq(m.clone()))
        .select(treatments::id);
    diesel::delete(record_links::table.filter(record_links::owner_id.eq_any(model_treatments)))
        .execute(conn)?;
    let model_entries = evaluation_entries::table
        .filter(evaluation_entries::model_id.eq(m.clone()))
        .select(evaluation_entries::id);
    diesel::delete(record_links::table.filter(record_links::owner_id.eq_any(model_entries)))
        .execute(conn)?;
    diesel::delete(threats::table.filter(threats::model_id.eq(&m))).execute(conn)?;
    diesel::delete(controls::table.filter(controls::model_id.eq(&m))).execute(conn)?;
    let model_trees = attack_trees::table
        .filter(attack_trees::model_id.eq(m.clone()))
        .select(attack_trees::id);
    diesel::delete(attack_tree_nodes::table.filter(attack_tree_nodes::tree_id.eq_any(model_trees)))
        .execute(conn)?;
    diesel::delete(attack_trees::table.filter(attack_trees::model_id.eq(&m))).execute(conn)?;
    diesel::delete(threat_actors::table.filter(threat_actors::model_id.eq(&m))).execute(conn)?;
    diesel::delete(assets::table.filter(assets::model_id.eq(&m))).execute(conn)?;
    Ok(())
}
