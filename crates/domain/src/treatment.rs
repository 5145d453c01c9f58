//! Step 5: treatments — the decision taken on a threat (avoid, transfer,
//! reduce or accept it), the state machine it moves along, and what it does
//! to the threat's risk.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetId, ControlId, ModelId, PartyId, ThreatId, TreatmentId};
use crate::scoring::residual;
use crate::validation::ValidationErrors;

string_enum!(
    /// Where a risk stands: `open` until a treatment settles it (step 5):
    /// `treated` (its reduction is done), `transferred`, `avoided`, or
    /// `accepted` (until the acceptance expires).
    RiskStatus {
        Open => "open",
        Treated => "treated",
        Transferred => "transferred",
        Avoided => "avoided",
        Accepted => "accepted",
    }
);

string_enum!(
    /// How a threat's risk is decided.
    Strategy {
        Avoid => "avoid",
        Transfer => "transfer",
        Reduce => "reduce",
        Accept => "accept",
    }
);

string_enum!(
    /// Where a treatment stands. Moves only by transitions (and `expired`
    /// only by the expiry sweep).
    TreatmentStatus {
        Proposed => "proposed",
        Approved => "approved",
        InProgress => "in_progress",
        Done => "done",
        Verified => "verified",
        Rejected => "rejected",
        Expired => "expired",
    }
);

string_enum!(
    /// How a risk is transferred.
    Mechanism {
        Contract => "contract",
        Insurance => "insurance",
        Other => "other",
    }
);

impl TreatmentStatus {
    /// The moves a transition may make from here. `done → in_progress`
    /// reopens work (a ticket reopened); `expired` is the sweep's alone.
    pub fn allowed(self) -> &'static [TreatmentStatus] {
        use TreatmentStatus::*;
        match self {
            Proposed => &[Approved, Rejected],
            Approved => &[InProgress, Rejected],
            // Rejected from in progress: the work is abandoned (a ticket
            // closed as won't do).
            InProgress => &[Done, Rejected],
            Done => &[Verified, InProgress],
            Verified | Rejected | Expired => &[],
        }
    }

    /// Whether the decision still stands (neither rejected nor expired).
    pub fn stands(self) -> bool {
        !matches!(self, TreatmentStatus::Rejected | TreatmentStatus::Expired)
    }

    /// Whether the work is finished.
    pub fn finished(self) -> bool {
        matches!(self, TreatmentStatus::Done | TreatmentStatus::Verified)
    }
}

/// A refused move: the statuses reachable from `from` instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IllegalMove {
    pub from: TreatmentStatus,
    pub to: TreatmentStatus,
    pub allowed: Vec<TreatmentStatus>,
}

impl std::fmt::Display for IllegalMove {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed: Vec<&str> = self.allowed.iter().map(|s| s.as_str()).collect();
        write!(
            f,
            "a {} treatment cannot move to {}; allowed: {}",
            self.from,
            self.to,
            if allowed.is_empty() {
                "none (this status is final)".to_string()
            } else {
                allowed.join(", ")
            }
        )
    }
}

/// Checks one move of the state machine.
pub fn transition(from: TreatmentStatus, to: TreatmentStatus) -> Result<(), IllegalMove> {
    if from.allowed().contains(&to) {
        Ok(())
    } else {
        Err(IllegalMove {
            from,
            to,
            allowed: from.allowed().to_vec(),
        })
    }
}

/// A link to the ticket that tracks the work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// The ticketing system (`jira`, `github`, …).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub system: String,
    /// The ticket's key in that system (`SEC-42`, `owner/repo#7`).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = r"^https?://[^\s]+$", max_length = 2000)
    )]
    pub url: Option<String>,
}

/// What a strategy decides, with the fields that strategy needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "strategy", rename_all = "snake_case")]
pub enum Plan {
    Avoid {
        /// What is removed or stopped.
        removed: String,
        /// Assets taken out of scope by it.
        removed_asset_ids: Vec<AssetId>,
    },
    Transfer {
        /// The party that takes the risk: an insurer, a vendor, a partner.
        counterparty_party_id: PartyId,
        mechanism: Mechanism,
        /// The share of the impact transferred, 0–1.
        transferred_share: f64,
    },
    Reduce {
        /// The controls (existing or planned) that reduce it; at least one.
        control_ids: Vec<ControlId>,
    },
    Accept {
        justification: String,
        approver: String,
        /// The day the acceptance ends; after it the threat is a gap again.
        expires_on: NaiveDate,
    },
}

