//! Step 2: attack trees, one row per node. Every change — a whole-tree PUT
//! or one node — is validated on the complete new tree before anything is
//! written, then written as the difference from the stored rows.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use palisade_domain::audit::AuditAction;
use palisade_domain::ids::{AttackTreeId, ModelId, NodeId, OrgId};
use palisade_domain::scoring::attack_tree::{
    flatten, Attributes, FlatNode, Link, NestedNode, NodeKind, Tree,
};
use palisade_domain::tree::{
    AttackTree, AttackTreeInput, AttackTreeSummary, NodeFields, NodeLink, TreeNode, MAX_DEPTH,
    MAX_NODES,
};
use palisade_domain::ValidationErrors;

use crate::db::{write_tx, DbConn};
use crate::models::{check_version, ensure_visible};
use crate::reach::Affected;
use crate::schema::{assets, attack_tree_nodes, attack_trees};
use crate::scope::Scoped;
use crate::{
    audit, parse_enum, parse_id, per_backend, threat_actors, time, Actor, Page, PageRequest,
    StoreError,
};

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = attack_tree_nodes, treat_none_as_null = true)]
pub(crate) struct NodeRow {
    id: String,
    tree_id: String,
    parent_id: Option<String>,
    link: String,
    position: i32,
    kind: String,
    label: String,
    cost: Option<f64>,
    probability: Option<f64>,
    time: Option<f64>,
    skill: Option<f64>,
    possible: Option<bool>,
    step: Option<String>,
    actor_id: Option<String>,
}

impl NodeRow {
    fn attributes(&self) -> Attributes {
        Attributes {
            cost: self.cost,
            probability: self.probability,
            time: self.time,
            skill: self.skill,
            possible: self.possible,
        }
    }

    fn kind(&self) -> Result<NodeKind, StoreError> {
        parse_enum(&self.kind, NodeKind::parse)
    }

    fn link(&self) -> NodeLink {
        NodeLink::parse(&self.link).unwrap_or_default()
    }

    fn to_node(&self, version: i64) -> Result<TreeNode, StoreError> {
        Ok(TreeNode {
            id: parse_id(&self.id)?,
            tree_id: parse_id(&self.tree_id)?,
            fields: NodeFields {
                parent_id: self.parent_id.as_deref().map(parse_id).transpose()?,
                link: self.link(),
                position: Some(usize::try_from(self.position).unwrap_or(0)),
                kind: self.kind()?,
                label: self.label.clone(),
                attributes: self.attributes(),
                step: self.step.clone(),
                actor_id: self.actor_id.as_deref().map(parse_id).transpose()?,
            },
            version,
        })
    }

    fn from_fields(id: &str, tree_id: &str, f: &NodeFields, position: usize) -> NodeRow {
        NodeRow {
            id: id.to_string(),
            tree_id: tree_id.to_string(),
            parent_id: f.parent_id.map(|p| p.to_string()),
            link: f.link.as_str().into(),
            position: i32::try_from(position).unwrap_or(i32::MAX),
            kind: f.kind.as_str().into(),
            label: f.label.clone(),
            cost: f.attributes.cost,
            probability: f.attributes.probability,
            time: f.attributes.time,
            skill: f.attributes.skill,
            possible: f.attributes.possible,
            step: f.step.clone(),
            actor_id: f.actor_id.map(|a| a.to_string()),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = attack_trees, treat_none_as_null = true)]
struct TreeRow {
    id: String,
    model_id: String,
    name: String,
    goal: Option<String>,
    target_asset_id: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl TreeRow {
    fn summary(&self, node_count: usize) -> Result<AttackTreeSummary, StoreError> {
        Ok(AttackTreeSummary {
            id: parse_id(&self.id)?,
            model_id: parse_id(&self.model_id)?,
            name: self.name.clone(),
            goal: self.goal.clone(),
            target_asset_id: self.target_asset_id.as_deref().map(parse_id).transpose()?,
            node_count,
            version: self.version,
            created_at: time::utc(self.created_at),
            updated_at: time::utc(self.updated_at),
        })
    }
}

/// Rows in sibling order, as the domain's flat form, with "/nodes/{id}" pointers.
pub(crate) fn flat_of(rows: &[NodeRow]) -> Result<(Vec<FlatNode>, Vec<String>), StoreError> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|i| (rows[*i].position, rows[*i].id.clone()));
    let index: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(k, i)| (rows[*i].id.as_str(), k))
        .collect();
    let mut nodes = Vec::with_capacity(rows.len());
    let mut pointers = Vec::with_capacity(rows.len());
    for &i in &order {
        let r = &rows[i];
        let parent = match &r.parent_id {
            Some(p) => Some(*index.get(p.as_str()).ok_or_else(|| {
                StoreError::Invalid(ValidationErrors::single(
                    format!("/nodes/{}/parent_id", r.id),
                    format!("no node {p} in this tree"),
                ))
            })?),
            None => None,
        };
        nodes.push(FlatNode {
            kind: r.kind()?,
            label: r.label.clone(),
            attributes: r.attributes(),
            step: r.step.clone(),
            parent,
            link: if r.link() == NodeLink::Countermeasure {
                Link::Countermeasure
            } else {
                Link::Child
            },
        });
        pointers.push(format!("/nodes/{}", r.id));
    }
    Ok((nodes, pointers))
}

