//! Palisade's own webhooks: subscriptions with their sealed `whsec_`
//! secret, the domain events written in the transaction of the change that
//! causes them (one delivery row per subscribed subscription, its body fixed
//! then), and the delivery lifecycle the worker drives: a due delivery at
//! the head of its lane is claimed with a `deliver_webhook` job, each try is
//! logged, and the outcome decides what comes next.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{DeliveryId, OrgId, SubscriptionId};
use palisade_domain::webhook::{
    Attempt, Delivery, DeliveryStatus, EventType, Outcome, Subscription, SubscriptionFields,
};

use crate::db::{write_tx, DbConn};
use crate::events::{claim, record_event};
pub use crate::events::{DeliverWebhook, LEASE_SECONDS};
use crate::queue::JobKind;
use crate::schema::{domain_events, webhook_attempts, webhook_deliveries, webhook_subscriptions};
use crate::sealed::Sealer;
use crate::{audit, parse_enum, parse_id, per_backend, time, Actor, Page, PageRequest, StoreError};

/// Events and finished deliveries are kept this long.
pub const RETENTION_DAYS: i64 = 30;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_subscriptions)]
struct SubscriptionRow {
    id: String,
    org_id: String,
    url: String,
    events: String,
    description: Option<String>,
    enabled: bool,
    disabled_reason: Option<String>,
    secret: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn secret_context(subscription: &str) -> String {
    format!("webhook_subscription:{subscription}")
}

impl SubscriptionRow {
    fn events(&self) -> Result<Vec<EventType>, StoreError> {
        crate::events::event_list(&self.events)
    }

