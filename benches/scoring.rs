//! Criterion benchmarks of the scoring engines (`docs/benchmarks.md`).
//! Run: `cargo bench --bench scoring` (add `-- attack_tree` to filter).

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use palisade_domain::scoring::attack_tree::{self, Attributes, FlatNode, Link, NodeKind, Tree};
use palisade_domain::scoring::fair::{self, FairInput, Frequency, Interval};
use palisade_domain::scoring::owasp::OwaspInput;
use palisade_domain::scoring::{cvss31, cvss40, owasp};

const CVSS31: [&str; 4] = [
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
    "CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N",
    "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:P/RL:O/RC:C",
    "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N/CR:H/IR:L/AR:M/MAV:N/MS:C/MC:H",
];
const CVSS40: [&str; 3] = [
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
    "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L",
    "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:P/CR:H/MAV:L",
];

fn cvss(c: &mut Criterion) {
    c.bench_function("cvss31 parse+score (4 vectors)", |b| {
        b.iter(|| {
            for v in CVSS31 {
                black_box(cvss31::Vector::parse(black_box(v)).map(|p| p.scores()).ok());
            }
        })
    });
    c.bench_function("cvss31 full result with explanation (1 vector)", |b| {
        b.iter(|| black_box(cvss31::score(black_box(CVSS31[0])).ok()))
    });
    c.bench_function("cvss40 parse+score (3 vectors)", |b| {
        b.iter(|| {
            for v in CVSS40 {
                black_box(cvss40::score(black_box(v)).ok());
            }
        })
    });
}

