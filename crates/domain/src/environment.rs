//! Step 3: who and what interacts with the system, in which trust zones,
//! and the checks that turn into gaps in step 4.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::asset::{Asset, AssetKind, Classification};
use crate::ids::{AssetId, InteractionId, ModelId, PartyId, TrustZoneId};
use crate::progress::Check;
use crate::validation::ValidationErrors;

string_enum!(PartyKind {
    Customer => "customer",
    Employee => "employee",
    Administrator => "administrator",
    Partner => "partner",
    Vendor => "vendor",
    System => "system",
    Other => "other",
});

impl PartyKind {
    /// Third parties: their access is checked for agreements and assessments.
    pub fn is_third_party(self) -> bool {
        matches!(self, PartyKind::Partner | PartyKind::Vendor)
    }
}

string_enum!(TrustLevel {
    Untrusted => "untrusted",
    PartiallyTrusted => "partially_trusted",
    Trusted => "trusted",
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustZoneFields {
    pub name: String,
    /// 0 (no trust) to 100 (full trust).
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub trust_rating: i64,
    #[serde(default)]
    pub description: Option<String>,
}

impl TrustZoneFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        if !(0..=100).contains(&self.trust_rating) {
            e.add(
                "trust_rating",
                format!("must be 0 to 100 (got {})", self.trust_rating),
            );
        }
        e.check_optional_text("description", self.description.as_deref());
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustZone {
    pub id: TrustZoneId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: TrustZoneFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartyFields {
    pub name: String,
    pub kind: PartyKind,
    pub trust_level: TrustLevel,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub trust_zone_id: Option<TrustZoneId>,
    /// For partners and vendors: what they provide.
    #[serde(default)]
    pub services: Vec<String>,
    /// Assets of this model the party can reach.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub accessible_asset_ids: Vec<AssetId>,
    #[serde(default)]
    pub data_processing_agreement: Option<bool>,
    #[serde(default)]
    pub last_assessment_date: Option<NaiveDate>,
    #[serde(default)]
    pub last_assessment_result: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl PartyFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        e.check_name("name", &self.name);
        e.check_tags("services", &self.services);
        e.check_id_list("accessible_asset_ids", &self.accessible_asset_ids);
        e.check_optional_text(
            "last_assessment_result",
            self.last_assessment_result.as_deref(),
        );
        e.check_optional_text("description", self.description.as_deref());
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Party {
    pub id: PartyId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: PartyFields,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One end of an interaction: exactly one of an asset or a party.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Endpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub asset_id: Option<AssetId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<uuid::Uuid>))]
    pub party_id: Option<PartyId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InteractionFields {
    pub source: Endpoint,
    pub destination: Endpoint,
    #[serde(default)]
    pub purpose: Option<String>,
    /// Protocol or channel (`https`, `sftp`, `phone`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Data assets (kind `data`) of this model the flow carries.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub data_asset_ids: Vec<AssetId>,
    #[serde(default)]
    pub authenticated: bool,
    #[serde(default)]
    pub encrypted: bool,
    /// Either end starts the flow (peers), not only the source.
    #[serde(default)]
    pub bidirectional: bool,
}

impl InteractionFields {
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        for (name, end) in [("source", &self.source), ("destination", &self.destination)] {
            if end.asset_id.is_some() == end.party_id.is_some() {
                e.add(name, "give exactly one of asset_id or party_id");
            }
        }
        e.check_optional_text("purpose", self.purpose.as_deref());
        e.check_optional_name("protocol", self.protocol.as_deref());
        e.check_id_list("data_asset_ids", &self.data_asset_ids);
        e.finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interaction {
    pub id: InteractionId,
    pub model_id: ModelId,
    #[serde(flatten)]
    pub fields: InteractionFields,
    /// Derived: the ends sit in different trust zones (an end in no zone is a zone of its own).
    pub crosses_trust_boundary: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Whether a flow between two ends crosses a trust boundary. An end with no
/// zone counts as its own zone, so it crosses unless both ends are the same.
pub fn crosses_boundary(
    source: (Endpoint, Option<TrustZoneId>),
    destination: (Endpoint, Option<TrustZoneId>),
) -> bool {
    match (source.1, destination.1) {
        (Some(a), Some(b)) => a != b,
        _ => source.0 != destination.0,
    }
}

/// Everything step 3's summary and checks read.
pub struct EnvironmentFacts<'a> {
    pub assets: &'a [Asset],
    pub zones: &'a [TrustZone],
    pub parties: &'a [Party],
    pub interactions: &'a [Interaction],
    /// "Now", so the assessment age is computed purely.
    pub today: NaiveDate,
}

/// Assessments older than this do not count.
pub const ASSESSMENT_MAX_AGE_DAYS: i64 = 365;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThirdPartyExposure {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub party_id: PartyId,
    pub name: String,
    pub kind: PartyKind,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub accessible_asset_ids: Vec<AssetId>,
    /// The most sensitive classification among what it can reach.
    pub highest_classification: Option<Classification>,
    pub data_processing_agreement: Option<bool>,
    pub last_assessment_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoundaryFlow {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub interaction_id: InteractionId,
    pub source: Endpoint,
    pub destination: Endpoint,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<uuid::Uuid>))]
    pub data_asset_ids: Vec<AssetId>,
    pub highest_classification: Option<Classification>,
    pub authenticated: bool,
    pub encrypted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnvironmentSummary {
    pub parties_by_kind: BTreeMap<String, usize>,
    pub parties_by_trust_level: BTreeMap<String, usize>,
    pub third_parties: Vec<ThirdPartyExposure>,
    pub boundary_crossing_flows: Vec<BoundaryFlow>,
    /// The step's checks that fail, with the records involved.
    pub failed_checks: Vec<Check>,
}

fn highest(ids: &[AssetId], by_id: &HashMap<AssetId, &Asset>) -> Option<Classification> {
    ids.iter()
        .filter_map(|a| by_id.get(a).and_then(|a| a.fields.classification))
        .max()
}

pub fn checks(f: &EnvironmentFacts<'_>) -> Vec<Check> {
    let by_id: HashMap<AssetId, &Asset> = f.assets.iter().map(|a| (a.id, a)).collect();
    let mut interacting: HashSet<PartyId> = HashSet::new();
    for i in f.interactions {
        interacting.extend(i.fields.source.party_id);
        interacting.extend(i.fields.destination.party_id);
    }
    let silent: Vec<String> = f
        .parties
        .iter()
        .filter(|p| !interacting.contains(&p.id))
        .map(|p| p.id.to_string())
        .collect();

    let oldest = f.today - Duration::days(ASSESSMENT_MAX_AGE_DAYS);
    let unassessed: Vec<String> = f
        .parties
        .iter()
        .filter(|p| p.fields.kind.is_third_party())
        .filter(|p| {
            highest(&p.fields.accessible_asset_ids, &by_id).is_some_and(|c| c.is_sensitive())
        })
        .filter(|p| {
            p.fields.data_processing_agreement != Some(true)
                || p.fields.last_assessment_date.is_none_or(|d| d < oldest)
        })
        .map(|p| p.id.to_string())
        .collect();

    let exposed: Vec<String> = f
        .interactions
        .iter()
        .filter(|i| i.crosses_trust_boundary)
        .filter(|i| highest(&i.fields.data_asset_ids, &by_id).is_some_and(|c| c.is_sensitive()))
        .filter(|i| !(i.fields.authenticated && i.fields.encrypted))
        .map(|i| i.id.to_string())
        .collect();

    let wrong_data: Vec<String> = f
        .interactions
        .iter()
        .filter(|i| {
            i.fields.data_asset_ids.iter().any(|a| {
                by_id
                    .get(a)
                    .is_none_or(|a| a.fields.kind != AssetKind::Data)
            })
        })
        .map(|i| i.id.to_string())
        .collect();

    let check = |id: &'static str, refs: Vec<String>, ok: &str, bad: &str| Check {
        id,
        ok: refs.is_empty(),
        message: if refs.is_empty() {
            ok.to_string()
        } else {
            format!("{} {bad}", refs.len())
        },
        refs,
    };
    vec![
        check("environment.parties_interact", silent, "every party takes part in an interaction", "party(ies) take part in no interaction"),
        check(
            "environment.third_parties_assessed",
            unassessed,
            "every vendor or partner reaching confidential or restricted data has a data-processing agreement and an assessment from the last 12 months",
            "vendor(s) or partner(s) reach confidential or restricted data without a data-processing agreement or an assessment from the last 12 months",
        ),
        check(
            "environment.sensitive_flows_protected",
            exposed,
            "every boundary-crossing flow of confidential or restricted data is authenticated and encrypted",
            "boundary-crossing flow(s) carry confidential or restricted data without both authentication and encryption",
        ),
        check(
            "environment.flows_carry_data_assets",
            wrong_data,
            "every interaction carries only data assets of this model",
            "interaction(s) name carried data that is not a data asset of this model",
        ),
    ]
}

pub fn summarize(f: &EnvironmentFacts<'_>) -> EnvironmentSummary {
    let by_id: HashMap<AssetId, &Asset> = f.assets.iter().map(|a| (a.id, a)).collect();
    let mut parties_by_kind: BTreeMap<String, usize> =
        PartyKind::ALL.iter().map(|k| (k.to_string(), 0)).collect();
    let mut parties_by_trust_level: BTreeMap<String, usize> =
        TrustLevel::ALL.iter().map(|k| (k.to_string(), 0)).collect();
    for p in f.parties {
        *parties_by_kind
            .entry(p.fields.kind.to_string())
            .or_default() += 1;
        *parties_by_trust_level
            .entry(p.fields.trust_level.to_string())
            .or_default() += 1;
    }
    EnvironmentSummary {
        parties_by_kind,
        parties_by_trust_level,
        third_parties: f
            .parties
            .iter()
            .filter(|p| p.fields.kind.is_third_party())
            .map(|p| ThirdPartyExposure {
                party_id: p.id,
                name: p.fields.name.clone(),
                kind: p.fields.kind,
                accessible_asset_ids: p.fields.accessible_asset_ids.clone(),
                highest_classification: highest(&p.fields.accessible_asset_ids, &by_id),
                data_processing_agreement: p.fields.data_processing_agreement,
                last_assessment_date: p.fields.last_assessment_date,
            })
            .collect(),
        boundary_crossing_flows: f
            .interactions
            .iter()
            .filter(|i| i.crosses_trust_boundary)
            .map(|i| BoundaryFlow {
                interaction_id: i.id,
                source: i.fields.source,
                destination: i.fields.destination,
                data_asset_ids: i.fields.data_asset_ids.clone(),
                highest_classification: highest(&i.fields.data_asset_ids, &by_id),
                authenticated: i.fields.authenticated,
                encrypted: i.fields.encrypted,
            })
            .collect(),
        failed_checks: checks(f).into_iter().filter(|c| !c.ok).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_for_every_zone_combination() {
        let a = Endpoint {
            asset_id: Some(AssetId::generate()),
            party_id: None,
        };
        let b = Endpoint {
            asset_id: None,
            party_id: Some(PartyId::generate()),
        };
        let (z1, z2) = (Some(TrustZoneId::generate()), Some(TrustZoneId::generate()));
        assert!(!crosses_boundary((a, z1), (b, z1)), "same zone");
        assert!(crosses_boundary((a, z1), (b, z2)), "different zones");
        assert!(crosses_boundary((a, z1), (b, None)), "one end in no zone");
        assert!(
            crosses_boundary((a, None), (b, z1)),
            "the other end in no zone"
        );
        assert!(
            crosses_boundary((a, None), (b, None)),
            "two ends, each its own zone"
        );
        assert!(
            !crosses_boundary((a, None), (a, None)),
            "an end with itself"
        );
    }

    #[test]
    fn endpoints_need_exactly_one_reference() {
        let f: InteractionFields =
            serde_json::from_value(serde_json::json!({"source": {}, "destination": {
            "asset_id": AssetId::generate(), "party_id": PartyId::generate()}}))
            .unwrap();
        let fields: Vec<_> = f
            .validate()
            .unwrap_err()
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["source", "destination"]);
    }
}
