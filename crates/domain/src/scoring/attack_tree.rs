//! Attack–defense trees: validation and evaluation.
//!
//! A tree is an arena of nodes (`or`, `and`, `sand` gates, `leaf` attack
//! steps and `defense` nodes attached as countermeasures) evaluated
//! bottom-up in every attribute domain of `scoring.md`: cost, probability,
//! time, skill and possibility. Everything is iterative, so depth is bounded
//! by memory, not by the stack.
//!
//! Leaves that name the same `step` are one action used in several places.
//! Bottom-up evaluation would pay for it twice and treat its occurrences as
//! independent events, so the cost and probability domains are then
//! evaluated exactly, by enumerating the shared steps (bought or not,
//! happening or not) over the part of the tree they influence. Beyond
//! `MAX_SHARED_STEPS` or `WORK_LIMIT` the bottom-up values are returned
//! with `exact: false`. Time is always bottom-up: a shared step inside a
//! sequence is counted where it appears. Skill and possibility are
//! idempotent (min/max, any/all), so bottom-up is already exact for them.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::nist::{self, NistLevel};
use super::{fmt_num, Method, Score, ScoreResult, ScoringError};

/// The most distinct shared steps enumerated exactly.
pub const MAX_SHARED_STEPS: usize = 20;
/// The most node evaluations (2^shared × influenced nodes) spent on exactness.
pub const WORK_LIMIT: usize = 1 << 25;

string_enum!(NodeKind {
    Or => "or",
    And => "and",
    Sand => "sand",
    Leaf => "leaf",
    Defense => "defense",
});

impl NodeKind {
    pub fn is_gate(self) -> bool {
        matches!(self, NodeKind::Or | NodeKind::And | NodeKind::Sand)
    }

    pub fn is_attack(self) -> bool {
        self != NodeKind::Defense
    }
}

/// A leaf's attributes (a defense uses `probability`: how likely it works).
/// Left out: cost 0, probability 1, time 0, skill 0, possible.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0))]
    pub cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0))]
    pub time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0))]
    pub skill: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible: Option<bool>,
}

/// The nested form clients write (`PUT …/attack-trees/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NestedNode {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub kind: NodeKind,
    pub label: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub children: Vec<NestedNode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub countermeasure: Option<Box<NestedNode>>,
    /// Leaves with the same step are one shared action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
}

/// How a node hangs from its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Child,
    Countermeasure,
}

/// One node of the flat form (as stored: one row per node).
#[derive(Debug, Clone, PartialEq)]
pub struct FlatNode {
    pub kind: NodeKind,
    pub label: String,
    pub attributes: Attributes,
    pub step: Option<String>,
    pub parent: Option<usize>,
    pub link: Link,
}

fn flat(n: &NestedNode, parent: Option<usize>, link: Link) -> FlatNode {
    FlatNode {
        kind: n.kind,
        label: n.label.clone(),
        attributes: n.attributes.clone(),
        step: n.step.clone(),
        parent,
        link,
    }
}

/// Flattens a nested tree breadth-first, keeping sibling order; returns each
/// node's JSON pointer alongside, for error messages.
pub fn flatten(root: &NestedNode) -> (Vec<FlatNode>, Vec<String>) {
    let mut nodes = vec![flat(root, None, Link::Child)];
    let mut pointers = vec!["/root".to_string()];
    let mut queue = VecDeque::from([(root, 0usize)]);
    while let Some((node, index)) = queue.pop_front() {
        let base = pointers[index].clone();
        for (i, child) in node.children.iter().enumerate() {
            nodes.push(flat(child, Some(index), Link::Child));
            pointers.push(format!("{base}/children/{i}"));
            queue.push_back((child, nodes.len() - 1));
        }
        if let Some(cm) = &node.countermeasure {
            nodes.push(flat(cm, Some(index), Link::Countermeasure));
            pointers.push(format!("{base}/countermeasure"));
            queue.push_back((cm, nodes.len() - 1));
        }
    }
    (nodes, pointers)
}

#[derive(Debug, Clone, PartialEq)]
struct TreeNode {
    kind: NodeKind,
    attributes: Attributes,
    step: Option<String>,
    children: Vec<usize>,
    countermeasure: Option<usize>,
}

/// A validated tree: one attack root, gates with children, defenses only as
/// countermeasures of attacks (and attacks only as countermeasures of
/// defenses), at most one countermeasure per node, no cycles, sane numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    nodes: Vec<TreeNode>,
    root: usize,
    /// Every node's index after all of its descendants.
    post_order: Vec<usize>,
}

fn check_number(e: &mut ScoringError, field: String, value: Option<f64>, range: (f64, f64)) {
    if let Some(v) = value {
        if !(v.is_finite() && v >= range.0 && v <= range.1) {
            let upper = if range.1.is_finite() {
                format!(" and at most {}", range.1)
            } else {
                String::new()
            };
            e.add(
                field,
                format!("must be at least {}{upper} (got {v})", range.0),
            );
        }
    }
}

impl Tree {
    /// Validates `nodes` (with their pointers, for errors) into a complete tree.
    pub fn build(nodes: Vec<FlatNode>, pointers: &[String]) -> Result<Tree, ScoringError> {
        Tree::check(nodes, pointers, true)
    }

