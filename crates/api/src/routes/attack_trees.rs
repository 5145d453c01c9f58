//! Step 2 — attack trees: whole documents, single nodes, evaluation, diagrams.

use palisade_domain::threat::Control;
use palisade_store::ModelReads as _;
use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::diagram::{DiagramFormat, Drawing};
use palisade_domain::ids::{AttackTreeId, ModelId, NodeId, OrgId};
use palisade_domain::risk::{evaluate_defended, Stage, TreeForRisk};
use palisade_domain::scoring::attack_tree::{NodeValues, Tree};
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::tree::{AttackTree, AttackTreeInput, AttackTreeSummary, NodeFields, TreeNode};
use palisade_store::{attack_trees, Actor, DbConn, PageRequest, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::{parse_json, StrictQuery};
use crate::patch;
use crate::resource::{path_param, resource, NoParams, Parent, Resource};
use crate::respond::{list_params, list_type};
use crate::state::AppState;

crate::routes::routes! {
    resources: [tree_routes => TreeDoc, node_routes => NodeDoc],
    paths: {
        "/api/v1/models/{model_id}/attack-trees/{tree_id}/evaluation" => { get: evaluate_attack_tree },
        "/api/v1/models/{model_id}/attack-trees/{tree_id}/diagram" => { get: draw_attack_tree },
    },
}

pub struct AttackTrees;

resource!(in_model
    AttackTrees,
    routes: tree_routes,
    doc: TreeDoc,
    tag: "threats",
    collection: "/api/v1/models/{model_id}/attack-trees",
    item: "/api/v1/models/{model_id}/attack-trees/{tree_id}",
    id: "tree_id",
    input: AttackTreeInput,
    patch: AttackTreeInput,
    record: AttackTree,
    list: AttackTreeList,
    params: TreeParams,
    delete_params: NoParams,
    create: (create_attack_tree, "createAttackTree", "Create an attack tree from its nested form, validated whole before anything is written."),
    list_all: (list_attack_trees, "listAttackTrees", "List the model's attack trees (without their nodes; by id unless sorted)."),
    get: (get_attack_tree, "getAttackTree", "Get an attack tree in its nested form."),
    update: (put, replace_attack_tree, "replaceAttackTree", "Replace a tree whole. Nodes sent with their `id` keep it; sending back what GET returned changes nothing."),
    delete: (delete_attack_tree, "deleteAttackTree", "Delete a tree and all its nodes; refused (409) while threats are assessed with it."),
);

impl Resource for AttackTrees {
    type Parent = ModelId;
    type Record = AttackTree;
    type Id = AttackTreeId;
    type Input = Value;
    type Fields = AttackTreeInput;
    type Change = AttackTreeInput;
    type Params = TreeParams;
    type Filter = ();
    type List = AttackTreeList;
    type DeleteParams = NoParams;
    const SEGMENT: &'static str = "attack-trees";

    fn fields(body: Value) -> Result<AttackTreeInput, ApiError> {
        tree_input(body)
    }

    fn change(body: Value) -> Result<AttackTreeInput, ApiError> {
        tree_input(body)
    }

    fn query(q: TreeParams) -> Result<(PageRequest, ()), ApiError> {
        Ok((q.page()?, ()))
    }

    fn id_of(record: &AttackTree) -> AttackTreeId {
        record.id
    }

    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        _: Option<i64>,
        input: AttackTreeInput,
    ) -> Result<AttackTree, StoreError> {
        attack_trees::create(conn, actor, model, &input)
    }

    fn get(
        conn: &mut DbConn,
        org: OrgId,
        model: ModelId,
        id: AttackTreeId,
    ) -> Result<AttackTree, StoreError> {
        attack_trees::get(conn, org, model, id)
    }

    fn list(
        conn: &mut DbConn,
        org: OrgId,
        model: ModelId,
        _: &(),
        page: &PageRequest,
    ) -> Result<AttackTreeList, StoreError> {
        attack_trees::list(conn, org, model, page).map(AttackTreeList::from)
    }

    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        id: AttackTreeId,
        expected: Option<i64>,
        input: AttackTreeInput,
    ) -> Result<AttackTree, StoreError> {
        attack_trees::replace(conn, actor, model, id, expected, &input)
    }

    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        model: ModelId,
        id: AttackTreeId,
        expected: Option<i64>,
        _: NoParams,
    ) -> Result<(), StoreError> {
        attack_trees::delete(conn, actor, model, id, expected)
    }
}

/// The nodes of a tree live under it: edits change the tree's version.
#[derive(Debug, Clone, Copy)]
pub struct InTree {
    model: ModelId,
    tree: AttackTreeId,
}

impl Parent for InTree {
    fn from_path(req: &HttpRequest) -> Result<Self, ApiError> {
        Ok(InTree {
            model: path_param(req, "model_id")?,
            tree: path_param(req, "tree_id")?,
        })
    }
    fn url(&self) -> String {
        format!("/api/v1/models/{}/attack-trees/{}", self.model, self.tree)
    }
}

