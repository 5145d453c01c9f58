//! Step 5: treatments — one current decision per threat, older ones kept
//! as history; their status moves only by transitions and by the expiry
//! sweep.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{ModelId, OrgId, ThreatId, TreatmentId};
use palisade_domain::role::Role;
use palisade_domain::severity::Severity;
use palisade_domain::threat::Threat;
use palisade_domain::treatment::{
    transition, Mechanism, Plan, Strategy, Ticket, Treatment, TreatmentFields, TreatmentStatus,
};
use palisade_domain::ValidationErrors;

use crate::db::{write_tx, DbConn};
use crate::models::{check_version, ensure_visible};
use crate::reach::Affected;
use crate::schema::{threats, treatments};
use crate::versioned::{audited, Record, Stored};

use crate::{links, parse_enum, parse_id, time, Actor, Page, PageRequest, StoreError};

/// Where a treatment without a due date sorts: after every dated one.
const UNDATED: &str = "9999-12-31";

/// The ids a treatment names, as `record_links` kinds.
const LINKS: [(&str, &str, &str); 2] = [
    ("asset", "removed_asset_ids", "asset"),
    ("control", "control_ids", "control"),
];

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = treatments, treat_none_as_null = true)]
struct TreatmentRow {
    id: String,
    model_id: String,
    threat_id: String,
    strategy: String,
    status: String,
    rationale: Option<String>,
    owner: String,
    due_date: Option<String>,
    due_order: String,
    ticket_system: Option<String>,
    ticket_key: Option<String>,
    ticket_url: Option<String>,
    removed: Option<String>,
    counterparty_party_id: Option<String>,
    mechanism: Option<String>,
    transferred_share: Option<f64>,
    justification: Option<String>,
    approver: Option<String>,
    expires_on: Option<String>,
    superseded_by: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn day(text: &str) -> Result<NaiveDate, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("stored date {text:?} is not a date")))
}

impl TreatmentRow {
    fn new(t: &Treatment) -> Self {
        let f = &t.fields;
        let mut row = TreatmentRow {
            id: t.id.to_string(),
            model_id: t.model_id.to_string(),
            threat_id: f.threat_id.to_string(),
            strategy: f.plan.strategy().as_str().into(),
            status: t.status.as_str().into(),
            rationale: f.rationale.clone(),
            owner: f.owner.clone(),
            due_date: f.due_date.map(|d| d.to_string()),
            due_order: f.due_date.map_or(UNDATED.into(), |d| d.to_string()),
            ticket_system: f.ticket.as_ref().map(|k| k.system.clone()),
            ticket_key: f.ticket.as_ref().map(|k| k.key.clone()),
            ticket_url: f.ticket.as_ref().and_then(|k| k.url.clone()),
            removed: None,
            counterparty_party_id: None,
            mechanism: None,
            transferred_share: None,
            justification: None,
            approver: None,
            expires_on: None,
            superseded_by: t.superseded_by.map(|s| s.to_string()),
            version: t.version,
            created_at: t.created_at.naive_utc(),
            updated_at: t.updated_at.naive_utc(),
        };
        match &f.plan {
            Plan::Avoid { removed, .. } => row.removed = Some(removed.clone()),
            Plan::Transfer {
                counterparty_party_id,
                mechanism,
                transferred_share,
            } => {
                row.counterparty_party_id = Some(counterparty_party_id.to_string());
                row.mechanism = Some(mechanism.as_str().into());
                row.transferred_share = Some(*transferred_share);
            }
            Plan::Reduce { .. } => {}
            Plan::Accept {
                justification,
                approver,
                expires_on,
            } => {
                row.justification = Some(justification.clone());
                row.approver = Some(approver.clone());
                row.expires_on = Some(expires_on.to_string());
            }
        }
        row
    }

