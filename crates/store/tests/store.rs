//! The same store tests on real PostgreSQL and real SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use palisade_domain::asset::Asset;
use palisade_domain::asset::{AssetFields, Classification};
use palisade_domain::audit::AuditAction;
use palisade_domain::environment::Interaction;
use palisade_domain::environment::Party;
use palisade_domain::environment::TrustZone;
use palisade_domain::evaluation::EvaluationEntry;
use palisade_domain::model::ModelFields;
use palisade_domain::role::Role;
use palisade_domain::threat::Control;
use palisade_domain::threat::Threat;
use palisade_domain::threat_actor::ThreatActor;
use palisade_domain::treatment::Treatment;
use palisade_store::assets::AssetFilter;
use palisade_store::audit::AuditFilter;
use palisade_store::idempotency::{self, StoredResponse};
use palisade_store::{
    api_keys, assets, audit, models, orgs, Actor, PageRequest, Store, StoreError,
};
use palisade_store::{ModelReads as _, ModelWrites as _};

mod common;
use common::actor;

fn model_fields(name: &str) -> ModelFields {
    serde_json::from_value(serde_json::json!({ "name": name })).unwrap()
}

fn asset_fields(json: serde_json::Value) -> AssetFields {
    serde_json::from_value(json).unwrap()
}

#[test]
fn both_migration_trees_list_the_same_versions() {
    let (pg, sqlite) = palisade_store::db::migration_versions();
    assert!(!pg.is_empty());
    assert_eq!(pg, sqlite);
}

/// The model as the actor's organisation sees it (on a connection of its own).
fn scope(
    store: &Store,
    actor: &Actor,
    model: palisade_domain::ids::ModelId,
) -> palisade_store::Scoped {
    let mut conn = store.conn().unwrap();
    models::ensure_visible(&mut conn, actor.org_id, model).unwrap()
}

/// What the worker's registry does for the one kind the store queues.
struct Recompute;

impl palisade_store::jobs::JobRunner for Recompute {
    fn max_attempts(&self, _: &str) -> i32 {
        palisade_domain::job::MAX_ATTEMPTS
    }

    fn run(
        &self,
        conn: &mut palisade_store::DbConn,
        job: &palisade_store::jobs::JobContext,
    ) -> Result<serde_json::Value, palisade_store::jobs::JobFailure> {
        use palisade_store::jobs::JobFailure;
        match (job.kind.as_str(), job.scope) {
            ("recompute_risk", Some(scope)) => Ok(palisade_store::risks::recompute(conn, scope)?),
            (kind, _) => Err(JobFailure::Permanent(format!("unknown job kind {kind:?}"))),
        }
    }
}

both_backends!(migrating_twice_applies_nothing_the_second_time, |store| {
    assert!(store.migrate().unwrap().is_empty());
    assert!(store.pending_migrations().unwrap().is_empty());
});

both_backends!(an_organisation_is_created_once_by_name, |store| {
    let mut conn = store.conn().unwrap();
    let a = orgs::get_or_create(&mut conn, "acme").unwrap();
    let b = orgs::get_or_create(&mut conn, "acme").unwrap();
    let c = orgs::get_or_create(&mut conn, "globex").unwrap();
    assert_eq!(a, b);
    assert_ne!(a.id, c.id);
});

both_backends!(api_keys_authenticate_by_secret_only, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let (key, secret) = api_keys::create(&mut conn, &acme, "ci", Role::Editor).unwrap();
    assert!(secret.starts_with(&key.prefix));
    let (found, org) = api_keys::authenticate(&mut conn, &secret).unwrap().unwrap();
    assert_eq!(
        (found.id, found.role, org.id),
        (key.id, Role::Editor, acme.org_id)
    );
    assert!(api_keys::authenticate(&mut conn, "pal_wrong")
        .unwrap()
        .is_none());

    // Deleting through another organisation finds nothing.
    let globex = actor(&store, "globex");
    assert!(matches!(
        api_keys::delete(&mut conn, &globex, key.id),
        Err(StoreError::NotFound)
    ));
    api_keys::delete(&mut conn, &acme, key.id).unwrap();
    assert!(api_keys::authenticate(&mut conn, &secret)
        .unwrap()
        .is_none());
});