impl Plan {
    pub fn strategy(&self) -> Strategy {
        match self {
            Plan::Avoid { .. } => Strategy::Avoid,
            Plan::Transfer { .. } => Strategy::Transfer,
            Plan::Reduce { .. } => Strategy::Reduce,
            Plan::Accept { .. } => Strategy::Accept,
        }
    }
}

/// A treatment as a client writes it: the common fields and every
/// strategy's fields, checked against `strategy` by `TreatmentFields::from_input`
/// (a field of another strategy is refused, naming it).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreatmentInput {
    pub threat_id: Option<ThreatId>,
    pub strategy: Option<Strategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_asset_ids: Option<Vec<AssetId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counterparty_party_id: Option<PartyId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_ids: Option<Vec<ControlId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approver: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
}

/// The writable fields of a treatment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TreatmentFields {
    pub threat_id: ThreatId,
    #[serde(flatten)]
    pub plan: Plan,
    pub rationale: Option<String>,
    pub owner: String,
    pub due_date: Option<NaiveDate>,
    pub ticket: Option<Ticket>,
}

/// Each strategy's own fields, for naming a field sent with the wrong one.
const STRATEGY_FIELDS: [(Strategy, &[&str]); 4] = [
    (Strategy::Avoid, &["removed", "removed_asset_ids"]),
    (
        Strategy::Transfer,
        &["counterparty_party_id", "mechanism", "transferred_share"],
    ),
    (Strategy::Reduce, &["control_ids"]),
    (
        Strategy::Accept,
        &["justification", "approver", "expires_on"],
    ),
];