    fn into_treatment(
        self,
        found: &mut HashMap<(String, String), Vec<String>>,
    ) -> Result<Treatment, StoreError> {
        let mut take = |kind: &str| -> Vec<String> {
            found
                .remove(&(self.id.clone(), kind.to_string()))
                .unwrap_or_default()
        };
        let missing =
            |what: &str| StoreError::Corrupt(format!("treatment {} has no {what}", self.id));
        let plan = match parse_enum(&self.strategy, Strategy::parse)? {
            Strategy::Avoid => Plan::Avoid {
                removed: self.removed.clone().ok_or_else(|| missing("removed"))?,
                removed_asset_ids: crate::parse_ids(take("asset"))?,
            },
            Strategy::Transfer => Plan::Transfer {
                counterparty_party_id: parse_id(
                    self.counterparty_party_id
                        .as_deref()
                        .ok_or_else(|| missing("counterparty"))?,
                )?,
                mechanism: parse_enum(
                    self.mechanism
                        .as_deref()
                        .ok_or_else(|| missing("mechanism"))?,
                    Mechanism::parse,
                )?,
                transferred_share: self.transferred_share.ok_or_else(|| missing("share"))?,
            },
            Strategy::Reduce => Plan::Reduce {
                control_ids: crate::parse_ids(take("control"))?,
            },
            Strategy::Accept => Plan::Accept {
                justification: self
                    .justification
                    .clone()
                    .ok_or_else(|| missing("justification"))?,
                approver: self.approver.clone().ok_or_else(|| missing("approver"))?,
                expires_on: day(self
                    .expires_on
                    .as_deref()
                    .ok_or_else(|| missing("expiry"))?)?,
            },
        };
        let ticket = match (self.ticket_system, self.ticket_key) {
            (Some(system), Some(key)) => Some(Ticket {
                system,
                key,
                url: self.ticket_url,
            }),
            _ => None,
        };
        Ok(Treatment {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            fields: TreatmentFields {
                threat_id: parse_id(&self.threat_id)?,
                plan,
                rationale: self.rationale,
                owner: self.owner,
                due_date: self.due_date.as_deref().map(day).transpose()?,
                ticket,
            },
            status: parse_enum(&self.status, TreatmentStatus::parse)?,
            superseded_by: self.superseded_by.as_deref().map(parse_id).transpose()?,
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

fn link_targets(f: &TreatmentFields) -> [Vec<String>; 2] {
    fn strings<T: ToString>(ids: &[T]) -> Vec<String> {
        ids.iter().map(ToString::to_string).collect()
    }
    match &f.plan {
        Plan::Avoid {
            removed_asset_ids, ..
        } => [strings(removed_asset_ids), Vec::new()],
        Plan::Reduce { control_ids } => [Vec::new(), strings(control_ids)],
        _ => [Vec::new(), Vec::new()],
    }
}

fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    f: &TreatmentFields,
) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    let mut single = vec![("threat_id", "threat", f.threat_id.to_string())];
    if let Plan::Transfer {
        counterparty_party_id,
        ..
    } = &f.plan
    {
        single.push((
            "counterparty_party_id",
            "party",
            counterparty_party_id.to_string(),
        ));
    }
    for (field, kind, id) in single {
        if !links::present_in_model(conn, model_id, kind, std::slice::from_ref(&id))?.contains(&id)
        {
            e.add(field, format!("no {kind} {id} in this model"));
        }
    }
    for ((kind, field, what), targets) in LINKS.iter().zip(link_targets(f)) {
        links::check(conn, model_id, &mut e, field, kind, what, &targets)?;
    }
    Ok(e.finish()?)
}

fn write_links(conn: &mut DbConn, t: &Treatment) -> Result<(), StoreError> {
    let id = t.id.to_string();
    for ((kind, _, _), targets) in LINKS.iter().zip(link_targets(&t.fields)) {
        links::write(conn, &id, kind, &targets)?;
    }
    Ok(())
}

fn with_links(conn: &mut DbConn, rows: Vec<TreatmentRow>) -> Result<Vec<Treatment>, StoreError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut found = links::read(conn, &ids)?;
    rows.into_iter()
        .map(|r| r.into_treatment(&mut found))
        .collect()
}

crate::model_reads!(treatments, TreatmentRow, Treatment, TreatmentId, with_links);

crate::model_writes!(Treatment, TreatmentId, TreatmentFields);

fn current_of(conn: &mut DbConn, threat: &str) -> Result<Option<TreatmentRow>, StoreError> {
    Ok(treatments::table
        .filter(treatments::threat_id.eq(threat))
        .filter(treatments::superseded_by.is_null())
        .select(TreatmentRow::as_select())
        .first(conn)
        .optional()?)
}

fn superseded(t: &Treatment) -> Result<(), StoreError> {
    match t.superseded_by {
        Some(newer) => Err(StoreError::Conflict(format!(
            "treatment {} was superseded by {newer}: history is read-only",
            t.id
        ))),
        None => Ok(()),
    }
}

/// A new treatment supersedes its threat's current one (which keeps its
/// status and stays readable as history); a change moves its threat's row.
impl Stored for Treatment {
    type Id = TreatmentId;