    /// Validates everything but gates without children: a tree edited node
    /// by node passes through such states (a gate added before its children).
    pub fn build_incomplete(
        nodes: Vec<FlatNode>,
        pointers: &[String],
    ) -> Result<Tree, ScoringError> {
        Tree::check(nodes, pointers, false)
    }

    fn check(
        nodes: Vec<FlatNode>,
        pointers: &[String],
        complete: bool,
    ) -> Result<Tree, ScoringError> {
        let mut e = ScoringError::new();
        let at = |i: usize| {
            pointers
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("/nodes/{i}"))
        };
        let n = nodes.len();
        let roots: Vec<usize> = (0..n).filter(|i| nodes[*i].parent.is_none()).collect();
        if roots.len() != 1 {
            e.add(
                "root",
                format!("a tree has exactly one root (found {})", roots.len()),
            );
            return Err(e);
        }
        let root = roots[0];
        let mut tree_nodes: Vec<TreeNode> = nodes
            .iter()
            .map(|f| TreeNode {
                kind: f.kind,
                attributes: f.attributes.clone(),
                step: f.step.clone(),
                children: Vec::new(),
                countermeasure: None,
            })
            .collect();
        for (i, f) in nodes.iter().enumerate() {
            let Some(parent) = f.parent else { continue };
            if parent >= n {
                e.add(at(i), "its parent is not in this tree");
                continue;
            }
            match f.link {
                Link::Child => tree_nodes[parent].children.push(i),
                Link::Countermeasure => {
                    if tree_nodes[parent].countermeasure.is_some() {
                        e.add(at(i), "a node carries at most one countermeasure");
                    } else {
                        tree_nodes[parent].countermeasure = Some(i);
                    }
                }
            }
        }
        e.clone().finish()?;

        // Reachability from the root, iteratively: what is not reached hangs in a cycle.
        let mut order = Vec::with_capacity(n);
        let mut seen = vec![false; n];
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            order.push(i);
            stack.extend(tree_nodes[i].children.iter().rev().copied());
            stack.extend(tree_nodes[i].countermeasure);
        }
        if let Some(cut) = (0..n).find(|i| !seen[*i]) {
            e.add(
                at(cut),
                "is not connected to the root (its parents form a cycle)",
            );
            return Err(e);
        }
        order.reverse();

        if !nodes[root].kind.is_attack() {
            e.add(at(root), "the root is an attack goal, not a defense");
        }
        let mut step_attributes: HashMap<&str, (usize, &Attributes)> = HashMap::new();
        for (i, f) in nodes.iter().enumerate() {
            let node = &tree_nodes[i];
            let p = at(i);
            let label_len = f.label.chars().count();
            if f.label.trim().is_empty() || label_len > crate::validation::NAME_MAX {
                e.add(format!("{p}/label"), "must be 1 to 200 characters");
            }
            match f.kind {
                k if complete && k.is_gate() && node.children.is_empty() => {
                    e.add(
                        format!("{p}/children"),
                        format!("an {k} gate needs at least one child"),
                    );
                }
                NodeKind::Leaf if !node.children.is_empty() => {
                    e.add(
                        format!("{p}/children"),
                        "a leaf has no children; make it a gate",
                    );
                }
                NodeKind::Defense if !node.children.is_empty() => {
                    e.add(
                        format!("{p}/children"),
                        "a defense has no children; attach attacks on it as its countermeasure",
                    );
                }
                _ => {}
            }
            if f.kind == NodeKind::Defense && f.parent.is_some() && f.link == Link::Child {
                e.add(p.clone(), "a defense counters the node it guards: attach it as that node's countermeasure");
            }
            if let (Some(parent), Link::Countermeasure) = (f.parent, f.link) {
                let parent_kind = nodes[parent].kind;
                if parent_kind.is_attack() && f.kind.is_attack() {
                    e.add(p.clone(), "the countermeasure of an attack is a defense");
                }
                if !parent_kind.is_attack() && !f.kind.is_attack() {
                    e.add(
                        p.clone(),
                        "the countermeasure of a defense is an attack on it",
                    );
                }
            }
            if f.step.is_some() && f.kind != NodeKind::Leaf {
                e.add(format!("{p}/step"), "only leaves are shared steps");
            }
            let a = &f.attributes;
            check_number(
                &mut e,
                format!("{p}/attributes/cost"),
                a.cost,
                (0.0, f64::INFINITY),
            );
            check_number(
                &mut e,
                format!("{p}/attributes/probability"),
                a.probability,
                (0.0, 1.0),
            );
            check_number(
                &mut e,
                format!("{p}/attributes/time"),
                a.time,
                (0.0, f64::INFINITY),
            );
            check_number(
                &mut e,
                format!("{p}/attributes/skill"),
                a.skill,
                (0.0, f64::INFINITY),
            );
            if let (Some(step), NodeKind::Leaf) = (&f.step, f.kind) {
                match step_attributes.get(step.as_str()) {
                    Some((first, attrs)) if *attrs != a => e.add(
                        format!("{p}/attributes"),
                        format!(
                            "step {step:?} is shared with {}: its attributes must be the same",
                            at(*first)
                        ),
                    ),
                    Some(_) => {}
                    None => {
                        step_attributes.insert(step, (i, a));
                    }
                }
            }
        }
        e.finish()?;
        Ok(Tree {
            nodes: tree_nodes,
            root,
            post_order: order,
        })
    }

    pub fn from_nested(root: &NestedNode) -> Result<Tree, ScoringError> {
        let (nodes, pointers) = flatten(root);
        Tree::build(nodes, &pointers)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn root(&self) -> usize {
        self.root
    }

    /// The deepest level, the root being 1.
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.nodes.len()];
        let mut deepest = 0;
        // Reverse post-order visits parents before children.
        for &i in self.post_order.iter().rev() {
            if i == self.root {
                depth[i] = 1;
            }
            for &c in self.nodes[i]
                .children
                .iter()
                .chain(self.nodes[i].countermeasure.iter())
            {
                depth[c] = depth[i] + 1;
            }
            deepest = deepest.max(depth[i]);
        }
        deepest
    }

    /// Gates without children (only an incomplete tree has them).
    pub fn empty_gates(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|i| self.nodes[*i].kind.is_gate() && self.nodes[*i].children.is_empty())
            .collect()
    }

    pub fn kind(&self, i: usize) -> NodeKind {
        self.nodes[i].kind
    }

    pub fn children(&self, i: usize) -> &[usize] {
        &self.nodes[i].children
    }

    pub fn countermeasure(&self, i: usize) -> Option<usize> {
        self.nodes[i].countermeasure
    }

    /// True when `ancestor` is `node` or above it.
    pub fn is_ancestor(&self, ancestor: usize, node: usize) -> bool {
        let mut stack = vec![ancestor];
        while let Some(i) = stack.pop() {
            if i == node {
                return true;
            }
            stack.extend(
                self.nodes[i]
                    .children
                    .iter()
                    .chain(self.nodes[i].countermeasure.iter()),
            );
        }
        false
    }
}

