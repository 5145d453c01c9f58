//! Ticketing integrations: their settings, their sealed inbound secrets
//! (two at most, for rotation), the senders' delivery ids (deduplication)
//! and the jobs that apply a ticket's state to its treatments.

use crate::ModelReads as _;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{IntegrationId, IntegrationSecretId, ModelId, OrgId, TreatmentId};
use palisade_domain::integration::{
    Integration, IntegrationFields, IntegrationKind, OutboundSettings, SecretInfo, MAX_SECRETS,
};
use palisade_domain::treatment::Treatment;
use palisade_domain::treatment::TreatmentStatus;

use crate::db::{write_tx, DbConn};
use crate::schema::{inbound_deliveries, integration_secrets, integrations, models, treatments};
use crate::sealed::Sealer;
use crate::{audit, parse_enum, parse_id, per_backend, time, Actor, Page, PageRequest, StoreError};

/// Delivery ids are kept at least this long (the spec asks for 24 hours).
pub const DEDUP_HOURS: i64 = 48;

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = integrations)]
struct Row {
    id: String,
    org_id: String,
    kind: String,
    name: String,
    status_mapping: String,
    enabled: bool,
    outbound: Option<String>,
    outbound_token: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = integration_secrets)]
struct SecretRow {
    id: String,
    integration_id: String,
    sealed: String,
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
}

fn secret_context(integration: &str, secret: &str) -> String {
    format!("integration_secret:{integration}:{secret}")
}

fn token_context(integration: &str) -> String {
    format!("integration_token:{integration}")
}

impl Row {
    fn fields(&self) -> Result<IntegrationFields, StoreError> {
        Ok(IntegrationFields {
            kind: parse_enum(&self.kind, IntegrationKind::parse)?,
            name: self.name.clone(),
            status_mapping: serde_json::from_str(&self.status_mapping)?,
            enabled: self.enabled,
            outbound: self
                .outbound
                .as_deref()
                .map(serde_json::from_str::<OutboundSettings>)
                .transpose()?,
        })
    }