    fn load(c: &mut DbConn, org: OrgId, m: ModelId, id: TreatmentId) -> Result<Self, StoreError> {
        <Self as crate::ModelReads>::get(c, org, m, id)
    }

    fn insert(c: &mut DbConn, a: &Actor, new: &Self) -> Result<(), StoreError> {
        check_references(c, new.model_id, &new.fields)?;
        accepting_needs_the_owner(c, a, new, None)?;
        if let Some(row) = current_of(c, &new.fields.threat_id.to_string())? {
            let before = with_links(c, vec![row])?
                .pop()
                .ok_or(StoreError::NotFound)?;
            let after = Treatment {
                superseded_by: Some(new.id),
                ..before.next(before.fields.clone())
            };
            if crate::write_if_unchanged!(c, treatments, before, TreatmentRow::new(&after)) != 1 {
                return Err(StoreError::Conflict(
                    "the threat's current treatment changed concurrently; retry".into(),
                ));
            }
            audited(
                c,
                a,
                new.model_id,
                AuditAction::Update,
                Some(&before),
                Some(&after),
            )?;
        }
        diesel::insert_into(treatments::table)
            .values(TreatmentRow::new(new))
            .execute(c)?;
        write_links(c, new)?;
        crate::events::record_event(
            c,
            a.org_id,
            Some(new.model_id),
            palisade_domain::webhook::EventType::TreatmentCreated,
            serde_json::json!({ "treatment": new }),
            None,
        )?;
        Ok(())
    }

    /// A threat's treatments in plan order: each supersedes the one before,
    /// as if created one by one (the superseded one a version on). Accepting
    /// risk needs the owner role, the register not being computed yet.
    fn insert_many(c: &mut DbConn, a: &Actor, new: &[Self]) -> Result<(), StoreError> {
        let mut rows: Vec<Treatment> = Vec::with_capacity(new.len());
        let mut current: HashMap<palisade_domain::ids::ThreatId, usize> = HashMap::new();
        for t in new {
            accepting_needs_the_owner(c, a, t, None)?;
            if let Some(k) = current.insert(t.fields.threat_id, rows.len()) {
                let before = &rows[k];
                rows[k] = Treatment {
                    superseded_by: Some(t.id),
                    ..before.next(before.fields.clone())
                };
            }
            rows.push(t.clone());
        }
        crate::insert_rows!(
            c,
            treatments::table,
            rows.iter().map(TreatmentRow::new).collect::<Vec<_>>()
        );
        links::insert_new(
            c,
            rows.iter().flat_map(|r| {
                LINKS
                    .iter()
                    .zip(link_targets(&r.fields))
                    .map(move |((kind, _, _), targets)| (r.id.to_string(), *kind, targets))
            }),
        )
    }

    fn write(c: &mut DbConn, a: &Actor, was: &Self, now: &Self) -> Result<usize, StoreError> {
        superseded(was)?;
        accepting_needs_the_owner(c, a, now, Some(was))?;
        if now.fields.threat_id != was.fields.threat_id {
            return Err(ValidationErrors::single(
                "threat_id",
                "a treatment stays with its threat: create one for the other threat instead",
            )
            .into());
        }
        check_references(c, now.model_id, &now.fields)?;
        let n = crate::write_if_unchanged!(c, treatments, was, TreatmentRow::new(now));
        write_links(c, now)?;
        Ok(n)
    }

