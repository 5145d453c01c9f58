//! Palisade's own events: each recorded in the transaction of the change
//! that causes it, with one delivery row per subscription that asked for
//! it, the first of its lane claimed at once with a `deliver_webhook` job
//! (decision 0012). Every module that emits an event calls this one; it
//! calls none of them back.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{DeliveryId, EventId, ModelId, OrgId, SubscriptionId};
use palisade_domain::webhook::{DeliveryStatus, EventType};

use crate::db::{write_tx, DbConn};
use crate::queue::JobKind;
use crate::schema::{domain_events, webhook_deliveries, webhook_subscriptions};
use crate::{parse_enum, parse_id, time, Actor, StoreError};

/// The job that attempts a lane's deliveries, starting with the one it
/// was queued for (it then works on whichever delivery it holds).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DeliverWebhook {
    pub delivery_id: DeliveryId,
}

impl JobKind for DeliverWebhook {
    const KIND: &'static str = "deliver_webhook";
}

/// How long a claimed delivery is held for its job; past it, another
/// worker may claim it again (its job was lost).
pub const LEASE_SECONDS: i64 = 600;

/// Whether any enabled subscription of the organisation asks for `event`:
/// work that only feeds an event (reading what a register row was) is
/// skipped when nobody listens.
pub fn wanted(conn: &mut DbConn, org: OrgId, event: EventType) -> Result<bool, StoreError> {
    let lists: Vec<String> = webhook_subscriptions::table
        .filter(webhook_subscriptions::org_id.eq(org.to_string()))
        .filter(webhook_subscriptions::enabled.eq(true))
        .select(webhook_subscriptions::events)
        .load(conn)?;
    let name = format!("\"{}\"", event.as_str());
    Ok(lists.iter().any(|l| l.contains(&name)))
}

/// Records an event of the organisation: one delivery for each enabled
/// subscription that asked for its type (or for `only`, whatever it asked
/// for). An event no subscription wants is not kept. Call inside the
/// transaction of the change itself, so that the change and its event
/// commit together or not at all.
pub fn record_event(
    conn: &mut DbConn,
    org: OrgId,
    model: Option<ModelId>,
    event: EventType,
    data: serde_json::Value,
    only: Option<SubscriptionId>,
) -> Result<Option<EventId>, StoreError> {
    let mut query = webhook_subscriptions::table
        .filter(webhook_subscriptions::org_id.eq(org.to_string()))
        .filter(webhook_subscriptions::enabled.eq(true))
        .select((webhook_subscriptions::id, webhook_subscriptions::events))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(webhook_subscriptions::id.eq(id.to_string()));
    }
    let subscriptions: Vec<(String, String)> = query.load(conn)?;
    let mut targets = Vec::new();
    for (id, events) in subscriptions {
        if only.is_some() || event_list(&events)?.contains(&event) {
            targets.push(id);
        }
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let id = EventId::generate();
    let now = time::now();
    let body = serde_json::json!({
        "id": id,
        "type": event,
        "timestamp": time::utc(now).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "model_id": model,
        "data": data,
    })
    .to_string();
    diesel::insert_into(domain_events::table)
        .values((
            domain_events::id.eq(id.to_string()),
            domain_events::org_id.eq(org.to_string()),
            domain_events::model_id.eq(model.map(|m| m.to_string())),
            domain_events::event_type.eq(event.as_str()),
            domain_events::payload.eq(&body),
            domain_events::created_at.eq(now),
        ))
        .execute(conn)?;
    let lane = model.map(|m| m.to_string()).unwrap_or_default();
    for subscription in targets {
        let delivery = DeliveryId::generate().to_string();
        // Nothing ahead of it in its lane: its job is queued with the
        // change, not at the dispatcher's next look.
        let ahead: i64 = webhook_deliveries::table
            .filter(webhook_deliveries::subscription_id.eq(&subscription))
            .filter(webhook_deliveries::lane.eq(&lane))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .count()
            .get_result(conn)?;
        diesel::insert_into(webhook_deliveries::table)
            .values((
                webhook_deliveries::id.eq(&delivery),
                webhook_deliveries::subscription_id.eq(subscription),
                webhook_deliveries::event_id.eq(id.to_string()),
                webhook_deliveries::event_type.eq(event.as_str()),
                webhook_deliveries::lane.eq(&lane),
                webhook_deliveries::body.eq(&body),
                webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
                webhook_deliveries::attempts.eq(0),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::created_at.eq(now),
                webhook_deliveries::updated_at.eq(now),
            ))
            .execute(conn)?;
        if ahead == 0 {
            claim(conn, &delivery, &lane, org, now)?;
        }
    }
    Ok(Some(id))
}

/// Claims one delivery with a new `deliver_webhook` job, unless another
/// dispatcher holds it (then nothing is written).
pub(crate) fn claim(
    conn: &mut DbConn,
    id: &str,
    lane: &str,
    org: OrgId,
    now: NaiveDateTime,
) -> Result<bool, StoreError> {
    let pending = DeliveryStatus::Pending.as_str();
    let model: Option<ModelId> = if lane.is_empty() {
        None
    } else {
        Some(parse_id(lane)?)
    };
    let outcome = write_tx(conn, |conn| {
        let job = DeliverWebhook {
            delivery_id: parse_id(id)?,
        }
        .enqueue_in(conn, &Actor::system(org), model)?;
        let n = diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::id.eq(id))
                .filter(webhook_deliveries::status.eq(pending))
                .filter(
                    webhook_deliveries::claimed_until
                        .is_null()
                        .or(webhook_deliveries::claimed_until.lt(now)),
                ),
        )
        .set((
            webhook_deliveries::claimed_until.eq(now + chrono::Duration::seconds(LEASE_SECONDS)),
            webhook_deliveries::job_id.eq(job.id.to_string()),
            webhook_deliveries::updated_at.eq(time::now()),
        ))
        .execute(conn)?;
        if n == 1 {
            Ok(())
        } else {
            // Another dispatcher took it first: drop this job with the transaction.
            Err(StoreError::Conflict("claimed elsewhere".into()))
        }
    });
    match outcome {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A subscription's event types, as stored (a JSON list of names).
pub(crate) fn event_list(stored: &str) -> Result<Vec<EventType>, StoreError> {
    let names: Vec<String> = serde_json::from_str(stored)?;
    names
        .iter()
        .map(|n| parse_enum(n, EventType::parse))
        .collect()
}