impl TreatmentFields {
    /// Judges what a client wrote: every missing field of the strategy
    /// and every field of another strategy named at once. `today` is the
    /// day an acceptance must end after (`None` when its expiry is not
    /// being set now, so an unchanged past expiry does not block an edit).
    pub fn from_input(
        input: TreatmentInput,
        today: Option<NaiveDate>,
    ) -> Result<TreatmentFields, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let (Some(threat_id), Some(strategy)) = (input.threat_id, input.strategy) else {
            if input.threat_id.is_none() {
                e.add("threat_id", "is required");
            }
            if input.strategy.is_none() {
                e.add("strategy", "is required: avoid, transfer, reduce or accept");
            }
            if input.owner.is_none() {
                e.add("owner", "is required: who is answerable for the treatment");
            }
            return Err(e);
        };
        let present = |name: &str| match name {
            "removed" => input.removed.is_some(),
            "removed_asset_ids" => input.removed_asset_ids.is_some(),
            "counterparty_party_id" => input.counterparty_party_id.is_some(),
            "mechanism" => input.mechanism.is_some(),
            "transferred_share" => input.transferred_share.is_some(),
            "control_ids" => input.control_ids.is_some(),
            "justification" => input.justification.is_some(),
            "approver" => input.approver.is_some(),
            "expires_on" => input.expires_on.is_some(),
            _ => false,
        };
        for (other, names) in STRATEGY_FIELDS {
            if other != strategy {
                for name in names.iter().filter(|n| present(n)) {
                    e.add(
                        *name,
                        format!("is a field of {other} treatments, not of {strategy} ones"),
                    );
                }
            }
        }
        let mut required = |name: &str, ok: bool| {
            if !ok {
                e.add(name, format!("is required for a {strategy} treatment"));
            }
        };
        let plan = match strategy {
            Strategy::Avoid => {
                required("removed", input.removed.is_some());
                Plan::Avoid {
                    removed: input.removed.unwrap_or_default(),
                    removed_asset_ids: input.removed_asset_ids.unwrap_or_default(),
                }
            }
            Strategy::Transfer => {
                required(
                    "counterparty_party_id",
                    input.counterparty_party_id.is_some(),
                );
                required("mechanism", input.mechanism.is_some());
                required("transferred_share", input.transferred_share.is_some());
                Plan::Transfer {
                    counterparty_party_id: input
                        .counterparty_party_id
                        .unwrap_or(PartyId(uuid::Uuid::nil())),
                    mechanism: input.mechanism.unwrap_or(Mechanism::Other),
                    transferred_share: input.transferred_share.unwrap_or(0.0),
                }
            }
            Strategy::Reduce => {
                let ids = input.control_ids.unwrap_or_default();
                if ids.is_empty() {
                    e.add(
                        "control_ids",
                        "a reduce treatment names at least one control of the model",
                    );
                }
                Plan::Reduce { control_ids: ids }
            }
            Strategy::Accept => {
                required("justification", input.justification.is_some());
                required("approver", input.approver.is_some());
                required("expires_on", input.expires_on.is_some());
                if let (Some(day), Some(today)) = (input.expires_on, today) {
                    if day <= today {
                        e.add(
                            "expires_on",
                            format!("must be in the future (after {today})"),
                        );
                    }
                }
                Plan::Accept {
                    justification: input.justification.unwrap_or_default(),
                    approver: input.approver.unwrap_or_default(),
                    expires_on: input.expires_on.unwrap_or(NaiveDate::MIN),
                }
            }
        };
        if input.owner.is_none() {
            e.add("owner", "is required: who is answerable for the treatment");
        }
        e.finish()?;
        let fields = TreatmentFields {
            threat_id,
            plan,
            rationale: input.rationale,
            owner: input.owner.unwrap_or_default(),
            due_date: input.due_date,
            ticket: input.ticket,
        };
        fields.validate()?;
        Ok(fields)
    }

    /// The writable form, for merge patches.
    pub fn to_input(&self) -> TreatmentInput {
        let mut input = TreatmentInput {
            threat_id: Some(self.threat_id),
            strategy: Some(self.plan.strategy()),
            rationale: self.rationale.clone(),
            owner: Some(self.owner.clone()),
            due_date: self.due_date,
            ticket: self.ticket.clone(),
            ..TreatmentInput::default()
        };
        match &self.plan {
            Plan::Avoid {
                removed,
                removed_asset_ids,
            } => {
                input.removed = Some(removed.clone());
                input.removed_asset_ids = Some(removed_asset_ids.clone());
            }
            Plan::Transfer {
                counterparty_party_id,
                mechanism,
                transferred_share,
            } => {
                input.counterparty_party_id = Some(*counterparty_party_id);
                input.mechanism = Some(*mechanism);
                input.transferred_share = Some(*transferred_share);
            }
            Plan::Reduce { control_ids } => input.control_ids = Some(control_ids.clone()),
            Plan::Accept {
                justification,
                approver,
                expires_on,
            } => {
                input.justification = Some(justification.clone());
                input.approver = Some(approver.clone());
                input.expires_on = Some(*expires_on);
            }
        }
        input
    }

    /// The rules on the fields' own values.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_optional_text("rationale", self.rationale.as_deref());
        e.check_name("owner", &self.owner);
        if let Some(t) = &self.ticket {
            e.check_name("ticket.system", &t.system);
            e.check_name("ticket.key", &t.key);
            if let Some(url) = &t.url {
                let web = url.starts_with("https://") || url.starts_with("http://");
                if !web || url.len() > 2000 || url.chars().any(char::is_whitespace) {
                    e.add(
                        "ticket.url",
                        "must be an http(s) URL of at most 2 000 characters",
                    );
                }
            }
        }
        match &self.plan {
            Plan::Avoid {
                removed,
                removed_asset_ids,
            } => {
                e.check_text("removed", removed);
                e.check_id_list("removed_asset_ids", removed_asset_ids);
            }
            Plan::Transfer {
                transferred_share, ..
            } => {
                if !(transferred_share.is_finite() && (0.0..=1.0).contains(transferred_share)) {
                    e.add("transferred_share", "must be between 0 and 1");
                }
            }
            Plan::Reduce { control_ids } => e.check_id_list("control_ids", control_ids),
            Plan::Accept {
                justification,
                approver,
                ..
            } => {
                e.check_text("justification", justification);
                e.check_name("approver", approver);
            }
        }
        e.finish()
    }
}

/// A decision on a threat. The newest for a threat is its current one;
/// older ones name the one that superseded them and stay as history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Treatment {
    pub id: TreatmentId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: TreatmentFields,
    pub status: TreatmentStatus,
    pub superseded_by: Option<TreatmentId>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a threat's current treatment does to its register row.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    /// For the residual and projected figures.
    pub treatment: residual::Treatment,
    /// Controls a reduce treatment adds to the threat: counted at their
    /// status in the residual figure and as implemented in the projected one.
    pub controls: Vec<ControlId>,
    pub status: RiskStatus,
}