/// One node's values. `None` is infinity (no finite cost, time or skill).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeValues {
    pub cost: Option<f64>,
    pub probability: f64,
    pub time: Option<f64>,
    pub skill: Option<f64>,
    pub possible: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct V {
    cost: f64,
    p: f64,
    time: f64,
    skill: f64,
    possible: bool,
}

const INF: f64 = f64::INFINITY;
const IMPOSSIBLE: V = V {
    cost: INF,
    p: 0.0,
    time: INF,
    skill: INF,
    possible: false,
};

impl V {
    fn public(self) -> NodeValues {
        let finite = |x: f64| x.is_finite().then_some(x);
        NodeValues {
            cost: finite(self.cost),
            probability: self.p,
            time: finite(self.time),
            skill: finite(self.skill),
            possible: self.possible && self.cost.is_finite(),
        }
    }
}

fn leaf_value(a: &Attributes) -> V {
    if a.possible == Some(false) {
        return IMPOSSIBLE;
    }
    V {
        cost: a.cost.unwrap_or(0.0),
        p: a.probability.unwrap_or(1.0),
        time: a.time.unwrap_or(0.0),
        skill: a.skill.unwrap_or(0.0),
        possible: true,
    }
}

/// What the evaluation is told besides the tree: the effectiveness (0–1) of
/// implemented controls realising a defense node without its own probability.
pub type DefenseEffectiveness = HashMap<usize, f64>;

/// A shared leaf's value fixed by the enumeration.
#[derive(Clone, Copy)]
enum Fixed {
    /// Probability domain: the step happened (1) or not (0).
    Happened(bool),
    /// Cost domain: the step was bought (paid once, elsewhere) or not.
    Bought(bool),
}

struct Evaluator<'a> {
    tree: &'a Tree,
    defense_p: Vec<f64>,
    values: Vec<V>,
    /// For defenses: active (probability > 0).
    active: Vec<bool>,
}

