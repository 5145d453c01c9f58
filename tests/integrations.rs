//! End-to-end: ticketing integrations — their settings and write-only
//! secrets, and the inbound webhook with each system's real payloads
//! (`../shared/data/webhooks/`): signatures checked before parsing, either
//! of two secrets, deduplication, the state machine moved by a job (the
//! in-process runner embedded, the real worker over RabbitMQ in
//! production), audited with the delivery id; and every attack tried on
//! the receiver leaves the treatment as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, Mode, Palisade, Resp, Worker};
use palisade_domain::signature::{hub_signature, standard_signature};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

fn sample(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../shared/data/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const GITHUB_SECRET: &str = "a-github-webhook-secret-of-32-chars";

/// A model with a threat and a reduce treatment tracking `ticket` in
/// `system`, approved by the owner. Returns (model base path, treatment id).
fn tracked_treatment(c: &Client, system: &str, ticket: &str) -> (String, String) {
    let model = c.model("payments");
    let base = format!("/api/v1/models/{model}");
    let threat = id(&c
        .post(
            &format!("{base}/threats"),
            &json!({"title": "SQL injection", "stride": "tampering",
                "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}),
        )
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
            &json!({"threat_id": threat, "strategy": "reduce", "control_ids": [control],
                "owner": "appsec", "ticket": {"system": system, "key": ticket}}),
        )
        .ok(201));
    c.post(
        &format!("{base}/treatments/{treatment}/transitions"),
        &json!({"to": "approved"}),
    )
    .ok(200);
    (base, treatment)
}

fn status_of(c: &Client, base: &str, treatment: &str) -> String {
    c.get(&format!("{base}/treatments/{treatment}")).ok(200)["status"]
        .as_str()
        .unwrap()
        .to_string()
}

fn wait_jobs(c: &Client, receipt: &Value) {
    for job in receipt["job_ids"].as_array().unwrap() {
        let url = format!("/api/v1/jobs/{}", job.as_str().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let j = c.get(&url).ok(200);
            if j["status"] == "succeeded" {
                break;
            }
            assert!(j["status"] != "failed", "job failed: {j}");
            assert!(Instant::now() < deadline, "job did not finish: {j}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn post_webhook(app: &Palisade, integration: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut all = vec![("Content-Type", "application/json")];
    all.extend_from_slice(headers);
    app.anonymous().request(
        "POST",
        &format!("/api/v1/integrations/{integration}/webhook"),
        &all,
        Some(body),
    )
}

fn github(app: &Palisade, integration: &str, delivery: &str, secret: &str, body: &[u8]) -> Resp {
    let signature = hub_signature(secret.as_bytes(), body);
    post_webhook(
        app,
        integration,
        &[
            ("X-GitHub-Event", "issues"),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", &signature),
        ],
        body,
    )
}

both_modes!(integrations_keep_their_secrets_write_only, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let editor = app.client(&app.key("acme", "editor"));
    let given = owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "github", "name": "GitHub", "secret": GITHUB_SECRET}),
        )
        .ok(201);
    assert!(
        given.get("secret").is_none(),
        "a given secret is not echoed: {given}"
    );
    assert_eq!(given["status_mapping"]["closed:not_planned"], "rejected");
    assert_eq!(given["secrets"].as_array().unwrap().len(), 1);
    assert_eq!(
        given["webhook_url"],
        format!("/api/v1/integrations/{}/webhook", id(&given))
    );
    let generated = owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "servicenow", "name": "ServiceNow"}),
        )
        .ok(201);
    let whsec = generated["secret"].as_str().unwrap().to_string();
    assert!(whsec.starts_with("whsec_"), "{whsec}");
    // Never shown again: not by get, list, or the audit log.
    let url = format!("/api/v1/integrations/{}", id(&generated));
    let read = owner.get(&url);
    assert!(!read.text.contains(&whsec) && read.json().get("secret").is_none());
    let listed = owner.get("/api/v1/integrations?count=true").ok(200);
    assert_eq!(listed["total"], 2);
    let audit = owner.get("/api/v1/audit-events?limit=500");
    for secret in [whsec.as_str(), GITHUB_SECRET] {
        assert!(!listed.to_string().contains(secret));
        assert!(!audit.text.contains(secret), "the audit log holds a secret");
        assert!(!app.logs().contains(secret), "the log holds a secret");
    }

    // Editors and viewers do not manage integrations.
    editor.get("/api/v1/integrations").problem(403);
    editor
        .post(
            "/api/v1/integrations",
            &json!({"kind": "jira", "name": "x"}),
        )
        .problem(403);

    // Bad input names its field; nothing is written.
    let bad = [
        (json!({"kind": "trello", "name": "x"}), "kind"),
        (json!({"kind": "github", "name": ""}), "name"),
        (
            json!({"kind": "github", "name": "x", "secret": ""}),
            "secret",
        ),
        (
            json!({"kind": "github", "name": "x", "secret": "tab\there"}),
            "secret",
        ),
        (
            json!({"kind": "github", "name": "x", "secret": "s".repeat(257)}),
            "secret",
        ),
        (
            json!({"kind": "generic", "name": "x", "secret": "not-a-whsec-secret-at-all"}),
            "secret",
        ),
        (
            json!({"kind": "github", "name": "x", "status_mapping": {"closed": "approved"}}),
            "status_mapping.closed",
        ),
        (
            json!({"kind": "github", "name": "x", "status_mapping": {"closed": "finished"}}),
            "status_mapping.closed",
        ),
        (
            json!({"kind": "gitlab", "name": "x", "outbound": {"base_url": "https://gitlab.example.com", "project": "a/b", "token": "t"}}),
            "outbound",
        ),
        (
            json!({"kind": "github", "name": "x", "outbound": {"base_url": "https://api.github.com", "project": "a/b"}}),
            "outbound.token",
        ),
        (
            json!({"kind": "github", "name": "x", "outbound": {"base_url": "http://api.github.com", "project": "a/b", "token": "t"}}),
            "outbound.base_url",
        ),
        (
            json!({"kind": "github", "name": "x", "outbound": {"base_url": "https://169.254.169.254", "project": "a/b", "token": "t"}}),
            "outbound.base_url",
        ),
        (
            json!({"kind": "github", "name": "x", "outbound": {"base_url": "https://api.github.com", "project": "nope", "token": "t"}}),
            "outbound.project",
        ),
        (
            json!({"kind": "jira", "name": "x", "outbound": {"base_url": "https://acme.atlassian.net", "project": "SEC", "token": "t"}}),
            "outbound.username",
        ),
        (
            json!({"kind": "github", "name": "x", "colour": "red"}),
            "colour",
        ),
    ];
    for (body, field) in bad {
        owner.post("/api/v1/integrations", &body).names_field(field);
    }
    owner
        .request(
            "POST",
            "/api/v1/integrations",
            &[("Idempotency-Key", "k1")],
            Some(json!({"kind": "jira", "name": "x"}).to_string().as_bytes()),
        )
        .names_field("Idempotency-Key");
    assert_eq!(
        owner.get("/api/v1/integrations?count=true").ok(200)["total"],
        2
    );

    // Patch: name and mapping; kind is fixed; a stale If-Match is refused.
    let patched = owner
        .patch(
            &url,
            &json!({"name": "SNOW", "status_mapping": {"6": "verified", "8": null, "3": "in_progress"}}),
        )
        .ok(200);
    assert_eq!(patched["name"], "SNOW");
    // A merge patch: entries change, null removes one, the rest stay.
    assert_eq!(
        patched["status_mapping"],
        json!({"2": "in_progress", "3": "in_progress", "6": "verified", "7": "done"})
    );
    owner
        .patch(&url, &json!({"kind": "jira"}))
        .names_field("kind");
    owner
        .request(
            "PATCH",
            &url,
            &[("If-Match", "\"1\"")],
            Some(br#"{"name":"y"}"#),
        )
        .problem(412);

    // Outbound settings are shown, their token never.
    let jira = owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "jira", "name": "Jira", "outbound": {"base_url": "https://acme.atlassian.net/",
                "project": "SEC", "username": "bot@acme.example", "token": "jira-api-token-123"}}),
        )
        .ok(201);
    assert_eq!(jira["outbound"]["base_url"], "https://acme.atlassian.net");
    assert_eq!(jira["has_outbound_token"], true);
    assert!(!jira.to_string().contains("jira-api-token-123"));
    let jira_url = format!("/api/v1/integrations/{}", id(&jira));
    let dropped = owner.patch(&jira_url, &json!({"outbound": null})).ok(200);
    assert_eq!(dropped["has_outbound_token"], false);
    assert!(dropped["outbound"].is_null());

    // A database dump alone does not reveal a secret.
    if app.mode == Mode::Embedded {
        let raw = std::fs::read(app.db.url()).unwrap();
        let wal = std::fs::read(format!("{}-wal", app.db.url())).unwrap_or_default();
        for secret in [whsec.as_str(), GITHUB_SECRET, "jira-api-token-123"] {
            let hay = [raw.as_slice(), wal.as_slice()].concat();
            assert!(
                !hay.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is in the database file"
            );
        }
    }

    owner.delete(&url).ok(204);
    owner.get(&url).problem(404);
});