    fn into_record(self) -> Result<Subscription, StoreError> {
        Ok(Subscription {
            id: parse_id(&self.id)?,
            events: self.events()?,
            url: self.url,
            description: self.description,
            enabled: self.enabled,
            disabled_reason: self.disabled_reason,
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn event_names(events: &[EventType]) -> Result<String, StoreError> {
    Ok(serde_json::to_string(
        &events.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
    )?)
}

fn load(conn: &mut DbConn, org: OrgId, id: SubscriptionId) -> Result<SubscriptionRow, StoreError> {
    Ok(webhook_subscriptions::table
        .filter(webhook_subscriptions::id.eq(id.to_string()))
        .filter(webhook_subscriptions::org_id.eq(org.to_string()))
        .select(SubscriptionRow::as_select())
        .first(conn)?)
}

fn record_change(
    conn: &mut DbConn,
    actor: &Actor,
    action: AuditAction,
    before: Option<&Subscription>,
    after: Option<&Subscription>,
) -> Result<(), StoreError> {
    let Some(id) = after.or(before).map(|s| s.id) else {
        return Ok(());
    };
    let change = audit::Change::of_org("webhook_subscription", action, id, before, after)?;
    audit::record(conn, actor, change)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: SubscriptionId) -> Result<Subscription, StoreError> {
    load(conn, org, id)?.into_record()
}

/// Creates a subscription with its signing secret (sealed).
pub fn create(
    conn: &mut DbConn,
    sealer: &Sealer,
    actor: &Actor,
    fields: &SubscriptionFields,
    secret: &str,
) -> Result<Subscription, StoreError> {
    let now = time::now();
    let id = SubscriptionId::generate().to_string();
    let row = SubscriptionRow {
        id: id.clone(),
        org_id: actor.org_id.to_string(),
        url: fields.url.clone(),
        events: event_names(&fields.events)?,
        description: fields.description.clone(),
        enabled: fields.enabled,
        disabled_reason: None,
        secret: sealer.seal(&secret_context(&id), secret)?,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    write_tx(conn, |conn| {
        diesel::insert_into(webhook_subscriptions::table)
            .values(&row)
            .execute(conn)?;
        let created = get(conn, actor.org_id, parse_id(&id)?)?;
        record_change(conn, actor, AuditAction::Create, None, Some(&created))?;
        Ok(created)
    })
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    page: &PageRequest,
) -> Result<Page<Subscription>, StoreError> {
    let org = org.to_string();
    let filtered = || {
        webhook_subscriptions::table
            .filter(webhook_subscriptions::org_id.eq(org.clone()))
            .into_boxed()
    };
    crate::list_page!(conn, page, webhook_subscriptions, SubscriptionRow, webhook_subscriptions::org_id.eq(org.clone()), filtered, {
        "url" => (webhook_subscriptions::url, String),
        "created_at" => (webhook_subscriptions::created_at, NaiveDateTime),
    })
    .try_map(SubscriptionRow::into_record)
}

/// Changes a subscription; turning it on clears why it was turned off.
pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: SubscriptionId,
    expected: Option<i64>,
    change: impl FnOnce(&SubscriptionFields) -> Result<SubscriptionFields, StoreError>,
) -> Result<Subscription, StoreError> {
    write_tx(conn, |conn| {
        let before = get(conn, actor.org_id, id)?;
        let fields = change(&SubscriptionFields {
            url: before.url.clone(),
            events: before.events.clone(),
            description: before.description.clone(),
            enabled: before.enabled,
        })?;
        crate::models::check_version(before.version, expected)?;
        let reason = if fields.enabled {
            None
        } else {
            before.disabled_reason.clone()
        };
        let n = diesel::update(
            webhook_subscriptions::table
                .filter(webhook_subscriptions::id.eq(id.to_string()))
                .filter(webhook_subscriptions::version.eq(before.version)),
        )
        .set((
            webhook_subscriptions::url.eq(&fields.url),
            webhook_subscriptions::events.eq(event_names(&fields.events)?),
            webhook_subscriptions::description.eq(&fields.description),
            webhook_subscriptions::enabled.eq(fields.enabled),
            webhook_subscriptions::disabled_reason.eq(reason),
            webhook_subscriptions::version.eq(before.version + 1),
            webhook_subscriptions::updated_at.eq(time::now()),
        ))
        .execute(conn)?;
        if n != 1 {
            return Err(StoreError::Conflict(
                "the subscription was changed concurrently; retry".into(),
            ));
        }
        if fields.enabled && !before.enabled {
            // Claims taken while it was off lapse now, not at their lease's end.
            diesel::update(
                webhook_deliveries::table
                    .filter(webhook_deliveries::subscription_id.eq(id.to_string()))
                    .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
            )
            .set((
                webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
                webhook_deliveries::job_id.eq(None::<String>),
            ))
            .execute(conn)?;
        }
        let after = get(conn, actor.org_id, id)?;
        record_change(
            conn,
            actor,
            AuditAction::Update,
            Some(&before),
            Some(&after),
        )?;
        Ok(after)
    })
}

/// Deletes a subscription with its deliveries and their attempts.
pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    id: SubscriptionId,
    expected: Option<i64>,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let before = get(conn, actor.org_id, id)?;
        crate::models::check_version(before.version, expected)?;
        let deliveries = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(id.to_string()))
            .select(webhook_deliveries::id);
        diesel::delete(
            webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(deliveries)),
        )
        .execute(conn)?;
        diesel::delete(
            webhook_deliveries::table
                .filter(webhook_deliveries::subscription_id.eq(id.to_string())),
        )
        .execute(conn)?;
        diesel::delete(
            webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(id.to_string())),
        )
        .execute(conn)?;
        record_change(conn, actor, AuditAction::Delete, Some(&before), None)
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: String,
    subscription_id: String,
    event_id: String,
    event_type: String,
    lane: String,
    body: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    job_id: Option<String>,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
struct AttemptRow {
    delivery_id: String,
    attempt: i32,
    started_at: NaiveDateTime,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    response_excerpt: Option<String>,
}

impl AttemptRow {
    fn into_attempt(self) -> Attempt {
        Attempt {
            attempt: self.attempt,
            started_at: time::utc(self.started_at),
            status_code: self.status_code,
            latency_ms: self.latency_ms,
            error: self.error,
            response_excerpt: self.response_excerpt,
        }
    }
}

/// A subscription's deliveries, oldest first, each with its attempts.
pub fn deliveries(
    conn: &mut DbConn,
    org: OrgId,
    id: SubscriptionId,
    page: &PageRequest,
) -> Result<Page<Delivery>, StoreError> {
    load(conn, org, id)?;
    let sub = id.to_string();
    let filtered = || {
        webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(sub.clone()))
            .into_boxed()
    };
    let rows = crate::list_page!(
        conn,
        page,
        webhook_deliveries,
        DeliveryRow,
        webhook_deliveries::subscription_id.eq(sub.clone()),
        filtered,
        {}
    );
    let ids: Vec<String> = rows.items.iter().map(|r| r.id.clone()).collect();
    let mut attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::attempt))
        .select(AttemptRow::as_select())
        .load(conn)?;
    rows.try_map(|row| {
        let (mine, rest): (Vec<AttemptRow>, Vec<AttemptRow>) = std::mem::take(&mut attempts)
            .into_iter()
            .partition(|a| a.delivery_id == row.id);
        attempts = rest;
        let status = parse_enum(&row.status, DeliveryStatus::parse)?;
        Ok(Delivery {
            id: parse_id(&row.id)?,
            webhook_id: row.event_id,
            event_type: parse_enum(&row.event_type, EventType::parse)?,
            next_attempt_at: (status == DeliveryStatus::Pending)
                .then(|| time::utc(row.next_attempt_at)),
            status,
            attempts: mine.into_iter().map(AttemptRow::into_attempt).collect(),
            created_at: time::utc(row.created_at),
        })
    })
}

