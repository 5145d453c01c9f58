//! The risk register: computed by jobs, read by the API with how fresh it is.

use crate::ModelReads as _;
use palisade_domain::threat::Control;
use palisade_domain::threat::Threat;
use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::ids::{AttackTreeId, ModelId, OrgId};
use palisade_domain::risk::{register, RiskRow, RiskStatus, TreeForRisk};
use palisade_domain::scoring::attack_tree::Tree;
use palisade_domain::threat::ThreatAssessment;
use palisade_domain::treatment::{Strategy, TreatmentStatus};

use palisade_domain::scoring::Method;
use palisade_domain::severity::Severity;
use palisade_domain::threat::Stride;

use crate::db::{write_tx, DbConn};
use crate::models::ensure_visible;
use crate::page::{Page, PageRequest};
use crate::reach::ALL;
use crate::schema::{
    attack_tree_nodes, attack_trees, record_links, risk_dirty, risk_registers, risk_rows,
    threats as threats_table,
};
use crate::scope::Scoped;
use crate::{attack_trees as trees, parse_enum, parse_id, per_backend, time, StoreError};

/// The register as stored, and whether changes have happened since.
#[derive(Debug, Clone)]
pub struct Register {
    pub rows: Vec<RiskRow>,
    pub stale: bool,
    pub computed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub revision: i64,
    pub computed_revision: i64,
}

pub fn read(conn: &mut DbConn, org: OrgId, model_id: ModelId) -> Result<Register, StoreError> {
    let scope = ensure_visible(conn, org, model_id)?;
    let (revision, computed_revision, computed_at) = state(conn, scope)?;
    let rows: Vec<Row> = risk_rows::table
        .filter(risk_rows::model_id.eq(scope.model().to_string()))
        .order(ranked())
        .select(Row::as_select())
        .load(conn)?;
    Ok(Register {
        rows: rows
            .into_iter()
            .map(Row::into_row)
            .collect::<Result<_, _>>()?,
        stale: revision > computed_revision,
        computed_at: computed_at.map(time::utc),
        revision,
        computed_revision,
    })
}

/// How fresh a model's register is, without its rows.
pub fn freshness(
    conn: &mut DbConn,
    scope: Scoped,
) -> Result<(bool, Option<chrono::DateTime<chrono::Utc>>), StoreError> {
    let (revision, computed, at) = state(conn, scope)?;
    Ok((revision > computed, at.map(time::utc)))
}

/// The model's revision, the revision its register was computed at, and when.
fn state(
    conn: &mut DbConn,
    scope: Scoped,
) -> Result<(i64, i64, Option<NaiveDateTime>), StoreError> {
    Ok(risk_registers::table
        .filter(risk_registers::model_id.eq(scope.model().to_string()))
        .select((
            risk_registers::revision,
            risk_registers::computed_revision,
            risk_registers::computed_at,
        ))
        .first(conn)
        .optional()?
        .unwrap_or((0, 0, None)))
}

/// One stored register row.
#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = risk_rows)]
struct Row {
    model_id: String,
    threat_id: String,
    org_id: String,
    title: String,
    method: String,
    stride: String,
    inherent_score: f64,
    inherent_severity: String,
    residual_score: f64,
    residual_severity: String,
    residual_level: i32,
    projected_score: f64,
    projected_severity: String,
    status: String,
    explanation: String,
    computed_revision: i64,
    computed_at: NaiveDateTime,
    treatment_strategy: Option<String>,
    treatment_status: Option<String>,
}

/// The register's ranking, as the domain ranks (`risk::register`) with the
/// threat id breaking the last ties: a row's rank is its place in this order.
fn ranked() -> (
    diesel::helper_types::Desc<risk_rows::residual_score>,
    diesel::helper_types::Desc<risk_rows::inherent_score>,
    diesel::helper_types::Asc<risk_rows::title>,
    diesel::helper_types::Asc<risk_rows::threat_id>,
) {
    (
        risk_rows::residual_score.desc(),
        risk_rows::inherent_score.desc(),
        risk_rows::title.asc(),
        risk_rows::threat_id.asc(),
    )
}