// GitHub's documented example: the secret "It's a Secret to Everybody"
// signs "Hello, World!" as below. The signature is accepted; the body is
// then refused as not JSON (400), never as unsigned (401).
both_modes!(
    githubs_documented_secret_and_test_delivery_are_accepted,
    |app| {
        let owner = app.client(&app.key("acme", "owner"));
        let integration = id(&owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "github", "name": "GitHub", "secret": "It's a Secret to Everybody"}),
        )
        .ok(201));
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let headers = [
            ("X-GitHub-Event", "issues"),
            ("X-GitHub-Delivery", "github-docs-example"),
            ("X-Hub-Signature-256", signature),
        ];
        let r = post_webhook(&app, &integration, &headers, b"Hello, World!");
        let problem = r.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("JSON"),
            "{problem}"
        );
        // The same body under another signature is refused as unsigned.
        let wrong = [
            ("X-GitHub-Event", "issues"),
            ("X-GitHub-Delivery", "github-docs-example-2"),
            (
                "X-Hub-Signature-256",
                "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e18",
            ),
        ];
        post_webhook(&app, &integration, &wrong, b"Hello, World!").problem(401);
        // A short secret with spaces works too (GitHub sets no minimum).
        owner
            .post(
                "/api/v1/integrations",
                &json!({"kind": "gitlab", "name": "GitLab", "secret": "a b"}),
            )
            .ok(201);
    }
);