both_backends!(model_crud_with_versions_and_tenancy, |store| {
    let acme = actor(&store, "acme");
    let globex = actor(&store, "globex");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("Payments")).unwrap();
    assert_eq!(model.version, 1);
    assert_eq!(
        models::get(&mut conn, acme.org_id, model.id).unwrap(),
        model
    );
    assert!(matches!(
        models::get(&mut conn, globex.org_id, model.id),
        Err(StoreError::NotFound)
    ));

    let renamed = models::update(&mut conn, &acme, model.id, Some(1), |m| {
        Ok(ModelFields {
            name: "Payments v2".into(),
            ..m.fields.clone()
        })
    })
    .unwrap();
    assert_eq!(renamed.version, 2);
    assert_eq!(renamed.created_at, model.created_at);

    // A stale version is refused and nothing changes.
    let stale = models::update(&mut conn, &acme, model.id, Some(1), |m| {
        Ok(ModelFields {
            name: "lost".into(),
            ..m.fields.clone()
        })
    });
    assert!(matches!(
        stale,
        Err(StoreError::VersionMismatch { current: 2 })
    ));
    // A change that changes nothing keeps the version.
    let same = models::update(&mut conn, &acme, model.id, None, |m| Ok(m.fields.clone())).unwrap();
    assert_eq!(same.version, 2);

    // Invalid fields are refused by the store itself.
    let bad = models::update(&mut conn, &acme, model.id, None, |m| {
        Ok(ModelFields {
            name: " ".into(),
            ..m.fields.clone()
        })
    });
    assert!(matches!(bad, Err(StoreError::Invalid(_))));

    assert!(matches!(
        models::delete(&mut conn, &globex, model.id, None),
        Err(StoreError::NotFound)
    ));
    models::delete(&mut conn, &acme, model.id, Some(2)).unwrap();
    assert!(matches!(
        models::get(&mut conn, acme.org_id, model.id),
        Err(StoreError::NotFound)
    ));
});

both_backends!(lists_page_through_every_record_once, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            models::create(&mut conn, &acme, model_fields(&format!("m{i}")))
                .unwrap()
                .id,
        );
    }
    let other = actor(&store, "globex");
    models::create(&mut conn, &other, model_fields("theirs")).unwrap();

    let mut seen = Vec::new();
    let mut page = PageRequest {
        limit: 3,
        ..PageRequest::default()
    };
    loop {
        let p = models::list(&mut conn, acme.org_id, &Default::default(), &page).unwrap();
        assert!(p.items.len() <= 3);
        seen.extend(p.items.iter().map(|m| m.id));
        match p.next_after {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        seen, created,
        "every model once, in creation order, none of globex's"
    );
});

both_backends!(assets_keep_every_field_and_filter, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let db = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({
            "name": "Customer DB", "kind": "data", "description": "PII", "owner": "dba",
            "classification": "restricted",
            "cia": {"confidentiality": "high", "integrity": "high", "availability": "medium"},
            "business_criticality": 5, "in_scope": true, "tags": ["pii", "gdpr"],
            "metadata": {"cmdb": "CI-42", "nested": {"a": [1, 2]}}
        })),
    )
    .unwrap();
    let read = Asset::get(&mut conn, acme.org_id, model.id, db.id).unwrap();
    assert_eq!(read, db, "what is written is read back unchanged");

    Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "API", "kind": "service"})),
    )
    .unwrap();
    let filter = AssetFilter {
        classification: Some(None),
        ..Default::default()
    };
    let unclassified = assets::list(
        &mut conn,
        acme.org_id,
        model.id,
        &filter,
        &PageRequest::default(),
    )
    .unwrap();
    assert_eq!(
        unclassified
            .items
            .iter()
            .map(|a| a.fields.name.as_str())
            .collect::<Vec<_>>(),
        ["API"]
    );
    let filter = AssetFilter {
        classification: Some(Some(Classification::Restricted)),
        ..Default::default()
    };
    let restricted = assets::list(
        &mut conn,
        acme.org_id,
        model.id,
        &filter,
        &PageRequest::default(),
    )
    .unwrap();
    assert_eq!(restricted.items.len(), 1);

    let globex = actor(&store, "globex");
    assert!(matches!(
        Asset::get(&mut conn, globex.org_id, model.id, db.id),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        Asset::create(
            &mut conn,
            &globex,
            model.id,
            asset_fields(serde_json::json!({"name": "x", "kind": "data"}))
        ),
        Err(StoreError::NotFound)
    ));
});