impl Effect {
    pub const NONE: Effect = Effect {
        treatment: residual::Treatment::None,
        controls: Vec::new(),
        status: RiskStatus::Open,
    };
}

/// The one rule for a treatment's effect on risk (`scoring.md`): avoid
/// done → residual 0; transfer done → impact × (1 − share); reduce → its
/// controls count where they are implemented, and in the projected figure
/// as if they were; accept → the score stands and the risk is `accepted`
/// from its approval until its expiry. A rejected or expired treatment has
/// no effect; an open one shows in the projected figure only.
pub fn effect(t: &Treatment, today: NaiveDate) -> Effect {
    if !t.status.stands() {
        return Effect::NONE;
    }
    let done = t.status.finished();
    let settled = |status| if done { status } else { RiskStatus::Open };
    match &t.fields.plan {
        Plan::Avoid { .. } => Effect {
            treatment: residual::Treatment::Avoid { done },
            controls: Vec::new(),
            status: settled(RiskStatus::Avoided),
        },
        Plan::Transfer {
            transferred_share, ..
        } => Effect {
            treatment: residual::Treatment::Transfer {
                share: *transferred_share,
                done,
            },
            controls: Vec::new(),
            status: settled(RiskStatus::Transferred),
        },
        Plan::Reduce { control_ids } => Effect {
            treatment: residual::Treatment::None,
            controls: control_ids.clone(),
            status: settled(RiskStatus::Treated),
        },
        Plan::Accept { expires_on, .. } => {
            let in_force = t.status != TreatmentStatus::Proposed && *expires_on >= today;
            Effect {
                treatment: if in_force {
                    residual::Treatment::Accept
                } else {
                    residual::Treatment::None
                },
                controls: Vec::new(),
                status: if in_force {
                    RiskStatus::Accepted
                } else {
                    RiskStatus::Open
                },
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use TreatmentStatus::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_legal_move_passes_and_every_other_is_refused_with_the_allowed_ones() {
        let legal = [
            (Proposed, Approved),
            (Proposed, Rejected),
            (Approved, InProgress),
            (Approved, Rejected),
            (InProgress, Done),
            (InProgress, Rejected),
            (Done, Verified),
            (Done, InProgress),
        ];
        for from in TreatmentStatus::ALL {
            for to in TreatmentStatus::ALL {
                let result = transition(*from, *to);
                if legal.contains(&(*from, *to)) {
                    assert_eq!(result, Ok(()), "{from} → {to}");
                } else {
                    let refused = result.expect_err(&format!("{from} → {to} must be refused"));
                    let expected: Vec<TreatmentStatus> = legal
                        .iter()
                        .filter(|(f, _)| f == from)
                        .map(|(_, t)| *t)
                        .collect();
                    assert_eq!(refused.allowed, expected, "allowed from {from}");
                }
            }
        }
        assert!(transition(Verified, Done)
            .unwrap_err()
            .to_string()
            .contains("final"));
    }

    fn input(strategy: Strategy) -> TreatmentInput {
        TreatmentInput {
            threat_id: Some(ThreatId(uuid::Uuid::nil())),
            strategy: Some(strategy),
            owner: Some("ciso".into()),
            ..TreatmentInput::default()
        }
    }

    fn fields_named(e: ValidationErrors) -> Vec<String> {
        let mut names: Vec<String> = e.0.iter().map(|f| f.field.clone()).collect();
        names.sort();
        names
    }

    #[test]
    fn each_strategy_names_every_missing_field() {
        let missing = |s| {
            fields_named(
                TreatmentFields::from_input(input(s), Some(day("2026-12-02"))).unwrap_err(),
            )
        };
        assert_eq!(missing(Strategy::Avoid), ["removed"]);
        assert_eq!(
            missing(Strategy::Transfer),
            ["counterparty_party_id", "mechanism", "transferred_share"]
        );
        assert_eq!(missing(Strategy::Reduce), ["control_ids"]);
        assert_eq!(
            missing(Strategy::Accept),
            ["approver", "expires_on", "justification"]
        );
        let nothing = TreatmentInput::default();
        assert_eq!(
            fields_named(TreatmentFields::from_input(nothing, None).unwrap_err()),
            ["owner", "strategy", "threat_id"]
        );
        let mut no_owner = input(Strategy::Avoid);
        no_owner.owner = None;
        no_owner.removed = Some("the export feature".into());
        assert_eq!(
            fields_named(TreatmentFields::from_input(no_owner, None).unwrap_err()),
            ["owner"]
        );
    }

    #[test]
    fn a_field_of_another_strategy_is_named_and_values_are_judged() {
        let mut avoid = input(Strategy::Avoid);
        avoid.removed = Some("the legacy endpoint".into());
        avoid.control_ids = Some(vec![]);
        avoid.expires_on = Some(day("2030-01-01"));
        assert_eq!(
            fields_named(TreatmentFields::from_input(avoid, None).unwrap_err()),
            ["control_ids", "expires_on"]
        );
        let mut transfer = input(Strategy::Transfer);
        transfer.counterparty_party_id = Some(PartyId(uuid::Uuid::nil()));
        transfer.mechanism = Some(Mechanism::Insurance);
        transfer.transferred_share = Some(1.5);
        assert_eq!(
            fields_named(TreatmentFields::from_input(transfer, None).unwrap_err()),
            ["transferred_share"]
        );
        let mut accept = input(Strategy::Accept);
        accept.justification = Some("the fix costs more than the loss".into());
        accept.approver = Some("cfo".into());
        accept.expires_on = Some(day("2026-12-02"));
        assert_eq!(
            fields_named(
                TreatmentFields::from_input(accept.clone(), Some(day("2026-12-02"))).unwrap_err()
            ),
            ["expires_on"],
            "today is not in the future"
        );
        assert!(TreatmentFields::from_input(accept.clone(), Some(day("2026-12-01"))).is_ok());
        // An expiry that is not being set now is not judged against today.
        assert!(TreatmentFields::from_input(accept, None).is_ok());
        let mut reduce = input(Strategy::Reduce);
        reduce.control_ids = Some(vec![ControlId(uuid::Uuid::nil())]);
        reduce.ticket = Some(Ticket {
            system: "jira".into(),
            key: "SEC-1".into(),
            url: Some("javascript:alert(1)".into()),
        });
        assert_eq!(
            fields_named(TreatmentFields::from_input(reduce, None).unwrap_err()),
            ["ticket.url"]
        );
    }

    #[test]
    fn the_input_form_round_trips() {
        let mut transfer = input(Strategy::Transfer);
        transfer.counterparty_party_id = Some(PartyId(uuid::Uuid::nil()));
        transfer.mechanism = Some(Mechanism::Contract);
        transfer.transferred_share = Some(0.4);
        transfer.due_date = Some(day("2027-01-31"));
        let fields = TreatmentFields::from_input(transfer.clone(), None).unwrap();
        assert_eq!(fields.to_input(), transfer);
        let json = serde_json::to_value(&fields).unwrap();
        assert_eq!(json["strategy"], "transfer");
        assert_eq!(json["transferred_share"], 0.4);
        assert_eq!(json["due_date"], "2027-01-31");
    }

    pub(crate) fn treatment(plan: Plan, status: TreatmentStatus) -> Treatment {
        let now = Utc::now();
        Treatment {
            id: TreatmentId(uuid::Uuid::nil()),
            model_id: ModelId(uuid::Uuid::nil()),
            fields: TreatmentFields {
                threat_id: ThreatId(uuid::Uuid::nil()),
                plan,
                rationale: None,
                owner: "ciso".into(),
                due_date: None,
                ticket: None,
            },
            status,
            superseded_by: None,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn effects_follow_the_status_and_the_expiry() {
        let today = day("2026-12-02");
        let avoid = Plan::Avoid {
            removed: "x".into(),
            removed_asset_ids: vec![],
        };
        let e = effect(&treatment(avoid.clone(), Done), today);
        assert_eq!(e.treatment, residual::Treatment::Avoid { done: true });
        assert_eq!(e.status, RiskStatus::Avoided);
        let e = effect(&treatment(avoid.clone(), Approved), today);
        assert_eq!(e.treatment, residual::Treatment::Avoid { done: false });
        assert_eq!(e.status, RiskStatus::Open);
        assert_eq!(effect(&treatment(avoid, Rejected), today), Effect::NONE);

        let transfer = Plan::Transfer {
            counterparty_party_id: PartyId(uuid::Uuid::nil()),
            mechanism: Mechanism::Insurance,
            transferred_share: 0.6,
        };
        let e = effect(&treatment(transfer, Verified), today);
        assert_eq!(
            e.treatment,
            residual::Treatment::Transfer {
                share: 0.6,
                done: true
            }
        );
        assert_eq!(e.status, RiskStatus::Transferred);

        let c = ControlId(uuid::Uuid::nil());
        let reduce = Plan::Reduce {
            control_ids: vec![c],
        };
        let e = effect(&treatment(reduce.clone(), InProgress), today);
        assert_eq!((e.controls.clone(), e.status), (vec![c], RiskStatus::Open));
        assert_eq!(
            effect(&treatment(reduce, Done), today).status,
            RiskStatus::Treated
        );

        let accept = |expires_on| Plan::Accept {
            justification: "j".into(),
            approver: "a".into(),
            expires_on: day(expires_on),
        };
        assert_eq!(
            effect(&treatment(accept("2026-12-02"), Approved), today).status,
            RiskStatus::Accepted,
            "in force through its last day"
        );
        assert_eq!(
            effect(&treatment(accept("2026-12-01"), Approved), today).status,
            RiskStatus::Open,
            "past its expiry"
        );
        assert_eq!(
            effect(&treatment(accept("2027-01-01"), Proposed), today).status,
            RiskStatus::Open,
            "not yet approved"
        );
        assert_eq!(
            effect(&treatment(accept("2027-01-01"), Expired), today),
            Effect::NONE
        );
    }
}

#[cfg(test)]
mod step_five {
    use super::tests::treatment;
    use super::*;
    use crate::progress::{progress, ModelFacts, StepStatus};
    use crate::risk::RiskRow;
    use crate::severity::Severity;
    use TreatmentStatus::{Approved, Expired, Rejected};

    fn row(threat: ThreatId, title: &str, residual: Severity) -> RiskRow {
        serde_json::from_value(serde_json::json!({
            "threat_id": threat, "model_id": ModelId(uuid::Uuid::nil()), "title": title,
            "stride": "tampering", "method": "cvss31", "inherent_score": 9.8,
            "inherent_severity": "critical", "residual_score": 7.5, "residual_severity": residual,
            "projected_score": 7.5, "projected_severity": residual, "status": "open",
            "treatment_strategy": null, "treatment_status": null, "explanation": []
        }))
        .unwrap()
    }

    #[test]
    fn threats_above_the_appetite_need_a_standing_treatment_and_expiries_are_gaps() {
        let (high, low) = (ThreatId::generate(), ThreatId::generate());
        let register = [
            row(high, "rce", Severity::High),
            row(low, "typo", Severity::Low),
        ];
        let step = |treatments: &[Treatment], appetite: Option<Severity>| {
            let gaps = crate::gaps::gaps(&crate::gaps::GapFacts {
                register: &[],
                threats: &[],
                controls: &[],
                assets: &[],
                environment_checks: &[],
                treatments,
            });
            progress(&ModelFacts {
                register: &register,
                treatments,
                risk_appetite: appetite,
                gaps,
                ..Default::default()
            })
            .steps[4]
                .clone()
        };

        let none = step(&[], None);
        assert_eq!(none.status, StepStatus::NotStarted);
        assert_eq!(
            none.checks[0].refs,
            [high.to_string()],
            "only the high one is above medium"
        );
        assert!(
            none.checks[0].message.contains("\"rce\" (high)"),
            "{}",
            none.checks[0].message
        );
        // A higher appetite tolerates it.
        assert!(step(&[], Some(Severity::High)).checks[0].ok);

        let accept = |status| {
            let mut t = treatment(
                Plan::Accept {
                    justification: "j".into(),
                    approver: "a".into(),
                    expires_on: "2026-12-01".parse().unwrap(),
                },
                status,
            );
            t.fields.threat_id = high;
            t
        };
        let standing = step(&[accept(Approved)], None);
        assert_eq!(standing.status, StepStatus::Complete);
        let expired = step(&[accept(Expired)], None);
        assert_eq!(expired.status, StepStatus::InProgress);
        assert_eq!(expired.checks[0].refs, [high.to_string()]);
        assert_eq!(expired.checks[1].id, "mitigation.acceptances_in_force");
        assert_eq!(expired.checks[1].refs, [high.to_string()]);
        let rejected = step(&[accept(Rejected)], None);
        assert!(!rejected.checks[0].ok);
    }
}
