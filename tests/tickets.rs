//! End-to-end: opening a ticket for a reduce treatment, against fake Jira
//! and GitHub servers in this process that keep what they are sent. The
//! requests have the documented shapes (`../shared/data/webhooks/*-create-
//! issue-request.json`) and auth headers; a create whose answer is lost is
//! not repeated (the retry finds the ticket by its label); the ticket is
//! stored back on the treatment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::receiver::{Received, Receiver};
use common::{Client, Mode, Palisade, Worker};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

const LOCAL: &[(&str, &str)] = &[("PALISADE_OUTBOUND_ALLOW_PRIVATE", "true")];

macro_rules! local_modes {
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            use super::*;
            fn run($app: Palisade) $body
            #[test]
            fn embedded() {
                run(Palisade::start_with(Mode::Embedded, LOCAL));
            }
            #[test]
            fn production() {
                run(Palisade::start_with(Mode::Production, LOCAL));
            }
        }
    };
}

/// A model with a threat and a reduce treatment without a ticket.
fn reduce_treatment(c: &Client) -> (String, String) {
    let model = c.model("payments");
    let base = format!("/api/v1/models/{model}");
    let threat = id(&c
        .post(&format!("{base}/threats"), &json!({"title": "SQL injection on /orders", "stride": "tampering",
            "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}))
        .ok(201));
    let control = id(&c
        .post(
            &format!("{base}/controls"),
            &json!({"name": "WAF", "type": "preventive", "category": "technical",
            "status": "planned", "effectiveness": 60, "threat_ids": [threat]}),
        )
        .ok(201));
    let treatment = id(&c
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": threat, "strategy": "reduce",
            "control_ids": [control], "owner": "appsec", "rationale": "parameterised queries"}),
        )
        .ok(201));
    (base, treatment)
}