both_backends!(asset_containment_stays_a_tree, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let svc = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "svc", "kind": "service"})),
    )
    .unwrap();
    let data = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "data", "kind": "data", "parent_id": svc.id})),
    )
    .unwrap();

    let cycle = Asset::update(&mut conn, &acme, model.id, svc.id, None, |a| {
        Ok(AssetFields {
            parent_id: Some(data.id),
            ..a.fields.clone()
        })
    });
    match cycle {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "parent_id"),
        other => panic!("expected a cycle to be refused, got {other:?}"),
    }

    // A parent from another model is refused too.
    let other = models::create(&mut conn, &acme, model_fields("other")).unwrap();
    let foreign = Asset::create(
        &mut conn,
        &acme,
        other.id,
        asset_fields(serde_json::json!({"name": "f", "kind": "data"})),
    )
    .unwrap();
    let moved = Asset::update(&mut conn, &acme, model.id, data.id, None, |a| {
        Ok(AssetFields {
            parent_id: Some(foreign.id),
            ..a.fields.clone()
        })
    });
    assert!(matches!(moved, Err(StoreError::Invalid(_))));

    // A container cannot be deleted while it holds assets; once emptied it can.
    assert!(matches!(
        Asset::delete(&mut conn, &acme, model.id, svc.id, None, false),
        Err(StoreError::Conflict(_))
    ));
    Asset::delete(&mut conn, &acme, model.id, data.id, None, false).unwrap();
    Asset::delete(&mut conn, &acme, model.id, svc.id, None, false).unwrap();

    // Deleting a model takes its whole asset tree with it.
    let a = Asset::create(
        &mut conn,
        &acme,
        other.id,
        asset_fields(serde_json::json!({"name": "a", "kind": "service"})),
    )
    .unwrap();
    Asset::create(
        &mut conn,
        &acme,
        other.id,
        asset_fields(serde_json::json!({"name": "b", "kind": "data", "parent_id": a.id})),
    )
    .unwrap();
    models::delete(&mut conn, &acme, other.id, None).unwrap();
    assert!(matches!(
        models::ensure_visible(&mut conn, acme.org_id, other.id)
            .and_then(|s| Asset::all_in_model(&mut conn, s)),
        Err(StoreError::NotFound)
    ));
});

both_backends!(unknown_trust_zone_is_refused, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let zone = uuid::Uuid::now_v7();
    let r = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "a", "kind": "data", "trust_zone_id": zone})),
    );
    match r {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "trust_zone_id"),
        other => panic!("expected the zone to be refused, got {other:?}"),
    }
    assert!(
        Asset::all_in_model(&mut conn, scope(&store, &acme, model.id))
            .unwrap()
            .is_empty(),
        "nothing half-written"
    );
});

