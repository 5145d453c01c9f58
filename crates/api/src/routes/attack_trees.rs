//! Step 2 — attack trees: whole documents, single nodes, evaluation, diagrams.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use palisade_domain::diagram::{DiagramFormat, Drawing};
use palisade_domain::ids::{AttackTreeId, ModelId, NodeId};
use palisade_domain::risk::{evaluate_defended, Stage, TreeForRisk};
use palisade_domain::scoring::attack_tree::{NodeValues, Tree};
use palisade_domain::scoring::residual::ControlStatus;
use palisade_domain::tree::{AttackTree, AttackTreeInput, AttackTreeSummary, NodeFields, TreeNode};
use palisade_store::attack_trees;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Auth, Editor};
use crate::error::ApiError;
use crate::extract::{parse_json, IdempotencyKey, IfMatch, JsonBody, StrictQuery};
use crate::patch;
use crate::respond::{create_once, list_request, list_type, sort_keys, versioned, Created};
use crate::state::AppState;

use super::{path_id, resource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    let base = "/api/v1/models/{model_id}/attack-trees";
    cfg.service(
        resource(base)
            .route(web::post().to(create_attack_tree))
            .route(web::get().to(list_attack_trees)),
    )
    .service(
        resource(&format!("{base}/{{tree_id}}"))
            .route(web::get().to(get_attack_tree))
            .route(web::put().to(replace_attack_tree))
            .route(web::delete().to(delete_attack_tree)),
    )
    .service(
        resource(&format!("{base}/{{tree_id}}/evaluation"))
            .route(web::get().to(evaluate_attack_tree)),
    )
    .service(
        resource(&format!("{base}/{{tree_id}}/diagram")).route(web::get().to(draw_attack_tree)),
    )
    .service(
        resource(&format!("{base}/{{tree_id}}/nodes"))
            .route(web::post().to(create_node))
            .route(web::get().to(list_nodes)),
    )
    .service(
        resource(&format!("{base}/{{tree_id}}/nodes/{{node_id}}"))
            .route(web::get().to(get_node))
            .route(web::patch().to(update_node))
            .route(web::delete().to(delete_node)),
    );
}

fn tree_ids(path: &(String, String)) -> Result<(ModelId, AttackTreeId), ApiError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}

fn node_ids(path: &(String, String, String)) -> Result<(ModelId, AttackTreeId, NodeId), ApiError> {
    Ok((path_id(&path.0)?, path_id(&path.1)?, path_id(&path.2)?))
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

/// Create an attack tree from its nested form, validated whole before anything is written.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/attack-trees", operation_id = "createAttackTree", tag = "threats",
    request_body = AttackTreeInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The tree, with an id on every node", body = AttackTree,
        headers(("Location" = String, description = "The tree's URL"), ("ETag" = String, description = "The tree's version")))),
    security(("api_key" = [])))]
pub async fn create_attack_tree(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    model_id: web::Path<String>,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let input = tree_input(body.value)?;
    let actor = auth.actor();
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let tree = state
            .db(move |c| attack_trees::create(c, &actor, model, &input))
            .await?;
        Created::versioned(
            format!("/api/v1/models/{model}/attack-trees/{}", tree.id),
            &tree,
        )
    })
    .await
}

sort_keys!(AttackTreeSort { "name", "created_at", "updated_at" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TreeParams {
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<AttackTreeSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

sort_keys!(TreeNodeSort { "label", "kind" });

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NodeParams {
    /// The order; ties go by id.
    #[param(inline)]
    pub sort: Option<TreeNodeSort>,
    /// `true` adds `total`: how many records the filters select.
    pub count: Option<bool>,
    /// Page size, 1–500 (default 50).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

list_type!(AttackTreeList, AttackTreeSummary);
list_type!(TreeNodeList, TreeNode);

/// List the model's attack trees (without their nodes).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees", operation_id = "listAttackTrees", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), TreeParams),
    responses((status = 200, description = "A page of trees", body = AttackTreeList)),
    security(("api_key" = [])))]
pub async fn list_attack_trees(
    state: web::Data<AppState>,
    auth: Auth,
    model_id: web::Path<String>,
    query: StrictQuery<TreeParams>,
) -> Result<HttpResponse, ApiError> {
    let model: ModelId = path_id(&model_id)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let org = auth.org.id;
    let list = state
        .db(move |c| attack_trees::list(c, org, model, &page))
        .await?;
    Ok(HttpResponse::Ok().json(AttackTreeList::from(list)))
}

/// Get an attack tree in its nested form.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}", operation_id = "getAttackTree", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id")),
    responses((status = 200, description = "The tree", body = AttackTree, headers(("ETag" = String, description = "The tree's version")))),
    security(("api_key" = [])))]
pub async fn get_attack_tree(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = tree_ids(&path)?;
    let org = auth.org.id;
    let tree = state
        .db(move |c| attack_trees::get(c, org, model, id))
        .await?;
    Ok(versioned(&tree))
}

/// Replace a tree whole. Nodes sent with their `id` keep it; sending back
/// what GET returned changes nothing.
#[utoipa::path(put, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}", operation_id = "replaceAttackTree", tag = "threats",
    request_body = AttackTreeInput,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 200, description = "The tree as stored", body = AttackTree, headers(("ETag" = String, description = "The tree's version")))),
    security(("api_key" = [])))]