fn level(s: Severity) -> i32 {
    Severity::ALL
        .iter()
        .position(|x| *x == s)
        .map_or(0, |i| i32::try_from(i).unwrap_or(0))
}

impl Row {
    fn of(r: &RiskRow, org: OrgId, revision: i64, at: NaiveDateTime) -> Result<Row, StoreError> {
        Ok(Row {
            model_id: r.model_id.to_string(),
            threat_id: r.threat_id.to_string(),
            org_id: org.to_string(),
            title: r.title.clone(),
            method: r.method.as_str().into(),
            stride: r.stride.as_str().into(),
            inherent_score: r.inherent_score,
            inherent_severity: r.inherent_severity.as_str().into(),
            residual_score: r.residual_score,
            residual_severity: r.residual_severity.as_str().into(),
            residual_level: level(r.residual_severity),
            projected_score: r.projected_score,
            projected_severity: r.projected_severity.as_str().into(),
            status: r.status.as_str().into(),
            treatment_strategy: r.treatment_strategy.map(|s| s.as_str().into()),
            treatment_status: r.treatment_status.map(|s| s.as_str().into()),
            explanation: serde_json::to_string(&r.explanation)?,
            computed_revision: revision,
            computed_at: at,
        })
    }

    fn into_row(self) -> Result<RiskRow, StoreError> {
        Ok(RiskRow {
            threat_id: parse_id(&self.threat_id)?,
            model_id: parse_id(&self.model_id)?,
            title: self.title,
            stride: parse_enum(&self.stride, Stride::parse)?,
            method: parse_enum(&self.method, Method::parse)?,
            inherent_score: self.inherent_score,
            inherent_severity: parse_enum(&self.inherent_severity, Severity::parse)?,
            residual_score: self.residual_score,
            residual_severity: parse_enum(&self.residual_severity, Severity::parse)?,
            projected_score: self.projected_score,
            projected_severity: parse_enum(&self.projected_severity, Severity::parse)?,
            status: parse_enum(&self.status, RiskStatus::parse)?,
            treatment_strategy: self
                .treatment_strategy
                .as_deref()
                .map(|s| parse_enum(s, Strategy::parse))
                .transpose()?,
            treatment_status: self
                .treatment_status
                .as_deref()
                .map(|s| parse_enum(s, TreatmentStatus::parse))
                .transpose()?,
            explanation: serde_json::from_str(&self.explanation)?,
            computed_at: Some(time::utc(self.computed_at)),
        })
    }
}

/// The order a register page is read in. Ties are broken by threat id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskSort {
    /// The register's ranking (one model only): residual, inherent, title.
    Rank,
    Residual {
        descending: bool,
    },
    Inherent {
        descending: bool,
    },
    Projected {
        descending: bool,
    },
    Title {
        descending: bool,
    },
}

/// Which rows a register page holds.
#[derive(Debug, Clone)]
pub struct RiskQuery {
    /// One model, or `None` for every model of the organisation.
    pub model: Option<Scoped>,
    pub org: OrgId,
    /// Residual severity exactly this.
    pub severity: Option<Severity>,
    /// Residual severity this or worse.
    pub at_least: Option<Severity>,
    pub asset_id: Option<String>,
    pub actor_id: Option<String>,
    pub stride: Option<Stride>,
    pub method: Option<Method>,
    pub status: Option<RiskStatus>,
    pub sort: RiskSort,
}

