//! End-to-end, step 5: treatments — validation per strategy, supersession
//! and history, the state machine and its roles, and what each strategy
//! does to the register once done (in-process jobs in embedded mode, the
//! real worker over RabbitMQ in production).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Client, Mode, Palisade, Worker};
use serde_json::{json, Value};

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// The register once fresh, by threat id.
fn fresh_rows(c: &Client, model: &str) -> std::collections::HashMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = c
            .get(&format!("/api/v1/models/{model}/risks?limit=500"))
            .ok(200);
        if r["stale"] == false && !r["computed_at"].is_null() {
            return r["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| (row["threat_id"].as_str().unwrap().to_string(), row.clone()))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "the register did not become fresh: {r}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"; // 9.8
const LOW: &str = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"; // 1.8

fn threat(c: &Client, base: &str, title: &str, vector: &str) -> String {
    id(&c
        .post(
            &format!("{base}/threats"),
            &json!({"title": title, "stride": "tampering",
                    "assessment": {"method": "cvss31", "vector": vector}}),
        )
        .ok(201))
}

fn in_a_year() -> String {
    (chrono::Utc::now().date_naive() + chrono::Days::new(365)).to_string()
}

fn move_to(c: &Client, base: &str, treatment: &str, to: &str) -> common::Resp {
    c.post(
        &format!("{base}/treatments/{treatment}/transitions"),
        &json!({"to": to, "note": format!("moving to {to}")}),
    )
}

both_modes!(
    each_strategy_names_what_it_lacks_and_history_is_kept,
    |app| {
        let c = app.client(&app.key("acme", "owner"));
        let model = c.model("m");
        let base = format!("/api/v1/models/{model}");
        let t = threat(&c, &base, "data theft", LOW);
        let insurer = id(&c
            .post(
                &format!("{base}/parties"),
                &json!({"name": "Lloyd's", "kind": "partner", "trust_level": "partially_trusted"}),
            )
            .ok(201));
        let control = id(&c
            .post(
                &format!("{base}/controls"),
                &json!({"name": "WAF", "type": "preventive", "category": "technical",
                    "status": "planned", "effectiveness": 50}),
            )
            .ok(201));
        let post = |body: Value| c.post(&format!("{base}/treatments"), &body);
        let common =
            |strategy: &str| json!({"threat_id": t, "strategy": strategy, "owner": "ciso"});
        let with = |strategy: &str, extra: Value| {
            let mut body = common(strategy);
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            body
        };
        let names = |body: Value| -> Vec<String> {
            let p = post(body).problem(422);
            let mut v: Vec<String> = p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_string())
                .collect();
            v.sort();
            v
        };

        // Every missing field of each strategy, all at once.
        assert_eq!(names(common("avoid")), ["removed"]);
        assert_eq!(
            names(common("transfer")),
            ["counterparty_party_id", "mechanism", "transferred_share"]
        );
        assert_eq!(names(common("reduce")), ["control_ids"]);
        assert_eq!(
            names(common("accept")),
            ["approver", "expires_on", "justification"]
        );
        assert_eq!(
            names(json!({"strategy": "avoid", "removed": "x"})),
            ["owner", "threat_id"]
        );
        // Fields of another strategy, values out of range, references elsewhere.
        assert_eq!(
            names(with(
                "avoid",
                json!({"removed": "the export", "control_ids": [control]})
            )),
            ["control_ids"]
        );
        assert_eq!(
            names(with(
                "transfer",
                json!({"counterparty_party_id": insurer, "mechanism": "insurance",
                                      "transferred_share": 1.5})
            )),
            ["transferred_share"]
        );
        assert_eq!(
            names(with(
                "accept",
                json!({"justification": "cheap", "approver": "cfo",
                                    "expires_on": chrono::Utc::now().date_naive().to_string()})
            )),
            ["expires_on"]
        );
        let elsewhere = "01890000-0000-7000-8000-000000000000";
        assert_eq!(
            names(with("reduce", json!({"control_ids": [elsewhere]}))),
            ["control_ids[0]"]
        );
        assert_eq!(
            names(
                json!({"threat_id": elsewhere, "strategy": "avoid", "removed": "x", "owner": "o"})
            ),
            ["threat_id"]
        );
        assert_eq!(
            names(with(
                "transfer",
                json!({"counterparty_party_id": elsewhere, "mechanism": "contract",
                                      "transferred_share": 0.5})
            )),
            ["counterparty_party_id"]
        );
        post(json!({"threat_id": t, "strategy": "avoid", "removed": "x", "owner": "o", "status": "done"}))
        .problem(422);
        assert!(
            c.all(&format!("{base}/treatments"), 50).is_empty(),
            "nothing was written"
        );

        // One current decision per threat; a new one supersedes it.
        let first = post(with(
            "reduce",
            json!({"control_ids": [control], "rationale": "cheap fix",
                                           "due_date": "2027-03-31",
                                           "ticket": {"system": "jira", "key": "SEC-1",
                                                      "url": "https://jira.example/browse/SEC-1"}}),
        ))
        .ok(201);
        assert_eq!(first["status"], "proposed");
        assert_eq!(first["superseded_by"], Value::Null);
        assert_eq!(first["control_ids"], json!([control]));
        let second = post(with(
            "transfer",
            json!({"counterparty_party_id": insurer,
                                              "mechanism": "insurance", "transferred_share": 0.6}),
        ))
        .ok(201);
        let old = c.get(&format!("{base}/treatments/{}", id(&first))).ok(200);
        assert_eq!(old["superseded_by"], second["id"]);
        assert_eq!(old["status"], "proposed", "history keeps its status");
        let current = c.all(&format!("{base}/treatments"), 50);
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], second["id"]);
        let history = c.get(&format!("{base}/threats/{t}/treatments")).ok(200);
        let ids: Vec<&Value> = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| &h["id"])
            .collect();
        assert_eq!(ids, [&second["id"], &first["id"]], "newest first");
        // History is read-only.
        c.patch(
            &format!("{base}/treatments/{}", id(&first)),
            &json!({"owner": "someone"}),
        )
        .problem(409);
        move_to(&c, &base, &id(&first), "approved").problem(409);
        c.delete(&format!("{base}/treatments/{}", id(&first)))
            .problem(409);
        // A patch changes the current one; a strategy change clears the old fields.
        let patched = c
            .patch(
                &format!("{base}/treatments/{}", id(&second)),
                &json!({"strategy": "avoid", "removed": "the legacy export",
                    "counterparty_party_id": null, "mechanism": null, "transferred_share": null}),
            )
            .ok(200);
        assert_eq!(patched["strategy"], "avoid");
        assert!(patched.get("mechanism").is_none() || patched["mechanism"].is_null());
        c.patch(
            &format!("{base}/treatments/{}", id(&second)),
            &json!({"status": "done"}),
        )
        .problem(422);
        // Filters.
        assert_eq!(
            c.all(&format!("{base}/treatments?strategy=avoid"), 50)
                .len(),
            1
        );
        assert!(c
            .all(&format!("{base}/treatments?strategy=reduce"), 50)
            .is_empty());
        assert_eq!(
            c.all(&format!("{base}/treatments?owner=ciso&status=proposed"), 50)
                .len(),
            1
        );
        // Deleting the current one makes the one it superseded current again.
        c.delete(&format!("{base}/treatments/{}", id(&second)))
            .ok(204);
        let current = c.all(&format!("{base}/treatments"), 50);
        assert_eq!(current.len(), 1);
        assert_eq!(current[0]["id"], first["id"]);
        assert_eq!(current[0]["superseded_by"], Value::Null);
        assert_eq!(
            c.all(&format!("{base}/treatments?due_before=2027-04-01"), 50)
                .len(),
            1
        );
        assert!(c
            .all(&format!("{base}/treatments?due_before=2027-03-31"), 50)
            .is_empty());

        // What a current treatment relies on stays until it changes; a
        // threat takes its treatments with it.
        let refused = c.delete(&format!("{base}/controls/{control}")).problem(409);
        assert!(
            refused["detail"].as_str().unwrap().contains(&id(&first)),
            "{refused}"
        );
        let t2 = threat(&c, &base, "fraud", LOW);
        let transfer = id(&post(
            json!({"threat_id": t2, "strategy": "transfer", "owner": "o",
            "counterparty_party_id": insurer, "mechanism": "contract", "transferred_share": 0.2}),
        )
        .ok(201));
        c.delete(&format!("{base}/parties/{insurer}")).problem(409);
        c.delete(&format!("{base}/threats/{t2}")).ok(204);
        c.get(&format!("{base}/treatments/{transfer}")).problem(404);
        c.delete(&format!("{base}/parties/{insurer}")).ok(204);
        c.delete(&format!("{base}/threats/{t}")).ok(204);
        assert!(c.all(&format!("{base}/treatments"), 50).is_empty());
        c.get(&format!("{base}/treatments/{}", id(&first)))
            .problem(404);
        c.delete(&format!("{base}/controls/{control}")).ok(204);
    }
);