/// Claims the deliveries that are due and at the head of their lane (no
/// earlier delivery of the same subscription and model still pending), of
/// enabled subscriptions, with a `deliver_webhook` job each; at most
/// `limit`. Several dispatchers at once claim each delivery once.
pub fn dispatch(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> Result<usize, StoreError> {
    let pending = DeliveryStatus::Pending.as_str();
    let earlier = diesel::alias!(webhook_deliveries as earlier);
    let heads: Vec<(String, String, String)> = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_subscriptions::enabled.eq(true))
        .filter(webhook_deliveries::status.eq(pending))
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(
            webhook_deliveries::claimed_until
                .is_null()
                .or(webhook_deliveries::claimed_until.lt(now)),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(
            earlier
                .filter(
                    earlier
                        .field(webhook_deliveries::subscription_id)
                        .eq(webhook_deliveries::subscription_id),
                )
                .filter(
                    earlier
                        .field(webhook_deliveries::lane)
                        .eq(webhook_deliveries::lane),
                )
                .filter(earlier.field(webhook_deliveries::status).eq(pending))
                .filter(
                    earlier
                        .field(webhook_deliveries::created_at)
                        .lt(webhook_deliveries::created_at)
                        .or(earlier
                            .field(webhook_deliveries::created_at)
                            .eq(webhook_deliveries::created_at)
                            .and(
                                earlier
                                    .field(webhook_deliveries::id)
                                    .lt(webhook_deliveries::id),
                            )),
                ),
        )))
        .order((
            webhook_deliveries::created_at.asc(),
            webhook_deliveries::id.asc(),
        ))
        .limit(limit)
        .select((
            webhook_deliveries::id,
            webhook_deliveries::lane,
            webhook_subscriptions::org_id,
        ))
        .load(conn)?;
    let mut claimed = 0;
    for (id, lane, org) in heads {
        claimed += usize::from(claim(conn, &id, &lane, parse_id(&org)?, now)?);
    }
    Ok(claimed)
}

/// What one attempt needs, read by the job that holds the delivery.
#[derive(Debug, Clone)]
pub struct Work {
    pub subscription_id: SubscriptionId,
    pub url: String,
    pub secret: String,
    pub webhook_id: String,
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
}