impl<'a> Evaluator<'a> {
    fn new(tree: &'a Tree, effectiveness: &DefenseEffectiveness) -> Self {
        let defense_p = tree
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| match n.kind {
                NodeKind::Defense => n
                    .attributes
                    .probability
                    .or_else(|| effectiveness.get(&i).copied())
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0),
                _ => 0.0,
            })
            .collect::<Vec<_>>();
        let active = defense_p.iter().map(|p| *p > 0.0).collect();
        Evaluator {
            tree,
            defense_p,
            values: vec![IMPOSSIBLE; tree.len()],
            active,
        }
    }

    /// Computes node `i` from its children's current values.
    fn compute(&mut self, i: usize, fixed: &dyn Fn(usize) -> Option<Fixed>) {
        let node = &self.tree.nodes[i];
        let kids = || node.children.iter().map(|c| self.values[*c]);
        let raw = match node.kind {
            NodeKind::Leaf => {
                let v = leaf_value(&node.attributes);
                match fixed(i) {
                    Some(Fixed::Happened(h)) => V {
                        p: if h { 1.0 } else { 0.0 },
                        ..v
                    },
                    Some(Fixed::Bought(true)) => V { cost: 0.0, ..v },
                    Some(Fixed::Bought(false)) => V {
                        cost: INF,
                        possible: false,
                        ..v
                    },
                    None => v,
                }
            }
            NodeKind::Or => kids().fold(IMPOSSIBLE, |acc, k| V {
                cost: acc.cost.min(k.cost),
                p: 1.0 - (1.0 - acc.p) * (1.0 - k.p),
                time: acc.time.min(k.time),
                skill: acc.skill.min(k.skill),
                possible: acc.possible || k.possible,
            }),
            NodeKind::And | NodeKind::Sand => {
                let sequential = node.kind == NodeKind::Sand;
                kids().fold(
                    V {
                        cost: 0.0,
                        p: 1.0,
                        time: 0.0,
                        skill: 0.0,
                        possible: true,
                    },
                    |acc, k| V {
                        cost: acc.cost + k.cost,
                        p: acc.p * k.p,
                        time: if sequential {
                            acc.time + k.time
                        } else {
                            acc.time.max(k.time)
                        },
                        skill: acc.skill.max(k.skill),
                        possible: acc.possible && k.possible,
                    },
                )
            }
            NodeKind::Defense => {
                // A defense's value: how likely it works, and what defeating it takes.
                let own = self.defense_p[i];
                self.values[i] = match node.countermeasure.map(|c| self.values[c]) {
                    Some(counter) => V {
                        p: own * (1.0 - counter.p),
                        ..counter
                    },
                    None => V {
                        p: own,
                        ..IMPOSSIBLE
                    },
                };
                return;
            }
        };
        let guarded = match node.countermeasure {
            Some(d) if self.active[d] => {
                let dv = self.values[d];
                V {
                    cost: raw.cost + dv.cost,
                    p: raw.p * (1.0 - dv.p),
                    time: raw.time.max(dv.time),
                    skill: raw.skill.max(dv.skill),
                    possible: raw.possible && dv.possible,
                }
            }
            _ => raw,
        };
        self.values[i] = guarded;
    }

    fn run(&mut self, order: &[usize], fixed: &dyn Fn(usize) -> Option<Fixed>) {
        for &i in order {
            self.compute(i, fixed);
        }
    }
}

/// The result of evaluating a tree; node vectors are indexed like the tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub root: NodeValues,
    pub nodes: Vec<NodeValues>,
    /// The cheapest attack: the nodes it uses, root first (empty when impossible).
    pub cheapest_path: Vec<usize>,
    /// The most likely attack, root first.
    pub most_likely_path: Vec<usize>,
    /// False when shared steps were too many to enumerate and bottom-up values were used.
    pub exact: bool,
    pub shared_steps: usize,
    pub explanation: Vec<String>,
}

