//! Incremental recomputation: whatever sequence of edits happens (threats,
//! controls, tree leaves, assets, treatments and their transitions), the rows
//! the job rescores leave the register equal to a full recomputation. On
//! real PostgreSQL and real SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use palisade_domain::asset::Asset;
use palisade_domain::ids::{AssetId, AttackTreeId, ControlId, ModelId, NodeId, ThreatId};
use palisade_domain::risk::RiskRow;
use palisade_domain::scoring::nist::NistLevel;
use palisade_domain::threat::Control;
use palisade_domain::threat::Threat;
use palisade_domain::threat::{Stride, ThreatAssessment, ThreatFields, TreeAssessment};
use palisade_domain::treatment::Treatment;
use palisade_domain::treatment::{TreatmentFields, TreatmentInput, TreatmentStatus};
use palisade_store::testing::TestDatabase;
use palisade_store::ModelWrites as _;
use palisade_store::{
    attack_trees, models, orgs, risks, treatments, Actor, Backend, Store, StoreError,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::json;

const VECTORS: [&str; 4] = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
    "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N",
    "CVSS:3.1/AV:A/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:L",
];
const STATUSES: [&str; 3] = ["planned", "partial", "implemented"];

/// One edit; indices pick among the records that exist (modulo their count).
#[derive(Debug, Clone)]
enum Op {
    AddThreat {
        vector: usize,
        tree: Option<usize>,
        asset: Option<usize>,
    },
    EditThreat {
        at: usize,
        vector: usize,
        tree: Option<usize>,
    },
    DeleteThreat {
        at: usize,
    },
    AddControl {
        threats: Vec<usize>,
        defenses: Vec<usize>,
        status: usize,
        effectiveness: i64,
    },
    EditControl {
        at: usize,
        threats: Vec<usize>,
        defenses: Vec<usize>,
        status: usize,
        effectiveness: i64,
    },
    DeleteControl {
        at: usize,
    },
    EditLeaf {
        tree: usize,
        leaf: usize,
        tenths: u8,
    },
    EditAsset {
        at: usize,
    },
    /// A decision on a threat (reduce with a control, avoid, or accept),
    /// moved `steps` statuses along (approved, in progress, done, verified).
    Treat {
        at: usize,
        control: usize,
        strategy: usize,
        steps: usize,
    },
    Recompute,
}

fn op() -> impl Strategy<Value = Op> {
    let pick = 0usize..16;
    let picks = proptest::collection::vec(0usize..16, 0..4);
    prop_oneof![
        3 => (0..VECTORS.len(), proptest::option::of(0usize..2), proptest::option::of(0usize..2))
            .prop_map(|(vector, tree, asset)| Op::AddThreat { vector, tree, asset }),
        2 => (pick.clone(), 0..VECTORS.len(), proptest::option::of(0usize..2))
            .prop_map(|(at, vector, tree)| Op::EditThreat { at, vector, tree }),
        1 => pick.clone().prop_map(|at| Op::DeleteThreat { at }),
        2 => (picks.clone(), proptest::collection::vec(0usize..4, 0..3), 0..STATUSES.len(), 0i64..=100)
            .prop_map(|(threats, defenses, status, effectiveness)| Op::AddControl { threats, defenses, status, effectiveness }),
        2 => (pick.clone(), picks, proptest::collection::vec(0usize..4, 0..3), 0..STATUSES.len(), 0i64..=100)
            .prop_map(|(at, threats, defenses, status, effectiveness)| Op::EditControl { at, threats, defenses, status, effectiveness }),
        1 => pick.clone().prop_map(|at| Op::DeleteControl { at }),
        2 => (0usize..2, 0usize..2, 1u8..=10).prop_map(|(tree, leaf, tenths)| Op::EditLeaf { tree, leaf, tenths }),
        1 => pick.clone().prop_map(|at| Op::EditAsset { at }),
        2 => (pick.clone(), pick, 0usize..3, 0usize..5)
            .prop_map(|(at, control, strategy, steps)| Op::Treat { at, control, strategy, steps }),
        3 => Just(Op::Recompute),
    ]
}

/// A model with two assets and two trees, each tree an OR of two leaves
/// defended by one countermeasure each; the records edits create.
struct World {
    actor: Actor,
    model: ModelId,
    assets: Vec<AssetId>,
    trees: Vec<AttackTreeId>,
    /// Per tree, its two leaves.
    leaves: Vec<[NodeId; 2]>,
    defenses: Vec<NodeId>,
    threats: Vec<ThreatId>,
    controls: Vec<ControlId>,
    /// Rows rescored by incremental runs, so the test shows it tried them.
    incremental_rows: u64,
}