/// The delivery job `job` holds, as it should try it; `None` when it holds
/// none any more (delivered, failed, claimed again after its lease) or its
/// subscription is off. A job that drains its lane holds one at a time.
pub fn start_attempt(
    conn: &mut DbConn,
    sealer: &Sealer,
    job: &str,
) -> Result<Option<(DeliveryId, Work)>, StoreError> {
    let found: Option<(DeliveryRow, SubscriptionRow)> = webhook_deliveries::table
        .inner_join(webhook_subscriptions::table)
        .filter(webhook_deliveries::job_id.eq(job))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .select((DeliveryRow::as_select(), SubscriptionRow::as_select()))
        .first(conn)
        .optional()?;
    let Some((d, s)) = found else { return Ok(None) };
    if !s.enabled {
        return Ok(None);
    }
    Ok(Some((
        parse_id(&d.id)?,
        Work {
            subscription_id: parse_id(&s.id)?,
            secret: sealer.open(&secret_context(&s.id), &s.secret)?,
            url: s.url,
            webhook_id: d.event_id,
            body: d.body,
            attempt: d.attempts + 1,
        },
    )))
}

/// How a finished attempt went.
#[derive(Debug, Clone)]
pub struct Tried {
    pub started_at: NaiveDateTime,
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub retry_after: Option<std::time::Duration>,
}

/// When and how often a failed delivery is tried again.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: std::time::Duration,
    pub max_attempts: u32,
}