    /// Only the current treatment may go; the one it superseded becomes
    /// current again.
    fn remove(c: &mut DbConn, a: &Actor, was: &Self, _: bool) -> Result<(), StoreError> {
        superseded(was)?;
        let id = was.id.to_string();
        let previous: Vec<TreatmentRow> = treatments::table
            .filter(treatments::superseded_by.eq(&id))
            .select(TreatmentRow::as_select())
            .load(c)?;
        links::forget_owner(c, &id)?;
        links::forget_targets(c, std::slice::from_ref(&id))?;
        diesel::delete(treatments::table.filter(treatments::id.eq(&id))).execute(c)?;
        // Only now may another treatment of the threat be current.
        for before in with_links(c, previous)? {
            let after = Treatment {
                superseded_by: None,
                ..before.next(before.fields.clone())
            };
            if crate::write_if_unchanged!(c, treatments, before, TreatmentRow::new(&after)) != 1 {
                return Err(StoreError::Conflict(
                    "the previous treatment changed concurrently; retry".into(),
                ));
            }
            audited(
                c,
                a,
                was.model_id,
                AuditAction::Update,
                Some(&before),
                Some(&after),
            )?;
        }
        Ok(())
    }

    fn reach(
        _: &mut DbConn,
        was: Option<&Self>,
        now: Option<&Self>,
    ) -> Result<Option<Affected>, StoreError> {
        let threat = now.or(was).map(|t| t.fields.threat_id.to_string());
        Ok(threat.map(|t| Affected::Threats(vec![t])))
    }
}

/// Accepting a risk whose residual severity is high or critical is the
/// owner's decision. A threat not scored yet counts as high: the rule errs
/// towards asking the owner.
fn accepting_needs_the_owner(
    c: &mut DbConn,
    a: &Actor,
    now: &Treatment,
    was: Option<&Treatment>,
) -> Result<(), StoreError> {
    let accepts = |t: &Treatment| t.fields.plan.strategy() == Strategy::Accept;
    if !accepts(now) || was.is_some_and(accepts) || a.role >= Role::Owner {
        return Ok(());
    }
    let severity = crate::reach::residual_severity(c, now.model_id, now.fields.threat_id)?;
    if severity.is_none_or(|s| s >= Severity::High) {
        return Err(StoreError::Forbidden(format!(
            "accepting the risk of threat {} (residual severity {}) needs the owner role",
            now.fields.threat_id,
            severity.map_or("not computed yet".to_string(), |s| s.to_string())
        )));
    }
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct TreatmentFilter {
    pub threat_id: Option<ThreatId>,
    pub strategy: Option<Strategy>,
    pub status: Option<TreatmentStatus>,
    pub owner: Option<String>,
    /// Due strictly before this day.
    pub due_before: Option<NaiveDate>,
}

/// The model's current treatments (one per threat at most), filtered.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    filter: &TreatmentFilter,
    page: &PageRequest,
) -> Result<Page<Treatment>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        let mut query = treatments::table
            .filter(treatments::model_id.eq(m.clone()))
            .filter(treatments::superseded_by.is_null())
            .into_boxed();
        if let Some(t) = filter.threat_id {
            query = query.filter(treatments::threat_id.eq(t.to_string()));
        }
        if let Some(s) = filter.strategy {
            query = query.filter(treatments::strategy.eq(s.as_str()));
        }
        if let Some(s) = filter.status {
            query = query.filter(treatments::status.eq(s.as_str()));
        }
        if let Some(o) = &filter.owner {
            query = query.filter(treatments::owner.eq(o.clone()));
        }
        if let Some(d) = filter.due_before {
            query = query.filter(treatments::due_date.lt(d.to_string()));
        }
        query
    };
    let page = crate::list_page!(conn, page, treatments, TreatmentRow, treatments::model_id.eq(m.clone()), filtered, {
        "strategy" => (treatments::strategy, String),
        "status" => (treatments::status, String),
        "owner" => (treatments::owner, String),
        "due_date" => (treatments::due_order, String),
        "created_at" => (treatments::created_at, NaiveDateTime),
        "updated_at" => (treatments::updated_at, NaiveDateTime),
    });
    Ok(Page {
        items: with_links(conn, page.items)?,
        next_after: page.next_after,
        total: page.total,
    })
}