fn id<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> T {
    serde_json::from_value(v["id"].clone()).unwrap()
}

impl World {
    fn new(store: &Store, actor: &Actor, name: &str) -> World {
        let mut conn = store.conn().unwrap();
        let model = models::create(
            &mut conn,
            actor,
            serde_json::from_value(json!({ "name": name })).unwrap(),
        )
        .unwrap()
        .id;
        let assets = (0..2)
            .map(|i| {
                Asset::create(
                    &mut conn,
                    actor,
                    model,
                    serde_json::from_value(json!({"name": format!("asset {i}"), "kind": "data"}))
                        .unwrap(),
                )
                .unwrap()
                .id
            })
            .collect();
        let (mut trees, mut leaves, mut defenses) = (Vec::new(), Vec::new(), Vec::new());
        for t in 0..2 {
            let input = serde_json::from_value(json!({"name": format!("tree {t}"), "root": {"kind": "or", "label": "in", "children": [
                {"kind": "leaf", "label": "a", "attributes": {"probability": 0.9},
                 "countermeasure": {"kind": "defense", "label": "da"}},
                {"kind": "leaf", "label": "b", "attributes": {"probability": 0.3},
                 "countermeasure": {"kind": "defense", "label": "db"}}]}}))
            .unwrap();
            let tree = attack_trees::create(&mut conn, actor, model, &input).unwrap();
            let root = serde_json::to_value(&tree.root).unwrap();
            let children = root["children"].as_array().unwrap();
            leaves.push([id(&children[0]), id(&children[1])]);
            defenses.extend(children.iter().map(|c| id::<NodeId>(&c["countermeasure"])));
            trees.push(tree.id);
        }
        World {
            actor: actor.clone(),
            model,
            assets,
            trees,
            leaves,
            defenses,
            threats: Vec::new(),
            controls: Vec::new(),
            incremental_rows: 0,
        }
    }

    fn threat_fields(
        &self,
        n: usize,
        vector: usize,
        tree: Option<usize>,
        asset: Option<usize>,
    ) -> ThreatFields {
        let assessment = match tree {
            Some(t) => ThreatAssessment::AttackTree(TreeAssessment {
                tree_id: self.trees[t],
                impact: NistLevel::High,
            }),
            None => ThreatAssessment::Stateless(
                serde_json::from_value(json!({"method": "cvss31", "vector": VECTORS[vector]}))
                    .unwrap(),
            ),
        };
        ThreatFields {
            title: format!("threat {}", n % 5),
            description: None,
            stride: Stride::Tampering,
            asset_ids: asset.map(|a| vec![self.assets[a]]).unwrap_or_default(),
            actor_ids: Vec::new(),
            interaction_ids: Vec::new(),
            attack_tree_node_ids: Vec::new(),
            assessment,
        }
    }

    fn control_fields(
        &self,
        threats: &[usize],
        defenses: &[usize],
        status: usize,
        effectiveness: i64,
    ) -> serde_json::Value {
        let mut threat_ids: Vec<ThreatId> = if self.threats.is_empty() {
            Vec::new()
        } else {
            threats
                .iter()
                .map(|i| self.threats[i % self.threats.len()])
                .collect()
        };
        threat_ids.sort();
        threat_ids.dedup();
        let mut defense_node_ids: Vec<NodeId> = defenses
            .iter()
            .map(|i| self.defenses[i % self.defenses.len()])
            .collect();
        defense_node_ids.sort();
        defense_node_ids.dedup();
        json!({"name": "control", "type": "preventive", "category": "technical",
               "status": STATUSES[status], "effectiveness": effectiveness,
               "threat_ids": threat_ids, "defense_node_ids": defense_node_ids})
    }

