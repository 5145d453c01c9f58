//! Opening a ticket for a reduce treatment through an integration: one
//! `create_ticket` job per treatment at a time, and the ticket stored back
//! on the treatment once, audited.

use crate::{ModelReads as _, ModelWrites as _};
use diesel::prelude::*;
use palisade_domain::ids::{IntegrationId, ModelId, OrgId, TreatmentId};
use palisade_domain::integration::{IntegrationKind, OutboundSettings};
use palisade_domain::job::{Job, JobStatus};
use palisade_domain::treatment::{Strategy, Ticket, Treatment};
use palisade_domain::ValidationErrors;

use crate::db::{write_tx, DbConn};
use crate::jobs::JobKind;
use crate::schema::{jobs, ticket_requests};
use crate::sealed::Sealer;
use crate::{parse_id, time, Actor, StoreError};

/// The job that opens a treatment's ticket through an integration.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TicketRequest {
    pub treatment_id: TreatmentId,
    pub integration_id: IntegrationId,
}

impl JobKind for TicketRequest {
    const KIND: &'static str = "create_ticket";
}

/// Asks for a ticket for a current reduce treatment without one, through
/// an integration of the organisation that opens tickets. While a job for
/// the treatment is queued or running, asking again returns that job.
pub fn request(
    conn: &mut DbConn,
    actor: &Actor,
    model: ModelId,
    treatment: TreatmentId,
    integration: IntegrationId,
) -> Result<Job, StoreError> {
    write_tx(conn, |conn| {
        let t = Treatment::get(conn, actor.org_id, model, treatment)?;
        if t.superseded_by.is_some() {
            return Err(StoreError::Conflict(
                "this treatment was superseded: open a ticket for the threat's current one".into(),
            ));
        }
        if t.fields.plan.strategy() != Strategy::Reduce {
            return Err(ValidationErrors::single(
                "treatment_id",
                format!(
                    "tickets are opened for reduce treatments; this one is {}",
                    t.fields.plan.strategy()
                ),
            )
            .into());
        }
        if let Some(ticket) = &t.fields.ticket {
            return Err(StoreError::Conflict(format!(
                "the treatment already has ticket {} in {}",
                ticket.key, ticket.system
            )));
        }
        let i = match crate::integrations::get(conn, actor.org_id, integration) {
            Ok(i) => i,
            Err(StoreError::NotFound) => {
                return Err(ValidationErrors::single(
                    "integration_id",
                    "names no integration of the organisation",
                )
                .into())
            }
            Err(e) => return Err(e),
        };
        if !i.kind.creates_tickets() || i.outbound.is_none() || !i.has_outbound_token {
            return Err(ValidationErrors::single(
                "integration_id",
                "the integration has no ticket-creation settings (outbound, with a token; jira or github)",
            )
            .into());
        }
        let pending: Option<String> = ticket_requests::table
            .inner_join(jobs::table.on(jobs::id.eq(ticket_requests::job_id)))
            .filter(ticket_requests::treatment_id.eq(treatment.to_string()))
            .filter(jobs::status.eq_any([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]))
            .select(jobs::id)
            .first(conn)
            .optional()?;
        if let Some(job) = pending {
            return crate::jobs::get(conn, actor.org_id, parse_id(&job)?);
        }
        let job = TicketRequest {
            treatment_id: treatment,
            integration_id: integration,
        }
        .enqueue(conn, actor, model)?;
        diesel::delete(
            ticket_requests::table.filter(ticket_requests::treatment_id.eq(treatment.to_string())),
        )
        .execute(conn)?;
        diesel::insert_into(ticket_requests::table)
            .values((
                ticket_requests::treatment_id.eq(treatment.to_string()),
                ticket_requests::integration_id.eq(integration.to_string()),
                ticket_requests::job_id.eq(job.id.to_string()),
                ticket_requests::created_at.eq(time::now()),
            ))
            .execute(conn)?;
        Ok(job)
    })
}

/// Where and as whom the job opens the ticket.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: IntegrationKind,
    pub settings: OutboundSettings,
    pub token: String,
}

pub fn target(
    conn: &mut DbConn,
    sealer: &Sealer,
    org: OrgId,
    integration: IntegrationId,
) -> Result<Option<Target>, StoreError> {
    let i = crate::integrations::get(conn, org, integration)?;
    let token = crate::integrations::outbound_token(conn, sealer, org, integration)?;
    Ok(match (i.outbound, token) {
        (Some(settings), Some(token)) if i.kind.creates_tickets() => Some(Target {
            kind: i.kind,
            settings,
            token,
        }),
        _ => None,
    })
}

/// Stores the opened ticket on the treatment (once: a treatment that has
/// one keeps it), audited as a change by the system.
pub fn store_ticket(
    conn: &mut DbConn,
    org: OrgId,
    model: ModelId,
    treatment: TreatmentId,
    ticket: Ticket,
) -> Result<Treatment, StoreError> {
    let actor = Actor::system(org);
    Treatment::update(conn, &actor, model, treatment, None, |current| {
        let mut fields = current.fields.clone();
        if fields.ticket.is_none() {
            fields.ticket = Some(ticket);
        }
        Ok(fields)
    })
}
