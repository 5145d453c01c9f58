//! Ticketing integrations: what a ticketing system's webhook says about a
//! ticket, how its states map to treatment statuses, and the rules an
//! integration's settings follow. Signatures are in [`crate::signature`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::treatment::TreatmentStatus;
use crate::validation::ValidationErrors;

string_enum!(
    /// The ticketing system an integration speaks for.
    IntegrationKind {
        Jira => "jira",
        Github => "github",
        Gitlab => "gitlab",
        Servicenow => "servicenow",
        Generic => "generic",
    }
);

/// Ticket state → treatment status, keyed by the state names of
/// [`ticket_event`]. A state with no entry changes nothing.
pub type StatusMapping = BTreeMap<String, TreatmentStatus>;

/// Statuses a ticket may drive a treatment to. Approval stays a person's
/// decision (the owner's); `expired` is the sweep's alone.
pub const MAPPABLE: &[TreatmentStatus] = &[
    TreatmentStatus::InProgress,
    TreatmentStatus::Done,
    TreatmentStatus::Verified,
    TreatmentStatus::Rejected,
];

/// At most this many entries in a mapping.
pub const MAX_MAPPING_ENTRIES: usize = 100;

impl IntegrationKind {
    /// The mapping an integration starts with.
    pub fn default_mapping(self) -> StatusMapping {
        use TreatmentStatus::*;
        let pairs: &[(&str, TreatmentStatus)] = match self {
            // Jira's status categories, and "done" with a won't-do resolution.
            IntegrationKind::Jira => &[
                ("indeterminate", InProgress),
                ("done", Done),
                ("wont_do", Rejected),
            ],
            IntegrationKind::Github => &[
                ("reopened", InProgress),
                ("closed", Done),
                ("closed:completed", Done),
                ("closed:not_planned", Rejected),
            ],
            IntegrationKind::Gitlab => &[("reopened", InProgress), ("closed", Done)],
            // ServiceNow incident states: 2 In Progress, 6 Resolved,
            // 7 Closed, 8 Canceled.
            IntegrationKind::Servicenow => {
                &[("2", InProgress), ("6", Done), ("7", Done), ("8", Rejected)]
            }
            IntegrationKind::Generic => &[
                ("in_progress", InProgress),
                ("reopened", InProgress),
                ("done", Done),
                ("wont_do", Rejected),
            ],
        };
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// The headers that carry the sender's delivery id, in order of preference.
    pub fn delivery_headers(self) -> &'static [&'static str] {
        match self {
            IntegrationKind::Jira => &["x-atlassian-webhook-identifier"],
            IntegrationKind::Github => &["x-github-delivery"],
            IntegrationKind::Gitlab => &["x-gitlab-event-uuid", "idempotency-key"],
            IntegrationKind::Servicenow | IntegrationKind::Generic => &["webhook-id"],
        }
    }

    /// Whether Palisade can open tickets in this system.
    pub fn creates_tickets(self) -> bool {
        matches!(self, IntegrationKind::Jira | IntegrationKind::Github)
    }

    /// Whether the sender signs with Standard Webhooks (a `whsec_` secret).
    pub fn standard_webhooks(self) -> bool {
        matches!(self, IntegrationKind::Servicenow | IntegrationKind::Generic)
    }
}

/// Checks a mapping: known statuses only, bounded, sensible keys.
pub fn check_mapping(errors: &mut ValidationErrors, field: &str, mapping: &StatusMapping) {
    if mapping.len() > MAX_MAPPING_ENTRIES {
        errors.add(
            field,
            format!(
                "has {} entries; at most {MAX_MAPPING_ENTRIES}",
                mapping.len()
            ),
        );
        return;
    }
    for (state, status) in mapping {
        let at = format!("{field}.{state}");
        if state.is_empty() || state.chars().count() > 64 {
            errors.add(&at, "a ticket state is 1–64 characters");
        } else if state.chars().any(crate::validation::is_forbidden_char) {
            errors.add(&at, "a ticket state takes no control characters");
        }
        if !MAPPABLE.contains(status) {
            errors.add(
                &at,
                format!(
                    "a ticket cannot move a treatment to {status}; one of in_progress, done, verified, rejected"
                ),
            );
        }
    }
}