pub fn evaluate(tree: &Tree, effectiveness: &DefenseEffectiveness) -> Evaluation {
    let mut ev = Evaluator::new(tree, effectiveness);
    ev.run(&tree.post_order, &|_| None);
    let bottom_up = ev.values.clone();

    // Shared steps: those named by two or more leaves.
    let mut step_leaves: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in tree.nodes.iter().enumerate() {
        if let (NodeKind::Leaf, Some(step)) = (n.kind, &n.step) {
            step_leaves.entry(step.as_str()).or_default().push(i);
        }
    }
    let mut shared: Vec<(&str, Vec<usize>)> = step_leaves
        .into_iter()
        .filter(|(_, l)| l.len() > 1)
        .collect();
    shared.sort_by(|a, b| a.0.cmp(b.0));
    let k = shared.len();
    let mut explanation = vec![format!("{} nodes evaluated bottom-up", tree.len())];

    let (values, cost_values, exact) = if k == 0 {
        (bottom_up.clone(), bottom_up.clone(), true)
    } else {
        // The nodes whose value depends on a shared step: the shared leaves' ancestors.
        let mut step_of_leaf: HashMap<usize, usize> = HashMap::new();
        for (bit, (_, leaves)) in shared.iter().enumerate() {
            for l in leaves {
                step_of_leaf.insert(*l, bit);
            }
        }
        let mut parent = vec![usize::MAX; tree.len()];
        for (i, n) in tree.nodes.iter().enumerate() {
            for c in n.children.iter().chain(n.countermeasure.iter()) {
                parent[*c] = i;
            }
        }
        let mut mask = vec![0u32; tree.len()];
        for (leaf, bit) in &step_of_leaf {
            let mut at = *leaf;
            loop {
                mask[at] |= 1 << bit;
                if parent[at] == usize::MAX {
                    break;
                }
                at = parent[at];
            }
        }
        let cone: Vec<usize> = tree
            .post_order
            .iter()
            .copied()
            .filter(|i| mask[*i] != 0)
            .collect();
        let work = (1usize << k).saturating_mul(cone.len());
        if k > MAX_SHARED_STEPS || work > WORK_LIMIT {
            explanation.push(format!(
                "{k} shared steps influencing {} nodes are too many to enumerate (limit {MAX_SHARED_STEPS} steps, {WORK_LIMIT} node evaluations): bottom-up values are an approximation that pays a shared step each time it appears and treats its occurrences as independent",
                cone.len()
            ));
            (bottom_up.clone(), bottom_up.clone(), false)
        } else {
            explanation.push(format!(
                "{k} shared step(s) ({}) evaluated exactly over {} assignments of the {} nodes they influence: each step paid once, its occurrences one event",
                shared.iter().map(|(s, _)| *s).collect::<Vec<_>>().join(", "),
                1usize << k,
                cone.len()
            ));
            let step_p: Vec<f64> = shared
                .iter()
                .map(|(_, l)| leaf_value(&tree.nodes[l[0]].attributes).p)
                .collect();
            let step_cost: Vec<f64> = shared
                .iter()
                .map(|(_, l)| leaf_value(&tree.nodes[l[0]].attributes).cost)
                .collect();
            let mut mask_cost = vec![0.0f64; 1 << k];
            for m in 1..(1usize << k) {
                let low = m.trailing_zeros() as usize;
                mask_cost[m] = mask_cost[m & (m - 1)] + step_cost[low];
            }
            let mut prob = vec![0.0f64; tree.len()];
            let mut best_cost = vec![INF; tree.len()];
            let mut best_mask_for_root = 0usize;
            for m in 0..(1usize << k) {
                let weight: f64 = (0..k)
                    .map(|b| {
                        if m >> b & 1 == 1 {
                            step_p[b]
                        } else {
                            1.0 - step_p[b]
                        }
                    })
                    .product();
                if weight > 0.0 {
                    ev.run(&cone, &|i| {
                        step_of_leaf
                            .get(&i)
                            .map(|b| Fixed::Happened(m >> b & 1 == 1))
                    });
                    for &i in &cone {
                        prob[i] += weight * ev.values[i].p;
                    }
                }
                ev.run(&cone, &|i| {
                    step_of_leaf.get(&i).map(|b| Fixed::Bought(m >> b & 1 == 1))
                });
                for &i in &cone {
                    let c = mask_cost[m & mask[i] as usize] + ev.values[i].cost;
                    if c < best_cost[i] {
                        best_cost[i] = c;
                        if i == tree.root {
                            best_mask_for_root = m;
                        }
                    }
                }
            }
            let mut exact_values = bottom_up.clone();
            for &i in &cone {
                exact_values[i].p = prob[i];
                exact_values[i].cost = best_cost[i];
                exact_values[i].possible = exact_values[i].possible && best_cost[i].is_finite();
            }
            // The cheapest path follows the evaluation with the root's best purchase.
            ev.run(&cone, &|i| {
                step_of_leaf
                    .get(&i)
                    .map(|b| Fixed::Bought(best_mask_for_root >> b & 1 == 1))
            });
            let cost_values = ev.values.clone();
            (exact_values, cost_values, true)
        }
    };

    let choose = |i: usize, better: &dyn Fn(&V, &V) -> bool, vals: &[V]| -> Vec<usize> {
        let mut path = Vec::new();
        let mut stack = vec![i];
        while let Some(n) = stack.pop() {
            path.push(n);
            let node = &tree.nodes[n];
            if let Some(d) = node.countermeasure {
                if ev.active[d] {
                    path.push(d);
                    if let Some(counter) = tree.nodes[d].countermeasure {
                        stack.push(counter);
                    }
                }
            }
            match node.kind {
                NodeKind::Or => {
                    if let Some(best) = node.children.iter().copied().reduce(|a, b| {
                        if better(&vals[b], &vals[a]) {
                            b
                        } else {
                            a
                        }
                    }) {
                        stack.push(best);
                    }
                }
                NodeKind::And | NodeKind::Sand => stack.extend(node.children.iter().rev()),
                _ => {}
            }
        }
        path
    };
    let root_values = values[tree.root];
    let cheapest_path = if root_values.cost.is_finite() {
        choose(tree.root, &|a, b| a.cost < b.cost, &cost_values)
    } else {
        Vec::new()
    };
    let most_likely_path = if root_values.p > 0.0 {
        choose(tree.root, &|a, b| a.p > b.p, &values)
    } else {
        Vec::new()
    };
    let root = root_values.public();
    explanation.push(format!(
        "root: cost {}, probability {}, time {}, skill {}, {}",
        root.cost
            .map_or("∞ (no attack succeeds for sure)".into(), fmt_num),
        fmt_num(root.probability),
        root.time.map_or("∞".into(), fmt_num),
        root.skill.map_or("∞".into(), fmt_num),
        if root.possible {
            "possible"
        } else {
            "not possible"
        }
    ));
    Evaluation {
        root,
        nodes: values.iter().map(|v| v.public()).collect(),
        cheapest_path,
        most_likely_path,
        exact,
        shared_steps: k,
        explanation,
    }
}

/// The attack-tree threat method: the root probability mapped to a NIST
/// likelihood level, crossed with the impact by Table I-2.
pub fn likelihood_level(probability: f64) -> NistLevel {
    if probability >= 0.96 {
        NistLevel::VeryHigh
    } else if probability >= 0.80 {
        NistLevel::High
    } else if probability >= 0.21 {
        NistLevel::Moderate
    } else if probability >= 0.05 {
        NistLevel::Low
    } else {
        NistLevel::VeryLow
    }
}

