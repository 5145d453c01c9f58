//! End-to-end: Palisade's own webhooks. Subscriptions refuse targets off
//! the public internet; events recorded with the changes that cause them
//! reach a receiver in this process (with the operator setting that allows
//! loopback on), signed by Standard Webhooks, in order per model; failures
//! are retried with back-off honouring Retry-After; a 410 or a persistent
//! failure turns the subscription off and records `job.failed`; a worker
//! killed mid-delivery loses nothing; and the address is checked again at
//! delivery, after DNS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::receiver::{Receiver, Reply};
use common::{Client, Mode, Palisade, Worker};
use palisade_domain::signature::verify_standard;
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// Loopback allowed (the receiver is in this process), quick retries.
const LOCAL: &[(&str, &str)] = &[
    ("PALISADE_OUTBOUND_ALLOW_PRIVATE", "true"),
    ("PALISADE_WEBHOOK_BACKOFF_MS", "100"),
    ("PALISADE_WEBHOOK_MAX_ATTEMPTS", "3"),
];

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

fn subscribe(c: &Client, url: &str, events: Value) -> (String, String) {
    let r = c
        .post(
            "/api/v1/webhook-subscriptions",
            &json!({"url": url, "events": events, "description": "tests"}),
        )
        .ok(201);
    (id(&r), r["secret"].as_str().unwrap().to_string())
}

/// Checks a received request's Standard Webhooks signature with `secret`.
fn verified(r: &common::receiver::Received, secret: &str) -> Value {
    let header = |name: &str| Some(r.header(name).to_string()).filter(|v| !v.is_empty());
    let now = chrono::Utc::now().timestamp();
    verify_standard(&header, &r.body, &[secret.to_string()], now)
        .unwrap_or_else(|e| panic!("signature: {e}"));
    let body = r.json();
    assert_eq!(
        body["id"],
        r.header("webhook-id"),
        "webhook-id is the event's id"
    );
    assert_eq!(r.header("content-type"), "application/json");
    body
}

