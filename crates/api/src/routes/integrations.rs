//! Ticketing integrations (owner only) and their inbound webhook, which
//! authenticates by signature instead of an API key.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::ids::{IntegrationId, JobId};
use palisade_domain::integration::{
    ticket_event, Integration, IntegrationFields, IntegrationKind, OutboundSettings,
};
use palisade_domain::signature;
use palisade_domain::treatment::TreatmentStatus;
use palisade_domain::ValidationErrors;
use palisade_store::integrations::{self, Received, TicketChange};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::Owner;
use crate::error::ApiError;
use crate::extract::{IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::respond::{list_params, list_type, versioned, Created};
use crate::state::AppState;

use super::path_id;

/// Inbound webhook bodies are refused past this size (413).
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/integrations" => { post: create_integration, get: list_integrations },
        "/api/v1/integrations/{integration_id}" => { get: get_integration, patch: update_integration, delete: delete_integration },
        "/api/v1/integrations/{integration_id}/secrets" => { post: rotate_integration_secret },
        "/api/v1/integrations/{integration_id}/webhook" => { post: receive_webhook },
    },
}

/// Ticket creation settings with the token, which is write-only.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundInput {
    #[schema(max_length = 2048)]
    pub base_url: String,
    /// The Jira project key (`SEC`) or the GitHub repository (`owner/repo`).
    #[schema(min_length = 1, max_length = 200)]
    pub project: String,
    #[schema(min_length = 1, max_length = 200)]
    pub issue_type: Option<String>,
    /// Jira: the account e-mail the API token belongs to.
    #[schema(min_length = 1, max_length = 200)]
    pub username: Option<String>,
    /// The API token (Jira) or access token (GitHub). Write-only; stored
    /// sealed. Leave it out in a PATCH to keep the stored one.
    #[schema(min_length = 1, max_length = 1024, write_only)]
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationInput {
    pub kind: IntegrationKind,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The inbound secret the system signs with (GitHub and Jira webhook
    /// secret, GitLab token, Standard Webhooks `whsec_…`): 1–256
    /// characters, spaces allowed, no control characters. Left out, one is
    /// generated and returned once.
    #[schema(
        min_length = 1,
        max_length = 256,
        write_only,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub secret: Option<String>,
    /// Ticket state → treatment status; left out, the kind's defaults.
    #[schema(value_type = Option<BTreeMap<String, TreatmentStatus>>)]
    pub status_mapping: Option<BTreeMap<String, TreatmentStatus>>,
    /// Default `true`.
    pub enabled: Option<bool>,
    pub outbound: Option<OutboundInput>,
}

/// The integration, with its inbound secret when Palisade generated it:
/// shown in this response only.
#[derive(Serialize, ToSchema)]
pub struct CreatedIntegration {
    #[serde(flatten)]
    pub integration: Integration,
    /// The generated inbound secret. Store it now: it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn check_secret(errors: &mut ValidationErrors, field: &str, kind: IntegrationKind, secret: &str) {
    // The senders take any printable text (GitHub documents its example
    // with "It's a Secret to Everybody"), so only what cannot be typed
    // into their settings, or cannot be stored, is refused.
    let n = secret.chars().count();
    if !(1..=256).contains(&n) {
        errors.add(field, "a secret is 1–256 characters");
    } else if secret.chars().any(char::is_control) {
        errors.add(field, "a secret takes no control characters");
    } else if kind.standard_webhooks()
        && (!secret.starts_with("whsec_") || signature::standard_key(secret).len() < 24)
    {
        errors.add(
            field,
            "a Standard Webhooks secret is whsec_ followed by base64 of at least 24 bytes; leave it out to have one generated",
        );
    }
}

fn check_token(errors: &mut ValidationErrors, token: &str) {
    let n = token.chars().count();
    if !(1..=1024).contains(&n) || token.chars().any(char::is_control) {
        errors.add(
            "outbound.token",
            "a token is 1–1024 characters without control characters",
        );
    }
}

fn outbound_settings(
    state: &AppState,
    errors: &mut ValidationErrors,
    o: &OutboundInput,
) -> OutboundSettings {
    if let Err(why) = state.config.outbound.target(&o.base_url) {
        errors.add("outbound.base_url", why.to_string());
    }
    if let Some(t) = &o.token {
        check_token(errors, t);
    }
    OutboundSettings {
        base_url: o.base_url.trim_end_matches('/').to_string(),
        project: o.project.clone(),
        issue_type: o.issue_type.clone(),
        username: o.username.clone(),
    }
}

/// Register a ticketing system (owner only). Its webhooks go to
/// `webhook_url`, signed with the secret (given, or generated and shown
/// in this response only). An `Idempotency-Key` is refused: a replay
/// would need the secret, which is never kept in clear.
#[utoipa::path(post, path = "/api/v1/integrations", operation_id = "createIntegration", tag = "integrations",
    request_body = IntegrationInput,
    responses((status = 201, description = "The integration (and a generated secret, once)", body = CreatedIntegration,
        headers(("Location" = String, description = "The integration's URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn create_integration(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    idempotency_key: IdempotencyKey,
    body: JsonBody<IntegrationInput>,
) -> Result<HttpResponse, ApiError> {
    if idempotency_key.0.is_some() {
        return Err(ApiError::field(
            "Idempotency-Key",
            "is not accepted when creating an integration: its secret is never kept in clear, so a retry could not be answered with it",
        ));
    }
    let input = body.value;
    let mut errors = ValidationErrors::new();
    if let Some(s) = &input.secret {
        check_secret(&mut errors, "secret", input.kind, s);
    }
    let outbound = input
        .outbound
        .as_ref()
        .map(|o| outbound_settings(&state, &mut errors, o));
    if input.outbound.as_ref().is_some_and(|o| o.token.is_none()) {
        errors.add("outbound.token", "is needed to open tickets");
    }
    let fields = IntegrationFields {
        kind: input.kind,
        name: input.name,
        status_mapping: input
            .status_mapping
            .unwrap_or_else(|| input.kind.default_mapping()),
        enabled: input.enabled.unwrap_or(true),
        outbound,
    };
    if let Err(e) = fields.validate() {
        errors.0.extend(e.0);
    }
    errors.finish()?;
    let generated = input.secret.is_none();
    let secret = input
        .secret
        .unwrap_or_else(|| integrations::new_secret(input.kind));
    let token = input.outbound.and_then(|o| o.token);
    let actor = auth.actor();
    let sealer = state.config.sealer.clone();
    let shown = secret.clone();
    let integration = state
        .db(move |c| integrations::create(c, &sealer, &actor, &fields, &secret, token.as_deref()))
        .await?;
    let location = format!("/api/v1/integrations/{}", integration.id);
    let version = integration.version;
    Ok(Created::new(
        location,
        Some(crate::respond::etag(version)),
        &CreatedIntegration {
            integration,
            secret: generated.then_some(shown),
        },
    )?
    .once())
}

list_params!(IntegrationParams sorted by IntegrationSort { "name", "kind", "created_at" } {
});

list_type!(IntegrationList, Integration);

/// List the organisation's integrations (owner only); secrets are never listed.
#[utoipa::path(get, path = "/api/v1/integrations", operation_id = "listIntegrations", tag = "integrations",
    params(IntegrationParams),
    responses((status = 200, description = "A page of integrations", body = IntegrationList)),
    security(("api_key" = [])))]
pub async fn list_integrations(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    query: StrictQuery<IntegrationParams>,
) -> Result<HttpResponse, ApiError> {
    let page = query.0.page()?;
    let org = auth.org.id;
    let list = state.db(move |c| integrations::list(c, org, &page)).await?;
    Ok(HttpResponse::Ok().json(IntegrationList::from(list)))
}

/// Get an integration (owner only).
#[utoipa::path(get, path = "/api/v1/integrations/{integration_id}", operation_id = "getIntegration", tag = "integrations",
    params(("integration_id" = uuid::Uuid, Path, description = "The integration's id")),
    responses((status = 200, description = "The integration", body = Integration,
        headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn get_integration(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id: IntegrationId = path_id(&id)?;
    let org = auth.org.id;
    let integration = state.db(move |c| integrations::get(c, org, id)).await?;
    Ok(versioned(&integration))
}

/// The editable view of an integration, for a merge patch.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Editable {
    name: String,
    status_mapping: BTreeMap<String, TreatmentStatus>,
    enabled: bool,
    outbound: Option<OutboundSettings>,
}

/// A merge patch of an integration.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Merged entry by entry: a state given a status is set, one given
    /// `null` is removed, the others stay.
    #[schema(value_type = Option<BTreeMap<String, TreatmentStatus>>)]
    pub status_mapping: Option<BTreeMap<String, TreatmentStatus>>,
    pub enabled: Option<bool>,
    /// `null` stops ticket creation and forgets the token.
    #[schema(nullable)]
    pub outbound: Option<OutboundInput>,
}

/// Change an integration (owner only; JSON merge patch; `kind` cannot
/// change). Secrets change by `POST …/secrets`.
#[utoipa::path(patch, path = "/api/v1/integrations/{integration_id}", operation_id = "updateIntegration", tag = "integrations",
    request_body(content = IntegrationPatch, content_type = "application/merge-patch+json"),
    params(("integration_id" = uuid::Uuid, Path, description = "The integration's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The integration as changed", body = Integration,
        headers(("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn update_integration(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let id: IntegrationId = path_id(&id)?;
    let mut doc = body.value;
    let Value::Object(map) = &mut doc else {
        return Err(ApiError::field("body", "a merge patch is a JSON object"));
    };
    // The token is write-only: taken out before the patch meets the record.
    let mut token: Option<Option<String>> = None;
    let mut errors = ValidationErrors::new();
    match map.get_mut("outbound") {
        Some(Value::Null) => token = Some(None),
        Some(Value::Object(o)) => match o.remove("token") {
            Some(Value::String(t)) => {
                check_token(&mut errors, &t);
                token = Some(Some(t));
            }
            Some(Value::Null) | None => {}
            Some(_) => errors.add("outbound.token", "must be a string"),
        },
        _ => {}
    }
    if let Some(Value::Object(o)) = map.get("outbound") {
        if let Some(Value::String(url)) = o.get("base_url") {
            if let Err(why) = state.config.outbound.target(url) {
                errors.add("outbound.base_url", why.to_string());
            }
        }
    }
    errors.finish()?;
    let actor = auth.actor();
    let sealer = state.config.sealer.clone();
    let integration = state
        .db(move |c| {
            integrations::update(
                c,
                &sealer,
                &actor,
                id,
                if_match.0,
                |current| {
                    let before = Editable {
                        name: current.name.clone(),
                        status_mapping: current.status_mapping.clone(),
                        enabled: current.enabled,
                        outbound: current.outbound.clone(),
                    };
                    let after: Editable = crate::patch::apply(&before, doc)?;
                    Ok(IntegrationFields {
                        kind: current.kind,
                        name: after.name,
                        status_mapping: after.status_mapping,
                        enabled: after.enabled,
                        outbound: after.outbound.map(|mut o| {
                            o.base_url = o.base_url.trim_end_matches('/').to_string();
                            o
                        }),
                    })
                },
                token,
            )
        })
        .await?;
    Ok(versioned(&integration))
}

/// Delete an integration (owner only); its webhooks answer 404 from now on.
#[utoipa::path(delete, path = "/api/v1/integrations/{integration_id}", operation_id = "deleteIntegration", tag = "integrations",
    params(("integration_id" = uuid::Uuid, Path, description = "The integration's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "Deleted")),
    security(("api_key" = [])))]
pub async fn delete_integration(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id: IntegrationId = path_id(&id)?;
    let actor = auth.actor();
    state
        .db(move |c| integrations::delete(c, &actor, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    /// The new secret (1–256 characters, spaces allowed, no control
    /// characters); left out, one is generated and returned once.
    #[schema(
        min_length = 1,
        max_length = 256,
        write_only,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub secret: Option<String>,
}

/// Add an inbound secret (owner only): the previous one stays in force
/// beside it until the next rotation, so the sender can switch without a
/// webhook refused. A generated secret is shown in this response only.
#[utoipa::path(post, path = "/api/v1/integrations/{integration_id}/secrets", operation_id = "rotateIntegrationSecret", tag = "integrations",
    request_body = NewSecret,
    params(("integration_id" = uuid::Uuid, Path, description = "The integration's id")),
    responses((status = 201, description = "The integration with its secrets (and a generated secret, once)", body = CreatedIntegration,
        headers(("Location" = String, description = "The integration's URL"), ("ETag" = String, description = "Its version")))),
    security(("api_key" = [])))]
pub async fn rotate_integration_secret(
    state: web::Data<AppState>,
    Owner(auth): Owner,
    id: web::Path<String>,
    body: JsonBody<NewSecret>,
) -> Result<HttpResponse, ApiError> {
    let id: IntegrationId = path_id(&id)?;
    let org = auth.org.id;
    let kind = state
        .db(move |c| integrations::get(c, org, id).map(|i| i.kind))
        .await?;
    let mut errors = ValidationErrors::new();
    if let Some(s) = &body.value.secret {
        check_secret(&mut errors, "secret", kind, s);
    }
    errors.finish()?;
    let generated = body.value.secret.is_none();
    let secret = body
        .value
        .secret
        .unwrap_or_else(|| integrations::new_secret(kind));
    let shown = secret.clone();
    let actor = auth.actor();
    let sealer = state.config.sealer.clone();
    let integration = state
        .db(move |c| integrations::rotate_secret(c, &sealer, &actor, id, &secret))
        .await?;
    let version = integration.version;
    Ok(Created::new(
        format!("/api/v1/integrations/{id}"),
        Some(crate::respond::etag(version)),
        &CreatedIntegration {
            integration,
            secret: generated.then_some(shown),
        },
    )?
    .once())
}

/// What became of an inbound webhook: `accepted` (jobs apply the
/// ticket's state), `duplicate` (this delivery id was received before),
/// `ignored` (not about a tracked ticket, or a state with no mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    Accepted,
    Duplicate,
    Ignored,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookReceipt {
    pub status: ReceiptStatus,
    /// Why nothing is done, for `ignored`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The jobs queued, for `accepted`.
    #[schema(value_type = Vec<uuid::Uuid>)]
    pub job_ids: Vec<JobId>,
}

fn receipt(status: ReceiptStatus, reason: Option<String>, job_ids: Vec<JobId>) -> HttpResponse {
    let code = if status == ReceiptStatus::Accepted {
        actix_web::http::StatusCode::ACCEPTED
    } else {
        actix_web::http::StatusCode::OK
    };
    HttpResponse::build(code).json(WebhookReceipt {
        status,
        reason,
        job_ids,
    })
}

/// Receive a ticketing system's webhook. Authenticated by its signature,
/// checked on the raw body before it is parsed (`X-Hub-Signature` for Jira,
/// `X-Hub-Signature-256` for GitHub, `X-Gitlab-Token` for GitLab, Standard
/// Webhooks headers for ServiceNow and generic senders, within five
/// minutes); either of two secrets is accepted during a rotation. A
/// delivery id seen before answers 200 `duplicate`; a ticket no treatment
/// tracks, or a state without a mapping, 200 `ignored`; otherwise 202 and
/// a job per treatment moves it along the state machine.
#[utoipa::path(post, path = "/api/v1/integrations/{integration_id}/webhook", operation_id = "receiveWebhook", tag = "integrations",
    request_body(content = Object, description = "The ticketing system's own payload (at most 1 MiB)"),
    params(("integration_id" = uuid::Uuid, Path, description = "The integration's id")),
    responses(
        (status = 202, description = "Taken: jobs apply the ticket's state", body = WebhookReceipt),
        (status = 200, description = "A duplicate, or nothing to do", body = WebhookReceipt),
        (status = 400, description = "The signed body is not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "The signature is missing, wrong or stale; nothing changed", body = crate::error::Problem, content_type = "application/problem+json")),
    security(()))]
pub async fn receive_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let id: IntegrationId = path_id(&id)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_WEBHOOK_BODY) {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_WEBHOOK_BODY,
        });
    }
    let raw = crate::extract::read_limited(&mut payload, MAX_WEBHOOK_BODY).await?;
    let sealer = state.config.sealer.clone();
    let Some(receiver) = state
        .db(move |c| integrations::receiver(c, &sealer, id))
        .await?
    else {
        return Err(ApiError::NotFound);
    };
    let kind = receiver.integration.kind;
    let headers = req.headers().clone();
    let header = move |name: &str| -> Option<String> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let now = chrono::Utc::now().timestamp();
    // Each secret is tried, so the one that matched can be noted.
    let mut matched = None;
    let mut refusal = None;
    for (secret_id, secret) in &receiver.secrets {
        match signature::verify(kind, &header, &raw, std::slice::from_ref(secret), now) {
            Ok(()) => matched = matched.or(Some(*secret_id)),
            Err(e) => refusal = refusal.or(Some(e)),
        }
    }
    let Some(secret_id) = matched else {
        let why = refusal.unwrap_or(signature::SignatureError::Mismatch);
        tracing::warn!(integration_id = %id, %kind, reason = %why, "webhook refused");
        return Err(ApiError::BadSignature(why.to_string()));
    };
    let delivery_id = kind
        .delivery_headers()
        .iter()
        .find_map(|h| header(h))
        .filter(|d| !d.is_empty() && d.len() <= 200)
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(&raw))));
    let body: Value = serde_json::from_slice(&raw).map_err(|e| ApiError::MalformedRequest {
        detail: format!("the body is not JSON: {e}"),
        field: None,
    })?;
    let event_header = match kind {
        IntegrationKind::Github => header("x-github-event"),
        IntegrationKind::Gitlab => header("x-gitlab-event"),
        _ => None,
    };
    let org = receiver.org_id;
    let mapping = receiver.integration.status_mapping.clone();
    let event = ticket_event(kind, event_header.as_deref(), &body);
    let outcome = state
        .db(move |c| {
            integrations::secret_used(c, secret_id)?;
            let mut reason = None;
            let mut changes = Vec::new();
            match event {
                None => reason = Some("the event is not about a ticket's state".to_string()),
                Some(event) => match mapping.get(&event.state) {
                    None => {
                        reason = Some(format!(
                            "ticket state {:?} has no treatment status in the mapping",
                            event.state
                        ))
                    }
                    Some(to) => {
                        let tracked =
                            integrations::treatments_for_ticket(c, org, kind, &event.key)?;
                        if tracked.is_empty() {
                            reason = Some(format!(
                                "no current treatment tracks {kind} ticket {:?}",
                                event.key
                            ));
                        }
                        for (model, treatment) in tracked {
                            changes.push((
                                model,
                                TicketChange {
                                    integration_id: id,
                                    delivery_id: delivery_id.clone(),
                                    treatment_id: treatment,
                                    ticket_key: event.key.clone(),
                                    ticket_state: event.state.clone(),
                                    to: *to,
                                },
                            ));
                        }
                    }
                },
            }
            Ok((
                integrations::receive(c, org, id, &delivery_id, changes)?,
                reason,
            ))
        })
        .await?;
    Ok(match outcome {
        (Received::Duplicate, _) => receipt(ReceiptStatus::Duplicate, None, Vec::new()),
        (Received::Ignored, reason) => receipt(ReceiptStatus::Ignored, reason, Vec::new()),
        (Received::Queued(jobs), _) => receipt(ReceiptStatus::Accepted, None, jobs),
    })
}
