//! Tenancy in the types: a model-scoped read takes a [`Scoped`] model,
//! which only `models::ensure_visible` (for a request's
//! organisation) and the job runner (for the model a job row names) can
//! make. A function that reads everything of a model cannot be handed
//! another organisation's model by mistake.

use palisade_domain::ids::{ModelId, OrgId};

/// A model the organisation may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scoped {
    org: OrgId,
    model: ModelId,
}

impl Scoped {
    /// Only for what the store itself has read (a job's own row).
    pub(crate) fn trusted(org: OrgId, model: ModelId) -> Self {
        Scoped { org, model }
    }

    pub fn org(self) -> OrgId {
        self.org
    }

    pub fn model(self) -> ModelId {
        self.model
    }
}
