//! Step 1's summary: what is in scope, how it is classified, and what is
//! still missing a classification or an owner.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::asset::{Asset, AssetKind, Classification};
use crate::ids::AssetId;

/// A pointer to an asset in a list of findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssetRef {
    pub id: AssetId,
    pub name: String,
}

impl From<&Asset> for AssetRef {
    fn from(a: &Asset) -> Self {
        AssetRef {
            id: a.id,
            name: a.fields.name.clone(),
        }
    }
}

/// Counts cover in-scope assets; every kind and classification is present,
/// with zero where there is none, so clients need no special cases.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeSummary {
    pub total_assets: usize,
    pub in_scope: usize,
    pub out_of_scope: usize,
    /// In-scope assets per kind.
    pub by_kind: BTreeMap<String, usize>,
    /// In-scope assets per classification, with `unclassified`.
    pub by_classification: BTreeMap<String, usize>,
    /// In-scope assets with no classification.
    pub unclassified: Vec<AssetRef>,
    /// In-scope assets with no owner.
    pub unowned: Vec<AssetRef>,
}

pub const UNCLASSIFIED: &str = "unclassified";

pub fn summarize(assets: &[Asset]) -> ScopeSummary {
    let mut by_kind: BTreeMap<String, usize> =
        AssetKind::ALL.iter().map(|k| (k.to_string(), 0)).collect();
    let mut by_classification: BTreeMap<String, usize> = Classification::ALL
        .iter()
        .map(|c| (c.to_string(), 0))
        .chain([(UNCLASSIFIED.to_string(), 0)])
        .collect();
    let mut unclassified = Vec::new();
    let mut unowned = Vec::new();
    let mut in_scope = 0;

    for asset in assets.iter().filter(|a| a.fields.in_scope) {
        in_scope += 1;
        *by_kind.entry(asset.fields.kind.to_string()).or_default() += 1;
        let class = match asset.fields.classification {
            Some(c) => c.as_str(),
            None => {
                unclassified.push(AssetRef::from(asset));
                UNCLASSIFIED
            }
        };
        *by_classification.entry(class.to_string()).or_default() += 1;
        if !asset.fields.is_owned() {
            unowned.push(AssetRef::from(asset));
        }
    }

    ScopeSummary {
        total_assets: assets.len(),
        in_scope,
        out_of_scope: assets.len() - in_scope,
        by_kind,
        by_classification,
        unclassified,
        unowned,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::ModelId;
    use chrono::Utc;

    pub(crate) fn asset(json: &str) -> Asset {
        Asset {
            id: AssetId::generate(),
            model_id: ModelId::generate(),
            fields: serde_json::from_str(json).unwrap(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn counts_in_scope_assets_and_lists_what_is_missing() {
        let assets = [
            asset(r#"{"name":"db","kind":"data","classification":"restricted","owner":"dba"}"#),
            asset(r#"{"name":"api","kind":"service","owner":"team"}"#),
            asset(r#"{"name":"laptop","kind":"device","classification":"internal"}"#),
            asset(r#"{"name":"old","kind":"data","in_scope":false}"#),
        ];
        let s = summarize(&assets);
        assert_eq!((s.total_assets, s.in_scope, s.out_of_scope), (4, 3, 1));
        assert_eq!(
            s.by_kind["data"], 1,
            "the out-of-scope data asset is not counted"
        );
        assert_eq!(s.by_kind["service"], 1);
        assert_eq!(s.by_kind["facility"], 0);
        assert_eq!(s.by_classification["restricted"], 1);
        assert_eq!(s.by_classification["internal"], 1);
        assert_eq!(s.by_classification[UNCLASSIFIED], 1);
        assert_eq!(
            s.unclassified
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["api"]
        );
        assert_eq!(
            s.unowned
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["laptop"]
        );
    }
}