/// Where and as whom Palisade opens tickets (Jira, GitHub). The token is
/// write-only and kept sealed; these settings are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutboundSettings {
    /// `https://acme.atlassian.net`, `https://api.github.com`.
    pub base_url: String,
    /// The Jira project key (`SEC`) or the GitHub repository (`owner/repo`).
    pub project: String,
    /// Jira's issue type (default `Task`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_type: Option<String>,
    /// Jira's account e-mail for basic authentication with an API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// An integration's writable fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationFields {
    pub kind: IntegrationKind,
    pub name: String,
    pub status_mapping: StatusMapping,
    pub enabled: bool,
    pub outbound: Option<OutboundSettings>,
}

impl IntegrationFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        check_mapping(&mut e, "status_mapping", &self.status_mapping);
        if let Some(o) = &self.outbound {
            if !self.kind.creates_tickets() {
                e.add(
                    "outbound",
                    format!(
                        "tickets can be opened in jira and github, not {}",
                        self.kind
                    ),
                );
            }
            if o.base_url.len() > crate::webhook::MAX_URL_LENGTH {
                e.add("outbound.base_url", "is too long");
            }
            e.check_name("outbound.project", &o.project);
            if self.kind == IntegrationKind::Github {
                let parts: Vec<&str> = o.project.split('/').collect();
                if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
                    e.add("outbound.project", "a GitHub repository is owner/repo");
                }
            }
            e.check_optional_name("outbound.issue_type", o.issue_type.as_deref());
            e.check_optional_name("outbound.username", o.username.as_deref());
            if self.kind == IntegrationKind::Jira && o.username.is_none() {
                e.add(
                    "outbound.username",
                    "Jira needs the account e-mail the API token belongs to",
                );
            }
        }
        e.finish()
    }
}

/// One of an integration's inbound secrets; the secret itself is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecretInfo {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: crate::ids::IntegrationSecretId,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When a webhook last verified with it.
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A ticketing system registered for an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Integration {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: crate::ids::IntegrationId,
    pub kind: IntegrationKind,
    pub name: String,
    /// Ticket state → treatment status.
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::BTreeMap<String, TreatmentStatus>))]
    pub status_mapping: StatusMapping,
    /// A disabled integration answers its webhooks 404.
    pub enabled: bool,
    /// Ticket creation settings, when the integration opens tickets.
    pub outbound: Option<OutboundSettings>,
    /// Whether a ticket-creation token is stored (it is never shown).
    pub has_outbound_token: bool,
    /// The inbound secrets in force, newest first (at most two).
    pub secrets: Vec<SecretInfo>,
    /// Where the ticketing system posts its webhooks.
    pub webhook_url: String,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// At most this many inbound secrets are in force at once.
pub const MAX_SECRETS: usize = 2;

/// What a webhook says about one ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    /// The ticket's key as treatments store it (`SEC-42`, `owner/repo#7`).
    pub key: String,
    /// The state name the mapping is keyed by.
    pub state: String,
    /// The ticket's page, when the payload gives one.
    pub url: Option<String>,
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

fn number(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_i64()
}

/// Resolutions that close a Jira ticket without doing the work.
const JIRA_WONT_DO: &[&str] = &["won't do", "won't fix", "wont do", "wont fix", "declined"];

