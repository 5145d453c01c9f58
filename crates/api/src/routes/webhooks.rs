//! Palisade's own webhooks (owner only): subscriptions, their deliveries
//! with every attempt, and a test event.

use actix_web::{web, HttpResponse};
use palisade_domain::ids::SubscriptionId;
use palisade_domain::webhook::{
    Delivery, EventType, OutboundPolicy, Subscription, SubscriptionFields,
};
use palisade_store::webhooks;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Owner;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::respond::{list_params, list_type, versioned, Created};
use crate::state::AppState;

use super::path_id;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/webhook-subscriptions" => { post: create_subscription, get: list_subscriptions },
        "/api/v1/webhook-subscriptions/{subscription_id}" => { get: get_subscription, patch: update_subscription, delete: delete_subscription },
        "/api/v1/webhook-subscriptions/{subscription_id}/deliveries" => { get: list_deliveries },
        "/api/v1/webhook-subscriptions/{subscription_id}/test" => { post: test_subscription },
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Where events are posted: https, on a public address (checked after
    /// DNS resolution now and again at each delivery).
    #[schema(max_length = 2048)]
    pub url: String,
    /// At least one; each once.
    pub events: Vec<EventType>,
    #[schema(max_length = 20000)]
    pub description: Option<String>,
    /// Default `true`.
    pub enabled: Option<bool>,
}

/// A new subscription: `secret` is shown in this response only.
#[derive(Serialize, ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    pub subscription: Subscription,
    /// The Standard Webhooks signing secret (`whsec_…`). Store it now: it
    /// cannot be shown again.
    pub secret: String,
}

/// The URL's form and, after resolving its name, every address (blocking:
/// run off the async threads).
fn check_url(policy: OutboundPolicy, url: &str) -> Result<(), ApiError> {
    let target = policy
        .target(url)
        .map_err(|e| ApiError::field("url", e.to_string()))?;
    let netloc = format!("{}:{}", target.host, target.port);
    policy
        .resolve(&netloc, |n| {
            std::net::ToSocketAddrs::to_socket_addrs(n).map(Iterator::collect::<Vec<_>>)
        })
        .map(|_| ())
        .map_err(|e| ApiError::field("url", e.to_string()))
}