both_backends!(every_change_is_audited_with_before_and_after, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let asset = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "a", "kind": "data"})),
    )
    .unwrap();
    Asset::update(&mut conn, &acme, model.id, asset.id, None, |a| {
        Ok(AssetFields {
            owner: Some("me".into()),
            ..a.fields.clone()
        })
    })
    .unwrap();
    Asset::delete(&mut conn, &acme, model.id, asset.id, None, false).unwrap();

    let filter = AuditFilter {
        model_id: Some(model.id),
        ..Default::default()
    };
    let events = audit::list(&mut conn, acme.org_id, &filter, &PageRequest::default())
        .unwrap()
        .items;
    let summary: Vec<_> = events
        .iter()
        .map(|e| (e.entity_type.as_str(), e.action))
        .collect();
    assert_eq!(
        summary,
        [
            ("model", AuditAction::Create),
            ("asset", AuditAction::Create),
            ("asset", AuditAction::Update),
            ("asset", AuditAction::Delete),
        ]
    );
    let update = &events[2];
    assert_eq!(
        update.before.as_ref().unwrap()["owner"],
        serde_json::Value::Null
    );
    assert_eq!(update.after.as_ref().unwrap()["owner"], "me");
    assert_eq!(update.request_id.as_deref(), Some("req-1"));

    let globex = actor(&store, "globex");
    assert!(
        audit::list(&mut conn, globex.org_id, &filter, &PageRequest::default())
            .unwrap()
            .items
            .is_empty()
    );
});

both_backends!(idempotency_keys_remember_the_first_response, |store| {
    use idempotency::Reservation;
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    assert_eq!(
        idempotency::reserve(&mut conn, acme.org_id, "k1", "h1").unwrap(),
        Reservation::Reserved
    );
    assert_eq!(
        idempotency::reserve(&mut conn, acme.org_id, "k1", "h1").unwrap(),
        Reservation::InProgress
    );
    let first = StoredResponse {
        status: 201,
        location: Some("/x".into()),
        etag: Some("\"1\"".into()),
        body: "{}".into(),
    };
    idempotency::complete(&mut conn, acme.org_id, "k1", &first).unwrap();
    assert_eq!(
        idempotency::reserve(&mut conn, acme.org_id, "k1", "h1").unwrap(),
        Reservation::Replay(first)
    );
    assert_eq!(
        idempotency::reserve(&mut conn, acme.org_id, "k1", "h2").unwrap(),
        Reservation::Mismatch
    );

    let globex = actor(&store, "globex");
    assert_eq!(
        idempotency::reserve(&mut conn, globex.org_id, "k1", "h2").unwrap(),
        Reservation::Reserved,
        "keys are per organisation"
    );
    idempotency::release(&mut conn, globex.org_id, "k1").unwrap();
    assert_eq!(
        idempotency::reserve(&mut conn, globex.org_id, "k1", "h3").unwrap(),
        Reservation::Reserved,
        "a released key is free again"
    );
    let now = chrono::Utc::now().naive_utc();
    assert_eq!(idempotency::purge_expired(&mut conn, now).unwrap(), 0);
});

fn threat_fields(title: &str) -> palisade_domain::threat::ThreatFields {
    let assessment = serde_json::from_value(serde_json::json!({"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"})).unwrap();
    palisade_domain::threat::ThreatFields {
        title: title.into(),
        description: None,
        stride: palisade_domain::threat::Stride::Spoofing,
        asset_ids: vec![],
        actor_ids: vec![],
        interaction_ids: vec![],
        attack_tree_node_ids: vec![],
        assessment: palisade_domain::threat::ThreatAssessment::Stateless(assessment),
    }
}