/// Ids of the rows in the order `flat_of` puts them.
pub(crate) fn ordered_ids(rows: &[NodeRow]) -> Vec<String> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|i| (rows[*i].position, rows[*i].id.clone()));
    order.into_iter().map(|i| rows[i].id.clone()).collect()
}

fn check_tree(
    nodes: Vec<FlatNode>,
    pointers: &[String],
    complete: bool,
) -> Result<Tree, StoreError> {
    if nodes.len() > MAX_NODES {
        return Err(StoreError::Invalid(ValidationErrors::single(
            "root",
            format!(
                "a tree holds at most {MAX_NODES} nodes (got {})",
                nodes.len()
            ),
        )));
    }
    let tree = if complete {
        Tree::build(nodes, pointers)?
    } else {
        Tree::build_incomplete(nodes, pointers)?
    };
    let depth = tree.depth();
    if depth > MAX_DEPTH {
        return Err(StoreError::Invalid(ValidationErrors::single(
            "root",
            format!("the tree is {depth} levels deep; at most {MAX_DEPTH} are kept"),
        )));
    }
    Ok(tree)
}

/// The tree's references stay inside its model: target asset, actors.
fn check_references(
    conn: &mut DbConn,
    model_id: ModelId,
    target: Option<&str>,
    rows: &[NodeRow],
    pointer_of: &dyn Fn(&NodeRow) -> String,
) -> Result<(), StoreError> {
    let mut e = ValidationErrors::new();
    if let Some(asset) = target {
        let found: i64 = assets::table
            .filter(assets::id.eq(asset))
            .filter(assets::model_id.eq(model_id.to_string()))
            .count()
            .get_result(conn)?;
        if found == 0 {
            e.add("target_asset_id", format!("no asset {asset} in this model"));
        }
    }
    if rows.iter().any(|r| r.actor_id.is_some()) {
        let actors: HashSet<String> = threat_actors::ids_in_model(conn, model_id)?
            .into_iter()
            .collect();
        for r in rows {
            if let Some(a) = &r.actor_id {
                if !actors.contains(a) {
                    e.add(
                        format!("{}/actor_id", pointer_of(r)),
                        format!("no threat actor {a} in this model"),
                    );
                } else if r.kind != "leaf" {
                    e.add(
                        format!("{}/actor_id", pointer_of(r)),
                        "only leaves (attack steps) name a threat actor",
                    );
                }
            }
        }
    }
    Ok(e.finish()?)
}

/// The nested document of stored rows, assembled bottom-up without recursion.
fn nested_of(rows: &[NodeRow]) -> Result<NestedNode, StoreError> {
    let ids = ordered_ids(rows);
    let by_id: HashMap<&str, &NodeRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
    let (flat, _) = flat_of(rows)?;
    let tree = Tree::build_incomplete(flat.clone(), &[])?;
    let mut built: Vec<Option<NestedNode>> = vec![None; flat.len()];
    // Post-order: children before parents.
    let mut post = Vec::with_capacity(flat.len());
    let mut stack = vec![(tree.root(), false)];
    while let Some((i, expanded)) = stack.pop() {
        if expanded {
            post.push(i);
        } else {
            stack.push((i, true));
            stack.extend(tree.children(i).iter().map(|c| (*c, false)));
            stack.extend(tree.countermeasure(i).map(|c| (c, false)));
        }
    }
    for i in post {
        let row = by_id[ids[i].as_str()];
        let children = tree
            .children(i)
            .iter()
            .map(|c| built[*c].take())
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default();
        let countermeasure = tree
            .countermeasure(i)
            .and_then(|c| built[c].take())
            .map(Box::new);
        built[i] = Some(NestedNode {
            id: Some(row.id.clone()),
            kind: row.kind()?,
            label: row.label.clone(),
            attributes: row.attributes(),
            children,
            countermeasure,
            step: row.step.clone(),
            actor_id: row.actor_id.clone(),
        });
    }
    built[tree.root()]
        .take()
        .ok_or_else(|| StoreError::Corrupt("tree without root".into()))
}