fn wait_job(c: &Client, job: &Value) -> Value {
    let url = format!("/api/v1/jobs/{}", job["job_id"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let j = c.get(&url).ok(200);
        if j["status"] == "succeeded" || j["status"] == "failed" {
            return j;
        }
        assert!(Instant::now() < deadline, "job did not finish: {j}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn requests(r: &Receiver, method_path: &str) -> Vec<Received> {
    r.received()
        .into_iter()
        .filter(|q| q.path.starts_with(method_path))
        .collect()
}

local_modes!(
    a_jira_ticket_is_opened_once_even_when_its_answer_is_lost,
    |app| {
        let _worker = Worker::start(&app);
        let jira = Receiver::start();
        // Keeps the issues it is sent; the first create's answer is "lost" (502
        // after the issue is made), as a timeout would lose it.
        let issues: Arc<Mutex<Vec<Value>>> = Arc::default();
        let kept = issues.clone();
        jira.handle(move |r| {
            let mut issues = kept.lock().unwrap();
            if r.path.starts_with("/rest/api/3/search/jql") {
                let query = urlencoding_decode(r.path.split_once('?').map_or("", |(_, q)| q));
                let found: Vec<Value> = issues
                    .iter()
                    .filter(|i| {
                        i["fields"]["labels"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|l| query.contains(l.as_str().unwrap()))
                    })
                    .map(|i| json!({"id": i["id"], "key": i["key"], "self": "x"}))
                    .collect();
                return (200, json!({"issues": found}).to_string());
            }
            if r.path == "/rest/api/3/issue" {
                let mut issue = r.json();
                let n = issues.len() + 1;
                issue["key"] = json!(format!("SEC-{n}"));
                issue["id"] = json!(format!("1000{n}"));
                issues.push(issue.clone());
                if n == 1 {
                    return (502, "upstream timed out".into());
                }
                return (
                    201,
                    json!({"id": issue["id"], "key": issue["key"], "self": "x"}).to_string(),
                );
            }
            (404, "{}".into())
        });
        let c = app.client(&app.key("acme", "owner"));
        let integration = id(&c
        .post("/api/v1/integrations", &json!({"kind": "jira", "name": "Jira", "outbound": {
            "base_url": jira.base, "project": "SEC", "username": "bot@acme.example", "token": "jira-api-token-9"}}))
        .ok(201));
        let (base, treatment) = reduce_treatment(&c);
        let url = format!("{base}/treatments/{treatment}/ticket");
        let job = c
            .post(&url, &json!({"integration_id": integration}))
            .ok(202);
        let again = c.post(&url, &json!({"integration_id": integration}));
        if again.status == 202 {
            assert_eq!(
                again.json()["job_id"],
                job["job_id"],
                "one job while it runs"
            );
        } else {
            again.problem(409);
        }
        let done = wait_job(&c, &job);
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(issues.lock().unwrap().len(), 1, "one ticket, not two");
        let creates = requests(&jira, "/rest/api/3/issue");
        assert_eq!(creates.len(), 1);
        // The documented request: project, issue type, summary, labels, an
        // Atlassian document as description; basic auth with the API token.
        let sent = creates[0].json();
        let shape = serde_json::from_str::<Value>(
            &std::fs::read_to_string(format!(
                "{}/../shared/data/webhooks/jira-create-issue-request.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&sent["fields"]), keys(&shape["fields"]));
        assert_eq!(sent["fields"]["project"]["key"], "SEC");
        assert_eq!(sent["fields"]["issuetype"]["name"], "Task");
        assert!(sent["fields"]["summary"]
            .as_str()
            .unwrap()
            .contains("SQL injection on /orders"));
        assert_eq!(
            sent["fields"]["labels"],
            json!(["threat-model", format!("palisade-{treatment}")])
        );
        assert_eq!(sent["fields"]["description"]["type"], "doc");
        let expected_auth = format!(
            "Basic {}",
            base64_encode("bot@acme.example:jira-api-token-9")
        );
        for r in jira.received() {
            assert_eq!(r.header("authorization"), expected_auth);
        }
        assert!(
            requests(&jira, "/rest/api/3/search/jql").len() >= 2,
            "the retry looked first"
        );
        let t = c.get(&format!("{base}/treatments/{treatment}")).ok(200);
        assert_eq!(
            t["ticket"],
            json!({"system": "jira", "key": "SEC-1", "url": format!("{}/browse/SEC-1", jira.base)})
        );
        c.post(&url, &json!({"integration_id": integration}))
            .problem(409);
        assert!(!app.logs().contains("jira-api-token-9"));
        assert!(!done.to_string().contains("jira-api-token-9"));
    }
);

local_modes!(
    a_github_issue_is_opened_with_its_documented_request,
    |app| {
        let _worker = Worker::start(&app);
        let github = Receiver::start();
        github.handle(|r| {
            if r.path.starts_with("/repos/acme/payments/issues?") {
                return (200, "[]".into());
            }
            if r.path == "/repos/acme/payments/issues" {
                return (
                    201,
                    json!({"number": 7, "html_url": "https://github.com/acme/payments/issues/7"})
                        .to_string(),
                );
            }
            (404, "{}".into())
        });
        let c = app.client(&app.key("acme", "owner"));
        let editor = app.client(&app.key("acme", "editor"));
        let integration = id(&c
            .post(
                "/api/v1/integrations",
                &json!({"kind": "github", "name": "GitHub", "outbound": {
            "base_url": github.base, "project": "acme/payments", "token": "ghp_token_123"}}),
            )
            .ok(201));
        let no_outbound = id(&c
            .post(
                "/api/v1/integrations",
                &json!({"kind": "github", "name": "inbound only"}),
            )
            .ok(201));
        let (base, treatment) = reduce_treatment(&c);
        let url = format!("{base}/treatments/{treatment}/ticket");
        // Bad orders name their field and open nothing.
        editor
            .post(&url, &json!({"integration_id": no_outbound}))
            .names_field("integration_id");
        editor
            .post(
                &url,
                &json!({"integration_id": "0190b4c2-0000-7000-8000-000000000000"}),
            )
            .names_field("integration_id");
        editor
            .post(&url, &json!({"integration_id": "nope"}))
            .names_field("integration_id");
        editor.post(&url, &json!({})).names_field("integration_id");
        let threat = c.get(&format!("{base}/treatments/{treatment}")).ok(200)["threat_id"].clone();
        let avoid = id(&c
            .post(
                &format!("{base}/treatments"),
                &json!({"threat_id": threat, "strategy": "avoid", "removed": "x", "owner": "x"}),
            )
            .ok(201));
        editor
            .post(
                &format!("{base}/treatments/{avoid}/ticket"),
                &json!({"integration_id": integration}),
            )
            .names_field("treatment_id");
        // The reduce treatment is history now: superseded.
        editor
            .post(&url, &json!({"integration_id": integration}))
            .problem(409);
        c.delete(&format!("{base}/treatments/{avoid}")).ok(204);
        assert!(github.received().is_empty());

        let job = editor
            .post(&url, &json!({"integration_id": integration}))
            .ok(202);
        assert_eq!(wait_job(&c, &job)["status"], "succeeded");
        let creates = requests(&github, "/repos/acme/payments/issues");
        let create = creates
            .iter()
            .find(|r| r.path == "/repos/acme/payments/issues")
            .unwrap();
        assert_eq!(create.header("authorization"), "Bearer ghp_token_123");
        assert_eq!(create.header("accept"), "application/vnd.github+json");
        assert_eq!(create.header("x-github-api-version"), "2022-11-28");
        let sent = create.json();
        let shape = serde_json::from_str::<Value>(
            &std::fs::read_to_string(format!(
                "{}/../shared/data/webhooks/github-create-issue-request.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let keys = |v: &Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(keys(&sent), keys(&shape));
        assert!(sent["title"]
            .as_str()
            .unwrap()
            .contains("SQL injection on /orders"));
        assert_eq!(
            sent["labels"],
            json!(["threat-model", format!("palisade-{treatment}")])
        );
        let t = c.get(&format!("{base}/treatments/{treatment}")).ok(200);
        assert_eq!(
            t["ticket"],
            json!({"system": "github", "key": "acme/payments#7", "url": "https://github.com/acme/payments/issues/7"})
        );
    }
);

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn urlencoding_decode(s: &str) -> String {
    url::form_urlencoded::parse(s.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}