both_backends!(changes_queue_one_recomputation_until_it_runs, |store| {
    use palisade_store::{jobs, risks};
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let a = Threat::create(&mut conn, &acme, model.id, threat_fields("a")).unwrap();
    Threat::create(&mut conn, &acme, model.id, threat_fields("b")).unwrap();
    Threat::update(&mut conn, &acme, model.id, a.id, None, |t| {
        Ok(palisade_domain::threat::ThreatFields {
            title: "a2".into(),
            ..t.fields.clone()
        })
    })
    .unwrap();
    assert_eq!(
        jobs::count_for_model(&mut conn, scope(&store, &acme, model.id)).unwrap(),
        1,
        "three changes, one queued job"
    );
    let pending = jobs::unpublished(&mut conn, 10).unwrap();
    assert_eq!(pending.len(), 1);
    let register = risks::read(&mut conn, acme.org_id, model.id).unwrap();
    assert!(register.stale && register.rows.is_empty());

    jobs::execute(&mut conn, &pending[0].0, &Recompute)
        .map_err(|(e, _)| e.to_string())
        .unwrap();
    let register = risks::read(&mut conn, acme.org_id, model.id).unwrap();
    assert!(!register.stale);
    assert_eq!(
        register
            .rows
            .iter()
            .map(|r| r.title.as_str())
            .collect::<Vec<_>>(),
        ["a2", "b"]
    );
    // Running the same job again changes nothing.
    jobs::execute(&mut conn, &pending[0].0, &Recompute)
        .map_err(|(e, _)| e.to_string())
        .unwrap();
    assert_eq!(
        risks::read(&mut conn, acme.org_id, model.id)
            .unwrap()
            .rows
            .len(),
        2
    );
    // The next change queues a new job.
    Threat::delete(&mut conn, &acme, model.id, a.id, None, false).unwrap();
    assert_eq!(
        jobs::count_for_model(&mut conn, scope(&store, &acme, model.id)).unwrap(),
        2
    );
    assert!(risks::read(&mut conn, acme.org_id, model.id).unwrap().stale);
});

both_backends!(
    an_older_computation_finishing_last_never_overwrites_a_newer_one,
    |store| {
        use palisade_store::risks;
        let acme = actor(&store, "acme");
        let mut conn = store.conn().unwrap();
        let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
        Threat::create(&mut conn, &acme, model.id, threat_fields("a")).unwrap();
        // Two workers: the first computes, a change lands, the second computes
        // the newer revision and stores it first; the first stores last.
        let older = risks::compute(&mut conn, scope(&store, &acme, model.id)).unwrap();
        Threat::create(&mut conn, &acme, model.id, threat_fields("b")).unwrap();
        let newer = risks::compute(&mut conn, scope(&store, &acme, model.id)).unwrap();
        assert!(newer.revision > older.revision);
        assert!(
            risks::store(&mut conn, &newer).unwrap(),
            "the newer result is written"
        );
        assert!(
            !risks::store(&mut conn, &older).unwrap(),
            "the older result finishing last is refused"
        );
        let register = risks::read(&mut conn, acme.org_id, model.id).unwrap();
        assert_eq!(register.computed_revision, newer.revision);
        assert_eq!(
            register.rows.len(),
            2,
            "the newer register (two threats) stays"
        );
        assert!(!register.stale);
        assert!(
            !risks::store(&mut conn, &newer).unwrap(),
            "the same revision is not written twice"
        );
    }
);

both_backends!(
    a_change_that_joins_a_job_as_it_starts_is_not_lost,
    |store| {
        use palisade_store::{jobs, risks};
        use std::sync::mpsc;
        let acme = actor(&store, "acme");
        let mut conn = store.conn().unwrap();
        let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
        let a = Threat::create(&mut conn, &acme, model.id, threat_fields("a")).unwrap();
        let job = jobs::unpublished(&mut conn, 10).unwrap()[0].0.clone();
        // An edit joins the queued job; before it commits, a worker starts
        // that job. The worker must see the edit, or a job must remain.
        let worker = palisade_store::db::write_tx(&mut conn, |c| {
            Threat::update(c, &acme, model.id, a.id, None, |t| {
                Ok(palisade_domain::threat::ThreatFields {
                    title: "a2".into(),
                    ..t.fields.clone()
                })
            })?;
            let (finished, done) = mpsc::channel();
            let worker = {
                let store = store.clone();
                let job = job.clone();
                std::thread::spawn(move || {
                    let mut conn = store.conn().unwrap();
                    let outcome =
                        jobs::execute(&mut conn, &job, &Recompute).map_err(|(e, _)| e.to_string());
                    let _ = finished.send(());
                    outcome
                })
            };
            // Time for the worker to run the whole job if nothing holds it.
            let _ = done.recv_timeout(std::time::Duration::from_millis(500));
            Ok::<_, StoreError>(worker)
        })
        .unwrap();
        worker.join().unwrap().unwrap();
        // Run whatever is still queued, as a worker would.
        for (id, _) in jobs::unpublished(&mut conn, 10).unwrap() {
            let _ = jobs::execute(&mut conn, &id, &Recompute);
        }
        let register = risks::read(&mut conn, acme.org_id, model.id).unwrap();
        assert!(!register.stale, "the edit was lost: no job will compute it");
        assert_eq!(register.rows[0].title, "a2");
    }
);