both_modes!(
    a_closed_github_issue_moves_its_treatment_through_the_worker,
    |app| {
        let _worker = Worker::start(&app);
        let owner = app.client(&app.key("acme", "owner"));
        let (base, treatment) = tracked_treatment(&owner, "github", "Codertocat/Hello-World#1");
        let integration = id(&owner
            .post(
                "/api/v1/integrations",
                &json!({"kind": "github", "name": "GitHub", "secret": GITHUB_SECRET}),
            )
            .ok(201));
        let closed = sample("github-issues-closed.json");

        // Attacks first: none of them changes anything.
        let tampered = String::from_utf8(closed.clone())
            .unwrap()
            .replace("\"completed\"", "\"not_planned\"");
        let signature = hub_signature(GITHUB_SECRET.as_bytes(), &closed);
        let refused = [
            // A body changed after signing.
            post_webhook(
                &app,
                &integration,
                &[
                    ("X-GitHub-Event", "issues"),
                    ("X-GitHub-Delivery", "d-0"),
                    ("X-Hub-Signature-256", &signature),
                ],
                tampered.as_bytes(),
            ),
            // Signed with another secret.
            github(
                &app,
                &integration,
                "d-0",
                "a-guessed-secret-of-the-right-size",
                &closed,
            ),
            // No signature, an empty one, a truncated one, another algorithm's.
            post_webhook(&app, &integration, &[("X-GitHub-Delivery", "d-0")], &closed),
            post_webhook(&app, &integration, &[("X-Hub-Signature-256", "")], &closed),
            post_webhook(
                &app,
                &integration,
                &[("X-Hub-Signature-256", &signature[..40])],
                &closed,
            ),
            post_webhook(
                &app,
                &integration,
                &[(
                    "X-Hub-Signature-256",
                    &signature.replace("sha256=", "sha1="),
                )],
                &closed,
            ),
            // Jira's header name for GitHub's signature.
            post_webhook(
                &app,
                &integration,
                &[("X-Hub-Signature", &signature)],
                &closed,
            ),
        ];
        for r in &refused {
            let p = r.problem(401);
            assert_eq!(p["code"], "invalid_signature", "{p}");
            assert!(!r.text.contains(GITHUB_SECRET));
        }
        // Past the 1 MiB limit: refused before anything is read further.
        let huge = vec![b' '; 1024 * 1024 + 1];
        github(&app, &integration, "d-huge", GITHUB_SECRET, &huge).problem(413);
        // An integration that does not exist, or an id that is not one.
        github(
            &app,
            "0190b4c2-0000-7000-8000-000000000000",
            "d-0",
            GITHUB_SECRET,
            &closed,
        )
        .problem(404);
        github(&app, "not-an-id", "d-0", GITHUB_SECRET, &closed).problem(404);
        assert_eq!(status_of(&owner, &base, &treatment), "approved");

        // Signed and valid, but not JSON: the sender's fault, 400.
        github(&app, &integration, "d-junk", GITHUB_SECRET, b"{not json").problem(400);

        // The real payload: accepted, a job moves the treatment approved →
        // in_progress → done, and the register is recomputed.
        let receipt = github(&app, &integration, "delivery-1", GITHUB_SECRET, &closed);
        assert_eq!(receipt.status, 202, "{}", receipt.text);
        let receipt = receipt.json();
        assert_eq!(receipt["status"], "accepted");
        wait_jobs(&owner, &receipt);
        assert_eq!(status_of(&owner, &base, &treatment), "done");
        let model = base.rsplit('/').next().unwrap();
        let audit = owner
            .get(&format!("/api/v1/audit-events?model_id={model}&limit=500"))
            .ok(200);
        let moves: Vec<&Value> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["entity_type"] == "treatment" && e.to_string().contains("delivery-1"))
            .collect();
        assert_eq!(
            moves.len(),
            2,
            "two moves, each audited with the delivery id: {audit}"
        );

        // The same delivery again (GitHub's redelivery): 200 duplicate, nothing more.
        let again = github(&app, &integration, "delivery-1", GITHUB_SECRET, &closed).ok(200);
        assert_eq!(again, json!({"status": "duplicate", "job_ids": []}));

        // Reopened: back to in_progress.
        let reopened = github(
            &app,
            &integration,
            "delivery-2",
            GITHUB_SECRET,
            &sample("github-issues-reopened.json"),
        );
        let reopened = reopened.ok(202);
        wait_jobs(&owner, &reopened);
        assert_eq!(status_of(&owner, &base, &treatment), "in_progress");

        // Closed as not planned (signed this time): rejected.
        let receipt = github(
            &app,
            &integration,
            "delivery-3",
            GITHUB_SECRET,
            tampered.as_bytes(),
        )
        .ok(202);
        wait_jobs(&owner, &receipt);
        assert_eq!(status_of(&owner, &base, &treatment), "rejected");

        // Events that are not about a tracked ticket are ignored with a reason.
        let other_repo = String::from_utf8(closed.clone())
            .unwrap()
            .replace("Codertocat/Hello-World", "Codertocat/Other");
        let ignored = github(
            &app,
            &integration,
            "delivery-4",
            GITHUB_SECRET,
            other_repo.as_bytes(),
        )
        .ok(200);
        assert_eq!(ignored["status"], "ignored");
        assert!(ignored["reason"]
            .as_str()
            .unwrap()
            .contains("Codertocat/Other#1"));
        let ping = post_webhook(
            &app,
            &integration,
            &[
                ("X-GitHub-Event", "ping"),
                ("X-GitHub-Delivery", "delivery-5"),
                (
                    "X-Hub-Signature-256",
                    &hub_signature(GITHUB_SECRET.as_bytes(), b"{\"zen\":\"Keep it simple.\"}"),
                ),
            ],
            b"{\"zen\":\"Keep it simple.\"}",
        )
        .ok(200);
        assert_eq!(ping["status"], "ignored");

        // A disabled integration answers 404.
        owner
            .patch(
                &format!("/api/v1/integrations/{integration}"),
                &json!({"enabled": false}),
            )
            .ok(200);
        github(&app, &integration, "delivery-6", GITHUB_SECRET, &closed).problem(404);
        assert!(!app.logs().contains(GITHUB_SECRET));
    }
);

