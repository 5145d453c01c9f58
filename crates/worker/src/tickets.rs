//! Opening a ticket for a reduce treatment: Jira (`POST /rest/api/3/issue`)
//! or GitHub (`POST /repos/{owner}/{repo}/issues`). The ticket carries a
//! label naming the treatment (`palisade-<id>`), and the job looks for it
//! before creating one: a run that created the ticket but died before
//! storing it finds it on the retry, so a retry never opens a second one.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use palisade_domain::integration::IntegrationKind;
use palisade_domain::threat::Threat;
use palisade_domain::treatment::Ticket;
use palisade_domain::treatment::Treatment;
use palisade_store::jobs::{JobContext, JobFailure};
use palisade_store::tickets::{self, Target, TicketRequest};
use palisade_store::DbConn;
use palisade_store::ModelReads as _;
use serde_json::{json, Value};

use crate::outbound::{self, Answer};
use crate::registry::{Context, Job};
use crate::settings::Settings;

/// The label that finds the treatment's ticket again.
pub fn label(treatment: &str) -> String {
    format!("palisade-{treatment}")
}

fn headers(t: &Target) -> Vec<(&'static str, String)> {
    match t.kind {
        IntegrationKind::Jira => {
            let user = t.settings.username.as_deref().unwrap_or("");
            vec![
                (
                    "authorization",
                    format!("Basic {}", B64.encode(format!("{user}:{}", t.token))),
                ),
                ("accept", "application/json".into()),
                ("content-type", "application/json".into()),
            ]
        }
        _ => vec![
            ("authorization", format!("Bearer {}", t.token)),
            ("accept", "application/vnd.github+json".into()),
            ("x-github-api-version", "2022-11-28".into()),
            ("content-type", "application/json".into()),
        ],
    }
}

/// A failed call: credentials or requests the system refuses will be
/// refused again; anything else (no answer, 429, 5xx) is worth a retry.
fn failure(what: &str, a: &Answer) -> JobFailure {
    let detail = format!(
        "{what}: {}{}",
        a.error.as_deref().unwrap_or("no answer"),
        a.excerpt
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    );
    match a.status {
        Some(s) if (400..500).contains(&s) && s != 408 && s != 429 => JobFailure::Permanent(detail),
        _ => JobFailure::Transient(detail),
    }
}

fn json_of(what: &str, a: &Answer) -> Result<Value, JobFailure> {
    if !a.status.is_some_and(|s| (200..300).contains(&s)) {
        return Err(failure(what, a));
    }
    serde_json::from_str(a.body.as_deref().unwrap_or(""))
        .map_err(|e| JobFailure::Transient(format!("{what}: the answer is not JSON: {e}")))
}

/// The ticket already opened for the treatment, if any.
fn find(s: &Settings, t: &Target, label: &str) -> Result<Option<Ticket>, JobFailure> {
    let base = &t.settings.base_url;
    match t.kind {
        IntegrationKind::Jira => {
            let url = url::Url::parse_with_params(
                &format!("{base}/rest/api/3/search/jql"),
                &[
                    ("jql", format!("labels = \"{label}\"")),
                    ("fields", "key".into()),
                    ("maxResults", "1".into()),
                ],
            )
            .map_err(|e| JobFailure::Permanent(format!("the Jira URL: {e}")))?;
            let a = outbound::send(s.policy, "GET", url.as_str(), &headers(t), None);
            let found = json_of("searching Jira", &a)?;
            Ok(found["issues"][0]["key"].as_str().map(|key| Ticket {
                system: "jira".into(),
                key: key.to_string(),
                url: Some(format!("{base}/browse/{key}")),
            }))
        }
        _ => {
            let url = url::Url::parse_with_params(
                &format!("{base}/repos/{}/issues", t.settings.project),
                &[("labels", label), ("state", "all"), ("per_page", "1")],
            )
            .map_err(|e| JobFailure::Permanent(format!("the GitHub URL: {e}")))?;
            let a = outbound::send(s.policy, "GET", url.as_str(), &headers(t), None);
            let found = json_of("searching GitHub", &a)?;
            Ok(found[0]["number"].as_i64().map(|n| Ticket {
                system: "github".into(),
                key: format!("{}#{n}", t.settings.project),
                url: found[0]["html_url"].as_str().map(str::to_string),
            }))
        }
    }
}