pub struct TreeNodes;

resource!(in_tree
    TreeNodes,
    routes: node_routes,
    doc: NodeDoc,
    tag: "threats",
    collection: "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes",
    item: "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes/{node_id}",
    id: "node_id",
    input: NodeFields,
    patch: NodeFields,
    record: TreeNode,
    list: TreeNodeList,
    params: NodeParams,
    delete_params: NoParams,
    create: (create_node, "createAttackTreeNode", "Add one node under a node of the tree."),
    list_all: (list_nodes, "listAttackTreeNodes", "List the tree's nodes (flat, by id unless sorted)."),
    get: (get_node, "getAttackTreeNode", "Get one node."),
    update: (patch, update_node, "updateAttackTreeNode", "Change a node (JSON merge patch); a new `parent_id` moves its subtree."),
    delete: (delete_node, "deleteAttackTreeNode", "Delete a node and its subtree; the root goes only with its tree (409)."),
);

impl Resource for TreeNodes {
    type Parent = InTree;
    type Record = TreeNode;
    type Id = NodeId;
    type Input = NodeFields;
    type Fields = NodeFields;
    type Change = Value;
    type Params = NodeParams;
    type Filter = ();
    type List = TreeNodeList;
    type DeleteParams = NoParams;
    const SEGMENT: &'static str = "nodes";

    fn fields(input: NodeFields) -> Result<NodeFields, ApiError> {
        Ok(input)
    }

    fn change(body: Value) -> Result<Value, ApiError> {
        Ok(body)
    }

    fn query(q: NodeParams) -> Result<(PageRequest, ()), ApiError> {
        Ok((q.page()?, ()))
    }

    fn id_of(record: &TreeNode) -> NodeId {
        record.id
    }

    fn create(
        conn: &mut DbConn,
        actor: &Actor,
        at: InTree,
        expected: Option<i64>,
        fields: NodeFields,
    ) -> Result<TreeNode, StoreError> {
        attack_trees::add_node(conn, actor, at.model, at.tree, expected, &fields)
    }

    fn get(conn: &mut DbConn, org: OrgId, at: InTree, id: NodeId) -> Result<TreeNode, StoreError> {
        attack_trees::get_node(conn, org, at.model, at.tree, id)
    }

    fn list(
        conn: &mut DbConn,
        org: OrgId,
        at: InTree,
        _: &(),
        page: &PageRequest,
    ) -> Result<TreeNodeList, StoreError> {
        attack_trees::list_nodes(conn, org, at.model, at.tree, page).map(TreeNodeList::from)
    }

    fn update(
        conn: &mut DbConn,
        actor: &Actor,
        at: InTree,
        id: NodeId,
        expected: Option<i64>,
        doc: Value,
    ) -> Result<TreeNode, StoreError> {
        // The change may be retried on a concurrent edit: it is applied to
        // each current state afresh.
        attack_trees::update_node(conn, actor, at.model, at.tree, id, expected, |cur| {
            Ok(patch::apply(cur, doc.clone())?)
        })
    }

    fn delete(
        conn: &mut DbConn,
        actor: &Actor,
        at: InTree,
        id: NodeId,
        expected: Option<i64>,
        _: NoParams,
    ) -> Result<(), StoreError> {
        attack_trees::delete_node(conn, actor, at.model, at.tree, id, expected)
    }
}

fn tree_ids(path: &(String, String)) -> Result<(ModelId, AttackTreeId), ApiError> {
    Ok((super::path_id(&path.0)?, super::path_id(&path.1)?))
}

/// A tree document; the read-only fields a GET returns are accepted and
/// ignored, so a GET can be sent back as it is.
fn tree_input(body: Value) -> Result<AttackTreeInput, ApiError> {
    let Value::Object(mut fields) = body else {
        return Err(ApiError::field("body", "an attack tree is a JSON object"));
    };
    for read_only in [
        "id",
        "model_id",
        "version",
        "created_at",
        "updated_at",
        "node_count",
    ] {
        fields.remove(read_only);
    }
    let bytes = serde_json::to_vec(&fields).map_err(|e| ApiError::Internal(e.to_string()))?;
    parse_json(&bytes)
}

list_params!(TreeParams sorted by AttackTreeSort { "name", "created_at", "updated_at" } {
});

list_params!(NodeParams sorted by TreeNodeSort { "label", "kind" } {
});

list_type!(AttackTreeList, AttackTreeSummary);
list_type!(TreeNodeList, TreeNode);

