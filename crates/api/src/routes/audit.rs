//! The audit log, readable by every role of the organisation.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use palisade_domain::audit::AuditEvent;
use palisade_domain::ids::ModelId;
use palisade_store::audit::{self, AuditFilter};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::respond::{list_params, list_type};
use crate::state::AppState;

crate::routes::routes! {
    resources: [],
    paths: {
        "/api/v1/audit-events" => { get: list_audit_events },
    },
}

list_params!(AuditParams sorted by AuditSort { "created_at", "action", "entity_type" } {
    /// Only changes within this model.
    #[param(value_type = Option<uuid::Uuid>)]
    model_id: Option<ModelId>,
    /// Only changes at or after this instant (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only changes to this kind of record (`model`, `asset`, `api_key`).
    entity_type: Option<String>,
    /// Only changes to this record.
    entity_id: Option<String>,
});

list_type!(AuditEventList, AuditEvent);

/// Changes in the organisation, oldest first: who, when, what, before and after.
#[utoipa::path(get, path = "/api/v1/audit-events", operation_id = "listAuditEvents", tag = "organisation",
    params(AuditParams),
    responses((status = 200, description = "A page of audit events", body = AuditEventList)),
    security(("api_key" = [])))]
pub async fn list_audit_events(
    state: web::Data<AppState>,
    auth: Auth,
    query: StrictQuery<AuditParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let page = q.page()?;
    let filter = AuditFilter {
        model_id: q.model_id,
        since: q.since.map(|t| t.naive_utc()),
        entity_type: q.entity_type,
        entity_id: q.entity_id,
    };
    let org = auth.org.id;
    let events = state
        .db(move |c| audit::list(c, org, &filter, &page))
        .await?;
    Ok(HttpResponse::Ok().json(AuditEventList::from(events)))
}