both_modes!(transitions_follow_the_state_machine_and_the_roles, |app| {
    let owner = app.client(&app.key("acme", "owner"));
    let editor = app.client(&app.key("acme", "editor"));
    let model = owner.model("m");
    let base = format!("/api/v1/models/{model}");
    let t = threat(&owner, &base, "defacement", LOW);
    let tr = id(&editor
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": t, "strategy": "avoid", "removed": "the page", "owner": "web"}),
        )
        .ok(201));
    // Editors propose; approving is the owner's.
    move_to(&editor, &base, &tr, "approved").problem(403);
    let illegal = move_to(&editor, &base, &tr, "done").problem(409);
    assert_eq!(illegal["code"], "illegal_transition");
    assert_eq!(illegal["allowed"], json!(["approved", "rejected"]));
    move_to(&owner, &base, &tr, "approved").ok(200);
    assert_eq!(
        move_to(&editor, &base, &tr, "verified").problem(409)["allowed"],
        json!(["in_progress", "rejected"])
    );
    move_to(&editor, &base, &tr, "in_progress").ok(200);
    move_to(&editor, &base, &tr, "done").ok(200);
    move_to(&editor, &base, &tr, "in_progress").ok(200);
    move_to(&editor, &base, &tr, "done").ok(200);
    let verified = move_to(&editor, &base, &tr, "verified").ok(200);
    assert_eq!(verified["status"], "verified");
    let last = move_to(&owner, &base, &tr, "rejected").problem(409);
    assert_eq!(last["allowed"], json!([]));
    move_to(&owner, &base, &tr, "expired").problem(409);
    owner
        .post(
            &format!("{base}/treatments/{tr}/transitions"),
            &json!({"to": "finished"}),
        )
        .names_field("to");
    // Every move is audited with its note.
    let audit = owner.all("/api/v1/audit-events?entity_type=treatment", 100);
    let notes: Vec<&str> = audit
        .iter()
        .filter_map(|e| e["after"]["transition_note"].as_str())
        .collect();
    for to in ["approved", "in_progress", "done", "verified"] {
        assert!(
            notes.contains(&format!("moving to {to}").as_str()),
            "{notes:?}"
        );
    }
    // Rejection from proposed.
    let t2 = threat(&owner, &base, "spam", LOW);
    let tr2 = id(&editor
        .post(
            &format!("{base}/treatments"),
            &json!({"threat_id": t2, "strategy": "avoid", "removed": "signup", "owner": "web"}),
        )
        .ok(201));
    move_to(&editor, &base, &tr2, "rejected").ok(200);
    assert_eq!(
        move_to(&owner, &base, &tr2, "approved").problem(409)["allowed"],
        json!([])
    );
});