/// Reads the ticket and its state from a webhook body, per kind; `None`
/// for events that are not about a ticket's state (a GitHub `ping`, a
/// GitLab push, a Jira comment). `event` is the kind's event header
/// (`X-GitHub-Event`, `X-Gitlab-Event`) when it sends one.
pub fn ticket_event(
    kind: IntegrationKind,
    event: Option<&str>,
    body: &Value,
) -> Option<TicketEvent> {
    match kind {
        IntegrationKind::Jira => {
            let name = text(body, &["webhookEvent"])?;
            if !matches!(name, "jira:issue_updated" | "jira:issue_created") {
                return None;
            }
            let key = text(body, &["issue", "key"])?;
            let category = text(
                body,
                &["issue", "fields", "status", "statusCategory", "key"],
            )?;
            let resolution =
                text(body, &["issue", "fields", "resolution", "name"]).map(str::to_ascii_lowercase);
            let state = match resolution {
                Some(r) if category == "done" && JIRA_WONT_DO.contains(&r.as_str()) => "wont_do",
                _ => category,
            };
            Some(TicketEvent {
                key: key.to_string(),
                state: state.to_string(),
                url: text(body, &["issue", "self"]).map(str::to_string),
            })
        }
        IntegrationKind::Github => {
            if event.is_some_and(|e| e != "issues") {
                return None;
            }
            let action = text(body, &["action"])?;
            if !matches!(action, "opened" | "closed" | "reopened" | "edited") {
                return None;
            }
            let repo = text(body, &["repository", "full_name"])?;
            let number = number(body, &["issue", "number"])?;
            let state = text(body, &["issue", "state"])?;
            let state = match (state, text(body, &["issue", "state_reason"])) {
                ("open", Some("reopened")) => "reopened".to_string(),
                ("open", _) if action == "reopened" => "reopened".to_string(),
                ("closed", Some(reason)) => format!("closed:{reason}"),
                (s, _) => s.to_string(),
            };
            Some(TicketEvent {
                key: format!("{repo}#{number}"),
                state,
                url: text(body, &["issue", "html_url"]).map(str::to_string),
            })
        }
        IntegrationKind::Gitlab => {
            if event.is_some_and(|e| e != "Issue Hook" && e != "Confidential Issue Hook") {
                return None;
            }
            if text(body, &["object_kind"])? != "issue" {
                return None;
            }
            let project = text(body, &["project", "path_with_namespace"])?;
            let iid = number(body, &["object_attributes", "iid"])?;
            let state = match text(body, &["object_attributes", "action"]) {
                Some("reopen") => "reopened",
                _ => text(body, &["object_attributes", "state"])?,
            };
            Some(TicketEvent {
                key: format!("{project}#{iid}"),
                state: state.to_string(),
                url: text(body, &["object_attributes", "url"]).map(str::to_string),
            })
        }
        IntegrationKind::Servicenow => {
            let key = text(body, &["number"])?;
            let state = match body.get("state")? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some(TicketEvent {
                key: key.to_string(),
                state,
                url: text(body, &["url"]).map(str::to_string),
            })
        }
        IntegrationKind::Generic => Some(TicketEvent {
            key: text(body, &["ticket_key"])?.to_string(),
            state: text(body, &["state"])?.to_string(),
            url: text(body, &["url"]).map(str::to_string),
        }),
    }
}