both_backends!(first_changes_to_a_model_at_once_all_succeed, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    for m in 0..10 {
        let model = models::create(&mut conn, &acme, model_fields(&format!("m{m}"))).unwrap();
        let start = std::sync::Arc::new(std::sync::Barrier::new(3));
        let writers: Vec<_> = (0..3)
            .map(|i| {
                let (store, acme, start) = (store.clone(), acme.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut conn = store.conn().unwrap();
                    start.wait();
                    Threat::create(&mut conn, &acme, model.id, threat_fields(&format!("t{i}")))
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for w in writers {
            assert_eq!(
                w.join().unwrap(),
                Ok(()),
                "a first write to model {m} failed"
            );
        }
    }
});

both_backends!(unknown_job_kinds_fail_for_good, |store| {
    use palisade_store::jobs;
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let job = jobs::create_named(&mut conn, &acme, model.id, "explode", None).unwrap();
    match jobs::execute(&mut conn, &job.id.to_string(), &Recompute) {
        Err((e, retry)) => {
            assert!(!retry);
            assert!(e.to_string().contains("unknown job kind"));
        }
        Ok(()) => panic!("an unknown kind ran"),
    }
    assert_eq!(
        jobs::get(&mut conn, acme.org_id, job.id).unwrap().status,
        palisade_domain::job::JobStatus::Failed
    );
    assert!(matches!(
        jobs::execute(&mut conn, "no-such-job", &Recompute),
        Err((_, false))
    ));
});

both_backends!(threat_references_stay_inside_the_model, |store| {
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let other = models::create(&mut conn, &acme, model_fields("other")).unwrap();
    let foreign = Asset::create(
        &mut conn,
        &acme,
        other.id,
        asset_fields(serde_json::json!({"name": "f", "kind": "data"})),
    )
    .unwrap();
    let mut fields = threat_fields("t");
    fields.asset_ids = vec![foreign.id];
    match Threat::create(&mut conn, &acme, model.id, fields) {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "asset_ids[0]"),
        other => panic!("{other:?}"),
    }
    let control: palisade_domain::threat::ControlFields = serde_json::from_value(
        serde_json::json!({"name": "c", "type": "preventive", "category": "technical",
        "status": "implemented", "effectiveness": 50, "asset_ids": [foreign.id]}),
    )
    .unwrap();
    match Control::create(&mut conn, &acme, model.id, control) {
        Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "asset_ids[0]"),
        other => panic!("{other:?}"),
    }
});