fn create(
    s: &Settings,
    t: &Target,
    title: &str,
    text: &str,
    label: &str,
) -> Result<Ticket, JobFailure> {
    let base = &t.settings.base_url;
    match t.kind {
        IntegrationKind::Jira => {
            let body = json!({"fields": {
                "project": {"key": t.settings.project},
                "issuetype": {"name": t.settings.issue_type.as_deref().unwrap_or("Task")},
                "summary": title,
                "labels": ["threat-model", label],
                "description": {"type": "doc", "version": 1, "content": [
                    {"type": "paragraph", "content": [{"type": "text", "text": text}]}]},
            }});
            let a = outbound::send(
                s.policy,
                "POST",
                &format!("{base}/rest/api/3/issue"),
                &headers(t),
                Some(body.to_string().as_bytes()),
            );
            let made = json_of("creating the Jira issue", &a)?;
            let key = made["key"]
                .as_str()
                .ok_or_else(|| JobFailure::Transient("Jira's answer has no key".into()))?;
            Ok(Ticket {
                system: "jira".into(),
                key: key.to_string(),
                url: Some(format!("{base}/browse/{key}")),
            })
        }
        _ => {
            let body = json!({"title": title, "body": text, "labels": ["threat-model", label]});
            let a = outbound::send(
                s.policy,
                "POST",
                &format!("{base}/repos/{}/issues", t.settings.project),
                &headers(t),
                Some(body.to_string().as_bytes()),
            );
            let made = json_of("creating the GitHub issue", &a)?;
            let n = made["number"]
                .as_i64()
                .ok_or_else(|| JobFailure::Transient("GitHub's answer has no number".into()))?;
            Ok(Ticket {
                system: "github".into(),
                key: format!("{}#{n}", t.settings.project),
                url: made["html_url"].as_str().map(str::to_string),
            })
        }
    }
}

/// Opens the treatment's ticket, unless one carrying its label exists.
impl Job for TicketRequest {
    fn run(self, conn: &mut DbConn, job: &JobContext, ctx: &Context) -> Result<Value, JobFailure> {
        let request = self;
        let settings = &ctx.settings;
        let scope = job
            .scope
            .ok_or_else(|| JobFailure::Permanent("create_ticket without a model".into()))?;
        let (org, model) = (scope.org(), scope.model());
        let treatment = Treatment::get(conn, org, model, request.treatment_id)?;
        if let Some(ticket) = treatment.fields.ticket {
            return Ok(json!({ "ticket": ticket, "created": false }));
        }
        let target = tickets::target(conn, &settings.sealer, org, request.integration_id)?
            .ok_or_else(|| {
                JobFailure::Permanent("the integration no longer opens tickets".into())
            })?;
        let threat = Threat::get(conn, org, model, treatment.fields.threat_id)?;
        let label = label(&treatment.id.to_string());
        let title = format!("Mitigate: {}", threat.fields.title);
        let text = format!(
            "Opened by Palisade for treatment {} (reduce) of threat {:?}.{}",
            treatment.id,
            threat.fields.title,
            treatment
                .fields
                .rationale
                .as_deref()
                .map(|r| format!(" {r}"))
                .unwrap_or_default()
        );
        // Outside any transaction: the calls may take seconds.
        let (ticket, created) = match find(settings, &target, &label)? {
            Some(found) => (found, false),
            None => (create(settings, &target, &title, &text, &label)?, true),
        };
        tickets::store_ticket(conn, org, model, treatment.id, ticket.clone())?;
        Ok(json!({ "ticket": ticket, "created": created }))
    }
}