/// The moves that take a treatment from `from` to `to` by the state
/// machine, shortest first, never through approval (a ticket cannot
/// approve); empty when it is there already, `None` when it cannot get
/// there (a proposed treatment, a final status).
pub fn moves(from: TreatmentStatus, to: TreatmentStatus) -> Option<Vec<TreatmentStatus>> {
    if from == to {
        return Some(Vec::new());
    }
    let mut paths: Vec<Vec<TreatmentStatus>> = vec![vec![from]];
    let mut seen = vec![from];
    while !paths.is_empty() {
        let mut next = Vec::new();
        for path in paths {
            let last = *path.last()?;
            for &step in last.allowed() {
                if step == TreatmentStatus::Approved || seen.contains(&step) {
                    continue;
                }
                let mut longer = path.clone();
                longer.push(step);
                if step == to {
                    return Some(longer.into_iter().skip(1).collect());
                }
                seen.push(step);
                next.push(longer);
            }
        }
        paths = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use TreatmentStatus::*;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/../../../shared/data/webhooks/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn state_of(
        kind: IntegrationKind,
        event: Option<&str>,
        body: &Value,
    ) -> Option<TreatmentStatus> {
        let e = ticket_event(kind, event, body)?;
        kind.default_mapping().get(&e.state).copied()
    }

    #[test]
    fn the_shared_samples_read_as_their_tickets_and_states() {
        let done = ticket_event(IntegrationKind::Jira, None, &sample("jira-issue-done.json"));
        assert_eq!(
            done,
            Some(TicketEvent {
                key: "KAN-22".into(),
                state: "done".into(),
                url: Some("https://helloworld-test.atlassian.net/rest/api/2/10021".into()),
            })
        );
        let updated = sample("jira-issue-updated.json");
        assert_eq!(
            ticket_event(IntegrationKind::Jira, None, &updated).map(|e| e.state),
            Some("new".into())
        );
        assert_eq!(state_of(IntegrationKind::Jira, None, &updated), None);

        let closed = ticket_event(
            IntegrationKind::Github,
            Some("issues"),
            &sample("github-issues-closed.json"),
        )
        .unwrap();
        assert_eq!(
            (closed.key.as_str(), closed.state.as_str()),
            ("Codertocat/Hello-World#1", "closed:completed")
        );
        let reopened = sample("github-issues-reopened.json");
        assert_eq!(
            state_of(IntegrationKind::Github, Some("issues"), &reopened),
            Some(InProgress)
        );
        assert_eq!(
            ticket_event(IntegrationKind::Github, Some("ping"), &reopened),
            None
        );

        let gitlab = ticket_event(
            IntegrationKind::Gitlab,
            Some("Issue Hook"),
            &sample("gitlab-issue-close.json"),
        )
        .unwrap();
        assert_eq!(
            (gitlab.key.as_str(), gitlab.state.as_str()),
            ("gitlabhq/gitlab-test#23", "closed")
        );
        assert_eq!(
            state_of(
                IntegrationKind::Gitlab,
                None,
                &sample("gitlab-issue-close.json")
            ),
            Some(Done)
        );

        let snow = ticket_event(
            IntegrationKind::Servicenow,
            None,
            &sample("servicenow-incident.json"),
        )
        .unwrap();
        assert_eq!(
            (snow.key.as_str(), snow.state.as_str()),
            ("INC0010023", "6")
        );
        assert_eq!(
            state_of(
                IntegrationKind::Servicenow,
                None,
                &sample("servicenow-incident.json")
            ),
            Some(Done)
        );
    }

    #[test]
    fn wont_do_closes_as_rejected() {
        let mut jira = sample("jira-issue-done.json");
        jira["issue"]["fields"]["resolution"] = json!({"name": "Won't Do"});
        assert_eq!(state_of(IntegrationKind::Jira, None, &jira), Some(Rejected));
        let mut github = sample("github-issues-closed.json");
        github["issue"]["state_reason"] = json!("not_planned");
        assert_eq!(
            state_of(IntegrationKind::Github, None, &github),
            Some(Rejected)
        );
        let mut snow = sample("servicenow-incident.json");
        snow["state"] = json!(8);
        assert_eq!(
            state_of(IntegrationKind::Servicenow, None, &snow),
            Some(Rejected)
        );
        let mut gitlab = sample("gitlab-issue-close.json");
        gitlab["object_attributes"]["action"] = json!("reopen");
        gitlab["object_attributes"]["state"] = json!("opened");
        assert_eq!(
            state_of(IntegrationKind::Gitlab, None, &gitlab),
            Some(InProgress)
        );
    }

    #[test]
    fn bodies_that_are_not_about_a_ticket_are_none() {
        for kind in IntegrationKind::ALL {
            assert_eq!(ticket_event(*kind, None, &json!({})), None, "{kind}");
            assert_eq!(ticket_event(*kind, None, &json!([1, 2])), None, "{kind}");
            assert_eq!(
                ticket_event(*kind, None, &json!({"issue": {"key": 7}})),
                None,
                "{kind}"
            );
        }
        let comment = json!({"webhookEvent": "comment_created", "issue": {"key": "A-1"}});
        assert_eq!(ticket_event(IntegrationKind::Jira, None, &comment), None);
    }

    #[test]
    fn moves_follow_the_state_machine_and_never_approve() {
        assert_eq!(moves(Approved, Done), Some(vec![InProgress, Done]));
        assert_eq!(moves(InProgress, Done), Some(vec![Done]));
        assert_eq!(moves(Done, InProgress), Some(vec![InProgress]));
        assert_eq!(moves(Done, Done), Some(vec![]));
        assert_eq!(moves(Approved, Rejected), Some(vec![Rejected]));
        assert_eq!(moves(Proposed, Rejected), Some(vec![Rejected]));
        assert_eq!(moves(InProgress, Verified), Some(vec![Done, Verified]));
        assert_eq!(moves(InProgress, Rejected), Some(vec![Rejected]));
        // Work on a proposed treatment waits for its approval.
        assert_eq!(moves(Proposed, Done), None);
        assert_eq!(moves(Proposed, InProgress), None);
        assert_eq!(moves(Verified, InProgress), None);
        assert_eq!(moves(Rejected, Done), None);
        assert_eq!(moves(Expired, InProgress), None);
    }

    #[test]
    fn mappings_take_only_what_a_ticket_may_decide() {
        for kind in IntegrationKind::ALL {
            let mut e = ValidationErrors::new();
            check_mapping(&mut e, "status_mapping", &kind.default_mapping());
            assert!(e.is_empty(), "{kind}: {e:?}");
        }
        let mut e = ValidationErrors::new();
        let bad: StatusMapping = [("done".to_string(), Approved), (String::new(), Done)].into();
        check_mapping(&mut e, "status_mapping", &bad);
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["status_mapping.", "status_mapping.done"]);
    }
}