/// Logs an attempt and moves the delivery on: delivered; failed for good
/// (410: the subscription is turned off; the last attempt failed: turned
/// off too, and a `job.failed` event recorded); or due again after the
/// back-off. Only the job holding the delivery may do so. A delivered one
/// hands its lane's next due delivery on: to the same job when `keep` (it
/// goes on draining the lane), else to a new one. Returns the delivery's
/// status after it.
#[allow(clippy::too_many_arguments)]
pub fn finish_attempt(
    conn: &mut DbConn,
    id: DeliveryId,
    job: &str,
    work: &Work,
    tried: &Tried,
    policy: RetryPolicy,
    jitter: f64,
    keep: bool,
) -> Result<DeliveryStatus, StoreError> {
    write_tx(conn, |conn| {
        let row: DeliveryRow = webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id.to_string()))
            .select(DeliveryRow::as_select())
            .first(conn)?;
        if row.status != DeliveryStatus::Pending.as_str() || row.job_id.as_deref() != Some(job) {
            return parse_enum(&row.status, DeliveryStatus::parse);
        }
        per_backend!(conn, |c| diesel::insert_into(webhook_attempts::table)
            .values((
                webhook_attempts::delivery_id.eq(id.to_string()),
                webhook_attempts::attempt.eq(work.attempt),
                webhook_attempts::started_at.eq(tried.started_at),
                webhook_attempts::status_code.eq(tried.status_code.map(i32::from)),
                webhook_attempts::latency_ms.eq(tried.latency_ms),
                webhook_attempts::error.eq(&tried.error),
                webhook_attempts::response_excerpt.eq(&tried.response_excerpt),
            ))
            .on_conflict_do_nothing()
            .execute(c))?;
        let now = time::now();
        let outcome = palisade_domain::webhook::outcome(tried.status_code);
        let exhausted = u32::try_from(work.attempt).unwrap_or(u32::MAX) >= policy.max_attempts;
        let (status, next, off) = match outcome {
            Outcome::Delivered => (DeliveryStatus::Delivered, now, None),
            Outcome::Gone => (
                DeliveryStatus::Failed,
                now,
                Some("the receiver answered 410 Gone".to_string()),
            ),
            Outcome::Failed if exhausted => (
                DeliveryStatus::Failed,
                now,
                Some(format!(
                    "{} attempts at a delivery failed; the last: {}",
                    work.attempt,
                    tried.error.as_deref().unwrap_or("no answer")
                )),
            ),
            Outcome::Failed => {
                let attempt = u32::try_from(work.attempt).unwrap_or(1);
                let wait = palisade_domain::webhook::retry_delay(
                    attempt,
                    policy.base,
                    jitter,
                    tried.retry_after,
                );
                let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1));
                (DeliveryStatus::Pending, now + wait, None)
            }
        };
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq(id.to_string())))
            .set((
                webhook_deliveries::status.eq(status.as_str()),
                webhook_deliveries::attempts.eq(work.attempt),
                webhook_deliveries::next_attempt_at.eq(next),
                webhook_deliveries::claimed_until.eq(None::<NaiveDateTime>),
                webhook_deliveries::job_id.eq(None::<String>),
                webhook_deliveries::updated_at.eq(now),
            ))
            .execute(conn)?;
        if status == DeliveryStatus::Delivered {
            // The lane's next delivery goes now, not at the dispatcher's next look.
            let next: Option<(String, NaiveDateTime)> = webhook_deliveries::table
                .filter(webhook_deliveries::subscription_id.eq(&row.subscription_id))
                .filter(webhook_deliveries::lane.eq(&row.lane))
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
                .order((
                    webhook_deliveries::created_at.asc(),
                    webhook_deliveries::id.asc(),
                ))
                .select((webhook_deliveries::id, webhook_deliveries::next_attempt_at))
                .first(conn)
                .optional()?;
            if let Some((next, _)) = next.filter(|(_, due)| *due <= now) {
                let org: String = webhook_subscriptions::table
                    .filter(webhook_subscriptions::id.eq(&row.subscription_id))
                    .select(webhook_subscriptions::org_id)
                    .first(conn)?;
                if keep {
                    diesel::update(
                        webhook_deliveries::table
                            .filter(webhook_deliveries::id.eq(&next))
                            .filter(
                                webhook_deliveries::claimed_until
                                    .is_null()
                                    .or(webhook_deliveries::claimed_until.lt(now)),
                            ),
                    )
                    .set((
                        webhook_deliveries::claimed_until
                            .eq(now + chrono::Duration::seconds(LEASE_SECONDS)),
                        webhook_deliveries::job_id.eq(job),
                        webhook_deliveries::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                } else {
                    claim(conn, &next, &row.lane, parse_id(&org)?, now)?;
                }
            }
        }
        if let Some(reason) = off {
            let sub: SubscriptionRow = webhook_subscriptions::table
                .filter(webhook_subscriptions::id.eq(&row.subscription_id))
                .select(SubscriptionRow::as_select())
                .first(conn)?;
            diesel::update(
                webhook_subscriptions::table.filter(webhook_subscriptions::id.eq(&sub.id)),
            )
            .set((
                webhook_subscriptions::enabled.eq(false),
                webhook_subscriptions::disabled_reason.eq(&reason),
                webhook_subscriptions::version.eq(sub.version + 1),
                webhook_subscriptions::updated_at.eq(now),
            ))
            .execute(conn)?;
            let org: OrgId = parse_id(&sub.org_id)?;
            let before = sub.into_record()?;
            let after = get(conn, org, before.id)?;
            record_change(
                conn,
                &Actor::system(org),
                AuditAction::Update,
                Some(&before),
                Some(&after),
            )?;
            if outcome == Outcome::Failed {
                let model = if row.lane.is_empty() {
                    None
                } else {
                    Some(parse_id(&row.lane)?)
                };
                record_event(
                    conn,
                    org,
                    model,
                    EventType::JobFailed,
                    serde_json::json!({
                        "kind": DeliverWebhook::KIND,
                        "job_id": job,
                        "subscription_id": before.id,
                        "delivery_id": id,
                        "error": reason,
                    }),
                    None,
                )?;
            }
        }
        Ok(status)
    })
}

/// Drops events and finished deliveries older than [`RETENTION_DAYS`].
pub fn purge(conn: &mut DbConn, now: NaiveDateTime) -> Result<usize, StoreError> {
    let before = now - chrono::Duration::days(RETENTION_DAYS);
    let finished = webhook_deliveries::table
        .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
        .filter(webhook_deliveries::updated_at.lt(before))
        .select(webhook_deliveries::id);
    diesel::delete(webhook_attempts::table.filter(webhook_attempts::delivery_id.eq_any(finished)))
        .execute(conn)?;
    let n = diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::updated_at.lt(before)),
    )
    .execute(conn)?;
    diesel::delete(domain_events::table.filter(domain_events::created_at.lt(before)))
        .execute(conn)?;
    Ok(n)
}

/// A new signing secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    palisade_domain::signature::new_standard_secret(bytes)
}