/// Every treatment a threat has had, newest first.
pub fn history(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    threat: ThreatId,
) -> Result<Vec<Treatment>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let t = threat.to_string();
    threats::table
        .filter(threats::model_id.eq(model_id.to_string()))
        .filter(threats::id.eq(&t))
        .select(threats::id)
        .first::<String>(conn)?;
    let rows: Vec<TreatmentRow> = treatments::table
        .filter(treatments::threat_id.eq(&t))
        .select(TreatmentRow::as_select())
        .order(treatments::id.desc())
        .limit(palisade_domain::validation::ID_LIST_MAX as i64)
        .load(conn)?;
    with_links(conn, rows)
}

/// Moves a treatment along the state machine, audited with the note; the
/// caller has checked the role the move needs (approving is the owner's).
#[allow(clippy::too_many_arguments)]
pub fn move_to(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    id: TreatmentId,
    expected_version: Option<i64>,
    to: TreatmentStatus,
    note: Option<String>,
) -> Result<Treatment, StoreError> {
    write_tx(conn, |conn| {
        let current = <Treatment as crate::ModelReads>::get(conn, actor.org_id, model_id, id)?;
        superseded(&current)?;
        check_version(current.version, expected_version)?;
        transition(current.status, to).map_err(StoreError::IllegalMove)?;
        let moved = Treatment {
            status: to,
            ..current.next(current.fields.clone())
        };
        if crate::write_if_unchanged!(conn, treatments, current, TreatmentRow::new(&moved)) != 1 {
            return Err(StoreError::Conflict(
                "the treatment was changed concurrently; retry".into(),
            ));
        }
        record_move(conn, actor, &current, &moved, note)?;
        crate::jobs::enqueue_recompute(
            conn,
            actor,
            model_id,
            &Affected::Threats(vec![moved.fields.threat_id.to_string()]),
        )?;
        Ok(moved)
    })
}

/// The audit record of a status move: before, after and why.
fn record_move(
    conn: &mut DbConn,
    actor: &Actor,
    before: &Treatment,
    after: &Treatment,
    note: Option<String>,
) -> Result<(), StoreError> {
    let mut change = crate::audit::Change::of(
        "treatment",
        after.model_id,
        AuditAction::Update,
        after.id,
        Some(before),
        Some(after),
    )?;
    if let (Some(note), Some(serde_json::Value::Object(o))) = (note.clone(), change.after.as_mut())
    {
        o.insert("transition_note".into(), note.into());
    }
    crate::audit::record(conn, actor, change)?;
    crate::events::record_event(
        conn,
        actor.org_id,
        Some(after.model_id),
        palisade_domain::webhook::EventType::TreatmentStatusChanged,
        serde_json::json!({
            "treatment_id": after.id,
            "threat_id": after.fields.threat_id,
            "from": before.status,
            "to": after.status,
            "note": note,
        }),
        None,
    )?;
    Ok(())
}

