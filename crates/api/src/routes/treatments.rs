//! Step 5 — treatments: the decision on each threat, its state machine and
//! its history.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use palisade_domain::ids::{ThreatId, TreatmentId};
use palisade_domain::role::Role;
use palisade_domain::severity::Severity;
use palisade_domain::treatment::{
    Mechanism, Strategy, Ticket, Treatment, TreatmentFields, TreatmentInput, TreatmentStatus,
};
use palisade_store::treatments::{self, TreatmentFilter};
use palisade_store::ModelWrites as _;
use palisade_store::PageRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{IfMatch, JsonBody};
use crate::patch;
use crate::resource::{path_param, resource, store_calls, NoParams, Resource};
use crate::respond::{list_params, list_type, versioned};
use crate::state::AppState;

pub struct Treatments;

crate::routes::routes! {
    resources: [routes => ResourceDoc],
    paths: {
        "/api/v1/models/{model_id}/treatments/{treatment_id}/transitions" => { post: move_treatment },
        "/api/v1/models/{model_id}/threats/{threat_id}/treatments" => { get: treatment_history },
        "/api/v1/models/{model_id}/residual-risk" => { get: get_residual_risk },
        "/api/v1/models/{model_id}/treatments/{treatment_id}/ticket" => { post: open_ticket },
    },
}

resource!(in_model
    Treatments,
    routes: routes,
    doc: ResourceDoc,
    tag: "mitigation",
    collection: "/api/v1/models/{model_id}/treatments",
    item: "/api/v1/models/{model_id}/treatments/{treatment_id}",
    id: "treatment_id",
    input: TreatmentInputDoc,
    patch: TreatmentPatch,
    record: TreatmentDoc,
    list: TreatmentList,
    params: TreatmentParams,
    delete_params: NoParams,
    create: (create_treatment, "createTreatment", "Decide how a threat is treated; the threat's current treatment, if any, is superseded and kept as history."),
    list_all: (list_treatments, "listTreatments", "List the model's current treatments, one per treated threat (by id unless sorted)."),
    get: (get_treatment, "getTreatment", "Get a treatment (current or superseded)."),
    update: (patch, update_treatment, "updateTreatment", "Change a current treatment (JSON merge patch); its status moves only by transitions."),
    delete: (delete_treatment, "deleteTreatment", "Delete a current treatment; the one it superseded becomes current again."),
);

/// Today, for judging an acceptance's expiry as it is set.
fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

impl Resource for Treatments {
    type Record = Treatment;
    type Id = TreatmentId;
    type Input = TreatmentInput;
    type Fields = TreatmentFields;
    type Params = TreatmentParams;
    type Filter = TreatmentFilter;
    type List = TreatmentList;
    const SEGMENT: &'static str = "treatments";

    fn fields(input: TreatmentInput) -> Result<TreatmentFields, ApiError> {
        Ok(TreatmentFields::from_input(input, Some(today()))?)
    }

    fn query(q: TreatmentParams) -> Result<(PageRequest, TreatmentFilter), ApiError> {
        let page = q.page()?;
        Ok((
            page,
            TreatmentFilter {
                threat_id: q.threat_id.map(ThreatId),
                strategy: q.strategy,
                status: q.status,
                owner: q.owner,
                due_before: q.due_before,
            },
        ))
    }

    fn id_of(record: &Treatment) -> TreatmentId {
        record.id
    }

    store_calls!(@create_get_list palisade_store::treatments);
    store_calls!(@merge_patch);

    /// The patch applies to the treatment as written; an expiry it sets
    /// must be in the future, one it leaves alone is not judged again.
    fn update(
        conn: &mut palisade_store::DbConn,
        actor: &palisade_store::Actor,
        model: palisade_domain::ids::ModelId,
        id: TreatmentId,
        expected: Option<i64>,
        doc: Value,
    ) -> Result<Treatment, palisade_store::StoreError> {
        Treatment::update(conn, actor, model, id, expected, |cur| {
            let before = cur.fields.to_input();
            let input: TreatmentInput = patch::apply(&before, doc)?;
            let judge = (input.expires_on != before.expires_on).then(today);
            Ok(TreatmentFields::from_input(input, judge)?)
        })
    }

    store_calls!(@delete palisade_store::treatments);
}

list_params!(TreatmentParams sorted by TreatmentSort { "strategy", "status", "owner", "due_date", "created_at", "updated_at" } {
    /// Only the treatment of this threat.
    threat_id: Option<uuid::Uuid>,
    strategy: Option<Strategy>,
    status: Option<TreatmentStatus>,
    /// Only treatments this person owns (exactly).
    owner: Option<String>,
    /// Only treatments due before this day (`YYYY-MM-DD`).
    due_before: Option<NaiveDate>,
});

list_type!(TreatmentList, Treatment, described as TreatmentDoc);

/// A move along the state machine.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: TreatmentStatus,
    /// Why: kept in the audit record of the move.
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub note: Option<String>,
}