/// Rows for a nested document: given ids are kept when `keep_ids` allows them.
fn rows_of(
    root: &NestedNode,
    tree_id: &str,
    keep_ids: &HashSet<String>,
) -> Result<Vec<NodeRow>, StoreError> {
    let (flat, pointers) = flatten(root);
    // The same breadth-first walk as `flatten`, for what it does not carry.
    let mut refs: Vec<&NestedNode> = vec![root];
    let mut k = 0;
    while k < refs.len() {
        let n = refs[k];
        refs.extend(n.children.iter());
        refs.extend(n.countermeasure.as_deref());
        k += 1;
    }
    let mut e = ValidationErrors::new();
    let mut seen = HashSet::new();
    let ids: Vec<String> = refs
        .iter()
        .zip(&pointers)
        .map(|(n, p)| match &n.id {
            Some(id) if keep_ids.contains(id) && seen.insert(id.clone()) => id.clone(),
            Some(id) if seen.contains(id) => {
                e.add(format!("{p}/id"), format!("node {id} appears twice"));
                NodeId::generate().to_string()
            }
            Some(id) if !keep_ids.is_empty() => {
                e.add(
                    format!("{p}/id"),
                    format!("no node {id} in this tree; leave id out for a new node"),
                );
                NodeId::generate().to_string()
            }
            _ => NodeId::generate().to_string(),
        })
        .collect();
    let mut actor_errors = ValidationErrors::new();
    let mut positions: HashMap<usize, usize> = HashMap::new();
    let rows = flat
        .iter()
        .zip(refs.iter())
        .enumerate()
        .map(|(i, (f, n))| {
            let position = match (f.parent, f.link) {
                (Some(p), Link::Child) => {
                    let next = positions.entry(p).or_default();
                    *next += 1;
                    *next - 1
                }
                _ => 0,
            };
            let actor_id = n.actor_id.as_ref().map(|a| match a.parse::<uuid::Uuid>() {
                Ok(u) => u.to_string(),
                Err(_) => {
                    actor_errors.add(format!("{}/actor_id", pointers[i]), "is not an id");
                    a.clone()
                }
            });
            NodeRow {
                id: ids[i].clone(),
                tree_id: tree_id.to_string(),
                parent_id: f.parent.map(|p| ids[p].clone()),
                link: if f.link == Link::Countermeasure {
                    "countermeasure".into()
                } else {
                    "child".into()
                },
                position: i32::try_from(position).unwrap_or(i32::MAX),
                kind: f.kind.as_str().into(),
                label: f.label.clone(),
                cost: f.attributes.cost,
                probability: f.attributes.probability,
                time: f.attributes.time,
                skill: f.attributes.skill,
                possible: f.attributes.possible,
                step: f.step.clone(),
                actor_id,
            }
        })
        .collect();
    e.0.extend(actor_errors.0);
    e.finish()?;
    Ok(rows)
}

fn load_rows(conn: &mut DbConn, tree_id: &str) -> Result<Vec<NodeRow>, StoreError> {
    Ok(attack_tree_nodes::table
        .filter(attack_tree_nodes::tree_id.eq(tree_id))
        .select(NodeRow::as_select())
        .load(conn)?)
}

fn load_tree_row(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: AttackTreeId,
) -> Result<TreeRow, StoreError> {
    ensure_visible(conn, org, model_id)?;
    Ok(attack_trees::table
        .filter(attack_trees::id.eq(id.to_string()))
        .filter(attack_trees::model_id.eq(model_id.to_string()))
        .select(TreeRow::as_select())
        .first(conn)?)
}