    fn apply(&mut self, store: &Store, op: &Op, n: usize) {
        let mut conn = store.conn().unwrap();
        let (actor, model) = (&self.actor, self.model);
        match op {
            Op::AddThreat {
                vector,
                tree,
                asset,
            } => {
                let f = self.threat_fields(n, *vector, *tree, *asset);
                self.threats
                    .push(Threat::create(&mut conn, actor, model, f).unwrap().id);
            }
            Op::EditThreat { at, vector, tree } if !self.threats.is_empty() => {
                let id = self.threats[at % self.threats.len()];
                let f = self.threat_fields(n, *vector, *tree, None);
                Threat::update(&mut conn, actor, model, id, None, |_| Ok(f)).unwrap();
            }
            Op::DeleteThreat { at } if !self.threats.is_empty() => {
                let id = self.threats.remove(at % self.threats.len());
                Threat::delete(&mut conn, actor, model, id, None, false).unwrap();
            }
            Op::AddControl {
                threats,
                defenses,
                status,
                effectiveness,
            } => {
                let f = serde_json::from_value(self.control_fields(
                    threats,
                    defenses,
                    *status,
                    *effectiveness,
                ))
                .unwrap();
                self.controls
                    .push(Control::create(&mut conn, actor, model, f).unwrap().id);
            }
            Op::EditControl {
                at,
                threats,
                defenses,
                status,
                effectiveness,
            } if !self.controls.is_empty() => {
                let id = self.controls[at % self.controls.len()];
                let f = serde_json::from_value(self.control_fields(
                    threats,
                    defenses,
                    *status,
                    *effectiveness,
                ))
                .unwrap();
                Control::update(&mut conn, actor, model, id, None, |_| Ok(f)).unwrap();
            }
            Op::DeleteControl { at } if !self.controls.is_empty() => {
                let i = at % self.controls.len();
                // A control a current reduce treatment relies on stays (409).
                match Control::delete(&mut conn, actor, model, self.controls[i], None, false) {
                    Ok(()) => {
                        self.controls.remove(i);
                    }
                    Err(StoreError::Conflict(_)) => {}
                    Err(e) => panic!("{e}"),
                }
            }
            Op::Treat {
                at,
                control,
                strategy,
                steps,
            } if !self.threats.is_empty() => {
                let threat = self.threats[at % self.threats.len()];
                let mut body = match strategy {
                    0 if !self.controls.is_empty() => json!({"strategy": "reduce",
                        "control_ids": [self.controls[control % self.controls.len()]]}),
                    2 => json!({"strategy": "accept", "justification": "j", "approver": "a",
                        "expires_on": "2099-12-31"}),
                    _ => json!({"strategy": "avoid", "removed": "the feature"}),
                };
                body["threat_id"] = json!(threat);
                body["owner"] = json!("owner");
                let input: TreatmentInput = serde_json::from_value(body).unwrap();
                let fields = TreatmentFields::from_input(input, None).unwrap();
                let t = Treatment::create(&mut conn, actor, model, fields).unwrap();
                let forward = [
                    TreatmentStatus::Approved,
                    TreatmentStatus::InProgress,
                    TreatmentStatus::Done,
                    TreatmentStatus::Verified,
                ];
                for to in forward.iter().take(*steps) {
                    treatments::move_to(&mut conn, actor, model, t.id, None, *to, None).unwrap();
                }
            }
            Op::EditLeaf { tree, leaf, tenths } => {
                let p = f64::from(*tenths) / 10.0;
                attack_trees::update_node(
                    &mut conn,
                    actor,
                    model,
                    self.trees[*tree],
                    self.leaves[*tree][*leaf],
                    None,
                    |f| {
                        let mut f = f.clone();
                        f.attributes.probability = Some(p);
                        Ok(f)
                    },
                )
                .unwrap();
            }
            Op::EditAsset { at } => {
                let id = self.assets[at % self.assets.len()];
                Asset::update(&mut conn, actor, model, id, None, |a| {
                    let mut f = a.fields.clone();
                    f.description = Some(format!("edit {n}"));
                    Ok(f)
                })
                .unwrap();
            }
            Op::Recompute => self.recompute_and_compare(store),
            _ => {}
        }
    }

    /// Runs the job as the worker does, then compares every stored row with
    /// a full recomputation from the records.
    fn recompute_and_compare(&mut self, store: &Store) {
        let mut conn = store.conn().unwrap();
        let scope = models::ensure_visible(&mut conn, self.actor.org_id, self.model).unwrap();
        let result = risks::recompute(&mut conn, scope).unwrap();
        if result["full"] == false {
            self.incremental_rows += result["threats"].as_u64().unwrap();
        }
        let stored = risks::read(&mut conn, self.actor.org_id, self.model).unwrap();
        assert!(
            !stored.stale,
            "nothing changed since the job read the model"
        );
        let full = risks::compute_full(&mut conn, scope).unwrap();
        let strip = |rows: &[RiskRow]| -> Vec<RiskRow> {
            rows.iter()
                .cloned()
                .map(|r| RiskRow {
                    computed_at: None,
                    ..r
                })
                .collect()
        };
        assert_eq!(strip(&stored.rows), strip(&full.rows));
    }
}