/// Move a treatment along its state machine: proposed → approved →
/// in_progress → done → verified, rejected from proposed or approved, done
/// back to in_progress when work reopens. Approving needs the owner role.
/// An illegal move is a 409 whose `allowed` lists the moves from here.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/treatments/{treatment_id}/transitions",
    operation_id = "moveTreatment", tag = "mitigation",
    request_body = Transition,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("treatment_id" = uuid::Uuid, Path, description = "Its id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The treatment at its new status", body = TreatmentDoc,
                headers(("ETag" = String, description = "Its version"))),
              (status = 409, description = "The state machine does not allow the move; `allowed` lists those it does",
                body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn move_treatment(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    if_match: IfMatch,
    body: JsonBody<Transition>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let id = path_param(&req, "treatment_id")?;
    let Transition { to, note } = body.value;
    if let Some(note) = &note {
        let mut e = palisade_domain::ValidationErrors::new();
        e.check_text("note", note);
        e.finish()?;
    }
    if to == TreatmentStatus::Approved && auth.key.role < Role::Owner {
        return Err(ApiError::Forbidden(
            "approving a treatment needs the owner role".into(),
        ));
    }
    let actor = auth.actor();
    let moved = state
        .db(move |c| treatments::move_to(c, &actor, model, id, if_match.0, to, note))
        .await?;
    Ok(versioned(&moved))
}

/// Every treatment a threat has had.
#[derive(Serialize, ToSchema)]
pub struct TreatmentHistory {
    /// Newest first; the first is the current one unless it was deleted.
    #[schema(value_type = Vec<TreatmentDoc>)]
    pub items: Vec<Treatment>,
}

/// List every treatment a threat has had, newest first (the current one and
/// those it superseded).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/threats/{threat_id}/treatments",
    operation_id = "listThreatTreatments", tag = "mitigation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("threat_id" = uuid::Uuid, Path, description = "The threat's id")),
    responses((status = 200, description = "The threat's treatments", body = TreatmentHistory)),
    security(("api_key" = [])))]
pub async fn treatment_history(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let threat = path_param(&req, "threat_id")?;
    let org = auth.org.id;
    let items = state
        .db(move |c| treatments::history(c, org, model, threat))
        .await?;
    Ok(HttpResponse::Ok().json(TreatmentHistory { items }))
}

// What follows describes the wire for the document only: the record and
// the create body are each a `oneOf` over the strategies, assembled from
// these parts by `openapi::contract` (`strategy_unions`).

/// A treatment: the decision on a threat, with its strategy's fields.
#[derive(ToSchema)]
#[schema(as = Treatment)]
#[allow(dead_code)]
pub struct TreatmentDoc {}

/// A new treatment: the common fields and its strategy's fields.
#[derive(ToSchema)]
#[schema(as = TreatmentInput)]
#[allow(dead_code)]
pub struct TreatmentInputDoc {}

/// The fields every treatment has.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TreatmentCommon {
    id: uuid::Uuid,
    model_id: uuid::Uuid,
    threat_id: uuid::Uuid,
    strategy: Strategy,
    rationale: Option<String>,
    /// Who is answerable for it.
    owner: String,
    due_date: Option<NaiveDate>,
    ticket: Option<Ticket>,
    status: TreatmentStatus,
    /// The treatment that replaced this one; `null` for the current one.
    superseded_by: Option<uuid::Uuid>,
    version: i64,
    created_at: chrono::DateTime<chrono::Utc>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// What every new treatment says.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TreatmentInputCommon {
    threat_id: uuid::Uuid,
    strategy: Strategy,
    #[schema(nullable = false)]
    rationale: Option<String>,
    owner: String,
    #[schema(nullable = false)]
    due_date: Option<NaiveDate>,
    #[schema(nullable = false)]
    ticket: Option<Ticket>,
}

/// `avoid`: what is removed or stopped; when done, the residual risk is 0.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AvoidPlan {
    removed: String,
    /// Assets taken out of scope by it.
    #[schema(nullable = false)]
    removed_asset_ids: Option<Vec<uuid::Uuid>>,
}

/// `transfer`: to whom and how; when done, the impact × (1 − share).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TransferPlan {
    /// A party of the model (insurer, vendor, partner).
    counterparty_party_id: uuid::Uuid,
    mechanism: Mechanism,
    #[schema(minimum = 0.0, maximum = 1.0)]
    transferred_share: f64,
}

/// `reduce`: the controls (existing or planned) that reduce it.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ReducePlan {
    #[schema(min_items = 1)]
    control_ids: Vec<uuid::Uuid>,
}

/// `accept`: why, who approved it, until when.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AcceptPlan {
    justification: String,
    approver: String,
    /// After this day the threat is open again (a gap).
    expires_on: NaiveDate,
}