both_modes!(accepting_a_high_risk_is_the_owners_decision, |app| {
    let _worker = Worker::start(&app);
    let owner = app.client(&app.key("acme", "owner"));
    let editor = app.client(&app.key("acme", "editor"));
    let model = owner.model("m");
    let base = format!("/api/v1/models/{model}");
    let critical = threat(&owner, &base, "rce", CRITICAL);
    let low = threat(&owner, &base, "typo squatting", LOW);
    fresh_rows(&owner, &model);
    let accept = |t: &str| {
        json!({"threat_id": t, "strategy": "accept", "owner": "ciso", "justification": "cheaper to bear",
               "approver": "cfo", "expires_on": in_a_year()})
    };
    editor
        .post(&format!("{base}/treatments"), &accept(&critical))
        .problem(403);
    editor
        .post(&format!("{base}/treatments"), &accept(&low))
        .ok(201);
    owner
        .post(&format!("{base}/treatments"), &accept(&critical))
        .ok(201);
    assert_eq!(
        owner
            .all(&format!("{base}/treatments?strategy=accept"), 50)
            .len(),
        2
    );
});

both_modes!(the_register_follows_each_strategy_once_done, |app| {
    let _worker = Worker::start(&app);
    let c = app.client(&app.key("acme", "owner"));
    let model = c.model("m");
    let base = format!("/api/v1/models/{model}");
    let avoided = threat(&c, &base, "avoided", CRITICAL);
    let transferred = threat(&c, &base, "transferred", CRITICAL);
    let reduced = threat(&c, &base, "reduced", CRITICAL);
    let accepted = threat(&c, &base, "accepted", CRITICAL);
    let insurer = id(&c
        .post(
            &format!("{base}/parties"),
            &json!({"name": "insurer", "kind": "partner", "trust_level": "partially_trusted"}),
        )
        .ok(201));
    // A planned control that covers no threat by itself: only the reduce
    // treatment brings it to its threat.
    let waf = id(&c
        .post(
            &format!("{base}/controls"),
            &json!({"name": "WAF", "type": "preventive", "category": "technical",
                    "status": "planned", "effectiveness": 50}),
        )
        .ok(201));
    // Step 5 before any decision: four critical threats above the default
    // appetite (medium), each named.
    fresh_rows(&c, &model);
    let step5 = |c: &Client| c.get(&format!("{base}/progress")).ok(200)["steps"][4].clone();
    let before = step5(&c);
    assert_eq!(before["name"], "mitigation");
    assert_eq!(before["status"], "not_started");
    let check = before["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == "mitigation.above_appetite_treated")
        .unwrap()
        .clone();
    assert_eq!(check["ok"], false);
    let mut named: Vec<&str> = check["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    named.sort_unstable();
    let mut four = vec![
        avoided.as_str(),
        transferred.as_str(),
        reduced.as_str(),
        accepted.as_str(),
    ];
    four.sort_unstable();
    assert_eq!(named, four);
    assert!(
        check["message"].as_str().unwrap().contains("\"avoided\""),
        "{check}"
    );
    let create = |body: Value| id(&c.post(&format!("{base}/treatments"), &body).ok(201));
    let t_avoid = create(
        json!({"threat_id": avoided, "strategy": "avoid", "removed": "the feature", "owner": "o"}),
    );
    let t_transfer = create(
        json!({"threat_id": transferred, "strategy": "transfer", "owner": "o",
        "counterparty_party_id": insurer, "mechanism": "insurance", "transferred_share": 0.5}),
    );
    let t_reduce = create(
        json!({"threat_id": reduced, "strategy": "reduce", "owner": "o", "control_ids": [waf]}),
    );
    let t_accept = create(
        json!({"threat_id": accepted, "strategy": "accept", "owner": "o",
        "justification": "j", "approver": "cfo", "expires_on": in_a_year()}),
    );

    // Proposed: nothing moves today; the projected figures show the plan.
    let rows = fresh_rows(&c, &model);
    let fig = |rows: &std::collections::HashMap<String, Value>, t: &str| {
        let r = &rows[t];
        (
            r["residual_score"].as_f64().unwrap(),
            r["projected_score"].as_f64().unwrap(),
            r["status"].as_str().unwrap().to_string(),
        )
    };
    assert_eq!(fig(&rows, &avoided), (9.8, 0.0, "open".into()));
    assert_eq!(fig(&rows, &transferred), (9.8, 4.9, "open".into()));
    assert_eq!(fig(&rows, &reduced), (9.8, 4.9, "open".into()));
    assert_eq!(fig(&rows, &accepted), (9.8, 9.8, "open".into()));
    assert_eq!(rows[&reduced]["treatment_strategy"], "reduce");
    assert_eq!(rows[&reduced]["treatment_status"], "proposed");
    // What if the plan is finished: today's severities against the projected ones.
    let what_if = c.get(&format!("{base}/residual-risk?limit=2")).ok(200);
    assert_eq!(what_if["items"].as_array().unwrap().len(), 2);
    assert!(what_if["next_cursor"].is_string());
    let totals = &what_if["totals"];
    assert_eq!(totals["residual"]["critical"], 4);
    assert_eq!(
        totals["projected"]["critical"], 1,
        "only the acceptance stays critical: {totals}"
    );
    let sum = |t: &Value| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .map(|s| t[s].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!(
        (sum(&totals["residual"]), sum(&totals["projected"])),
        (4, 4)
    );
    assert_eq!(what_if["stale"], false);

    fresh_rows(&c, &model);
    let after = step5(&c);
    assert_eq!(after["status"], "complete", "{after}");
    // A rejected decision does not count.
    let spare = threat(&c, &base, "spare", CRITICAL);
    let rejected =
        create(json!({"threat_id": spare, "strategy": "avoid", "removed": "x", "owner": "o"}));
    move_to(&c, &base, &rejected, "rejected").ok(200);
    fresh_rows(&c, &model);
    let after = step5(&c);
    assert_eq!(after["status"], "in_progress");
    assert_eq!(after["checks"][0]["refs"], json!([spare]));
    c.delete(&format!("{base}/threats/{spare}")).ok(204);
    for t in [&t_avoid, &t_transfer, &t_reduce, &t_accept] {
        move_to(&c, &base, t, "approved").ok(200);
    }
    let rows = fresh_rows(&c, &model);
    assert_eq!(
        fig(&rows, &accepted),
        (9.8, 9.8, "accepted".into()),
        "in force once approved"
    );
    for t in [&t_avoid, &t_transfer, &t_reduce] {
        move_to(&c, &base, t, "in_progress").ok(200);
        move_to(&c, &base, t, "done").ok(200);
    }
    let rows = fresh_rows(&c, &model);
    assert_eq!(fig(&rows, &avoided), (0.0, 0.0, "avoided".into()));
    assert_eq!(fig(&rows, &transferred), (4.9, 4.9, "transferred".into()));
    // Done, but its control is still only planned: the residual waits for it.
    assert_eq!(fig(&rows, &reduced), (9.8, 4.9, "treated".into()));
    assert_eq!(rows[&avoided]["treatment_status"], "done");

    // Implementing the control moves the reduced threat's residual (the
    // control edit reaches the threat through the treatment).
    c.patch(
        &format!("{base}/controls/{waf}"),
        &json!({"status": "implemented"}),
    )
    .ok(200);
    let rows = fresh_rows(&c, &model);
    assert_eq!(fig(&rows, &reduced), (4.9, 4.9, "treated".into()));
    let accepted_rows = c.all(&format!("{base}/risks?status=accepted"), 50);
    assert_eq!(accepted_rows.len(), 1);
    assert_eq!(accepted_rows[0]["threat_id"], accepted.as_str());
});