/// A page of register rows, filtered and sorted in SQL; the cursor is the
/// last row's threat id, whose sort value places the next page.
pub fn page(
    conn: &mut DbConn,
    q: &RiskQuery,
    page: &PageRequest,
) -> Result<Page<RiskRow>, StoreError> {
    let filtered = || {
        let mut query = risk_rows::table
            .filter(risk_rows::org_id.eq(q.org.to_string()))
            .into_boxed();
        if let Some(scope) = q.model {
            query = query.filter(risk_rows::model_id.eq(scope.model().to_string()));
        }
        if let Some(s) = q.severity {
            query = query.filter(risk_rows::residual_severity.eq(s.as_str()));
        }
        if let Some(s) = q.at_least {
            query = query.filter(risk_rows::residual_level.ge(level(s)));
        }
        if let Some(s) = q.stride {
            query = query.filter(risk_rows::stride.eq(s.as_str()));
        }
        if let Some(m) = q.method {
            query = query.filter(risk_rows::method.eq(m.as_str()));
        }
        if let Some(s) = q.status {
            query = query.filter(risk_rows::status.eq(s.as_str()));
        }
        for (kind, target) in [("asset", &q.asset_id), ("actor", &q.actor_id)] {
            if let Some(target) = target {
                query = query
                    .filter(risk_rows::threat_id.eq_any(crate::links::owners_naming(kind, target)));
            }
        }
        query
    };
    let total: Option<i64> = if page.count {
        Some(filtered().count().get_result(conn)?)
    } else {
        None
    };
    let mut query = filtered().select(Row::as_select());
    let after: Option<Row> = match &page.after {
        None => None,
        Some(id) => Some(
            risk_rows::table
                .filter(risk_rows::org_id.eq(q.org.to_string()))
                .filter(risk_rows::threat_id.eq(id))
                .select(Row::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| {
                    StoreError::Invalid(palisade_domain::ValidationErrors::single(
                        "cursor",
                        "names no row of this register any more: start again without it",
                    ))
                })?,
        ),
    };
    macro_rules! keyset {
        ($col:expr, $value:expr, $descending:expr) => {{
            if let Some(a) = &after {
                let v = $value(a);
                let tie = $col
                    .eq(v.clone())
                    .and(risk_rows::threat_id.gt(a.threat_id.clone()));
                // The plain bound lets the index start at the cursor; the
                // disjunction alone makes the database scan from the top.
                query = if $descending {
                    query.filter($col.le(v.clone())).filter($col.lt(v).or(tie))
                } else {
                    query.filter($col.ge(v.clone())).filter($col.gt(v).or(tie))
                };
            }
            query = if $descending {
                query.order(($col.desc(), risk_rows::threat_id.asc()))
            } else {
                query.order(($col.asc(), risk_rows::threat_id.asc()))
            };
        }};
    }
    match q.sort {
        RiskSort::Rank => {
            if let Some(a) = &after {
                let later_title = risk_rows::title.gt(a.title.clone()).or(risk_rows::title
                    .eq(a.title.clone())
                    .and(risk_rows::threat_id.gt(a.threat_id.clone())));
                let later_inherent =
                    risk_rows::inherent_score
                        .lt(a.inherent_score)
                        .or(risk_rows::inherent_score
                            .eq(a.inherent_score)
                            .and(later_title));
                query = query
                    .filter(risk_rows::residual_score.le(a.residual_score))
                    .filter(
                        risk_rows::residual_score.lt(a.residual_score).or(
                            risk_rows::residual_score
                                .eq(a.residual_score)
                                .and(later_inherent),
                        ),
                    );
            }
            query = query.order(ranked());
        }
        RiskSort::Residual { descending } => {
            keyset!(
                risk_rows::residual_score,
                |a: &Row| a.residual_score,
                descending
            )
        }
        RiskSort::Inherent { descending } => {
            keyset!(
                risk_rows::inherent_score,
                |a: &Row| a.inherent_score,
                descending
            )
        }
        RiskSort::Projected { descending } => {
            keyset!(
                risk_rows::projected_score,
                |a: &Row| a.projected_score,
                descending
            )
        }
        RiskSort::Title { descending } => {
            keyset!(risk_rows::title, |a: &Row| a.title.clone(), descending)
        }
    }
    let rows: Vec<Row> = query.limit(page.limit + 1).load(conn)?;
    Page::from_rows(rows, page.limit, |r| r.threat_id.clone())
        .with_total(total)
        .try_map(Row::into_row)
}

/// Past this many marked rows, and a quarter of the register, one scan of
/// the model beats loading the marked threats by id.
const FULL_AFTER: usize = 1000;