fn owasp_bench(c: &mut Criterion) {
    let input: OwaspInput = serde_json::from_value(serde_json::json!({
        "likelihood": {"skill_level": 5, "motive": 2, "opportunity": 7, "size": 1, "ease_of_discovery": 3, "ease_of_exploit": 6, "awareness": 9, "intrusion_detection": 2},
        "technical_impact": {"loss_of_confidentiality": 9, "loss_of_integrity": 7, "loss_of_availability": 5, "loss_of_accountability": 8},
        "business_impact": {"financial_damage": 1, "reputation_damage": 2, "non_compliance": 1, "privacy_violation": 5}
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("owasp score", |b| {
        b.iter(|| black_box(owasp::score(black_box(&input)).ok()))
    });
}

fn fair_bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fair");
    group.sample_size(10);
    for (name, rate) in [("rate 0.1", 0.1), ("rate 2", 2.0)] {
        let input = FairInput {
            frequency: Frequency::Rate(rate),
            magnitude: Interval {
                low: 10_000.0,
                high: 1_000_000.0,
            },
            secondary: None,
            iterations: Some(1_000_000),
            seed: Some(1),
        };
        group.bench_function(format!("monte carlo 10^6 years, {name}"), |b| {
            b.iter(|| black_box(fair::simulate(black_box(&input)).ok()))
        });
    }
    group.finish();
}

/// A tree of `n` nodes: gates with 4 children cycling or/and/sand, leaves
/// with varied attributes; `shared` step names spread over pairs of leaves.
fn tree(n: usize, shared: usize) -> Tree {
    let gates = (n + 2) / 4;
    let mut nodes = Vec::with_capacity(n);
    for i in 0..n {
        let parent = if i == 0 { None } else { Some((i - 1) / 4) };
        let (kind, attributes) = if i < gates {
            (
                [NodeKind::Or, NodeKind::And, NodeKind::Sand][i % 3],
                Attributes::default(),
            )
        } else {
            let x = (i % 97) as f64;
            (
                NodeKind::Leaf,
                Attributes {
                    cost: Some(10.0 + x),
                    probability: Some(0.05 + x / 200.0),
                    time: Some(1.0 + x / 10.0),
                    skill: Some(x / 10.0),
                    possible: None,
                },
            )
        };
        nodes.push(FlatNode {
            kind,
            label: format!("n{i}"),
            attributes,
            step: None,
            parent,
            link: Link::Child,
        });
    }
    // Two leaves per shared step, far apart in the tree.
    let leaves: Vec<usize> = (gates..n).collect();
    for s in 0..shared {
        let a = leaves[s * 7 % leaves.len()];
        let b = leaves[(leaves.len() - 1 - s * 11 % leaves.len()) % leaves.len()];
        let attrs = Attributes {
            cost: Some(50.0),
            probability: Some(0.3),
            time: Some(2.0),
            skill: Some(3.0),
            possible: None,
        };
        for leaf in [a, b] {
            nodes[leaf].step = Some(format!("step{s}"));
            nodes[leaf].attributes = attrs.clone();
        }
    }
    Tree::build(nodes, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn attack_trees(c: &mut Criterion) {
    let mut group = c.benchmark_group("attack_tree");
    group.sample_size(10);
    let none = HashMap::new();
    for n in [1_000usize, 100_000, 1_000_000] {
        group.bench_function(format!("evaluate {n} nodes"), |b| {
            b.iter_batched(
                || tree(n, 0),
                |t| black_box(attack_tree::evaluate(&t, &none)),
                BatchSize::LargeInput,
            )
        });
    }
    for (n, shared) in [(1_000usize, 10usize), (1_000, 20), (100_000, 10)] {
        let t = tree(n, shared);
        let exact = attack_tree::evaluate(&t, &none).exact;
        group.bench_function(
            format!("evaluate {n} nodes, {shared} shared steps (exact: {exact})"),
            |b| b.iter(|| black_box(attack_tree::evaluate(black_box(&t), &none))),
        );
    }
    group.bench_function("validate 100000 nodes", |b| {
        b.iter(|| black_box(tree(100_000, 0)))
    });
    group.finish();
}

/// The risk register of `n` threats (CVSS, DREAD and NIST in turn) with
/// 1 000 controls, each covering ten threats.
fn register_bench(c: &mut Criterion) {
    use palisade_domain::ids::{ControlId, ModelId, ThreatId};
    use palisade_domain::scoring::residual::ControlStatus;
    use palisade_domain::threat::{
        Control, ControlCategory, ControlFields, ControlType, Stride, Threat, ThreatAssessment,
        ThreatFields,
    };
    let mut group = c.benchmark_group("register");
    group.sample_size(10);
    let now = chrono::Utc::now();
    let assessments = [
        serde_json::json!({"method": "cvss31", "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}),
        serde_json::json!({"method": "dread", "damage": 7, "reproducibility": 5, "exploitability": 5, "affected_users": 3, "discoverability": 9}),
        serde_json::json!({"method": "nist", "likelihood": "high", "impact": "moderate"}),
    ];
    for n in [1_000usize, 10_000, 100_000] {
        let threats: Vec<Threat> = (0..n)
            .map(|i| Threat {
                id: ThreatId::generate(),
                model_id: ModelId::generate(),
                fields: ThreatFields {
                    title: format!("threat {i}"),
                    description: None,
                    stride: Stride::Tampering,
                    asset_ids: vec![],
                    actor_ids: vec![],
                    interaction_ids: vec![],
                    attack_tree_node_ids: vec![],
                    assessment: ThreatAssessment::Stateless(
                        serde_json::from_value(assessments[i % 3].clone())
                            .unwrap_or_else(|e| panic!("{e}")),
                    ),
                },
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        let controls: Vec<Control> = (0..1_000)
            .map(|i| Control {
                id: ControlId::generate(),
                model_id: ModelId::generate(),
                fields: ControlFields {
                    name: format!("control {i}"),
                    description: None,
                    control_type: ControlType::Preventive,
                    category: ControlCategory::Technical,
                    status: [
                        ControlStatus::Implemented,
                        ControlStatus::Partial,
                        ControlStatus::Planned,
                    ][i % 3],
                    effectiveness: (i % 100) as i64,
                    threat_ids: (0..10).map(|k| threats[(i * 10 + k) % n].id).collect(),
                    asset_ids: vec![],
                    defense_node_ids: vec![],
                },
                version: 1,
                created_at: now,
                updated_at: now,
            })
            .collect();
        group.bench_function(format!("{n} threats, 1000 controls"), |b| {
            b.iter(|| {
                black_box(palisade_domain::risk::register(
                    &threats,
                    &controls,
                    &HashMap::new(),
                    &[],
                    chrono::NaiveDate::MIN,
                ))
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    cvss,
    owasp_bench,
    fair_bench,
    attack_trees,
    register_bench
);
criterion_main!(benches);
