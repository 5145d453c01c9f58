//! Interchange: model files of other tools in (Open Threat Model, OWASP
//! Threat Dragon v2, Threagile) and our own document in and out, OTM out.
//! An import reads the file within bounds, maps every element to the
//! records it becomes and validates them all before anything is written;
//! the result is a plan the store writes in one transaction, and a report
//! of what was dropped or approximated. `docs/interchange.md` has the
//! mapping tables.

pub mod bounded;
mod integrity;
mod json;
pub mod otm;
mod plan;
mod ratings;
mod source;
mod threagile;
mod threat_dragon;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use bounded::Syntax;
pub use plan::{ImportPlan, PlannedTree};
pub use ratings::{cia_level, cia_rating, nist_level, nist_rating};

use crate::validation::ValidationErrors;

string_enum!(
    /// The formats a model can be imported from.
    ImportFormat {
        Otm => "otm",
        ThreatDragon => "threat-dragon",
        Threagile => "threagile",
        Json => "json",
    }
);

string_enum!(
    /// The formats a model can be exported to.
    ExportFormat {
        Otm => "otm",
        Json => "json",
    }
);

/// The most records of one kind a file may hold, checked before mapping.
pub const MAX_RECORDS: usize = 100_000;
/// The most notes a report lists; the rest are counted.
pub const MAX_NOTES: usize = 1000;

string_enum!(
    /// What happened to an element that did not map exactly.
    NoteKind {
        Dropped => "dropped",
        Approximated => "approximated",
    }
);

/// One element that was dropped or approximated, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportNote {
    /// A JSON pointer into the imported file.
    pub pointer: String,
    pub kind: NoteKind,
    pub message: String,
}

/// How many records of each kind the import created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportCounts {
    pub trust_zones: usize,
    pub assets: usize,
    pub parties: usize,
    pub threat_actors: usize,
    pub attack_trees: usize,
    pub interactions: usize,
    pub threats: usize,
    pub controls: usize,
    pub treatments: usize,
    pub evaluation_entries: usize,
}

/// What an import did: counts per record kind and every element dropped
/// or approximated.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportReport {
    pub format: ImportFormat,
    pub counts: ImportCounts,
    /// The first `MAX_NOTES` (1000) notes, in file order.
    pub notes: Vec<ImportNote>,
    /// Notes past the first 1000, counted only.
    pub notes_omitted: usize,
}

/// Why a file imports nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// Not well-formed JSON or YAML.
    #[error("the file could not be read: {0}")]
    Unreadable(String),
    /// Every problem found, each named by a JSON pointer into the file.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

/// Reads `body` as `format` and maps it to a plan of new records, all
/// validated, dated `now`; nothing is written here.
pub fn import(
    format: ImportFormat,
    body: &[u8],
    syntax: Syntax,
    now: DateTime<Utc>,
) -> Result<(ImportPlan, ImportReport), ImportError> {
    let value = bounded::read(body, syntax).map_err(|e| match e {
        bounded::ReadError::Syntax { detail } => ImportError::Unreadable(detail),
        bounded::ReadError::Bound { pointer, message } => {
            ImportError::Invalid(ValidationErrors::single(pointer, message))
        }
    })?;
    let mut b = plan::Builder::new(now);
    let root = source::Node::root(&value);
    match format {
        ImportFormat::Otm => otm::import(root, &mut b),
        ImportFormat::ThreatDragon => threat_dragon::import(root, &mut b),
        ImportFormat::Threagile => threagile::import(root, &mut b),
        ImportFormat::Json => json::import(root, &mut b),
    }
    b.finish(format)
}

/// How deep each element nests, given each one's parent (an index), in
/// one pass with memory: `None` for an element on a cycle or under one.
/// Linear, so a chain of 100 000 nested elements costs no more than a
/// flat list.
pub(crate) fn nesting(parent_of: &[Option<usize>]) -> Vec<Option<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done(Option<usize>),
    }
    let mut mark = vec![Mark::New; parent_of.len()];
    let mut path = Vec::new();
    for start in 0..parent_of.len() {
        let mut k = start;
        // Walk up to a known element, a root, or an element of this walk
        // (a cycle); `next` is the depth of the last element walked.
        let mut next = loop {
            match mark[k] {
                Mark::Done(d) => break d.map(|d| d + 1),
                Mark::Open => break None,
                Mark::New => {
                    mark[k] = Mark::Open;
                    path.push(k);
                    match parent_of[k] {
                        Some(p) if p < parent_of.len() => k = p,
                        _ => break Some(0),
                    }
                }
            }
        };
        // Back down the walk, each one deeper than the one above it.
        while let Some(k) = path.pop() {
            mark[k] = Mark::Done(next);
            next = next.map(|d| d + 1);
        }
    }
    mark.into_iter()
        .map(|m| match m {
            Mark::Done(d) => d,
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::nesting;

    #[test]
    fn nesting_is_linear_and_finds_cycles() {
        assert_eq!(
            nesting(&[None, Some(0), Some(1), Some(0)]),
            vec![Some(0), Some(1), Some(2), Some(1)]
        );
        // 2 → 3 → 2 is a cycle; 4 hangs under it.
        assert_eq!(
            nesting(&[None, Some(0), Some(3), Some(2), Some(2)]),
            vec![Some(0), Some(1), None, None, None]
        );
        let chain: Vec<Option<usize>> = (0..100_000usize).map(|i| i.checked_sub(1)).collect();
        assert_eq!(nesting(&chain)[99_999], Some(99_999));
        let reversed: Vec<Option<usize>> = (0..100_000usize)
            .map(|i| (i < 99_999).then_some(i + 1))
            .collect();
        assert_eq!(nesting(&reversed)[0], Some(99_999));
    }
}