both_backends!(deleting_a_model_takes_every_record_with_it, |store| {
    use palisade_domain::environment::{InteractionFields, PartyFields, TrustZoneFields};
    use palisade_store::attack_trees;
    let acme = actor(&store, "acme");
    let mut conn = store.conn().unwrap();
    let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
    let zone = TrustZone::create(
        &mut conn,
        &acme,
        model.id,
        serde_json::from_value::<TrustZoneFields>(
            serde_json::json!({"name": "z", "trust_rating": 5}),
        )
        .unwrap(),
    )
    .unwrap();
    let data = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "d", "kind": "data", "trust_zone_id": zone.id})),
    )
    .unwrap();
    let svc = Asset::create(
        &mut conn,
        &acme,
        model.id,
        asset_fields(serde_json::json!({"name": "s", "kind": "service", "parent_id": data.id})),
    )
    .unwrap();
    let party = Party::create(&mut conn, &acme, model.id, serde_json::from_value::<PartyFields>(serde_json::json!({"name": "p", "kind": "vendor", "trust_level": "trusted", "accessible_asset_ids": [data.id]})).unwrap()).unwrap();
    let flow = Interaction::create(&mut conn, &acme, model.id, serde_json::from_value::<InteractionFields>(serde_json::json!({"source": {"party_id": party.id}, "destination": {"asset_id": svc.id}, "data_asset_ids": [data.id]})).unwrap()).unwrap();
    let who = ThreatActor::create(&mut conn, &acme, model.id, serde_json::from_value(serde_json::json!({"name": "x", "origin": "internal", "category": "employee", "intent": "malicious"})).unwrap()).unwrap();
    let tree = attack_trees::create(&mut conn, &acme, model.id, &serde_json::from_value(serde_json::json!({"name": "t", "target_asset_id": data.id, "root": {"kind": "leaf", "label": "l", "actor_id": who.id}})).unwrap()).unwrap();
    let mut fields = threat_fields("t");
    fields.asset_ids = vec![data.id];
    fields.interaction_ids = vec![flow.id];
    let threat = Threat::create(&mut conn, &acme, model.id, fields).unwrap();
    let control = Control::create(&mut conn, &acme, model.id, serde_json::from_value(serde_json::json!({"name": "c", "type": "preventive", "category": "technical", "status": "planned", "effectiveness": 5, "threat_ids": [threat.id], "asset_ids": [data.id]})).unwrap()).unwrap();
    let _ = tree;
    // Steps 5 and 6: a treatment, an entry naming it, a version and a
    // report of that version (its job queued).
    let input: palisade_domain::treatment::TreatmentInput = serde_json::from_value(serde_json::json!({"threat_id": threat.id, "strategy": "reduce", "owner": "o", "control_ids": [control.id]})).unwrap();
    let treatment = Treatment::create(
        &mut conn,
        &acme,
        model.id,
        palisade_domain::treatment::TreatmentFields::from_input(input, None).unwrap(),
    )
    .unwrap();
    EvaluationEntry::create(&mut conn, &acme, model.id, serde_json::from_value(serde_json::json!({"kind": "finding", "text": "t", "author": "a", "date": "2026-12-01", "treatment_ids": [treatment.id], "asset_ids": [data.id]})).unwrap()).unwrap();
    let version = palisade_store::versions::create(&mut conn, &acme, model.id, "v1").unwrap();
    palisade_store::reports::create(
        &mut conn,
        &acme,
        model.id,
        &palisade_domain::report::ReportInput {
            formats: vec![palisade_domain::report::ReportFormat::Json],
            version_id: Some(version.id),
        },
    )
    .unwrap();

    models::delete(&mut conn, &acme, model.id, None).unwrap();
    assert!(matches!(
        models::get(&mut conn, acme.org_id, model.id),
        Err(StoreError::NotFound)
    ));
    // Nothing of it is left behind, links of every owner kind included.
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    for table in [
        "record_links",
        "treatments",
        "evaluation_entries",
        "model_versions",
        "reports",
        "report_files",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let left: Count = palisade_store::per_backend!(&mut *conn, |c| {
            use diesel::RunQueryDsl;
            diesel::sql_query(&sql).get_result(c)
        })
        .unwrap();
        assert_eq!(left.n, 0, "{table} keeps rows of a deleted model");
    }
});

both_backends!(
    housekeeping_forgets_expired_keys_and_published_jobs_only,
    |store| {
        use palisade_store::jobs;
        let acme = actor(&store, "acme");
        let mut conn = store.conn().unwrap();
        let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
        idempotency::reserve(&mut conn, acme.org_id, "k1", "h1").unwrap();
        Threat::create(&mut conn, &acme, model.id, threat_fields("a")).unwrap();
        let queued = jobs::unpublished(&mut conn, 10).unwrap();
        assert_eq!(queued.len(), 1);
        let now = chrono::Utc::now().naive_utc();
        let tomorrow = now + chrono::Duration::hours(25);
        // Nothing is old enough yet.
        assert_eq!(idempotency::purge_expired(&mut conn, now).unwrap(), 0);
        assert_eq!(
            jobs::purge_published(&mut conn, tomorrow).unwrap(),
            0,
            "unpublished rows stay"
        );
        jobs::mark_published(&mut conn, &[queued[0].0.clone()]).unwrap();
        assert_eq!(jobs::purge_published(&mut conn, now).unwrap(), 0);
        // A day on, both go.
        assert_eq!(idempotency::purge_expired(&mut conn, tomorrow).unwrap(), 1);
        assert_eq!(jobs::purge_published(&mut conn, tomorrow).unwrap(), 1);
        assert_eq!(
            idempotency::reserve(&mut conn, acme.org_id, "k1", "h2").unwrap(),
            idempotency::Reservation::Reserved,
            "a forgotten key is free again"
        );
    }
);