fn deliveries(c: &Client, sub: &str) -> Vec<Value> {
    c.all(
        &format!("/api/v1/webhook-subscriptions/{sub}/deliveries"),
        50,
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

both_modes!(subscriptions_refuse_targets_off_the_internet, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let editor = app.client(&app.key("acme", "editor"));
    let events = json!(["model.updated"]);
    let refused = [
        (
            json!({"url": "http://hooks.example.com/x", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://127.0.0.1/x", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://localhost:8443/x", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://169.254.169.254/latest/meta-data", "events": events}),
            "url",
        ),
        (json!({"url": "https://[::1]/x", "events": events}), "url"),
        (
            json!({"url": "https://10.1.2.3/x", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://2130706433/x", "events": events}),
            "url",
        ),
        (
            json!({"url": "https://user:pw@93.184.216.34/x", "events": events}),
            "url",
        ),
        (json!({"url": "not a url", "events": events}), "url"),
        (
            json!({"url": "https://93.184.216.34/x", "events": []}),
            "events",
        ),
        (
            json!({"url": "https://93.184.216.34/x", "events": ["model.deleted"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://93.184.216.34/x", "events": ["risk.changed", "risk.changed"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://93.184.216.34/x", "events": ["webhook.test"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://93.184.216.34/x", "events": events, "secret": "mine"}),
            "secret",
        ),
    ];
    for (body, field) in refused {
        owner
            .post("/api/v1/webhook-subscriptions", &body)
            .names_field(field);
    }
    editor
        .post(
            "/api/v1/webhook-subscriptions",
            &json!({"url": "https://93.184.216.34/x", "events": events}),
        )
        .problem(403);
    owner
        .request(
            "POST",
            "/api/v1/webhook-subscriptions",
            &[("Idempotency-Key", "k")],
            Some(
                json!({"url": "https://93.184.216.34/x", "events": events})
                    .to_string()
                    .as_bytes(),
            ),
        )
        .names_field("Idempotency-Key");
    // A public literal address passes without DNS; off, it receives nothing.
    let created = owner
        .post(
            "/api/v1/webhook-subscriptions",
            &json!({"url": "https://93.184.216.34/x", "events": events, "enabled": false}),
        )
        .ok(201);
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let url = format!("/api/v1/webhook-subscriptions/{}", id(&created));
    let read = owner.get(&url);
    assert!(!read.text.contains(secret) && read.json().get("secret").is_none());
    assert!(!owner
        .get("/api/v1/audit-events?limit=500")
        .text
        .contains(secret));
    assert!(!app.logs().contains(secret));
    owner
        .patch(&url, &json!({"url": "https://127.0.0.1/x"}))
        .names_field("url");
    owner
        .patch(&url, &json!({"colour": "red"}))
        .names_field("colour");
    let patched = owner
        .patch(&url, &json!({"description": "off for now"}))
        .ok(200);
    assert_eq!(patched["description"], "off for now");
    owner
        .request("POST", &format!("{url}/test"), &[], None)
        .problem(409);
    assert!(deliveries(&owner, &id(&created)).is_empty());
    assert_eq!(
        owner
            .get("/api/v1/webhook-subscriptions?count=true")
            .ok(200)["total"],
        1
    );
    owner.delete(&url).ok(204);
    owner.get(&url).problem(404);
});

local_modes!(events_are_signed_and_delivered_in_order, |app| {
    let _worker = Worker::start(&app);
    let receiver = Receiver::start();
    let c = app.client(&app.key("acme", "owner"));
    let (sub, secret) = subscribe(
        &c,
        &receiver.url,
        json!([
            "model.updated",
            "risk.changed",
            "treatment.created",
            "treatment.status_changed",
            "report.ready",
            "job.failed"
        ]),
    );
    let model = c.model("payments");
    let base = format!("/api/v1/models/{model}");
    c.patch(&base, &json!({"description": "card payments"}))
        .ok(200);
    let threat = id(&c
        .post(&format!("{base}/threats"), &json!({"title": "SQLi", "stride": "tampering",
            "assessment": {"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}))
        .ok(201));
    // The register's first computation: rows appear, no severity moves.
    wait_until("the first register", || {
        c.get(&format!("{base}/risks")).ok(200)["items"]
            .as_array()
            .unwrap()
            .len()
            == 1
    });
    let treatment = id(&c
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": threat, "strategy": "avoid",
            "removed": "the endpoint", "owner": "appsec"}),
        )
        .ok(201));
    for to in ["approved", "in_progress", "done"] {
        c.post(
            &format!("{base}/treatments/{treatment}/transitions"),
            &json!({"to": to}),
        )
        .ok(200);
    }
    // Avoided: the residual severity moves from critical to info.
    let got = receiver.wait_for(6);
    let bodies: Vec<Value> = got.iter().map(|r| verified(r, &secret)).collect();
    let kinds: Vec<&str> = bodies
        .iter()
        .filter(|b| b["type"] != "risk.changed")
        .map(|b| b["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "model.updated",
            "treatment.created",
            "treatment.status_changed",
            "treatment.status_changed",
            "treatment.status_changed"
        ],
        "in the order they happened"
    );
    let moves: Vec<(&str, &str)> = bodies
        .iter()
        .filter(|b| b["type"] == "treatment.status_changed")
        .map(|b| {
            (
                b["data"]["from"].as_str().unwrap(),
                b["data"]["to"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("proposed", "approved"),
            ("approved", "in_progress"),
            ("in_progress", "done")
        ]
    );
    assert!(bodies.iter().all(|b| b["model_id"] == model.as_str()));
    wait_until("risk.changed", || {
        receiver
            .received()
            .iter()
            .any(|r| r.json()["type"] == "risk.changed")
    });
    let risk = receiver
        .received()
        .into_iter()
        .map(|r| r.json())
        .find(|b| b["type"] == "risk.changed")
        .unwrap();
    assert_eq!(risk["data"]["threat_id"], threat.as_str());
    assert_eq!(
        (risk["data"]["from"].as_str(), risk["data"]["to"].as_str()),
        (Some("critical"), Some("info"))
    );

    // A test event, to this subscription alone.
    let test = c
        .request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{sub}/test"),
            &[],
            None,
        )
        .ok(202);
    let n = receiver.received().len();
    let last = receiver.wait_for(n + 1).pop().unwrap();
    assert_eq!(verified(&last, &secret)["type"], "webhook.test");
    assert_eq!(
        last.header("webhook-id"),
        test["webhook_id"].as_str().unwrap()
    );
    // Each delivery is listed with its one attempt.
    wait_until("every delivery recorded", || {
        deliveries(&c, &sub)
            .iter()
            .all(|d| d["status"] == "delivered")
    });
    let listed = deliveries(&c, &sub);
    assert_eq!(listed.len(), receiver.received().len());
    for d in &listed {
        assert_eq!(d["attempts"].as_array().unwrap().len(), 1, "{d}");
        assert_eq!(d["attempts"][0]["status_code"], 200);
        assert!(d["attempts"][0]["latency_ms"].as_i64().unwrap() >= 0);
    }
});

local_modes!(
    failures_are_retried_then_the_subscription_is_turned_off,
    |app| {
        let _worker = Worker::start(&app);
        let c = app.client(&app.key("acme", "owner"));

        // 500, then 503 asking for two seconds, then 200: three tries of one event.
        let flaky = Receiver::start();
        flaky.script([
            Reply::status(500),
            Reply::status(503).with_header("Retry-After", "2"),
        ]);
        let (sub, secret) = subscribe(&c, &flaky.url, json!(["model.updated"]));
        let watcher = Receiver::start();
        let (_, watcher_secret) = subscribe(&c, &watcher.url, json!(["job.failed"]));
        c.request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{sub}/test"),
            &[],
            None,
        )
        .ok(202);
        let got = flaky.wait_for(3);
        let ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
        assert!(
            ids.iter().all(|i| *i == ids[0]),
            "the same webhook-id on every retry: {ids:?}"
        );
        for r in &got {
            verified(r, &secret);
        }
        assert!(
            got[2].at - got[1].at >= Duration::from_secs(2),
            "Retry-After is honoured: {:?}",
            got[2].at - got[1].at
        );
        wait_until("the delivery to succeed", || {
            deliveries(&c, &sub)[0]["status"] == "delivered"
        });
        let attempts: Vec<Value> = deliveries(&c, &sub)[0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].clone())
            .collect();
        assert_eq!(attempts, [json!(500), json!(503), json!(200)]);
        assert!(deliveries(&c, &sub)[0]["attempts"][0]["error"]
            .as_str()
            .unwrap()
            .contains("500"));

        // Three failures (the configured most): off, and job.failed recorded.
        let down = Receiver::start();
        down.script([Reply::status(500), Reply::status(502), Reply::status(500)]);
        let (dead, _) = subscribe(&c, &down.url, json!(["model.updated"]));
        c.request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{dead}/test"),
            &[],
            None,
        )
        .ok(202);
        // A second event waits behind the first in its lane.
        c.request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{dead}/test"),
            &[],
            None,
        )
        .ok(202);
        down.wait_for(3);
        let url = format!("/api/v1/webhook-subscriptions/{dead}");
        wait_until("the subscription to be turned off", || {
            c.get(&url).ok(200)["enabled"] == false
        });
        let off = c.get(&url).ok(200);
        assert!(
            off["disabled_reason"]
                .as_str()
                .unwrap()
                .contains("3 attempts"),
            "{off}"
        );
        let failed = watcher.wait_for(1);
        let event = verified(&failed[0], &watcher_secret);
        assert_eq!(event["type"], "job.failed");
        assert_eq!(event["data"]["subscription_id"], dead.as_str());
        // Turned off: later events are not delivered to it.
        let model = c.model("after");
        c.patch(
            &format!("/api/v1/models/{model}"),
            &json!({"name": "renamed"}),
        )
        .ok(200);
        wait_until("the first subscription's delivery", || {
            deliveries(&c, &sub).len() == 2
        });
        assert_eq!(down.received().len(), 3, "nothing is sent while it is off");
        // On again by hand: the reason is cleared and the waiting event goes out.
        let on = c.patch(&url, &json!({"enabled": true})).ok(200);
        assert!(on["disabled_reason"].is_null());
        let resumed = down.wait_for(4);
        assert_ne!(
            resumed[3].header("webhook-id"),
            resumed[0].header("webhook-id")
        );
        wait_until("the waiting delivery", || {
            deliveries(&c, &dead)
                .iter()
                .map(|d| d["status"].clone())
                .collect::<Vec<_>>()
                == [json!("failed"), json!("delivered")]
        });

        // 410: off at once, no retry.
        let gone = Receiver::start();
        gone.script([Reply::status(410)]);
        let (g, _) = subscribe(&c, &gone.url, json!(["model.updated"]));
        c.request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{g}/test"),
            &[],
            None,
        )
        .ok(202);
        gone.wait_for(1);
        let gurl = format!("/api/v1/webhook-subscriptions/{g}");
        wait_until("410 to turn it off", || {
            c.get(&gurl).ok(200)["enabled"] == false
        });
        assert!(c.get(&gurl).ok(200)["disabled_reason"]
            .as_str()
            .unwrap()
            .contains("410"));
        std::thread::sleep(Duration::from_millis(600));
        assert_eq!(gone.received().len(), 1);
        assert_eq!(deliveries(&c, &g)[0]["status"], "failed");

        // A redirect is not followed: it is a failed attempt, retried at
        // the subscription's own URL.
        let elsewhere = Receiver::start();
        let redirecting = Receiver::start();
        redirecting.script([Reply::status(302).with_header("Location", &elsewhere.url)]);
        let (r, _) = subscribe(&c, &redirecting.url, json!(["model.updated"]));
        c.request(
            "POST",
            &format!("/api/v1/webhook-subscriptions/{r}/test"),
            &[],
            None,
        )
        .ok(202);
        redirecting.wait_for(2);
        wait_until("the retry to succeed", || {
            deliveries(&c, &r)[0]["status"] == "delivered"
        });
        let codes: Vec<Value> = deliveries(&c, &r)[0]["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["status_code"].clone())
            .collect();
        assert_eq!(codes, [json!(302), json!(200)]);
        assert!(
            elsewhere.received().is_empty(),
            "the Location was not visited"
        );
    }
);

#[test]
fn a_worker_killed_mid_delivery_loses_no_event() {
    let app = Palisade::start_with(Mode::Production, LOCAL);
    let mut worker = Worker::start(&app);
    let receiver = Receiver::start();
    // The first answer comes too late: the worker is killed while it waits.
    receiver.script([Reply::status(200).after(Duration::from_secs(8))]);
    let c = app.client(&app.key("acme", "owner"));
    let (sub, secret) = subscribe(&c, &receiver.url, json!(["model.updated"]));
    let model = c.model("m");
    c.patch(
        &format!("/api/v1/models/{model}"),
        &json!({"name": "renamed"}),
    )
    .ok(200);
    let first = receiver.wait_for(1);
    worker.kill();
    let _again = Worker::start(&app);
    let got = receiver.wait_for(2);
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    assert_eq!(verified(&got[1], &secret)["type"], "model.updated");
    assert_eq!(first[0].body, got[1].body, "the same bytes");
    wait_until("the delivery to be recorded", || {
        deliveries(&c, &sub)[0]["status"] == "delivered"
    });
}

#[test]
fn the_address_is_checked_again_at_delivery() {
    // The API allows loopback (so the subscription can be made), the worker
    // does not: nothing may reach the receiver.
    let app = Palisade::start_with(Mode::Production, LOCAL);
    let _worker = Worker(Some(
        app.worker_with(&[("PALISADE_OUTBOUND_ALLOW_PRIVATE", "false")]),
    ));
    let receiver = Receiver::start();
    let c = app.client(&app.key("acme", "owner"));
    // https, so the form passes the worker's stricter policy: the name is
    // what it refuses, once resolved to 127.0.0.1.
    let url = receiver
        .url
        .replace("http://127.0.0.1", "https://localhost");
    let (sub, _) = subscribe(&c, &url, json!(["model.updated"]));
    c.request(
        "POST",
        &format!("/api/v1/webhook-subscriptions/{sub}/test"),
        &[],
        None,
    )
    .ok(202);
    wait_until("an attempt", || {
        deliveries(&c, &sub)
            .first()
            .is_some_and(|d| !d["attempts"].as_array().unwrap().is_empty())
    });
    let attempt = &deliveries(&c, &sub)[0]["attempts"][0];
    assert!(attempt["status_code"].is_null());
    let error = attempt["error"].as_str().unwrap();
    assert!(error.contains("not a public address"), "{error}");
    assert!(receiver.received().is_empty());
}
