//! The audit log, readable by every role of the organisation.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use palisade_domain::audit::AuditEvent;
use palisade_domain::ids::ModelId;
use palisade_store::audit::{self, AuditFilter};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::respond::{list_request, list_type, sort_keys};
use crate::state::AppState;

use super::resource;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/v1/audit-events").route(web::get().to(list_audit_events)));
}

sort_keys!(AuditSort { "created_at", "action", "entity_type" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only changes within this model.
    #[param(value_type = Option<uuid::Uuid>)]
    pub model_id: Option<ModelId>,
    /// Only changes at or after this instant (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only changes to this kind of record (`model`, `asset`, `api_key`).
    pub entity_type: Option<String>,
    /// Only changes to this record.
    pub entity_id: Option<String>,
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<AuditSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

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
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
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