fn equal_to_a_full_recomputation(store: Store) {
    let actor = {
        let mut conn = store.conn().unwrap();
        let org = orgs::get_or_create(&mut conn, "acme").unwrap();
        Actor {
            org_id: org.id,
            key_id: None,
            request_id: None,
            role: palisade_domain::role::Role::Owner,
        }
    };
    // A fixed seed: the same sequences on every run and both backends.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 64,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let case = std::cell::Cell::new(0);
    let incremental_rows = std::cell::Cell::new(0);
    runner
        .run(&proptest::collection::vec(op(), 1..40), |ops| {
            case.set(case.get() + 1);
            let mut world = World::new(&store, &actor, &format!("case {}", case.get()));
            // The first computation is always whole; every later one is incremental.
            world.recompute_and_compare(&store);
            for (n, op) in ops.iter().enumerate() {
                world.apply(&store, op, n);
            }
            world.recompute_and_compare(&store);
            incremental_rows.set(incremental_rows.get() + world.incremental_rows);
            Ok(())
        })
        .unwrap();
    assert!(
        incremental_rows.get() > 0,
        "the edit sequences exercised incremental runs"
    );
}

#[test]
fn incremental_recomputation_equals_a_full_one_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    equal_to_a_full_recomputation(db.store());
}

#[test]
fn incremental_recomputation_equals_a_full_one_sqlite() {
    let db = TestDatabase::new(Backend::Sqlite);
    equal_to_a_full_recomputation(db.store());
}

/// A whole register past the fallback size is stored (and, on PostgreSQL,
/// its statistics refreshed) like any other.
fn a_large_full_recomputation_is_stored(store: Store) {
    let mut conn = store.conn().unwrap();
    let org = orgs::get_or_create(&mut conn, "acme").unwrap();
    let actor = Actor {
        org_id: org.id,
        key_id: None,
        request_id: None,
        role: palisade_domain::role::Role::Owner,
    };
    let world = World::new(&store, &actor, "large");
    for n in 0..1_001 {
        Threat::create(
            &mut conn,
            &actor,
            world.model,
            world.threat_fields(n, n % 4, None, None),
        )
        .unwrap();
    }
    let scope = models::ensure_visible(&mut conn, actor.org_id, world.model).unwrap();
    let result = risks::recompute(&mut conn, scope).unwrap();
    assert_eq!(result["full"], true);
    assert_eq!(result["threats"], 1_001);
    let stored = risks::read(&mut conn, actor.org_id, world.model).unwrap();
    assert!(!stored.stale);
    assert_eq!(stored.rows.len(), 1_001);
}

#[test]
fn a_large_full_recomputation_is_stored_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    a_large_full_recomputation_is_stored(db.store());
}

#[test]
fn a_large_full_recomputation_is_stored_sqlite() {
    let db = TestDatabase::new(Backend::Sqlite);
    a_large_full_recomputation_is_stored(db.store());
}

/// The reach a random sequence seldom builds: a control that covers no
/// threat itself, named by a reduce treatment, then implemented — the
/// treated threat's row must move.
fn a_control_edit_reaches_the_threats_reduced_with_it(store: Store) {
    let actor = {
        let mut conn = store.conn().unwrap();
        let org = orgs::get_or_create(&mut conn, "acme").unwrap();
        Actor::system(org.id)
    };
    let mut world = World::new(&store, &actor, "reduce");
    world.recompute_and_compare(&store);
    let script = [
        Op::AddThreat {
            vector: 0,
            tree: None,
            asset: None,
        },
        Op::AddControl {
            threats: vec![],
            defenses: vec![],
            status: 0,
            effectiveness: 50,
        },
        Op::Recompute,
        Op::Treat {
            at: 0,
            control: 0,
            strategy: 0,
            steps: 3,
        },
        Op::Recompute,
        Op::EditControl {
            at: 0,
            threats: vec![],
            defenses: vec![],
            status: 2,
            effectiveness: 50,
        },
        Op::Recompute,
    ];
    for (n, op) in script.iter().enumerate() {
        world.apply(&store, op, n);
    }
    let mut conn = store.conn().unwrap();
    let rows = risks::read(&mut conn, actor.org_id, world.model)
        .unwrap()
        .rows;
    assert_eq!(
        (rows[0].residual_score, rows[0].projected_score),
        (4.9, 4.9)
    );
}

#[test]
fn a_control_edit_reaches_the_threats_reduced_with_it_postgres() {
    let db = TestDatabase::new(Backend::Postgres);
    a_control_edit_reaches_the_threats_reduced_with_it(db.store());
}

#[test]
fn a_control_edit_reaches_the_threats_reduced_with_it_sqlite() {
    let db = TestDatabase::new(Backend::Sqlite);
    a_control_edit_reaches_the_threats_reduced_with_it(db.store());
}