/// Writes the difference between two versions of a tree's rows.
fn sync_rows(conn: &mut DbConn, old: &[NodeRow], new: &[NodeRow]) -> Result<(), StoreError> {
    let old_by_id: HashMap<&str, &NodeRow> = old.iter().map(|r| (r.id.as_str(), r)).collect();
    let new_ids: HashSet<&str> = new.iter().map(|r| r.id.as_str()).collect();
    let gone: Vec<&str> = old
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !new_ids.contains(id))
        .collect();
    crate::links::forget_targets(
        conn,
        &gone.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
    )?;
    for chunk in gone.chunks(500) {
        diesel::delete(attack_tree_nodes::table.filter(attack_tree_nodes::id.eq_any(chunk)))
            .execute(conn)?;
    }
    let added: Vec<&NodeRow> = new
        .iter()
        .filter(|r| !old_by_id.contains_key(r.id.as_str()))
        .collect();
    for chunk in added.chunks(500) {
        let chunk: Vec<NodeRow> = chunk.iter().map(|r| (*r).clone()).collect();
        per_backend!(conn, |c| diesel::insert_into(attack_tree_nodes::table)
            .values(&chunk)
            .execute(c))?;
    }
    for r in new {
        if let Some(o) = old_by_id.get(r.id.as_str()) {
            if *o != r {
                diesel::update(attack_tree_nodes::table.filter(attack_tree_nodes::id.eq(&r.id)))
                    .set(r)
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// The rows a change to this tree moves: the threats scored with it.
fn scored_with(conn: &mut DbConn, model_id: ModelId, tree: &str) -> Result<Affected, StoreError> {
    Ok(Affected::Threats(crate::reach::threats_assessed_with(
        conn,
        &model_id.to_string(),
        &std::iter::once(tree.to_string()).collect(),
    )?))
}

fn bump(conn: &mut DbConn, row: &TreeRow) -> Result<TreeRow, StoreError> {
    let mut next = row.clone();
    next.version += 1;
    next.updated_at = time::now();
    let n = diesel::update(
        attack_trees::table
            .filter(attack_trees::id.eq(&row.id))
            .filter(attack_trees::version.eq(row.version)),
    )
    .set(&next)
    .execute(conn)?;
    if n != 1 {
        return Err(StoreError::Conflict(
            "the tree was changed concurrently; retry".into(),
        ));
    }
    Ok(next)
}

fn record(row: &TreeRow, rows: &[NodeRow]) -> Result<AttackTree, StoreError> {
    let s = row.summary(rows.len())?;
    Ok(AttackTree {
        id: s.id,
        model_id: s.model_id,
        name: s.name,
        goal: s.goal,
        target_asset_id: s.target_asset_id,
        root: nested_of(rows)?,
        node_count: rows.len(),
        version: s.version,
        created_at: s.created_at,
        updated_at: s.updated_at,
    })
}

/// What can be checked of a whole document without the database: its
/// header and its structure. Done before the write transaction begins, so
/// a large tree never holds the write lock while it is validated.
fn validate_document(input: &AttackTreeInput) -> Result<(), StoreError> {
    input.validate_header()?;
    let (flat, pointers) = flatten(&input.root);
    check_tree(flat, &pointers, true)?;
    Ok(())
}

/// Turns a validated document into rows and checks its references; ids in
/// it are kept if they are in `keep`.
fn prepare(
    conn: &mut DbConn,
    model_id: ModelId,
    tree_id: &str,
    input: &AttackTreeInput,
    keep: &HashSet<String>,
) -> Result<Vec<NodeRow>, StoreError> {
    let rows = rows_of(&input.root, tree_id, keep)?;
    let (_, pointers) = flatten(&input.root);
    let pointer_by_id: HashMap<&str, &str> = rows
        .iter()
        .zip(pointers.iter())
        .map(|(r, p)| (r.id.as_str(), p.as_str()))
        .collect();
    let target = input.target_asset_id.map(|a| a.to_string());
    check_references(conn, model_id, target.as_deref(), &rows, &|r| {
        pointer_by_id
            .get(r.id.as_str())
            .map_or_else(String::new, |p| p.to_string())
    })?;
    Ok(rows)
}

/// Writes an imported tree under its planned id, keeping the node ids its
/// document carries (the import has made them fresh and pointed the
/// threats and controls that name them at them).
pub(crate) fn insert_planned(
    conn: &mut DbConn,
    model_id: ModelId,
    planned: &palisade_domain::interchange::PlannedTree,
) -> Result<(), StoreError> {
    let input = &planned.input;
    validate_document(input)?;
    let id = planned.id.to_string();
    let mut keep = HashSet::new();
    let mut stack = vec![&input.root];
    while let Some(n) = stack.pop() {
        keep.extend(n.id.clone());
        stack.extend(n.children.iter());
        stack.extend(n.countermeasure.as_deref());
    }
    insert_new(conn, model_id, id, input, &keep).map(|_| ())
}

/// Writes a new tree's row and nodes (ids in `keep` kept, the rest new).
fn insert_new(
    conn: &mut DbConn,
    model_id: ModelId,
    id: String,
    input: &AttackTreeInput,
    keep: &HashSet<String>,
) -> Result<(TreeRow, Vec<NodeRow>), StoreError> {
    let rows = prepare(conn, model_id, &id, input, keep)?;
    let now = time::now();
    let row = TreeRow {
        id,
        model_id: model_id.to_string(),
        name: input.name.clone(),
        goal: input.goal.clone(),
        target_asset_id: input.target_asset_id.map(|a| a.to_string()),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(attack_trees::table)
        .values(&row)
        .execute(conn)?;
    sync_rows(conn, &[], &rows)?;
    Ok((row, rows))
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    input: &AttackTreeInput,
) -> Result<AttackTree, StoreError> {
    validate_document(input)?;
    write_tx(conn, |conn| {
        ensure_visible(conn, actor.org_id, model_id)?;
        let id = AttackTreeId::generate().to_string();
        // Ids in a new tree's document are not kept: POST copies a tree.
        let (row, rows) = insert_new(conn, model_id, id.clone(), input, &HashSet::new())?;
        let summary = row.summary(rows.len())?;
        // No threat is scored with a new tree yet: nothing to rescore.
        crate::jobs::enqueue_recompute(conn, actor, model_id, &Affected::Threats(Vec::new()))?;

        audit::record(
            conn,
            actor,
            audit::Change::of(
                "attack_tree",
                model_id,
                AuditAction::Create,
                &id,
                None,
                Some(&summary),
            )?,
        )?;
        record(&row, &rows)
    })
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: AttackTreeId,
) -> Result<AttackTree, StoreError> {
    let row = load_tree_row(conn, org, model_id, id)?;
    let rows = load_rows(conn, &row.id)?;
    record(&row, &rows)
}

/// The tree's header and its nodes in the domain's flat form, with node ids.
pub fn load_flat(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    id: AttackTreeId,
) -> Result<(AttackTreeSummary, Vec<FlatNode>, Vec<String>), StoreError> {
    let row = load_tree_row(conn, org, model_id, id)?;
    let rows = load_rows(conn, &row.id)?;
    let (flat, _) = flat_of(&rows)?;
    Ok((row.summary(rows.len())?, flat, ordered_ids(&rows)))
}

/// A tree's nodes in the domain's flat form, with their ids in the same order.
pub(crate) type FlatTree = (Vec<FlatNode>, Vec<String>);

/// A tree's nodes by id alone (for jobs, which already know the model);
/// `Ok(Err(..))` when the stored nodes do not form a tree.
pub(crate) fn load_flat_unscoped(
    conn: &mut DbConn,
    id: AttackTreeId,
) -> Result<Result<FlatTree, String>, StoreError> {
    let rows = load_rows(conn, &id.to_string())?;
    Ok(flat_of(&rows)
        .map(|(flat, _)| (flat, ordered_ids(&rows)))
        .map_err(|e| e.to_string()))
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    page: &PageRequest,
) -> Result<Page<AttackTreeSummary>, StoreError> {
    ensure_visible(conn, org, model_id)?;
    let m = model_id.to_string();
    let filtered = || {
        attack_trees::table
            .filter(attack_trees::model_id.eq(m.clone()))
            .into_boxed()
    };
    let page = crate::list_page!(conn, page, attack_trees, TreeRow, attack_trees::model_id.eq(m.clone()), filtered, {
        "name" => (attack_trees::name, String),
        "created_at" => (attack_trees::created_at, NaiveDateTime),
        "updated_at" => (attack_trees::updated_at, NaiveDateTime),
    });
    let ids: Vec<String> = page.items.iter().map(|r| r.id.clone()).collect();
    let counts: HashMap<String, i64> = attack_tree_nodes::table
        .filter(attack_tree_nodes::tree_id.eq_any(&ids))
        .group_by(attack_tree_nodes::tree_id)
        .select((attack_tree_nodes::tree_id, diesel::dsl::count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    page.try_map(|r| {
        let n = counts.get(&r.id).copied().unwrap_or(0);
        r.summary(usize::try_from(n).unwrap_or(0))
    })
}

/// Asset ids targeted by the model's trees, for step 2's checks.
pub fn targets_in_model(conn: &mut DbConn, scope: Scoped) -> Result<Vec<String>, StoreError> {
    let model_id = scope.model();
    Ok(attack_trees::table
        .filter(attack_trees::model_id.eq(model_id.to_string()))
        .filter(attack_trees::target_asset_id.is_not_null())
        .select(attack_trees::target_asset_id.assume_not_null())
        .load(conn)?)
}

pub fn count_in_model(conn: &mut DbConn, scope: Scoped) -> Result<i64, StoreError> {
    let model_id = scope.model();
    Ok(attack_trees::table
        .filter(attack_trees::model_id.eq(model_id.to_string()))
        .count()
        .get_result(conn)?)
}

/// Replaces the whole tree. Nodes keep the ids they are sent with; sending
/// back what `get` returned changes nothing (not even the version).
pub fn replace(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    id: AttackTreeId,
    expected_version: Option<i64>,
    input: &AttackTreeInput,
) -> Result<AttackTree, StoreError> {
    validate_document(input)?;
    write_tx(conn, |conn| {
        let row = load_tree_row(conn, actor.org_id, model_id, id)?;
        check_version(row.version, expected_version)?;
        let old = load_rows(conn, &row.id)?;
        let keep: HashSet<String> = old.iter().map(|r| r.id.clone()).collect();
        let new = prepare(conn, model_id, &row.id, input, &keep)?;
        let header_same = row.name == input.name
            && row.goal == input.goal
            && row.target_asset_id == input.target_asset_id.map(|a| a.to_string());
        let mut old_sorted = old.clone();
        old_sorted.sort_by(|a, b| a.id.cmp(&b.id));
        let mut new_sorted = new.clone();
        new_sorted.sort_by(|a, b| a.id.cmp(&b.id));
        if header_same && old_sorted == new_sorted {
            return record(&row, &old);
        }
        let before = row.summary(old.len())?;
        sync_rows(conn, &old, &new)?;
        let mut next = row.clone();
        next.name = input.name.clone();
        next.goal = input.goal.clone();
        next.target_asset_id = input.target_asset_id.map(|a| a.to_string());
        let next = bump(conn, &next)?;
        let after = next.summary(new.len())?;
        let reach = scored_with(conn, model_id, &row.id)?;
        crate::jobs::enqueue_recompute(conn, actor, model_id, &reach)?;

        audit::record(
            conn,
            actor,
            audit::Change::of(
                "attack_tree",
                model_id,
                AuditAction::Update,
                &row.id,
                Some(&before),
                Some(&after),
            )?,
        )?;
        record(&next, &new)
    })
}

pub fn delete(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    id: AttackTreeId,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_tx(conn, |conn| {
        let row = load_tree_row(conn, actor.org_id, model_id, id)?;
        check_version(row.version, expected_version)?;
        let using = threats_assessed_with(conn, model_id, &row.id)?;
        if !using.is_empty() {
            return Err(StoreError::Conflict(format!(
                "attack tree {} is the assessment of threats {}; change their assessment or delete them first",
                row.id,
                using.join(", ")
            )));
        }
        let before = row.summary(load_rows(conn, &row.id)?.len())?;
        let nodes: Vec<String> = load_rows(conn, &row.id)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        crate::links::forget_targets(conn, &nodes)?;
        diesel::delete(attack_tree_nodes::table.filter(attack_tree_nodes::tree_id.eq(&row.id)))
            .execute(conn)?;
        diesel::delete(attack_trees::table.filter(attack_trees::id.eq(&row.id))).execute(conn)?;
        let reach = scored_with(conn, model_id, &row.id)?;
        crate::jobs::enqueue_recompute(conn, actor, model_id, &reach)?;

        audit::record(
            conn,
            actor,
            audit::Change::of(
                "attack_tree",
                model_id,
                AuditAction::Delete,
                &row.id,
                Some(&before),
                None,
            )?,
        )
    })
}

pub fn get_node(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    tree: AttackTreeId,
    node: NodeId,
) -> Result<TreeNode, StoreError> {
    let row = load_tree_row(conn, org, model_id, tree)?;
    let node_row: NodeRow = attack_tree_nodes::table
        .filter(attack_tree_nodes::id.eq(node.to_string()))
        .filter(attack_tree_nodes::tree_id.eq(&row.id))
        .select(NodeRow::as_select())
        .first(conn)?;
    node_row.to_node(row.version)
}

pub fn list_nodes(
    conn: &mut DbConn,
    org: OrgId,
    model_id: ModelId,
    tree: AttackTreeId,
    page: &PageRequest,
) -> Result<Page<TreeNode>, StoreError> {
    let row = load_tree_row(conn, org, model_id, tree)?;
    let filtered = || {
        attack_tree_nodes::table
            .filter(attack_tree_nodes::tree_id.eq(row.id.clone()))
            .into_boxed()
    };
    crate::list_page!(conn, page, attack_tree_nodes, NodeRow, attack_tree_nodes::tree_id.eq(row.id.clone()), filtered, {
        "label" => (attack_tree_nodes::label, String),
        "kind" => (attack_tree_nodes::kind, String),
    })
    .try_map(|r| r.to_node(row.version))
}

/// Renumbers each parent's children 0, 1, 2… in their current order.
fn renumber(rows: &mut [NodeRow]) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|i| (rows[*i].position, rows[*i].id.clone()));
    let mut next: HashMap<Option<String>, i32> = HashMap::new();
    for i in order {
        if rows[i].link == "countermeasure" {
            rows[i].position = 0;
            continue;
        }
        let slot = next.entry(rows[i].parent_id.clone()).or_default();
        rows[i].position = *slot;
        *slot += 1;
    }
}

/// Places `id` at `position` among its siblings (the end when `None`).
fn place(rows: &mut [NodeRow], id: &str, position: Option<usize>) {
    let Some(me) = rows.iter().position(|r| r.id == id) else {
        return;
    };
    let parent = rows[me].parent_id.clone();
    let mut siblings: Vec<usize> = (0..rows.len())
        .filter(|i| *i != me && rows[*i].parent_id == parent && rows[*i].link == "child")
        .collect();
    siblings.sort_by_key(|i| (rows[*i].position, rows[*i].id.clone()));
    let at = position.unwrap_or(siblings.len()).min(siblings.len());
    siblings.insert(at, me);
    for (pos, i) in siblings.into_iter().enumerate() {
        rows[i].position = i32::try_from(pos).unwrap_or(i32::MAX);
    }
}

/// How often a node edit is tried again when the tree moved on between
/// validating the change and writing it.
const EDIT_ATTEMPTS: usize = 3;

/// Applies a node-level change in memory and validates the whole resulting
/// tree (empty gates allowed while editing) outside any transaction, then
/// writes the difference in one, provided the tree is still at the version
/// the change was made on; if not, the change is made again on the new tree.
fn edit_nodes(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    tree: AttackTreeId,
    expected_version: Option<i64>,
    (action, entity_id): (AuditAction, &str),
    change: impl Fn(&mut Vec<NodeRow>) -> Result<(Option<NodeRow>, Option<NodeRow>), StoreError>,
) -> Result<(TreeRow, Vec<NodeRow>), StoreError> {
    for _ in 0..EDIT_ATTEMPTS {
        let row = load_tree_row(conn, actor.org_id, model_id, tree)?;
        let old = load_rows(conn, &row.id)?;
        let mut rows = old.clone();
        let (before, after) = change(&mut rows)?;
        renumber(&mut rows);
        let (flat, pointers) = flat_of(&rows)?;
        check_tree(flat, &pointers, false)?;
        // The input is judged before the version, as everywhere.
        check_version(row.version, expected_version)?;
        if rows == old {
            return Ok((row, rows));
        }
        let written = write_tx(conn, |conn| {
            let current = load_tree_row(conn, actor.org_id, model_id, tree)?;
            if current.version != row.version {
                return Ok(None);
            }
            let target = row.target_asset_id.clone();
            check_references(conn, model_id, target.as_deref(), &rows, &|r| {
                format!("/nodes/{}", r.id)
            })?;
            sync_rows(conn, &old, &rows)?;
            let next = bump(conn, &row)?;
            let reach = scored_with(conn, model_id, &row.id)?;
            crate::jobs::enqueue_recompute(conn, actor, model_id, &reach)?;
            let as_json = |r: Option<NodeRow>| -> Result<Option<serde_json::Value>, StoreError> {
                r.map(|r| {
                    r.to_node(next.version)
                        .and_then(|n| Ok(serde_json::to_value(n)?))
                })
                .transpose()
            };
            audit::record(
                conn,
                actor,
                audit::Change {
                    model_id: Some(model_id),
                    action,
                    entity_type: "attack_tree_node",
                    entity_id: entity_id.to_string(),
                    before: as_json(before.clone())?,
                    after: as_json(
                        after
                            .as_ref()
                            .and_then(|a| rows.iter().find(|r| r.id == a.id).cloned()),
                    )?,
                },
            )?;
            Ok::<_, StoreError>(Some(next))
        })?;
        if let Some(next) = written {
            return Ok((next, rows));
        }
    }
    Err(StoreError::Conflict(
        "the tree was changed concurrently; retry".into(),
    ))
}

pub fn add_node(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    tree: AttackTreeId,
    expected_version: Option<i64>,
    fields: &NodeFields,
) -> Result<TreeNode, StoreError> {
    let id = NodeId::generate().to_string();
    let (row, rows) = edit_nodes(
        conn,
        actor,
        model_id,
        tree,
        expected_version,
        (AuditAction::Create, &id),
        |rows| {
            let Some(parent) = fields.parent_id.map(|p| p.to_string()) else {
                return Err(ValidationErrors::single(
                    "parent_id",
                    "a new node hangs from a node of the tree",
                )
                .into());
            };
            if !rows.iter().any(|r| r.id == parent) {
                return Err(ValidationErrors::single(
                    "parent_id",
                    format!("no node {parent} in this tree"),
                )
                .into());
            }
            let tree_id = rows.first().map(|r| r.tree_id.clone()).unwrap_or_default();
            let new = NodeRow::from_fields(&id, &tree_id, fields, usize::MAX);
            rows.push(new.clone());
            if fields.link == NodeLink::Child {
                place(rows, &id, fields.position);
            }
            Ok((None, Some(new)))
        },
    )?;
    written_node(&rows, &id, row.version)
}

/// The node `id` as an edit left it, at the tree's new version.
fn written_node(rows: &[NodeRow], id: &str, version: i64) -> Result<TreeNode, StoreError> {
    rows.iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)?
        .to_node(version)
}

pub fn update_node(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    tree: AttackTreeId,
    node: NodeId,
    expected_version: Option<i64>,
    change_fields: impl Fn(&NodeFields) -> Result<NodeFields, StoreError>,
) -> Result<TreeNode, StoreError> {
    let id = node.to_string();
    let (row, rows) = edit_nodes(
        conn,
        actor,
        model_id,
        tree,
        expected_version,
        (AuditAction::Update, &id),
        |rows| {
            let at = rows
                .iter()
                .position(|r| r.id == id)
                .ok_or(StoreError::NotFound)?;
            let before = rows[at].clone();
            let current = before.to_node(0)?.fields;
            let fields = change_fields(&current)?;
            let moved = fields.parent_id != current.parent_id || fields.link != current.link;
            if moved {
                let Some(new_parent) = fields.parent_id.map(|p| p.to_string()) else {
                    return Err(ValidationErrors::single(
                        "parent_id",
                        "the root stays the root; move its children instead",
                    )
                    .into());
                };
                if current.parent_id.is_none() {
                    return Err(
                        ValidationErrors::single("parent_id", "the root cannot be moved").into(),
                    );
                }
                // The new parent may not be the node itself or inside it.
                let mut descendants: HashSet<String> = HashSet::from([id.clone()]);
                let mut grew = true;
                while grew {
                    grew = false;
                    for r in rows.iter() {
                        if let Some(p) = &r.parent_id {
                            if descendants.contains(p) && descendants.insert(r.id.clone()) {
                                grew = true;
                            }
                        }
                    }
                }
                if descendants.contains(&new_parent) {
                    return Err(ValidationErrors::single(
                        "parent_id",
                        format!(
                            "node {new_parent} is this node or inside it: a tree has no cycles"
                        ),
                    )
                    .into());
                }
                if !rows.iter().any(|r| r.id == new_parent) {
                    return Err(ValidationErrors::single(
                        "parent_id",
                        format!("no node {new_parent} in this tree"),
                    )
                    .into());
                }
            } else if current.parent_id.is_none() && fields.parent_id.is_some() {
                return Err(
                    ValidationErrors::single("parent_id", "the root cannot be moved").into(),
                );
            }
            let position = if moved && fields.position == current.position {
                None
            } else {
                fields.position
            };
            rows[at] = NodeRow::from_fields(
                &id,
                &before.tree_id,
                &fields,
                before.position.max(0) as usize,
            );
            rows[at].position = before.position;
            if fields.link == NodeLink::Child && (moved || position != current.position) {
                place(rows, &id, position);
            }
            let after = rows[at].clone();
            Ok((Some(before), Some(after)))
        },
    )?;
    written_node(&rows, &id, row.version)
}

/// Deletes a node and everything under it; the root goes with its tree.
pub fn delete_node(
    conn: &mut DbConn,
    actor: &Actor,
    model_id: ModelId,
    tree: AttackTreeId,
    node: NodeId,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    let id = node.to_string();
    edit_nodes(
        conn,
        actor,
        model_id,
        tree,
        expected_version,
        (AuditAction::Delete, &id),
        |rows| {
            let at = rows
                .iter()
                .position(|r| r.id == id)
                .ok_or(StoreError::NotFound)?;
            if rows[at].parent_id.is_none() {
                return Err(StoreError::Conflict(
                    "this is the tree's root: delete the tree instead".into(),
                ));
            }
            let before = rows[at].clone();
            let mut doomed: HashSet<String> = HashSet::from([id.clone()]);
            let mut grew = true;
            while grew {
                grew = false;
                for r in rows.iter() {
                    if let Some(p) = &r.parent_id {
                        if doomed.contains(p) && doomed.insert(r.id.clone()) {
                            grew = true;
                        }
                    }
                }
            }
            rows.retain(|r| !doomed.contains(&r.id));
            Ok((Some(before), None))
        },
    )?;
    Ok(())
}

/// Threats of the model whose `attack_tree` assessment names this tree.
fn threats_assessed_with(
    conn: &mut DbConn,
    model_id: ModelId,
    tree: &str,
) -> Result<Vec<String>, StoreError> {
    use crate::schema::threats;
    let candidates: Vec<(String, String)> = threats::table
        .filter(threats::model_id.eq(model_id.to_string()))
        .filter(threats::method.eq("attack_tree"))
        .select((threats::id, threats::assessment))
        .order(threats::id.asc())
        .load(conn)?;
    Ok(candidates
        .into_iter()
        .filter(|(_, a)| {
            serde_json::from_str::<serde_json::Value>(a)
                .ok()
                .is_some_and(|v| v["tree_id"].as_str() == Some(tree))
        })
        .map(|(id, _)| id)
        .collect())
}