async fn judge(state: &AppState, fields: &SubscriptionFields) -> Result<(), ApiError> {
    let policy = state.config.outbound;
    fields.validate(&policy)?;
    let url = fields.url.clone();
    web::block(move || check_url(policy, &url))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

/// Subscribe to the organisation's events (owner only). Deliveries are
/// signed with Standard Webhooks using the secret returned here, once. An
/// `Idempotency-Key` is refused: a replay would need the secret.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions", operation_id = "createWebhookSubscription", tag = "integrations",
    request_body = SubscriptionInput,
    responses((status = 201, description = "The subscription, with its secret shown once", body = CreatedSubscription,
        headers(("Location" = String, description = "The subscription's URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_subscription(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    idempotency_key: IdempotencyKey,
    body: JsonBody<SubscriptionInput>,
) -> Result<HttpResponse, ApiError> {
    if idempotency_key.0.is_some() {
        return Err(ApiError::field(
            "Idempotency-Key",
            "is not accepted when creating a webhook subscription: its secret is never kept in clear, so a retry could not be answered with it",
        ));
    }
    let input = body.value;
    let fields = SubscriptionFields {
        url: input.url,
        events: input.events,
        description: input.description,
        enabled: input.enabled.unwrap_or(true),
    };
    judge(&state, &fields).await?;
    let secret = webhooks::new_secret();
    let shown = secret.clone();
    let actor = auth.actor();
    let sealer = state.config.sealer.clone();
    let subscription = state
        .db(move |c| webhooks::create(c, &sealer, &actor, &fields, &secret))
        .await?;
    let location = format!("/api/v1/webhook-subscriptions/{}", subscription.id);
    let etag = crate::respond::etag(subscription.version);
    Ok(Created::new(
        location,
        Some(etag),
        &CreatedSubscription {
            subscription,
            secret: shown,
        },
    )?
    .once())
}

list_params!(SubscriptionParams sorted by SubscriptionSort { "url", "created_at" } {
});

list_type!(SubscriptionList, Subscription);

/// List the organisation's webhook subscriptions (owner only).
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions", operation_id = "listWebhookSubscriptions", tag = "integrations",
    params(SubscriptionParams),
    responses((status = 200, description = "A page of subscriptions", body = SubscriptionList)),
    security(("api_key" = [])))]
pub async fn list_subscriptions(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    query: StrictQuery<SubscriptionParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.0.page()?;
    let org = auth.org.id;
    let list = state.db(move |c| webhooks::list(c, org, &page)).await?;
    Ok(HttpResponse::Ok().json(SubscriptionList::from(list)))
}

/// Get a webhook subscription (owner only); its secret is never shown again.
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions/{subscription_id}", operation_id = "getWebhookSubscription", tag = "integrations",
    params(("subscription_id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription", body = Subscription,
        headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_subscription(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: SubscriptionId = path_id(&id)?;
    let org = auth.org.id;
    let s = state.db(move |c| webhooks::get(c, org, id)).await?;
    Ok(versioned(&s))
}

/// A merge patch of a subscription.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionPatch {
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    #[schema(max_length = 20000, nullable)]
    pub description: Option<String>,
    /// `true` turns a subscription Palisade turned off on again; the
    /// deliveries waiting resume.
    pub enabled: Option<bool>,
}

/// Change a webhook subscription (owner only; JSON merge patch). A new URL
/// is checked as on create.
#[utoipa::path(patch, path = "/api/v1/webhook-subscriptions/{subscription_id}", operation_id = "updateWebhookSubscription", tag = "integrations",
    request_body(content = SubscriptionPatch, content_type = "application/merge-patch+json"),
    params(("subscription_id" = uuid::Uuid, Path, description = "The subscription's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The subscription as changed", body = Subscription,
        headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn update_subscription(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let id: SubscriptionId = path_id(&id)?;
    let org = auth.org.id;
    let current = state.db(move |c| webhooks::get(c, org, id)).await?;
    let before = SubscriptionFields {
        url: current.url.clone(),
        events: current.events.clone(),
        description: current.description.clone(),
        enabled: current.enabled,
    };
    let fields: SubscriptionFields = crate::patch::apply(&before, body.value)?;
    if fields.url != before.url
        || fields.events != before.events
        || fields.description != before.description
    {
        judge(&state, &fields).await?;
    }
    let actor = auth.actor();
    let s = state
        .db(move |c| {
            webhooks::update(c, &actor, id, if_match.0, |now| {
                // Judged against what was read; a change between is a 412
                // for a client that sent If-Match, a retry otherwise.
                if *now != before {
                    return Err(palisade_store::StoreError::Conflict(
                        "the subscription was changed concurrently; retry".into(),
                    ));
                }
                Ok(fields)
            })
        })
        .await?;
    Ok(versioned(&s))
}

/// Delete a webhook subscription (owner only), with its deliveries.
#[utoipa::path(delete, path = "/api/v1/webhook-subscriptions/{subscription_id}", operation_id = "deleteWebhookSubscription", tag = "integrations",
    params(("subscription_id" = uuid::Uuid, Path, description = "The subscription's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_subscription(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id: SubscriptionId = path_id(&id)?;
    let actor = auth.actor();
    state
        .db(move |c| webhooks::delete(c, &actor, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(DeliveryList, Delivery);

/// List a subscription's deliveries, oldest first, each with every attempt
/// (status code, latency, error, the start of the answer) (owner only).
#[utoipa::path(get, path = "/api/v1/webhook-subscriptions/{subscription_id}/deliveries", operation_id = "listWebhookDeliveries", tag = "integrations",
    params(("subscription_id" = uuid::Uuid, Path, description = "The subscription's id"), DeliveryParams),
    responses((status = 200, description = "A page of deliveries", body = DeliveryList)),
    security(("api_key" = [])))]
pub async fn list_deliveries(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    query: StrictQuery<DeliveryParams>,
) -> Result<HttpResponse, ApiError> {
    let id: SubscriptionId = path_id(&id)?;
    let q = query.0;
    let page = crate::respond::page_request(q.limit, q.cursor.as_deref())?;
    let org = auth.org.id;
    let list = state
        .db(move |c| webhooks::deliveries(c, org, id, &page))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryList::from(list)))
}

/// The test event queued.
#[derive(Serialize, ToSchema)]
pub struct TestEvent {
    /// The `webhook-id` it is sent with.
    pub webhook_id: String,
}

/// Send a `webhook.test` event to this subscription alone (owner only); it
/// is delivered like any other and shows among the deliveries. A
/// subscription that is off is a 409: turn it on first.
#[utoipa::path(post, path = "/api/v1/webhook-subscriptions/{subscription_id}/test", operation_id = "testWebhookSubscription", tag = "integrations",
    params(("subscription_id" = uuid::Uuid, Path, description = "The subscription's id")),
    responses((status = 202, description = "The test event is queued", body = TestEvent),
        (status = 409, description = "The subscription is off", body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn test_subscription(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: SubscriptionId = path_id(&id)?;
    let org = auth.org.id;
    let event = state
        .db(move |c| {
            palisade_store::db::write_tx(c, |c| {
                let s = webhooks::get(c, org, id)?;
                if !s.enabled {
                    return Err(palisade_store::StoreError::Conflict(format!(
                        "the subscription is off ({}): turn it on first",
                        s.disabled_reason.as_deref().unwrap_or("by hand")
                    )));
                }
                palisade_store::events::record_event(
                    c,
                    org,
                    None,
                    EventType::Ping,
                    serde_json::json!({ "subscription_id": id, "message": "a test event from Palisade" }),
                    Some(id),
                )
            })
        })
        .await?;
    let webhook_id = event.map(|e| e.to_string()).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Accepted().json(TestEvent { webhook_id }))
}