both_modes!(jira_gitlab_and_servicenow_move_their_treatments, |app| {
    let _worker = Worker::start(&app);
    let owner = app.client(&app.key("acme", "owner"));

    // Jira: X-Hub-Signature, the status category, the Atlassian delivery id.
    let (jira_base, jira_t) = tracked_treatment(&owner, "jira", "KAN-22");
    let jira = id(&owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "jira", "name": "Jira", "secret": "jira-webhook-secret-0001"}),
        )
        .ok(201));
    let body = sample("jira-issue-done.json");
    let sig = hub_signature(b"jira-webhook-secret-0001", &body);
    let r = post_webhook(
        &app,
        &jira,
        &[
            ("X-Hub-Signature", &sig),
            ("X-Atlassian-Webhook-Identifier", "jira-1"),
        ],
        &body,
    )
    .ok(202);
    wait_jobs(&owner, &r);
    assert_eq!(status_of(&owner, &jira_base, &jira_t), "done");
    // An edit that leaves the ticket in "To Do" maps to nothing.
    let body = sample("jira-issue-updated.json");
    let sig = hub_signature(b"jira-webhook-secret-0001", &body);
    let r = post_webhook(
        &app,
        &jira,
        &[
            ("X-Hub-Signature", &sig),
            ("X-Atlassian-Webhook-Identifier", "jira-2"),
        ],
        &body,
    )
    .ok(200);
    assert_eq!(r["status"], "ignored");
    assert_eq!(status_of(&owner, &jira_base, &jira_t), "done");

    // GitLab: the token compared in constant time, the event UUID.
    let (gl_base, gl_t) = tracked_treatment(&owner, "gitlab", "gitlabhq/gitlab-test#23");
    let gitlab = id(&owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "gitlab", "name": "GitLab", "secret": "gitlab-token-0123456789"}),
        )
        .ok(201));
    let body = sample("gitlab-issue-close.json");
    post_webhook(
        &app,
        &gitlab,
        &[
            ("X-Gitlab-Token", "gitlab-token-012345678"),
            ("X-Gitlab-Event", "Issue Hook"),
        ],
        &body,
    )
    .problem(401);
    let r = post_webhook(
        &app,
        &gitlab,
        &[
            ("X-Gitlab-Token", "gitlab-token-0123456789"),
            ("X-Gitlab-Event", "Issue Hook"),
            ("X-Gitlab-Event-UUID", "gl-1"),
        ],
        &body,
    )
    .ok(202);
    wait_jobs(&owner, &r);
    assert_eq!(status_of(&owner, &gl_base, &gl_t), "done");
    let dup = post_webhook(
        &app,
        &gitlab,
        &[
            ("X-Gitlab-Token", "gitlab-token-0123456789"),
            ("X-Gitlab-Event-UUID", "gl-1"),
        ],
        &body,
    )
    .ok(200);
    assert_eq!(dup["status"], "duplicate");

    // ServiceNow: Standard Webhooks, within five minutes, either secret
    // during a rotation.
    let (sn_base, sn_t) = tracked_treatment(&owner, "servicenow", "INC0010023");
    let created = owner
        .post(
            "/api/v1/integrations",
            &json!({"kind": "servicenow", "name": "ServiceNow"}),
        )
        .ok(201);
    let sn = id(&created);
    let first = created["secret"].as_str().unwrap().to_string();
    let body = sample("servicenow-incident.json");
    let now = chrono::Utc::now().timestamp();
    let send = |secret: &str, msg: &str, ts: i64| {
        let sig = standard_signature(secret, msg, ts, &body);
        post_webhook(
            &app,
            &sn,
            &[
                ("webhook-id", msg),
                ("webhook-timestamp", &ts.to_string()),
                ("webhook-signature", &sig),
            ],
            &body,
        )
    };
    // Well past the five minutes either way (the exact bounds are the
    // domain tests'): the server's clock has moved on since `now`.
    send(&first, "msg_stale", now - 330).problem(401);
    send(&first, "msg_future", now + 330).problem(401);
    let rotated = owner
        .post(&format!("/api/v1/integrations/{sn}/secrets"), &json!({}))
        .ok(201);
    let second = rotated["secret"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert_eq!(rotated["secrets"].as_array().unwrap().len(), 2);
    // Both are in force: the old one still verifies.
    let r = send(&first, "msg_1", now).ok(202);
    wait_jobs(&owner, &r);
    assert_eq!(status_of(&owner, &sn_base, &sn_t), "done");
    assert_eq!(send(&second, "msg_1", now).ok(200)["status"], "duplicate");
    // A second rotation retires the first secret.
    owner
        .post(
            &format!("/api/v1/integrations/{sn}/secrets"),
            &json!({"secret": "whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="}),
        )
        .ok(201);
    send(&first, "msg_2", now).problem(401);
    assert_eq!(send(&second, "msg_3", now).ok(202)["status"], "accepted");
});
