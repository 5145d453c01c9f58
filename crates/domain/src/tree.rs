//! Step 2: attack trees as stored records — the nested document clients
//! read and write, and the nodes they edit one by one. The maths is in
//! `scoring::attack_tree`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AssetId, AttackTreeId, ModelId, NodeId, ThreatActorId};
use crate::scoring::attack_tree::{Attributes, NestedNode, NodeKind};
use crate::validation::ValidationErrors;

/// The deepest tree accepted, the root being level 1. Nested JSON is parsed
/// with a nesting limit of 128, and each tree level takes two (the node and
/// its `children`), so any tree Palisade stores can be read and written back.
pub const MAX_DEPTH: usize = 60;
/// The most nodes a stored tree holds: what one validation, evaluation or
/// drawing may have to walk (10^5 nodes evaluate in about 11 ms; trees
/// grown node by node have no body limit to bound them).
pub const MAX_NODES: usize = 100_000;

string_enum!(NodeLink {
    Child => "child",
    Countermeasure => "countermeasure",
});

impl Default for NodeLink {
    /// A node hangs from its parent as a child unless it is a countermeasure.
    fn default() -> Self {
        NodeLink::Child
    }
}

/// `POST …/attack-trees` and `PUT …/attack-trees/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttackTreeInput {
    pub name: String,
    #[serde(default)]
    pub goal: Option<String>,
    /// An asset of the same model.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub target_asset_id: Option<AssetId>,
    /// The tree. Nodes that carry an `id` keep it on `PUT` (so a `GET` can be
    /// sent back unchanged); nodes without one get a new id.
    pub root: NestedNode,
}

impl AttackTreeInput {
    pub fn validate_header(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        e.check_optional_text("goal", self.goal.as_deref());
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttackTree {
    pub id: AttackTreeId,
    pub model_id: ModelId,
    pub name: String,
    pub goal: Option<String>,
    pub target_asset_id: Option<AssetId>,
    pub root: NestedNode,
    pub node_count: usize,
    /// Increases with every change to the tree or any of its nodes.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A tree as listed, without its nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttackTreeSummary {
    pub id: AttackTreeId,
    pub model_id: ModelId,
    pub name: String,
    pub goal: Option<String>,
    pub target_asset_id: Option<AssetId>,
    pub node_count: usize,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable fields of one node (`POST …/nodes`, merged by `PATCH`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeFields {
    /// The node this one hangs from; changing it moves the subtree.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub parent_id: Option<NodeId>,
    /// `child` (the default) or `countermeasure`.
    #[serde(default)]
    pub link: NodeLink,
    /// Place among the parent's children, from 0; the end when left out.
    #[serde(default)]
    pub position: Option<usize>,
    pub kind: NodeKind,
    pub label: String,
    #[serde(default)]
    pub attributes: Attributes,
    #[serde(default)]
    pub step: Option<String>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub actor_id: Option<ThreatActorId>,
}

/// One stored node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TreeNode {
    pub id: NodeId,
    pub tree_id: AttackTreeId,
    #[serde(flatten)]
    pub fields: NodeFields,
    /// The tree's version: nodes are versioned with their tree.
    pub version: i64,
}