/// Every domain at the root and at each node (by id), the two attack paths, and whether sharing was evaluated exactly.
#[derive(Serialize, ToSchema)]
pub struct TreeEvaluation {
    pub root: NodeValues,
    pub nodes: BTreeMap<String, NodeValues>,
    /// Node ids of the cheapest attack, root first; empty when no attack succeeds for sure.
    pub cheapest_path: Vec<String>,
    /// Node ids of the most likely attack, root first.
    pub most_likely_path: Vec<String>,
    /// Every node's label, by id, to read the paths.
    pub labels: BTreeMap<String, String>,
    /// False when shared steps were too many to enumerate (bottom-up approximation).
    pub exact: bool,
    pub shared_steps: usize,
    pub explanation: Vec<String>,
}

/// Evaluates a stored tree with the domain engine.
async fn evaluation(
    state: &AppState,
    auth: &Auth,
    path: &(String, String),
) -> Result<
    (
        TreeEvaluation,
        Vec<palisade_domain::scoring::attack_tree::FlatNode>,
        Vec<usize>,
    ),
    ApiError,
> {
    let (model, id) = tree_ids(path)?;
    let org = auth.org.id;
    let (flat, ids, controls) = state
        .db(move |c| {
            let (_, flat, ids) = attack_trees::load_flat(c, org, model, id)?;
            let scope = palisade_store::models::ensure_visible(c, org, model)?;
            let controls = Control::all_in_model(c, scope)?;
            Ok((flat, ids, controls))
        })
        .await?;
    // Evaluation may spend up to WORK_LIMIT node evaluations on shared
    // steps: never on an async thread.
    let (result, flat, cheapest) = web::block(move || -> Result<_, ApiError> {
        let pointers: Vec<String> = ids.iter().map(|i| format!("/nodes/{i}")).collect();
        let tree = TreeForRisk {
            tree: Tree::build(flat.clone(), &pointers)?,
            node_index: ids
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), i))
                .collect(),
        };
        // As the register sees it: implemented and partial controls
        // realising defense nodes weaken the attacks they counter.
        let mut e = evaluate_defended(&tree, &controls, Stage::Residual);
        let realising: Vec<String> = controls
            .iter()
            .filter(|c| c.fields.status != ControlStatus::Planned)
            .filter(|c| {
                c.fields
                    .defense_node_ids
                    .iter()
                    .any(|n| tree.node_index.contains_key(&n.to_string()))
            })
            .map(|c| {
                format!(
                    "{} ({}, {} %)",
                    c.fields.name, c.fields.status, c.fields.effectiveness
                )
            })
            .collect();
        if !realising.is_empty() {
            e.explanation.insert(
                0,
                format!(
                    "defense nodes realised by controls: {}",
                    realising.join(", ")
                ),
            );
        }
        let name = |i: &usize| ids[*i].clone();
        let result = TreeEvaluation {
            root: e.root,
            nodes: e
                .nodes
                .iter()
                .enumerate()
                .map(|(i, v)| (ids[i].clone(), *v))
                .collect(),
            cheapest_path: e.cheapest_path.iter().map(name).collect(),
            most_likely_path: e.most_likely_path.iter().map(name).collect(),
            labels: flat
                .iter()
                .enumerate()
                .map(|(i, n)| (ids[i].clone(), n.label.clone()))
                .collect(),
            exact: e.exact,
            shared_steps: e.shared_steps,
            explanation: e.explanation,
        };
        Ok((result, flat, e.cheapest_path))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))??;
    Ok((result, flat, cheapest))
}

/// Evaluate the tree in every domain (cost, probability, time, skill, possible).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/evaluation", operation_id = "evaluateAttackTree", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id")),
    responses((status = 200, description = "Values at the root and every node, and the attack paths", body = TreeEvaluation)),
    security(("api_key" = [])))]
pub async fn evaluate_attack_tree(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (result, _, _) = evaluation(&state, &auth, &path).await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DiagramParams {
    /// `mermaid` (default), `dot` or `svg`.
    pub format: Option<DiagramFormat>,
}

/// Draw the tree; the cheapest attack path is highlighted.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/diagram", operation_id = "drawAttackTree", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"), DiagramParams),
    responses((status = 200, description = "The diagram: Mermaid or DOT text, or an SVG image", content((String = "text/plain"), (String = "text/vnd.graphviz"), (String = "image/svg+xml")))),
    security(("api_key" = [])))]
pub async fn draw_attack_tree(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    query: StrictQuery<DiagramParams>,
) -> Result<HttpResponse, ApiError> {
    let format = query.0.format.unwrap_or(DiagramFormat::Mermaid);
    let (_, flat, cheapest) = evaluation(&state, &auth, &path).await?;
    let body = web::block(move || Drawing::new(&flat, cheapest).render(format))
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?;
    let content_type = match format {
        DiagramFormat::Mermaid => "text/plain; charset=utf-8",
        DiagramFormat::Dot => "text/vnd.graphviz; charset=utf-8",
        DiagramFormat::Svg => "image/svg+xml",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .body(body))
}