/// The writable fields of a treatment, all optional: a JSON merge patch.
/// Changing `strategy` means clearing (`null`) the old strategy's fields.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TreatmentPatch {
    strategy: Option<Strategy>,
    rationale: Option<String>,
    owner: Option<String>,
    due_date: Option<NaiveDate>,
    ticket: Option<Ticket>,
    removed: Option<String>,
    removed_asset_ids: Option<Vec<uuid::Uuid>>,
    counterparty_party_id: Option<uuid::Uuid>,
    mechanism: Option<Mechanism>,
    transferred_share: Option<f64>,
    control_ids: Option<Vec<uuid::Uuid>>,
    justification: Option<String>,
    approver: Option<String>,
    expires_on: Option<NaiveDate>,
}

/// How many threats sit at each severity.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct SeverityCounts {
    pub info: i64,
    pub low: i64,
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

impl From<std::collections::HashMap<Severity, i64>> for SeverityCounts {
    fn from(by: std::collections::HashMap<Severity, i64>) -> Self {
        let n = |s| by.get(&s).copied().unwrap_or(0);
        SeverityCounts {
            info: n(Severity::Info),
            low: n(Severity::Low),
            medium: n(Severity::Medium),
            high: n(Severity::High),
            critical: n(Severity::Critical),
        }
    }
}

/// The model's threats per severity, today and once the plan is done.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResidualTotals {
    /// By residual severity: the risk as it stands today.
    pub residual: SeverityCounts,
    /// By projected severity: as if every open treatment were done (and
    /// every planned control implemented).
    pub projected: SeverityCounts,
}

/// The "what if we finish the plan" view.
#[derive(Serialize, ToSchema)]
pub struct ResidualRisk {
    /// Per threat: today's residual against the projected figure, with its
    /// treatment's strategy and status (the register's rows; its filters,
    /// sort and pages apply).
    pub items: Vec<palisade_domain::risk::RiskRow>,
    pub next_cursor: Option<String>,
    /// Over the whole model, whatever the filters.
    pub totals: ResidualTotals,
    pub stale: bool,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub total: Option<i64>,
}

/// Per threat, today's residual risk against the projected risk (as if
/// every open treatment were done), and the totals per severity before
/// and after.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/residual-risk", operation_id = "getResidualRisk", tag = "mitigation",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), crate::routes::risks::RiskParams),
    responses((status = 200, description = "Residual against projected risk", body = ResidualRisk)),
    security(("api_key" = [])))]
pub async fn get_residual_risk(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    query: crate::extract::StrictQuery<crate::routes::risks::RiskParams>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let org = auth.org.id;
    let params = query.0;
    let page = params.page()?;
    let (rows, totals, (stale, computed_at)) = state
        .db(move |c| {
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            let freshness = palisade_store::risks::freshness(c, scope)?;
            Ok((
                palisade_store::risks::page(c, &params.query(org, Some(scope)), &page)?,
                palisade_store::risks::severity_totals(c, scope)?,
                freshness,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ResidualRisk {
        next_cursor: rows.next_after,
        total: rows.total,
        items: rows.items,
        totals: ResidualTotals {
            residual: totals.0.into(),
            projected: totals.1.into(),
        },
        stale,
        computed_at,
    }))
}

/// Which integration opens the ticket.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketOrder {
    /// An integration of the organisation with ticket-creation settings
    /// (Jira or GitHub).
    #[schema(value_type = uuid::Uuid)]
    pub integration_id: String,
}

/// Open a ticket for a current reduce treatment (Jira or GitHub, through
/// the integration's settings) as a job; the ticket is stored back on the
/// treatment. Asking again while the job runs returns the same job, and a
/// retried job finds the ticket it opened (by a label naming the
/// treatment) instead of opening a second one. A treatment that has a
/// ticket is a 409.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/treatments/{treatment_id}/ticket",
    operation_id = "openTicket", tag = "mitigation",
    request_body = TicketOrder,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("treatment_id" = uuid::Uuid, Path, description = "Its id")),
    responses((status = 202, description = "The job that opens the ticket", body = crate::routes::risks::JobAccepted,
                headers(("Location" = String, description = "The job's URL"))),
              (status = 409, description = "The treatment has a ticket, or was superseded",
                body = crate::error::Problem, content_type = "application/problem+json")),
    security(("api_key" = [])))]
pub async fn open_ticket(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    req: HttpRequest,
    body: JsonBody<TicketOrder>,
) -> Result<HttpResponse, ApiError> {
    let model = path_param(&req, "model_id")?;
    let id = path_param(&req, "treatment_id")?;
    let integration = body
        .value
        .integration_id
        .parse()
        .map_err(|_| ApiError::field("integration_id", "is not an id"))?;
    let actor = auth.actor();
    let job = state
        .db(move |c| palisade_store::tickets::request(c, &actor, model, id, integration))
        .await?;
    Ok(HttpResponse::Accepted()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/jobs/{}", job.id),
        ))
        .json(crate::routes::risks::JobAccepted {
            job_id: job.id,
            status: job.status,
        }))
}