/// Which rows a computation holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// The whole register: its rows replace every stored row.
    Full,
    /// Only these threats (ids as stored): their rows replace theirs; a
    /// threat without a computed row is gone.
    Threats(Vec<String>),
}

/// A register computed from the records as they were at `revision`.
#[derive(Debug, Clone)]
pub struct Computation {
    pub org_id: OrgId,
    pub model_id: ModelId,
    pub revision: i64,
    pub reach: Reach,
    pub rows: Vec<RiskRow>,
}

/// Rescores a model's marked rows (or the whole register when asked, when
/// it was never computed, or when over a thousand rows and a quarter of it
/// are marked) and stores
/// them, unless a result for a newer revision is already there.
pub fn recompute(conn: &mut DbConn, scope: Scoped) -> Result<serde_json::Value, StoreError> {
    let computation = compute(conn, scope)?;
    let written = store(conn, &computation)?;
    Ok(serde_json::json!({
        "revision": computation.revision,
        "full": computation.reach == Reach::Full,
        "threats": computation.rows.len(),
        "written": written,
    }))
}

/// Rescores the whole register whatever is marked.
pub fn compute_full(conn: &mut DbConn, scope: Scoped) -> Result<Computation, StoreError> {
    let revision = state(conn, scope)?.0;
    computation(conn, scope, revision, Reach::Full)
}

/// Reads what is marked and the records it needs and computes those rows,
/// outside any write transaction: the work may be long and must not hold
/// the write lock.
pub fn compute(conn: &mut DbConn, scope: Scoped) -> Result<Computation, StoreError> {
    let m = scope.model().to_string();
    // The revision first: changes made while computing bump it, leave their
    // marks above it, and queue another job.
    let (revision, computed_revision, _) = state(conn, scope)?;
    let marked: Vec<String> = risk_dirty::table
        .filter(risk_dirty::model_id.eq(&m))
        .filter(risk_dirty::revision.le(revision))
        .select(risk_dirty::threat_id)
        .load(conn)?;
    let full = computed_revision == 0
        || marked.iter().any(|t| t == ALL)
        || (marked.len() > FULL_AFTER && {
            let count: i64 = threats_table::table
                .filter(threats_table::model_id.eq(&m))
                .count()
                .get_result(conn)?;
            i64::try_from(marked.len()).unwrap_or(i64::MAX) * 4 > count
        });
    let reach = if full {
        Reach::Full
    } else {
        Reach::Threats(marked)
    };
    computation(conn, scope, revision, reach)
}