/// Reopens every acceptance whose expiry day is before `today`: the
/// treatment becomes `expired` (the threat is a gap again), audited, and
/// its risk row recomputed. Each row is moved by a guarded update, so
/// several sweeps at once expire each acceptance once. Returns how many it
/// expired.
pub fn expire_acceptances(conn: &mut DbConn, today: NaiveDate) -> Result<usize, StoreError> {
    let standing = [
        TreatmentStatus::Approved,
        TreatmentStatus::InProgress,
        TreatmentStatus::Done,
        TreatmentStatus::Verified,
    ]
    .map(|s| s.as_str());
    let due: Vec<(String, String, String)> = treatments::table
        .filter(treatments::strategy.eq(Strategy::Accept.as_str()))
        .filter(treatments::superseded_by.is_null())
        .filter(treatments::expires_on.lt(today.to_string()))
        .filter(treatments::status.eq_any(standing))
        .inner_join(crate::schema::models::table)
        .select((
            treatments::id,
            treatments::model_id,
            crate::schema::models::org_id,
        ))
        .order(treatments::id.asc())
        .limit(10_000)
        .load(conn)?;
    let mut expired = 0;
    for (id, model, org) in due {
        let (model, org): (ModelId, OrgId) = (parse_id(&model)?, parse_id(&org)?);
        let actor = Actor::system(org);
        let done = write_tx(conn, |conn| {
            let current = <Treatment as crate::ModelReads>::get(conn, org, model, parse_id(&id)?)?;
            let Plan::Accept { expires_on, .. } = &current.fields.plan else {
                return Ok(false);
            };
            if current.status == TreatmentStatus::Expired || current.superseded_by.is_some() {
                return Ok(false);
            }
            let moved = Treatment {
                status: TreatmentStatus::Expired,
                ..current.next(current.fields.clone())
            };
            if crate::write_if_unchanged!(conn, treatments, current, TreatmentRow::new(&moved)) != 1
            {
                return Ok(false);
            }
            let why = format!("the acceptance expired on {expires_on}; the threat is open again");
            record_move(conn, &actor, &current, &moved, Some(why))?;
            let reach = Affected::Threats(vec![moved.fields.threat_id.to_string()]);
            crate::jobs::enqueue_recompute(conn, &actor, model, &reach)?;
            Ok::<_, StoreError>(true)
        })?;
        expired += usize::from(done);
    }
    Ok(expired)
}

/// The current treatments of a model's threats (of these threats, ids as
/// stored, when given), for the register.
pub fn current_in_model(
    conn: &mut DbConn,
    scope: crate::Scoped,
    threats: Option<&[String]>,
) -> Result<Vec<Treatment>, StoreError> {
    let base = || {
        treatments::table
            .filter(treatments::model_id.eq(scope.model().to_string()))
            .filter(treatments::superseded_by.is_null())
            .select(TreatmentRow::as_select())
            .into_boxed()
    };
    let mut rows: Vec<TreatmentRow> = Vec::new();
    match threats {
        None => rows = base().load(conn)?,
        Some(ids) => {
            for chunk in ids.chunks(500) {
                rows.extend(
                    base()
                        .filter(treatments::threat_id.eq_any(chunk))
                        .load::<TreatmentRow>(conn)?,
                );
            }
        }
    }
    with_links(conn, rows)
}

/// A threat going takes its treatments (current and past) with it, each
/// deletion audited.
pub(crate) fn forget_threat(c: &mut DbConn, a: &Actor, threat: &Threat) -> Result<(), StoreError> {
    let rows: Vec<TreatmentRow> = treatments::table
        .filter(treatments::threat_id.eq(threat.id.to_string()))
        .select(TreatmentRow::as_select())
        .load(c)?;
    for t in with_links(c, rows)? {
        let id = t.id.to_string();
        links::forget_owner(c, &id)?;
        links::forget_targets(c, std::slice::from_ref(&id))?;
        diesel::delete(treatments::table.filter(treatments::id.eq(&id))).execute(c)?;
        audited(c, a, threat.model_id, AuditAction::Delete, Some(&t), None)?;
    }
    Ok(())
}

/// Refuses to delete a record the model's current treatments rely on (a
/// reduce treatment's control, a transfer's counterparty), naming them.
pub(crate) fn refuse_if_relied_on(c: &mut DbConn, what: &str, id: &str) -> Result<(), StoreError> {
    let mut using: Vec<String> = treatments::table
        .filter(treatments::superseded_by.is_null())
        .filter(
            treatments::counterparty_party_id
                .eq(id)
                .or(treatments::id.eq_any(
                    crate::schema::record_links::table
                        .filter(crate::schema::record_links::kind.eq("control"))
                        .filter(crate::schema::record_links::target_id.eq(id))
                        .select(crate::schema::record_links::owner_id),
                )),
        )
        .select(treatments::id)
        .load(c)?;
    if using.is_empty() {
        return Ok(());
    }
    using.sort();
    Err(StoreError::Conflict(format!(
        "{what} {id} is relied on by treatments {}; change or delete them first",
        using.join(", ")
    )))
}