both_backends!(
    a_tree_over_the_node_bound_is_refused_and_nothing_is_written,
    |store| {
        use palisade_domain::tree::MAX_NODES;
        use palisade_store::attack_trees;
        let acme = actor(&store, "acme");
        let mut conn = store.conn().unwrap();
        let model = models::create(&mut conn, &acme, model_fields("m")).unwrap();
        let leaves = |n: usize| -> Vec<serde_json::Value> {
            (0..n)
                .map(|_| serde_json::json!({"kind": "leaf", "label": "l"}))
                .collect()
        };
        let doc = |n: usize| {
            serde_json::from_value(serde_json::json!({"name": "big", "root": {"kind": "or", "label": "r", "children": leaves(n)}}))
            .unwrap()
        };
        match attack_trees::create(&mut conn, &acme, model.id, &doc(MAX_NODES)) {
            Err(StoreError::Invalid(e)) => assert_eq!(e.0[0].field, "root"),
            other => panic!("expected a refusal, got {:?}", other.map(|t| t.node_count)),
        }
        let page =
            attack_trees::list(&mut conn, acme.org_id, model.id, &Default::default()).unwrap();
        assert!(page.items.is_empty(), "nothing was written");
        let kept = attack_trees::create(&mut conn, &acme, model.id, &doc(MAX_NODES - 1)).unwrap();
        assert_eq!(kept.node_count, MAX_NODES);
    }
);

both_backends!(
    webhook_delivery_ids_are_kept_two_days_then_forgotten,
    |store| {
        use palisade_domain::integration::{IntegrationFields, IntegrationKind};
        use palisade_store::integrations::{self, Received};
        use palisade_store::sealed::Sealer;
        let a = actor(&store, "acme");
        let sealer = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        let mut conn = store.conn().unwrap();
        let fields = IntegrationFields {
            kind: IntegrationKind::Github,
            name: "gh".into(),
            status_mapping: IntegrationKind::Github.default_mapping(),
            enabled: true,
            outbound: None,
        };
        let i = integrations::create(
            &mut conn,
            &sealer,
            &a,
            &fields,
            "a-secret-of-twenty-chars",
            None,
        )
        .unwrap();
        let receive = |conn: &mut palisade_store::DbConn| {
            integrations::receive(conn, a.org_id, i.id, "delivery-1", Vec::new()).unwrap()
        };
        assert_eq!(receive(&mut conn), Received::Ignored);
        assert_eq!(receive(&mut conn), Received::Duplicate);
        // The secret opens only with the key it was sealed with.
        let r = integrations::receiver(&mut conn, &sealer, i.id)
            .unwrap()
            .unwrap();
        assert_eq!(r.secrets[0].1, "a-secret-of-twenty-chars");
        let other = Sealer::from_base64(&Sealer::generate_key()).unwrap();
        assert!(integrations::receiver(&mut conn, &other, i.id).is_err());
        let now = chrono::Utc::now().naive_utc();
        assert_eq!(
            integrations::purge_deliveries(&mut conn, now + chrono::Duration::hours(47)).unwrap(),
            0
        );
        assert_eq!(
            receive(&mut conn),
            Received::Duplicate,
            "still known after a day"
        );
        assert_eq!(
            integrations::purge_deliveries(&mut conn, now + chrono::Duration::hours(49)).unwrap(),
            1
        );
        assert_eq!(receive(&mut conn), Received::Ignored);
    }
);