fn computation(
    conn: &mut DbConn,
    scope: Scoped,
    revision: i64,
    reach: Reach,
) -> Result<Computation, StoreError> {
    let m = scope.model().to_string();
    let (threats, controls) = match &reach {
        Reach::Full => (
            Threat::all_in_model(conn, scope)?,
            Control::all_in_model(conn, scope)?,
        ),
        Reach::Threats(ids) => {
            let threats = Threat::some_in_model(conn, scope, ids)?;
            let controls = controls_bearing_on(conn, scope, &threats)?;
            (threats, controls)
        }
    };
    let mut tree_inputs: HashMap<AttackTreeId, Result<TreeForRisk, String>> = HashMap::new();
    let model_trees: HashSet<String> = attack_trees::table
        .filter(attack_trees::model_id.eq(&m))
        .select(attack_trees::id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    for t in &threats {
        if let ThreatAssessment::AttackTree(ta) = &t.fields.assessment {
            if tree_inputs.contains_key(&ta.tree_id)
                || !model_trees.contains(&ta.tree_id.to_string())
            {
                continue;
            }
            let loaded = trees::load_flat_unscoped(conn, ta.tree_id)?;
            let input = loaded.and_then(|(flat, ids)| {
                let pointers: Vec<String> = ids.iter().map(|i| format!("/nodes/{i}")).collect();
                Tree::build(flat, &pointers)
                    .map(|tree| TreeForRisk {
                        tree,
                        node_index: ids.into_iter().enumerate().map(|(i, id)| (id, i)).collect(),
                    })
                    .map_err(|e| e.to_string())
            });
            tree_inputs.insert(ta.tree_id, input);
        }
    }
    // The threats' current treatments, and the controls a reduce
    // treatment adds that do not cover its threat already.
    let treatments = match &reach {
        Reach::Full => crate::treatments::current_in_model(conn, scope, None)?,
        Reach::Threats(_) => {
            let ids: Vec<String> = threats.iter().map(|t| t.id.to_string()).collect();
            crate::treatments::current_in_model(conn, scope, Some(&ids))?
        }
    };
    let mut controls = controls;
    let known: HashSet<String> = controls.iter().map(|c| c.id.to_string()).collect();
    let missing: Vec<String> = treatments
        .iter()
        .filter_map(|t| match &t.fields.plan {
            palisade_domain::treatment::Plan::Reduce { control_ids } => Some(control_ids),
            _ => None,
        })
        .flatten()
        .map(ToString::to_string)
        .filter(|id| !known.contains(id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !missing.is_empty() {
        controls.extend(Control::some_in_model(conn, scope, &missing)?);
    }
    let today = crate::time::now().date();
    let rows = register(&threats, &controls, &tree_inputs, &treatments, today);
    Ok(Computation {
        org_id: scope.org(),
        model_id: scope.model(),
        revision,
        reach,
        rows,
    })
}

/// Every control a row of these threats depends on: those covering them and
/// those realising a defense node of the trees they are scored with.
fn controls_bearing_on(
    conn: &mut DbConn,
    scope: Scoped,
    threats: &[palisade_domain::threat::Threat],
) -> Result<Vec<palisade_domain::threat::Control>, StoreError> {
    let threat_ids: Vec<String> = threats.iter().map(|t| t.id.to_string()).collect();
    let trees: Vec<String> = threats
        .iter()
        .filter_map(|t| match &t.fields.assessment {
            ThreatAssessment::AttackTree(ta) => Some(ta.tree_id.to_string()),
            ThreatAssessment::Stateless(_) => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut nodes: Vec<String> = Vec::new();
    for chunk in trees.chunks(500) {
        nodes.extend(
            attack_tree_nodes::table
                .filter(attack_tree_nodes::tree_id.eq_any(chunk))
                .select(attack_tree_nodes::id)
                .load::<String>(conn)?,
        );
    }
    let mut ids: HashSet<String> = HashSet::new();
    for (kind, targets) in [("threat", &threat_ids), ("defense_node", &nodes)] {
        for chunk in targets.chunks(500) {
            ids.extend(
                record_links::table
                    .filter(record_links::kind.eq(kind))
                    .filter(record_links::target_id.eq_any(chunk))
                    .select(record_links::owner_id)
                    .load::<String>(conn)?,
            );
        }
    }
    let mut ids: Vec<String> = ids.into_iter().collect();
    ids.sort();
    Control::some_in_model(conn, scope, &ids)
}

/// Stores a computation unless the register already holds one of the same
/// or a newer revision. The guard is in the `UPDATE` itself, so two workers
/// finishing in either order can never move the register backwards; the
/// rows it reaches are replaced and the marks it answered cleared in the
/// same transaction.
pub fn store(conn: &mut DbConn, computation: &Computation) -> Result<bool, StoreError> {
    let now = time::now();
    let m = computation.model_id.to_string();
    let rows = computation
        .rows
        .iter()
        .map(|r| Row::of(r, computation.org_id, computation.revision, now))
        .collect::<Result<Vec<_>, _>>()?;
    let written = write_tx(conn, |conn| -> Result<bool, StoreError> {
        let updated = diesel::update(
            risk_registers::table
                .filter(risk_registers::model_id.eq(&m))
                .filter(
                    risk_registers::computed_revision
                        .lt(computation.revision)
                        .or(risk_registers::computed_at.is_null()),
                ),
        )
        .set((
            risk_registers::computed_revision.eq(computation.revision),
            risk_registers::computed_at.eq(now),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Ok(false);
        }
        // What the rows said before, for `risk.changed`, when it is wanted.
        let before: HashMap<String, String> = if crate::events::wanted(
            conn,
            computation.org_id,
            palisade_domain::webhook::EventType::RiskChanged,
        )? {
            let base = || {
                risk_rows::table
                    .filter(risk_rows::model_id.eq(&m))
                    .select((risk_rows::threat_id, risk_rows::residual_severity))
                    .into_boxed()
            };
            match &computation.reach {
                Reach::Full => base().load::<(String, String)>(conn)?.into_iter().collect(),
                Reach::Threats(ids) => {
                    let mut seen = HashMap::new();
                    for chunk in ids.chunks(500) {
                        seen.extend(base().filter(risk_rows::threat_id.eq_any(chunk)).load::<(
                            String,
                            String,
                        )>(
                            conn
                        )?);
                    }
                    seen
                }
            }
        } else {
            HashMap::new()
        };
        match &computation.reach {
            Reach::Full => {
                diesel::delete(risk_rows::table.filter(risk_rows::model_id.eq(&m)))
                    .execute(conn)?;
            }
            Reach::Threats(ids) => {
                for chunk in ids.chunks(500) {
                    diesel::delete(
                        risk_rows::table
                            .filter(risk_rows::model_id.eq(&m))
                            .filter(risk_rows::threat_id.eq_any(chunk)),
                    )
                    .execute(conn)?;
                }
            }
        }
        for chunk in rows.chunks(500) {
            let chunk = chunk.to_vec();
            per_backend!(conn, |c| diesel::insert_into(risk_rows::table)
                .values(&chunk)
                .execute(c))?;
        }
        diesel::delete(
            risk_dirty::table
                .filter(risk_dirty::model_id.eq(&m))
                .filter(risk_dirty::revision.le(computation.revision)),
        )
        .execute(conn)?;
        for row in &rows {
            match before.get(&row.threat_id) {
                Some(was) if *was != row.residual_severity => {
                    crate::events::record_event(
                        conn,
                        computation.org_id,
                        Some(computation.model_id),
                        palisade_domain::webhook::EventType::RiskChanged,
                        serde_json::json!({
                            "threat_id": row.threat_id,
                            "title": row.title,
                            "from": was,
                            "to": row.residual_severity,
                            "residual_score": row.residual_score,
                        }),
                        None,
                    )?;
                }
                _ => {}
            }
        }
        Ok(true)
    })?;
    // A whole register rewritten leaves PostgreSQL's statistics stale until
    // autovacuum comes by, and its planner then scans every row of the
    // model for a page; refresh them (a sample, after the commit).
    if written && computation.reach == Reach::Full && computation.rows.len() > FULL_AFTER {
        if let DbConn::Pg(c) = conn {
            diesel::sql_query("ANALYZE risk_rows").execute(c)?;
        }
    }
    Ok(written)
}

/// How many rows sit at each severity.
pub type SeverityCounts = HashMap<Severity, i64>;

/// How many of the model's rows sit at each severity: today (residual) and
/// once every open treatment is done (projected).
pub fn severity_totals(
    conn: &mut DbConn,
    scope: Scoped,
) -> Result<(SeverityCounts, SeverityCounts), StoreError> {
    let m = scope.model().to_string();
    let residual: Vec<(String, i64)> = risk_rows::table
        .filter(risk_rows::model_id.eq(&m))
        .group_by(risk_rows::residual_severity)
        .select((risk_rows::residual_severity, diesel::dsl::count_star()))
        .load(conn)?;
    let projected: Vec<(String, i64)> = risk_rows::table
        .filter(risk_rows::model_id.eq(&m))
        .group_by(risk_rows::projected_severity)
        .select((risk_rows::projected_severity, diesel::dsl::count_star()))
        .load(conn)?;
    let parse = |rows: Vec<(String, i64)>| -> Result<SeverityCounts, StoreError> {
        rows.into_iter()
            .map(|(s, n)| Ok((parse_enum(&s, Severity::parse)?, n)))
            .collect()
    };
    Ok((parse(residual)?, parse(projected)?))
}