    fn into_record(self, secrets: Vec<SecretRow>) -> Result<Integration, StoreError> {
        let fields = self.fields()?;
        Ok(Integration {
            id: parse_id(&self.id)?,
            kind: fields.kind,
            name: fields.name,
            status_mapping: fields.status_mapping,
            enabled: fields.enabled,
            outbound: fields.outbound,
            has_outbound_token: self.outbound_token.is_some(),
            secrets: secrets
                .into_iter()
                .map(|s| {
                    Ok(SecretInfo {
                        id: parse_id(&s.id)?,
                        created_at: time::utc(s.created_at),
                        last_used_at: s.last_used_at.map(time::utc),
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            webhook_url: format!("/api/v1/integrations/{}/webhook", self.id),
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn secrets_of(conn: &mut DbConn, ids: &[String]) -> Result<Vec<SecretRow>, StoreError> {
    Ok(integration_secrets::table
        .filter(integration_secrets::integration_id.eq_any(ids))
        .order((
            integration_secrets::created_at.desc(),
            integration_secrets::id.desc(),
        ))
        .select(SecretRow::as_select())
        .load(conn)?)
}

fn load_row(conn: &mut DbConn, org: OrgId, id: IntegrationId) -> Result<Row, StoreError> {
    Ok(integrations::table
        .filter(integrations::id.eq(id.to_string()))
        .filter(integrations::org_id.eq(org.to_string()))
        .select(Row::as_select())
        .first(conn)?)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: IntegrationId) -> Result<Integration, StoreError> {
    let row = load_row(conn, org, id)?;
    let secrets = secrets_of(conn, std::slice::from_ref(&row.id))?;
    row.into_record(secrets)
}

fn add_secret(
    conn: &mut DbConn,
    sealer: &Sealer,
    integration: &str,
    secret: &str,
) -> Result<(), StoreError> {
    let id = IntegrationSecretId::generate().to_string();
    let sealed = sealer.seal(&secret_context(integration, &id), secret)?;
    diesel::insert_into(integration_secrets::table)
        .values((
            integration_secrets::id.eq(&id),
            integration_secrets::integration_id.eq(integration),
            integration_secrets::sealed.eq(sealed),
            integration_secrets::created_at.eq(time::now()),
        ))
        .execute(conn)?;
    // Keep the newest two: the one just added and the one it replaces.
    let all = secrets_of(conn, &[integration.to_string()])?;
    let retired: Vec<String> = all.into_iter().skip(MAX_SECRETS).map(|s| s.id).collect();
    if !retired.is_empty() {
        diesel::delete(integration_secrets::table.filter(integration_secrets::id.eq_any(retired)))
            .execute(conn)?;
    }
    Ok(())
}

/// The audit record of a change to an integration: its settings before
/// and after, never a secret (the record type holds none).
fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: AuditAction,
    entity_type: &'static str,
    before: Option<&Integration>,
    after: Option<&Integration>,
) -> Result<(), StoreError> {
    let Some(id) = after.or(before).map(|i| i.id) else {
        return Ok(());
    };
    audit::record(
        conn,
        actor,
        audit::Change::of_org(entity_type, action, id, before, after)?,
    )
}

/// Creates an integration with its first inbound secret and, for ticket
/// creation, its sealed token.
pub fn create(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &Actor,
    fields: &IntegrationFields,
    secret: &str,
    token: Option<&str>,
) -> Result<Integration, StoreError> {
    fields.validate()?;
    let now = time::now();
    let id = IntegrationId::generate().to_string();
    let row = Row {
        id: id.clone(),
        org_id: actor.org_id.to_string(),
        kind: fields.kind.as_str().into(),
        name: fields.name.clone(),
        status_mapping: serde_json::to_string(&fields.status_mapping)?,
        enabled: fields.enabled,
        outbound: fields
            .outbound
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?,
        outbound_token: token
            .map(|t| sealer.seal(&token_context(&id), t))
            .transpose()?,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    write_tx(conn, |conn| {
        diesel::insert_into(integrations::table)
            .values(&row)
            .execute(conn)?;
        add_secret(conn, sealer, &id, secret)?;
        let created = get(conn, actor.org_id, parse_id(&id)?)?;
        record(
            conn,
            actor,
            AuditAction::Create,
            "integration",
            None,
            Some(&created),
        )?;
        Ok(created)
    })
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    page: &PageRequest,
) -> Result<Page<Integration>, StoreError> {
    let org = org.to_string();
    let filtered = || {
        integrations::table
            .filter(integrations::org_id.eq(org.clone()))
            .into_boxed()
    };
    let rows = crate::list_page!(conn, page, integrations, Row, integrations::org_id.eq(org.clone()), filtered, {
        "name" => (integrations::name, String),
        "kind" => (integrations::kind, String),
        "created_at" => (integrations::created_at, NaiveDateTime),
    });
    let ids: Vec<String> = rows.items.iter().map(|r| r.id.clone()).collect();
    let mut secrets = secrets_of(conn, &ids)?;
    rows.try_map(|row| {
        let (mine, rest): (Vec<SecretRow>, Vec<SecretRow>) = std::mem::take(&mut secrets)
            .into_iter()
            .partition(|s| s.integration_id == row.id);
        secrets = rest;
        row.into_record(mine)
    })
}

/// What an update changes: the fields (merge-patched by the caller) and,
/// when given, the ticket-creation token (`Some(None)` removes it).
pub fn update(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &Actor,
    id: IntegrationId,
    expected: Option<i64>,
    change: impl FnOnce(&IntegrationFields) -> Result<IntegrationFields, StoreError>,
    token: Option<Option<String>>,
) -> Result<Integration, StoreError> {
    write_tx(conn, |conn| {
        let row = load_row(conn, actor.org_id, id)?;
        crate::models::check_version(row.version, expected)?;
        let before = get(conn, actor.org_id, id)?;
        let fields = change(&row.fields()?)?;
        fields.validate()?;
        if fields.kind != before.kind {
            return Err(StoreError::Invalid(
                palisade_domain::ValidationErrors::single(
                    "kind",
                    "cannot change: create another integration for another system",
                ),
            ));
        }
        let outbound_token = match token {
            None => row.outbound_token.clone(),
            Some(None) => None,
            Some(Some(t)) => Some(sealer.seal(&token_context(&row.id), &t)?),
        };
        let updated = diesel::update(
            integrations::table
                .filter(integrations::id.eq(&row.id))
                .filter(integrations::version.eq(row.version)),
        )
        .set((
            integrations::name.eq(&fields.name),
            integrations::status_mapping.eq(serde_json::to_string(&fields.status_mapping)?),
            integrations::enabled.eq(fields.enabled),
            integrations::outbound.eq(fields
                .outbound
                .as_ref()
                .map(serde_json::to_string)
                .transpose()?),
            integrations::outbound_token.eq(outbound_token),
            integrations::version.eq(row.version + 1),
            integrations::updated_at.eq(time::now()),
        ))
        .execute(conn)?;
        if updated != 1 {
            return Err(StoreError::Conflict(
                "the integration was changed concurrently; retry".into(),
            ));
        }
        let after = get(conn, actor.org_id, id)?;
        record(
            conn,
            actor,
            AuditAction::Update,
            "integration",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Adds an inbound secret; the previous newest stays in force beside it
/// and any older one is retired.
pub fn rotate_secret(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &Actor,
    id: IntegrationId,
    secret: &str,
) -> Result<Integration, StoreError> {
    write_tx(conn, |conn| {
        let before = get(conn, actor.org_id, id)?;
        add_secret(conn, sealer, &id.to_string(), secret)?;
        diesel::update(integrations::table.filter(integrations::id.eq(id.to_string())))
            .set((
                integrations::version.eq(before.version + 1),
                integrations::updated_at.eq(time::now()),
            ))
            .execute(conn)?;
        let after = get(conn, actor.org_id, id)?;
        record(
            conn,
            actor,
            AuditAction::Update,
            "integration_secret",
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: IntegrationId,
    expected: Option<i64>,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let before = get(conn, actor.org_id, id)?;
        crate::models::check_version(before.version, expected)?;
        diesel::delete(
            inbound_deliveries::table.filter(inbound_deliveries::integration_id.eq(id.to_string())),
        )
        .execute(conn)?;
        diesel::delete(
            integration_secrets::table
                .filter(integration_secrets::integration_id.eq(id.to_string())),
        )
        .execute(conn)?;
        diesel::delete(integrations::table.filter(integrations::id.eq(id.to_string())))
            .execute(conn)?;
        record(
            conn,
            actor,
            AuditAction::Delete,
            "integration",
            Some(&before),
            None,
        )
    })
}

/// What the webhook receiver needs before it trusts a body: the
/// integration (enabled, in any organisation: the id is the address) and
/// its opened secrets.
pub struct Receiver {
    pub org_id: OrgId,
    pub integration: Integration,
    pub secrets: Vec<(IntegrationSecretId, String)>,
}

pub fn receiver(
    conn: &mut DbConn,
    sealer: &Sealer,
    id: IntegrationId,
) -> Result<Option<Receiver>, StoreError> {
    let row: Option<Row> = integrations::table
        .filter(integrations::id.eq(id.to_string()))
        .filter(integrations::enabled.eq(true))
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let org_id = parse_id(&row.org_id)?;
    let secret_rows = secrets_of(conn, std::slice::from_ref(&row.id))?;
    let secrets = secret_rows
        .iter()
        .map(|s| {
            Ok((
                parse_id(&s.id)?,
                sealer.open(&secret_context(&row.id, &s.id), &s.sealed)?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(Some(Receiver {
        org_id,
        integration: row.into_record(secret_rows)?,
        secrets,
    }))
}

/// The ticket-creation token of an integration, opened.
pub fn outbound_token(
    conn: &mut DbConn,
    sealer: &Sealer,
    org: OrgId,
    id: IntegrationId,
) -> Result<Option<String>, StoreError> {
    let row = load_row(conn, org, id)?;
    row.outbound_token
        .as_deref()
        .map(|t| sealer.open(&token_context(&row.id), t))
        .transpose()
}

/// Notes that a secret verified a webhook (at most once a minute).
pub fn secret_used(conn: &mut DbConn, secret: IntegrationSecretId) -> Result<(), StoreError> {
    let now = time::now();
    diesel::update(
        integration_secrets::table
            .filter(integration_secrets::id.eq(secret.to_string()))
            .filter(
                integration_secrets::last_used_at
                    .is_null()
                    .or(integration_secrets::last_used_at.lt(now - chrono::Duration::seconds(60))),
            ),
    )
    .set(integration_secrets::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// The current treatments in the organisation that track this ticket.
pub fn treatments_for_ticket(
    conn: &mut DbConn,
    org: OrgId,
    system: IntegrationKind,
    key: &str,
) -> Result<Vec<(ModelId, TreatmentId)>, StoreError> {
    let rows: Vec<(String, String)> = treatments::table
        .inner_join(models::table)
        .filter(models::org_id.eq(org.to_string()))
        .filter(treatments::ticket_system.eq(system.as_str()))
        .filter(treatments::ticket_key.eq(key))
        .filter(treatments::superseded_by.is_null())
        .select((treatments::model_id, treatments::id))
        .order(treatments::id.asc())
        .limit(100)
        .load(conn)?;
    rows.into_iter()
        .map(|(m, t)| Ok((parse_id(&m)?, parse_id(&t)?)))
        .collect()
}

/// What became of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// Its delivery id was seen before.
    Duplicate,
    /// Recorded; nothing to do.
    Ignored,
    /// Recorded, and one job per treatment queued.
    Queued(Vec<palisade_domain::ids::JobId>),
}

/// The job that applies a ticket's state to one treatment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TicketChange {
    pub integration_id: IntegrationId,
    pub delivery_id: String,
    pub treatment_id: TreatmentId,
    pub ticket_key: String,
    pub ticket_state: String,
    pub to: TreatmentStatus,
}

impl crate::jobs::JobKind for TicketChange {
    const KIND: &'static str = "apply_ticket_state";
}

/// Records a delivery id and queues the jobs for the treatments it moves,
/// in one transaction; a delivery id already recorded changes nothing.
pub fn receive(
    conn: &mut DbConn,
    org: OrgId,
    integration: IntegrationId,
    delivery_id: &str,
    changes: Vec<(ModelId, TicketChange)>,
) -> Result<Received, StoreError> {
    write_tx(conn, |conn| {
        // The key decides: a second copy, even one arriving at the same
        // moment, inserts nothing and is the duplicate.
        let recorded = per_backend!(conn, |c| diesel::insert_into(inbound_deliveries::table)
            .values((
                inbound_deliveries::integration_id.eq(integration.to_string()),
                inbound_deliveries::delivery_id.eq(delivery_id),
                inbound_deliveries::job_id.eq(""),
                inbound_deliveries::received_at.eq(time::now()),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        if recorded == 0 {
            return Ok(Received::Duplicate);
        }
        let actor = Actor::system(org);
        let mut jobs = Vec::new();
        for (model, change) in &changes {
            jobs.push(crate::jobs::JobKind::enqueue(change, conn, &actor, *model)?.id);
        }
        let Some(first) = jobs.first() else {
            return Ok(Received::Ignored);
        };
        diesel::update(
            inbound_deliveries::table
                .filter(inbound_deliveries::integration_id.eq(integration.to_string()))
                .filter(inbound_deliveries::delivery_id.eq(delivery_id)),
        )
        .set(inbound_deliveries::job_id.eq(first.to_string()))
        .execute(conn)?;
        Ok(Received::Queued(jobs))
    })
}

/// Drops delivery ids older than [`DEDUP_HOURS`].
pub fn purge_deliveries(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let before = now - chrono::Duration::hours(DEDUP_HOURS);
    Ok(
        diesel::delete(
            inbound_deliveries::table.filter(inbound_deliveries::received_at.lt(before)),
        )
        .execute(conn)?,
    )
}

/// Applies a ticket's state to its treatment: the moves the state machine
/// allows on the way (never approval), each audited with the delivery id;
/// nothing when the treatment is there already or cannot get there.
/// Returns the statuses it passed through.
pub fn apply_ticket_state(
    conn: &mut DbConn,
    org: OrgId,
    model: ModelId,
    change: &TicketChange,
) -> Result<Vec<TreatmentStatus>, StoreError> {
    let actor = Actor {
        org_id: org,
        key_id: None,
        request_id: Some(format!("webhook:{}", change.delivery_id)),
        role: palisade_domain::role::Role::Editor,
    };
    write_tx(conn, |conn| {
        let current = Treatment::get(conn, org, model, change.treatment_id)?;
        if current.superseded_by.is_some() {
            return Ok(Vec::new());
        }
        let Some(moves) = palisade_domain::integration::moves(current.status, change.to) else {
            return Ok(Vec::new());
        };
        let note = format!(
            "ticket {} is {} (integration {}, delivery {})",
            change.ticket_key, change.ticket_state, change.integration_id, change.delivery_id
        );
        for to in &moves {
            crate::treatments::move_to(
                conn,
                &actor,
                model,
                change.treatment_id,
                None,
                *to,
                Some(note.clone()),
            )?;
        }
        Ok(moves)
    })
}

/// A new inbound secret of the form the kind's sender uses: `whsec_…` for
/// Standard Webhooks, 64 hex digits otherwise.
pub fn new_secret(kind: IntegrationKind) -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    if kind.standard_webhooks() {
        palisade_domain::signature::new_standard_secret(bytes)
    } else {
        palisade_domain::signature::new_token(bytes)
    }
}
