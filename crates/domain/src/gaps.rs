//! Step 4's gaps: derived from the records, never typed in.

use std::collections::HashSet;

use serde::Serialize;

use crate::asset::Asset;
use crate::check::Check;
use crate::risk::RiskRow;
use crate::scoring::residual::ControlStatus;
use crate::severity::Severity;
use crate::threat::{Control, Threat};

string_enum!(GapKind {
    UnprotectedThreat => "unprotected_threat",
    UncontrolledSensitiveAsset => "uncontrolled_sensitive_asset",
    EnvironmentCheck => "environment_check",
    IdleControl => "idle_control",
    ExpiredAcceptance => "expired_acceptance",
});

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    pub kind: GapKind,
    pub message: String,
    /// The ids of the records involved.
    pub refs: Vec<String>,
}

pub struct GapFacts<'a> {
    pub register: &'a [RiskRow],
    pub threats: &'a [Threat],
    pub controls: &'a [Control],
    pub assets: &'a [Asset],
    /// Step 3's checks.
    pub environment_checks: &'a [Check],
    /// The threats' current treatments (step 5).
    pub treatments: &'a [crate::treatment::Treatment],
}

pub fn gaps(f: &GapFacts<'_>) -> Vec<Gap> {
    let mut out = Vec::new();
    let implemented_on: HashSet<String> = f
        .controls
        .iter()
        .filter(|c| c.fields.status == ControlStatus::Implemented)
        .flat_map(|c| c.fields.threat_ids.iter().map(|t| t.to_string()))
        .collect();
    for row in f
        .register
        .iter()
        .filter(|r| r.residual_severity >= Severity::High)
    {
        if !implemented_on.contains(&row.threat_id.to_string()) {
            out.push(Gap {
                kind: GapKind::UnprotectedThreat,
                message: format!(
                    "{:?} has {} residual risk and no implemented control",
                    row.title, row.residual_severity
                ),
                refs: vec![row.threat_id.to_string()],
            });
        }
    }
    // An asset is controlled by a control naming it, or covering a threat to it.
    let mut controlled: HashSet<String> = f
        .controls
        .iter()
        .flat_map(|c| c.fields.asset_ids.iter().map(|a| a.to_string()))
        .collect();
    let covered_threats: HashSet<String> = f
        .controls
        .iter()
        .flat_map(|c| c.fields.threat_ids.iter().map(|t| t.to_string()))
        .collect();
    for t in f
        .threats
        .iter()
        .filter(|t| covered_threats.contains(&t.id.to_string()))
    {
        controlled.extend(t.fields.asset_ids.iter().map(|a| a.to_string()));
    }
    for a in f
        .assets
        .iter()
        .filter(|a| a.fields.in_scope && a.fields.classification.is_some_and(|c| c.is_sensitive()))
    {
        if !controlled.contains(&a.id.to_string()) {
            out.push(Gap {
                kind: GapKind::UncontrolledSensitiveAsset,
                message: format!(
                    "{:?} is {} and no control protects it",
                    a.fields.name,
                    a.fields.classification.map_or("", |c| c.as_str())
                ),
                refs: vec![a.id.to_string()],
            });
        }
    }
    for check in f.environment_checks.iter().filter(|c| !c.ok) {
        out.push(Gap {
            kind: GapKind::EnvironmentCheck,
            message: format!("{}: {}", check.id, check.message),
            refs: check.refs.clone(),
        });
    }
    for c in f.controls.iter().filter(|c| {
        c.fields.threat_ids.is_empty()
            && c.fields.asset_ids.is_empty()
            && c.fields.defense_node_ids.is_empty()
    }) {
        out.push(Gap {
            kind: GapKind::IdleControl,
            message: format!("{:?} covers no threat, asset or defense", c.fields.name),
            refs: vec![c.id.to_string()],
        });
    }
    // An acceptance past its expiry leaves its threat open again.
    for t in f.treatments.iter().filter(|t| {
        t.superseded_by.is_none() && t.status == crate::treatment::TreatmentStatus::Expired
    }) {
        if let crate::treatment::Plan::Accept { expires_on, .. } = &t.fields.plan {
            let title = f
                .threats
                .iter()
                .find(|th| th.id == t.fields.threat_id)
                .map_or(String::new(), |th| format!("{:?} ", th.fields.title));
            out.push(Gap {
                kind: GapKind::ExpiredAcceptance,
                message: format!(
                    "the acceptance of {title}expired on {expires_on}: decide on the threat again"
                ),
                refs: vec![t.fields.threat_id.to_string(), t.id.to_string()],
            });
        }
    }
    out
}