pub fn score(root_probability: f64, impact: NistLevel) -> ScoreResult {
    let likelihood = likelihood_level(root_probability);
    let mut r = nist::from_likelihood(
        likelihood,
        impact,
        vec![format!(
            "root probability {} → likelihood {likelihood}",
            fmt_num(root_probability)
        )],
    );
    r.method = Method::AttackTree;
    if let Some(details) = r.details.as_object_mut() {
        details.insert("root_probability".into(), json!(root_probability));
    }
    r.score = Score::rounded(r.score.value());
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tree(v: serde_json::Value) -> Tree {
        Tree::from_nested(&serde_json::from_value(v).unwrap()).unwrap()
    }

    fn leaf(label: &str, cost: f64, p: f64, time: f64, skill: f64) -> serde_json::Value {
        json!({"kind": "leaf", "label": label, "attributes": {"cost": cost, "probability": p, "time": time, "skill": skill}})
    }

    fn eval(t: &Tree) -> Evaluation {
        evaluate(t, &HashMap::new())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_worked_example_of_the_spec() {
        let t = tree(json!({"kind": "or", "label": "goal", "children": [
            leaf("sqli", 500.0, 0.3, 2.0, 6.0),
            {"kind": "and", "label": "admin", "children": [leaf("phish", 200.0, 0.4, 5.0, 3.0), leaf("mfa", 1000.0, 0.2, 3.0, 7.0)]},
            leaf("tape", 3000.0, 0.05, 10.0, 2.0),
        ]}));
        let e = eval(&t);
        assert_eq!(e.root.cost, Some(500.0));
        assert!(close(e.root.probability, 0.3882), "{}", e.root.probability);
        assert_eq!(
            (e.root.time, e.root.skill, e.root.possible),
            (Some(2.0), Some(2.0), true)
        );
        assert!(e.exact);
        // BFS indices: 0 goal, 1 sqli, 2 admin, 3 tape, 4 phish, 5 mfa.
        assert_eq!(e.cheapest_path, [0, 1]);
        assert_eq!(e.most_likely_path, [0, 1]);

        let t = tree(json!({"kind": "or", "label": "goal", "children": [
            {"kind": "leaf", "label": "sqli", "attributes": {"cost": 500, "probability": 0.3, "time": 2, "skill": 6, "possible": false}},
            {"kind": "and", "label": "admin", "children": [leaf("phish", 200.0, 0.4, 5.0, 3.0), leaf("mfa", 1000.0, 0.2, 3.0, 7.0)]},
            {"kind": "leaf", "label": "tape", "attributes": {"cost": 3000, "probability": 0.05, "time": 10, "skill": 2, "possible": false}},
        ]}));
        let e = eval(&t);
        assert_eq!(
            (e.root.cost, e.root.time, e.root.skill),
            (Some(1200.0), Some(5.0), Some(7.0))
        );
        assert!(close(e.root.probability, 0.08));
        assert_eq!(e.cheapest_path, [0, 2, 4, 5]);
    }

    #[test]
    fn sequential_and_adds_times_parallel_and_takes_the_longest() {
        let children = json!([leaf("a", 1.0, 0.5, 2.0, 1.0), leaf("b", 1.0, 0.5, 3.0, 4.0)]);
        let sand = eval(&tree(
            json!({"kind": "sand", "label": "seq", "children": children}),
        ));
        let and = eval(&tree(
            json!({"kind": "and", "label": "par", "children": children}),
        ));
        assert_eq!((sand.root.time, and.root.time), (Some(5.0), Some(3.0)));
        assert_eq!((sand.root.cost, sand.root.skill), (Some(2.0), Some(4.0)));
        assert!(close(sand.root.probability, 0.25));
    }

    fn guarded(defense: serde_json::Value) -> Evaluation {
        let mut phish = leaf("phish", 200.0, 0.4, 5.0, 3.0);
        phish["countermeasure"] = defense;
        eval(&tree(json!({"kind": "or", "label": "goal", "children": [
            leaf("sqli", 500.0, 0.3, 2.0, 6.0),
            {"kind": "and", "label": "admin", "children": [phish, leaf("mfa", 1000.0, 0.2, 3.0, 7.0)]},
        ]})))
    }

    #[test]
    fn a_countered_defense_costs_its_counter_attack() {
        let e = guarded(
            json!({"kind": "defense", "label": "training", "attributes": {"probability": 0.7},
            "countermeasure": {"kind": "leaf", "label": "spear-phish", "attributes": {"cost": 400, "probability": 0.5}}}),
        );
        // BFS: 0 goal, 1 sqli, 2 admin, 3 phish, 4 mfa, 5 training, 6 spear-phish.
        let phish = e.nodes[3];
        assert_eq!(phish.cost, Some(600.0), "200 + the counter-attack's 400");
        assert!(close(phish.probability, 0.4 * (1.0 - 0.7 * 0.5)));
        assert!(
            close(e.nodes[5].probability, 0.35),
            "the defense works with 0.7 × (1 − 0.5)"
        );
        assert_eq!(e.nodes[2].cost, Some(1600.0));
        assert!(close(e.root.probability, 1.0 - 0.7 * (1.0 - 0.26 * 0.2)));
        assert_eq!(e.root.cost, Some(500.0));
    }

    #[test]
    fn an_uncountered_defense_blocks_the_deterministic_domains() {
        let e = guarded(
            json!({"kind": "defense", "label": "training", "attributes": {"probability": 0.7}}),
        );
        let phish = e.nodes[3];
        assert_eq!(
            (phish.cost, phish.time, phish.possible),
            (None, None, false)
        );
        assert!(close(phish.probability, 0.4 * 0.3));
        assert_eq!(e.root.cost, Some(500.0), "the other branch still works");
    }

    #[test]
    fn an_inactive_defense_is_ignored_and_controls_fill_missing_probabilities() {
        let inactive = guarded(
            json!({"kind": "defense", "label": "training", "attributes": {"probability": 0.0}}),
        );
        assert_eq!(inactive.nodes[3].cost, Some(200.0));
        assert!(close(inactive.nodes[3].probability, 0.4));
        // No probability of its own and no control: inactive too.
        let unset = guarded(json!({"kind": "defense", "label": "training"}));
        assert_eq!(unset.nodes[3].cost, Some(200.0));
        // With an implemented control of effectiveness 0.5 realising it (node 5).
        let mut phish = leaf("phish", 200.0, 0.4, 5.0, 3.0);
        phish["countermeasure"] = json!({"kind": "defense", "label": "training"});
        let t = tree(json!({"kind": "or", "label": "goal", "children": [
            leaf("sqli", 500.0, 0.3, 2.0, 6.0),
            {"kind": "and", "label": "admin", "children": [phish, leaf("mfa", 1000.0, 0.2, 3.0, 7.0)]},
        ]}));
        let e = evaluate(&t, &HashMap::from([(5, 0.5)]));
        assert!(close(e.nodes[3].probability, 0.2));
        assert_eq!(e.nodes[3].cost, None);
    }

    #[test]
    fn shared_steps_are_paid_once_and_are_one_event() {
        // AND(OR(s, x), OR(s, y)): doing s once satisfies both branches.
        let s = json!({"kind": "leaf", "label": "steal laptop", "step": "laptop", "attributes": {"cost": 100, "probability": 0.5, "time": 1, "skill": 1}});
        let t = tree(json!({"kind": "and", "label": "goal", "children": [
            {"kind": "or", "label": "creds", "children": [s, leaf("x", 1000.0, 0.1, 1.0, 1.0)]},
            {"kind": "or", "label": "token", "children": [s, leaf("y", 1000.0, 0.1, 1.0, 1.0)]},
        ]}));
        let e = eval(&t);
        assert!(e.exact);
        assert_eq!(e.shared_steps, 1);
        // Bottom-up would say cost 200 and probability 0.55² = 0.3025.
        assert_eq!(e.root.cost, Some(100.0));
        assert!(
            close(e.root.probability, 0.5 + 0.5 * 0.1 * 0.1),
            "{}",
            e.root.probability
        );
        // The branches themselves are unchanged by sharing.
        assert_eq!(e.nodes[1].cost, Some(100.0));
        assert!(close(e.nodes[1].probability, 0.55));
        // BFS: 0 goal, 1 creds, 2 token, 3 s, 4 x, 5 s, 6 y.
        assert_eq!(e.cheapest_path, [0, 1, 3, 2, 5]);
    }

    #[test]
    fn too_many_shared_steps_fall_back_to_bottom_up_and_say_so() {
        let mut children = Vec::new();
        for i in 0..=MAX_SHARED_STEPS {
            let s = json!({"kind": "leaf", "label": "s", "step": format!("s{i}"), "attributes": {"cost": 1, "probability": 0.5}});
            children.push(json!({"kind": "or", "label": "pair", "children": [s, s]}));
        }
        let e = eval(&tree(
            json!({"kind": "and", "label": "goal", "children": children}),
        ));
        assert!(!e.exact);
        assert!(e.explanation.iter().any(|l| l.contains("approximation")));
    }

    #[test]
    fn impossible_everywhere_means_no_path() {
        let t = tree(json!({"kind": "or", "label": "goal", "children": [
            {"kind": "leaf", "label": "a", "attributes": {"possible": false}},
            {"kind": "leaf", "label": "b", "attributes": {"possible": false}},
        ]}));
        let e = eval(&t);
        assert_eq!(
            (e.root.cost, e.root.possible, e.root.probability),
            (None, false, 0.0)
        );
        assert!(e.cheapest_path.is_empty() && e.most_likely_path.is_empty());
    }

    fn flat(kind: NodeKind, parent: Option<usize>, link: Link, attributes: Attributes) -> FlatNode {
        FlatNode {
            kind,
            label: "n".into(),
            attributes,
            step: None,
            parent,
            link,
        }
    }

    #[test]
    fn a_hundred_thousand_deep_tree_does_not_overflow() {
        let depth = 100_000;
        let mut nodes = vec![flat(NodeKind::Or, None, Link::Child, Attributes::default())];
        for i in 1..depth {
            nodes.push(flat(
                NodeKind::Sand,
                Some(i - 1),
                Link::Child,
                Attributes::default(),
            ));
        }
        let leaf_attrs = Attributes {
            cost: Some(3.0),
            probability: Some(0.5),
            time: Some(2.0),
            skill: Some(1.0),
            possible: None,
        };
        nodes.push(flat(
            NodeKind::Leaf,
            Some(depth - 1),
            Link::Child,
            leaf_attrs,
        ));
        let t = Tree::build(nodes, &[]).unwrap();
        let e = eval(&t);
        assert_eq!((e.root.cost, e.root.time), (Some(3.0), Some(2.0)));
        assert_eq!(e.cheapest_path.len(), depth + 1);
    }

    #[test]
    fn a_wide_tree() {
        let mut nodes = vec![flat(NodeKind::Or, None, Link::Child, Attributes::default())];
        for i in 0..100_000 {
            let a = Attributes {
                cost: Some(1000.0 - (i % 1000) as f64),
                probability: Some(0.0001),
                ..Default::default()
            };
            nodes.push(flat(NodeKind::Leaf, Some(0), Link::Child, a));
        }
        let e = eval(&Tree::build(nodes, &[]).unwrap());
        assert_eq!(e.root.cost, Some(1.0));
        assert!(close(e.root.probability, 1.0 - 0.9999f64.powi(100_000)));
    }

    fn invalid(v: serde_json::Value) -> Vec<String> {
        match Tree::from_nested(&serde_json::from_value(v).unwrap()) {
            Err(e) => e.0.into_iter().map(|f| f.field).collect(),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn validation_names_the_json_pointer() {
        assert_eq!(
            invalid(json!({"kind": "or", "label": "g"})),
            ["/root/children"]
        );
        assert_eq!(
            invalid(
                json!({"kind": "or", "label": "g", "children": [{"kind": "and", "label": "x"}]})
            ),
            ["/root/children/0/children"]
        );
        assert_eq!(
            invalid(
                json!({"kind": "leaf", "label": "g", "children": [{"kind": "leaf", "label": "x"}]})
            ),
            ["/root/children"]
        );
        assert_eq!(
            invalid(
                json!({"kind": "or", "label": "g", "children": [{"kind": "defense", "label": "d"}]})
            ),
            ["/root/children/0"]
        );
        assert_eq!(invalid(json!({"kind": "defense", "label": "g"})), ["/root"]);
        assert_eq!(
            invalid(
                json!({"kind": "leaf", "label": "g", "countermeasure": {"kind": "leaf", "label": "x"}})
            ),
            ["/root/countermeasure"]
        );
        assert_eq!(
            invalid(
                json!({"kind": "leaf", "label": "g", "countermeasure": {"kind": "defense", "label": "d", "countermeasure": {"kind": "defense", "label": "d2"}}})
            ),
            ["/root/countermeasure/countermeasure"]
        );
        assert_eq!(
            invalid(json!({"kind": "leaf", "label": "g", "attributes": {"probability": 1.5}})),
            ["/root/attributes/probability"]
        );
        assert_eq!(
            invalid(json!({"kind": "leaf", "label": "g", "attributes": {"cost": -1}})),
            ["/root/attributes/cost"]
        );
        assert_eq!(
            invalid(json!({"kind": "leaf", "label": ""})),
            ["/root/label"]
        );
        assert_eq!(
            invalid(json!({"kind": "or", "label": "g", "children": [
                {"kind": "leaf", "label": "a", "step": "s", "attributes": {"cost": 1}},
                {"kind": "leaf", "label": "b", "step": "s", "attributes": {"cost": 2}}]})),
            ["/root/children/1/attributes"]
        );
        assert_eq!(
            invalid(
                json!({"kind": "or", "label": "g", "step": "s", "children": [{"kind": "leaf", "label": "a"}]})
            ),
            ["/root/step"]
        );
    }

    #[test]
    fn flat_trees_refuse_second_countermeasures_cycles_and_two_roots() {
        let d = |parent| {
            flat(
                NodeKind::Defense,
                Some(parent),
                Link::Countermeasure,
                Attributes::default(),
            )
        };
        let two = vec![
            flat(NodeKind::Leaf, None, Link::Child, Attributes::default()),
            d(0),
            d(0),
        ];
        assert!(Tree::build(two, &[]).unwrap_err().0[0]
            .message
            .contains("at most one countermeasure"));
        let cycle = vec![
            flat(NodeKind::Or, None, Link::Child, Attributes::default()),
            flat(NodeKind::Leaf, Some(0), Link::Child, Attributes::default()),
            flat(NodeKind::Or, Some(3), Link::Child, Attributes::default()),
            flat(NodeKind::Or, Some(2), Link::Child, Attributes::default()),
        ];
        assert!(Tree::build(cycle, &[]).unwrap_err().0[0]
            .message
            .contains("cycle"));
        let roots = vec![flat(NodeKind::Leaf, None, Link::Child, Attributes::default()); 2];
        assert_eq!(Tree::build(roots, &[]).unwrap_err().0[0].field, "root");
    }

    #[test]
    fn as_a_threat_method_probability_maps_to_nist_levels() {
        assert_eq!(likelihood_level(0.96), NistLevel::VeryHigh);
        assert_eq!(likelihood_level(0.959), NistLevel::High);
        assert_eq!(likelihood_level(0.80), NistLevel::High);
        assert_eq!(likelihood_level(0.21), NistLevel::Moderate);
        assert_eq!(likelihood_level(0.2), NistLevel::Low);
        assert_eq!(likelihood_level(0.05), NistLevel::Low);
        assert_eq!(likelihood_level(0.049), NistLevel::VeryLow);
        let r = score(0.3882, NistLevel::High);
        assert_eq!(r.method, Method::AttackTree);
        assert_eq!(r.details["risk_level"], "moderate");
        assert_eq!(r.score.value(), 5.0);
    }
}
