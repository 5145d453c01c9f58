//! The bulk path of an import on real PostgreSQL and real SQLite: a plan
//! of 10 000 threats and 1 000 controls is written in one transaction with
//! one register revision, one recomputation queued and one audit event;
//! a plan that fails part-way leaves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use palisade_domain::asset::Asset;
use palisade_domain::interchange::{self, ImportFormat, Syntax};
use palisade_domain::threat::Control;
use palisade_domain::threat::Threat;
use palisade_domain::treatment::Treatment;
use palisade_store::audit::AuditFilter;
use palisade_store::ModelReads as _;
use palisade_store::{audit, import, jobs, models, risks, PageRequest, Store};
use serde_json::json;

mod common;
use common::actor;

/// An OTM file: 100 components, 10 000 threats on them, 1 000 mitigations.
fn big_otm() -> Vec<u8> {
    let comps: Vec<_> = (0..100)
        .map(|i| {
            let threats: Vec<_> = (0..100)
                .map(|k| {
                    let t = i * 100 + k;
                    json!({"threat": format!("t{t}"), "state": if t % 2 == 0 { "mitigated" } else { "exposed" },
                           "mitigations": [{"mitigation": format!("m{}", t % 1000), "state": "implemented"}]})
                })
                .collect();
            json!({"id": format!("c{i}"), "name": format!("C{i}"), "type": "web-service",
                   "parent": {"trustZone": "z"}, "threats": threats})
        })
        .collect();
    let threats: Vec<_> = (0..10_000)
        .map(|t| {
            json!({"id": format!("t{t}"), "name": format!("T{t}"), "categories": ["Spoofing"],
                        "risk": {"likelihood": 50, "impact": 80}})
        })
        .collect();
    let mitigations: Vec<_> = (0..1000)
        .map(|m| json!({"id": format!("m{m}"), "name": format!("M{m}"), "riskReduction": 40}))
        .collect();
    json!({"otmVersion": "0.2.0", "project": {"name": "big", "id": "big"},
           "trustZones": [{"id": "z", "name": "Z", "risk": {"trustRating": 50}}],
           "components": comps, "threats": threats, "mitigations": mitigations})
    .to_string()
    .into_bytes()
}

both_backends!(a_big_plan_is_written_at_once_and_scored_once, |store| {
    let actor = actor(&store, "acme");
    let (plan, report) = interchange::import(
        ImportFormat::Otm,
        &big_otm(),
        Syntax::Json,
        chrono::Utc::now(),
    )
    .unwrap();
    assert_eq!(
        (
            report.counts.threats,
            report.counts.controls,
            report.counts.treatments
        ),
        (10_000, 1000, 10_000)
    );
    let mut conn = store.conn().unwrap();
    let model = import::import(&mut conn, &actor, &plan).unwrap();
    let scope = models::ensure_visible(&mut conn, actor.org_id, model.id).unwrap();
    assert_eq!(Threat::count_in_model(&mut conn, scope).unwrap(), 10_000);
    assert_eq!(Control::count_in_model(&mut conn, scope).unwrap(), 1000);
    assert_eq!(Asset::count_in_model(&mut conn, scope).unwrap(), 100);
    assert_eq!(Treatment::count_in_model(&mut conn, scope).unwrap(), 10_000);
    // Links read back: a control covers the ten threats that name it.
    let c = &Control::all_in_model(&mut conn, scope).unwrap()[7];
    assert_eq!(c.fields.threat_ids.len(), 10);
    assert_eq!(
        c.fields.status,
        palisade_domain::scoring::residual::ControlStatus::Implemented
    );
    // One revision, one queued recomputation, one audit event.
    let register = risks::read(&mut conn, actor.org_id, model.id).unwrap();
    assert_eq!((register.revision, register.computed_revision), (1, 0));
    assert_eq!(jobs::count_for_model(&mut conn, scope).unwrap(), 1);
    let events = audit::list(
        &mut conn,
        actor.org_id,
        &AuditFilter {
            model_id: Some(model.id),
            ..Default::default()
        },
        &PageRequest::default(),
    )
    .unwrap();
    assert_eq!(events.items.len(), 1);
    assert_eq!(events.items[0].entity_type, "model");
    // The recomputation scores all of them in one pass.
    let computed = risks::recompute(&mut conn, scope).unwrap();
    let register = risks::read(&mut conn, actor.org_id, model.id).unwrap();
    assert_eq!(register.rows.len(), 10_000, "{computed}");
    assert!(!register.stale);
});

both_backends!(a_plan_that_fails_midway_leaves_nothing, |store| {
    let actor = actor(&store, "acme");
    let mut viewer_like = actor.clone();
    viewer_like.role = palisade_domain::role::Role::Editor;
    // An acceptance refused for an editor, after every other record was written.
    let file = json!({"otmVersion": "0.2.0", "project": {"name": "p", "id": "p"},
        "trustZones": [{"id": "z", "name": "Z", "risk": {"trustRating": 50}}],
        "components": [{"id": "c", "name": "C", "type": "x", "parent": {"trustZone": "z"},
                        "threats": [{"threat": "t", "state": "accepted"}]}],
        "threats": [{"id": "t", "name": "T", "risk": {"likelihood": 100, "impact": 100}}]});
    let (plan, _) = interchange::import(
        ImportFormat::Otm,
        file.to_string().as_bytes(),
        Syntax::Json,
        chrono::Utc::now(),
    )
    .unwrap();
    let mut conn = store.conn().unwrap();
    let err = import::import(&mut conn, &viewer_like, &plan).unwrap_err();
    assert!(
        matches!(err, palisade_store::StoreError::Forbidden(_)),
        "{err:?}"
    );
    let all = models::list(
        &mut conn,
        actor.org_id,
        &Default::default(),
        &PageRequest::default(),
    )
    .unwrap();
    assert_eq!(all.items.len(), 0, "nothing was written");
    import::import(&mut conn, &actor, &plan).unwrap();
});