pub async fn replace_attack_tree(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = tree_ids(&path)?;
    let input = tree_input(body.value)?;
    let actor = auth.actor();
    let tree = state
        .db(move |c| attack_trees::replace(c, &actor, model, id, if_match.0, &input))
        .await?;
    Ok(versioned(&tree))
}

/// Delete a tree and all its nodes.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}", operation_id = "deleteAttackTree", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"),
           ("If-Match" = Option<String>, Header, description = "The ETag last seen; a stale one is refused with 412")),
    responses((status = 204, description = "The tree is deleted")),
    security(("api_key" = [])))]
pub async fn delete_attack_tree(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, id) = tree_ids(&path)?;
    let actor = auth.actor();
    state
        .db(move |c| attack_trees::delete(c, &actor, model, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

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
            let controls = palisade_store::controls::all_in_model(c, scope)?;
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

/// Add one node under a node of the tree.
#[utoipa::path(post, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes", operation_id = "createAttackTreeNode", tag = "threats",
    request_body = NodeFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"),
           ("If-Match" = Option<String>, Header, description = "The tree's ETag last seen"),
           ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried create return the first response")),
    responses((status = 201, description = "The node", body = TreeNode,
        headers(("Location" = String, description = "The node's URL"), ("ETag" = String, description = "The tree's new version")))),
    security(("api_key" = [])))]
pub async fn create_node(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    idempotency_key: IdempotencyKey,
    req: HttpRequest,
    body: JsonBody<NodeFields>,
) -> Result<HttpResponse, ApiError> {
    let (model, tree) = tree_ids(&path)?;
    let actor = auth.actor();
    let fields = body.value;
    create_once(&state, &auth, idempotency_key, &req, &body.raw, || async {
        let node = state
            .db(move |c| attack_trees::add_node(c, &actor, model, tree, if_match.0, &fields))
            .await?;
        Created::versioned(
            format!(
                "/api/v1/models/{model}/attack-trees/{tree}/nodes/{}",
                node.id
            ),
            &node,
        )
    })
    .await
}

/// List the tree's nodes (flat, by id).
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes", operation_id = "listAttackTreeNodes", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"), NodeParams),
    responses((status = 200, description = "A page of nodes", body = TreeNodeList)),
    security(("api_key" = [])))]
pub async fn list_nodes(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    query: StrictQuery<NodeParams>,
) -> Result<HttpResponse, ApiError> {
    let (model, tree) = tree_ids(&path)?;
    let q = query.0;
    let page = list_request(q.limit, q.cursor.as_deref(), q.sort.map(|s| s.0), q.count)?;
    let org = auth.org.id;
    let list = state
        .db(move |c| attack_trees::list_nodes(c, org, model, tree, &page))
        .await?;
    Ok(HttpResponse::Ok().json(TreeNodeList::from(list)))
}

/// Get one node.
#[utoipa::path(get, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes/{node_id}", operation_id = "getAttackTreeNode", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"), ("node_id" = uuid::Uuid, Path, description = "The node's id")),
    responses((status = 200, description = "The node", body = TreeNode, headers(("ETag" = String, description = "The tree's version")))),
    security(("api_key" = [])))]
pub async fn get_node(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (model, tree, node) = node_ids(&path)?;
    let org = auth.org.id;
    let found = state
        .db(move |c| attack_trees::get_node(c, org, model, tree, node))
        .await?;
    Ok(versioned(&found))
}

/// Change a node (JSON merge patch); a new `parent_id` moves its subtree.
#[utoipa::path(patch, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes/{node_id}", operation_id = "updateAttackTreeNode", tag = "threats",
    request_body = NodeFields,
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"), ("node_id" = uuid::Uuid, Path, description = "The node's id"),
           ("If-Match" = Option<String>, Header, description = "The tree's ETag last seen")),
    responses((status = 200, description = "The node", body = TreeNode, headers(("ETag" = String, description = "The tree's new version")))),
    security(("api_key" = [])))]
pub async fn update_node(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String, String)>,
    if_match: IfMatch,
    body: JsonBody<Value>,
) -> Result<HttpResponse, ApiError> {
    let (model, tree, node) = node_ids(&path)?;
    let actor = auth.actor();
    let doc = body.value;
    let updated = state
        .db(move |c| {
            attack_trees::update_node(c, &actor, model, tree, node, if_match.0, |cur| {
                Ok(patch::apply(cur, doc.clone())?)
            })
        })
        .await?;
    Ok(versioned(&updated))
}

/// Delete a node and its subtree.
#[utoipa::path(delete, path = "/api/v1/models/{model_id}/attack-trees/{tree_id}/nodes/{node_id}", operation_id = "deleteAttackTreeNode", tag = "threats",
    params(("model_id" = uuid::Uuid, Path, description = "The model's id"), ("tree_id" = uuid::Uuid, Path, description = "The tree's id"), ("node_id" = uuid::Uuid, Path, description = "The node's id"),
           ("If-Match" = Option<String>, Header, description = "The tree's ETag last seen")),
    responses((status = 204, description = "The node and everything under it are deleted")),
    security(("api_key" = [])))]
pub async fn delete_node(
    state: web::Data<AppState>,
    Editor(auth): Editor,
    path: web::Path<(String, String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let (model, tree, node) = node_ids(&path)?;
    let actor = auth.actor();
    state
        .db(move |c| attack_trees::delete_node(c, &actor, model, tree, node, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
