//! Threagile YAML: data assets, technical assets (external entities become
//! parties), trust boundaries (nested ones flattened: an asset is in the
//! innermost), communication links, individual risk categories with their
//! risks, and the risk tracking that matches them. Threagile's built-in
//! risk rules run in Threagile, not here: tracking of their risks is
//! reported as dropped.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::plan::Builder;
use super::source::{clip, Node};
use crate::asset::{AssetFields, AssetKind, Cia, CiaLevel, Classification};
use crate::environment::{
    Endpoint, InteractionFields, PartyFields, PartyKind, TrustLevel, TrustZoneFields,
};
use crate::ids::{AssetId, ControlId, PartyId, ThreatId, TrustZoneId};
use crate::model::ModelFields;
use crate::scoring::nist::NistLevel;
use crate::scoring::residual::ControlStatus;
use crate::threat::{ControlCategory, ControlFields, ControlType, Stride, ThreatFields};
use crate::treatment::{Strategy, Ticket, TreatmentInput, TreatmentStatus};
use crate::validation::NAME_MAX;

/// A value of one of Threagile's enums; anything else is a problem.
fn pick<T: Copy>(b: &mut Builder, n: &Node, key: &str, table: &[(&str, T)]) -> Option<T> {
    let v = n.str(b, key)?;
    match table.iter().find(|(k, _)| *k == v) {
        Some((_, t)) => Some(*t),
        None => {
            let allowed: Vec<&str> = table.iter().map(|(k, _)| *k).collect();
            b.problem(n.ptr(key), format!("{v:?} is not one of {allowed:?}"));
            None
        }
    }
}

const CONFIDENTIALITY: [(&str, (Classification, CiaLevel)); 5] = [
    ("public", (Classification::Public, CiaLevel::Low)),
    ("internal", (Classification::Internal, CiaLevel::Low)),
    (
        "restricted",
        (Classification::Confidential, CiaLevel::Medium),
    ),
    (
        "confidential",
        (Classification::Confidential, CiaLevel::Medium),
    ),
    (
        "strictly-confidential",
        (Classification::Restricted, CiaLevel::High),
    ),
];

const CRITICALITY: [(&str, CiaLevel); 5] = [
    ("archive", CiaLevel::Low),
    ("operational", CiaLevel::Low),
    ("important", CiaLevel::Medium),
    ("critical", CiaLevel::High),
    ("mission-critical", CiaLevel::High),
];

const LIKELIHOOD: [(&str, NistLevel); 4] = [
    ("unlikely", NistLevel::Low),
    ("likely", NistLevel::Moderate),
    ("very-likely", NistLevel::High),
    ("frequent", NistLevel::VeryHigh),
];

const IMPACT: [(&str, NistLevel); 4] = [
    ("low", NistLevel::Low),
    ("medium", NistLevel::Moderate),
    ("high", NistLevel::High),
    ("very-high", NistLevel::VeryHigh),
];

const STRIDE: [(&str, Stride); 6] = [
    ("spoofing", Stride::Spoofing),
    ("tampering", Stride::Tampering),
    ("repudiation", Stride::Repudiation),
    ("information-disclosure", Stride::InformationDisclosure),
    ("denial-of-service", Stride::DenialOfService),
    ("elevation-of-privilege", Stride::ElevationOfPrivilege),
];

/// Trust ratings for boundary types: Threagile has none, so the more
/// isolating the boundary, the higher.
fn trust_of(kind: &str) -> i64 {
    match kind {
        "network-on-prem" | "network-dedicated-hoster" => 50,
        "network-cloud-provider" => 40,
        "network-cloud-security-group" | "network-virtual-lan" => 60,
        "network-policy-namespace-isolation" => 70,
        "execution-environment" => 80,
        _ => 50,
    }
}

/// Encrypted on the wire, by protocol name.
fn encrypted(protocol: &str) -> bool {
    protocol.contains("encrypted")
        || matches!(
            protocol,
            "https" | "wss" | "ssh" | "sftp" | "ftps" | "ldaps" | "scp"
        )
}

/// Text with HTML tags taken out (Threagile titles carry `<b>`).
fn plain(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Threagile element's classification and CIA from its three ratings
/// (each outside Threagile's values is a problem).
fn rated(b: &mut Builder, n: &Node) -> (Option<Classification>, Option<Cia>) {
    let conf = pick(b, n, "confidentiality", &CONFIDENTIALITY);
    let integrity = pick(b, n, "integrity", &CRITICALITY);
    let availability = pick(b, n, "availability", &CRITICALITY);
    let cia = match (conf, integrity, availability) {
        (Some(c), Some(i), Some(a)) => Some(Cia {
            confidentiality: c.1,
            integrity: i,
            availability: a,
        }),
        _ => None,
    };
    (conf.map(|c| c.0), cia)
}

fn strings(b: &mut Builder, n: &Node, key: &str) -> Vec<String> {
    n.strings(b, key)
        .into_iter()
        .map(|(_, s)| s.to_string())
        .collect()
}

/// Both ends a technical asset can be.
#[derive(Clone, Copy)]
enum Element {
    Asset(AssetId),
    Party(PartyId),
}

/// A tracking key (`category@a@b`, `*` for any one part) against a risk's id.
fn tracks(pattern: &str, id: &str) -> bool {
    let (p, i): (Vec<&str>, Vec<&str>) = (pattern.split('@').collect(), id.split('@').collect());
    p.len() == i.len() && p.iter().zip(&i).all(|(a, b)| *a == "*" || a == b)
}

pub(super) fn import(root: Node, b: &mut Builder) {
    if !root.object(b) {
        return;
    }
    let title = root.req_str(b, "title").unwrap_or_default();
    let description = root
        .get("business_overview")
        .and_then(|o| o.text(b, "description"))
        .or_else(|| root.text(b, "management_summary_comment"))
        .map(plain);
    let tags = strings(b, &root, "tags");
    b.model(
        "",
        ModelFields {
            name: title.to_string(),
            description,
            risk_appetite: Default::default(),
            tags,
        },
    );
    let author = root
        .get("author")
        .and_then(|a| a.text(b, "name"))
        .map(str::to_string);
    for key in [
        "questions",
        "abuse_cases",
        "security_requirements",
        "shared_runtimes",
    ] {
        if root
            .get(key)
            .is_some_and(|n| n.v.as_object().is_some_and(|m| !m.is_empty()))
        {
            b.dropped(&root.ptr(key), format!("{key} are not kept"));
        }
    }

    // Every reference names its kind by where it stands (`target` a
    // technical asset, `data_assets_sent` a data asset…), so an id is
    // unique within its kind, as Threagile itself checks it.
    let mut seen: HashMap<(&'static str, String), String> = HashMap::new();
    let mut claim = |b: &mut Builder, n: &Node, kind: &'static str| -> Option<String> {
        let id = n.req_str(b, "id")?.to_string();
        if let Some(first) = seen.get(&(kind, id.clone())) {
            b.problem(n.ptr("id"), format!("id {id:?} is also the id of {first}"));
            return None;
        }
        seen.insert((kind, id.clone()), n.at.clone());
        Some(id)
    };

    // Trust boundaries, and for each technical asset the innermost one.
    let boundaries = root.entries(b, "trust_boundaries");
    let mut zone_ids: HashMap<String, TrustZoneId> = HashMap::new();
    let mut inside: Vec<(String, String, String)> = Vec::new();
    let mut parent: HashMap<String, String> = HashMap::new();
    for (name, n) in &boundaries {
        if !n.object(b) {
            continue;
        }
        let Some(id) = claim(b, n, "trust boundary") else {
            continue;
        };
        let kind = n.str(b, "type").unwrap_or_default();
        b.approximated(
            &n.at,
            format!(
                "trust rating {} from the boundary type {kind:?}",
                trust_of(kind)
            ),
        );
        let description = n.text(b, "description").map(str::to_string);
        let zid = b.zone(
            &n.at,
            TrustZoneFields {
                name: name.to_string(),
                trust_rating: trust_of(kind),
                description,
            },
        );
        zone_ids.insert(id.clone(), zid);
        for (at, a) in n.strings(b, "technical_assets_inside") {
            inside.push((a.to_string(), id.clone(), at));
        }
        for (_, nested) in n.strings(b, "trust_boundaries_nested") {
            parent.insert(nested.to_string(), id.clone());
            b.approximated(
                &n.ptr("trust_boundaries_nested"),
                format!("{nested:?} is flattened: its assets are in it, not in {name:?}"),
            );
        }
    }
    // How deep each boundary nests, in one pass (a cycle is a problem).
    let ids: Vec<String> = boundaries
        .iter()
        .map(|(_, n)| {
            n.v.get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let index: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let parents: Vec<Option<usize>> = ids
        .iter()
        .map(|id| parent.get(id).and_then(|p| index.get(p.as_str()).copied()))
        .collect();
    let nested = super::nesting(&parents);
    let mut level: HashMap<String, usize> = HashMap::new();
    for ((id, d), (_, n)) in ids.iter().zip(&nested).zip(&boundaries) {
        match d {
            Some(d) => {
                level.insert(id.clone(), *d);
            }
            None => b.problem(
                n.ptr("trust_boundaries_nested"),
                "trust boundaries nest in a cycle",
            ),
        }
    }
    let depth = |z: &str| -> usize { level.get(z).copied().unwrap_or(0) };
    let mut zone_of: HashMap<String, (TrustZoneId, usize)> = HashMap::new();
    for (asset, boundary, _) in &inside {
        if let Some(z) = zone_ids.get(boundary) {
            let d = depth(boundary);
            if zone_of.get(asset).is_none_or(|(_, dd)| d > *dd) {
                zone_of.insert(asset.clone(), (*z, d));
            }
        }
    }

    let mut data_ids: HashMap<String, AssetId> = HashMap::new();
    for (name, n) in root.entries(b, "data_assets") {
        if !n.object(b) {
            continue;
        }
        let id = claim(b, &n, "data asset");
        let (classification, cia) = rated(b, &n);
        let mut meta = Map::new();
        for key in [
            "id",
            "usage",
            "origin",
            "quantity",
            "justification_cia_rating",
        ] {
            if let Some(v) = n.text(b, key) {
                meta.insert(key.into(), clip(v, 2000).into());
            }
        }
        let description = n.text(b, "description").map(str::to_string);
        let owner = n.text(b, "owner").map(|o| clip(o, NAME_MAX));
        let tags = strings(b, &n, "tags");
        let aid = b.asset(
            &n.at,
            AssetFields {
                name: clip(name, NAME_MAX),
                kind: AssetKind::Data,
                description,
                owner,
                classification,
                cia,
                business_criticality: None,
                in_scope: true,
                parent_id: None,
                trust_zone_id: None,
                tags,
                metadata: Map::from_iter([("threagile".to_string(), Value::Object(meta))]),
            },
        );
        if let Some(id) = id {
            data_ids.insert(id, aid);
        }
    }

    let technical = root.entries(b, "technical_assets");
    let mut elements: HashMap<String, Element> = HashMap::new();
    for (name, n) in &technical {
        if !n.object(b) {
            continue;
        }
        let Some(id) = claim(b, n, "technical asset") else {
            continue;
        };
        let kind = pick(
            b,
            n,
            "type",
            &[("external-entity", 0u8), ("process", 1), ("datastore", 2)],
        );
        let zone = zone_of.get(&id).map(|(z, _)| *z);
        let description = n.text(b, "description").map(str::to_string);
        let processed: Vec<AssetId> = n
            .strings(b, "data_assets_processed")
            .into_iter()
            .filter_map(|(at, d)| match data_ids.get(d) {
                Some(a) => Some(*a),
                None => {
                    b.problem(at, format!("no data asset {d:?} in the file"));
                    None
                }
            })
            .collect();
        for (at, d) in n.strings(b, "data_assets_stored") {
            if !data_ids.contains_key(d) {
                b.problem(at, format!("no data asset {d:?} in the file"));
            }
        }
        let element = if kind == Some(0) {
            let human = n.bool(b, "used_as_client_by_human").unwrap_or(false);
            let internet = n.bool(b, "internet").unwrap_or(false);
            let kind = match (human, internet) {
                (true, true) => PartyKind::Customer,
                (true, false) => PartyKind::Employee,
                _ => PartyKind::System,
            };
            b.approximated(&n.at, format!("an external entity becomes a party: kind {kind}, from whether a human uses it over the internet"));
            let services = n
                .text(b, "technology")
                .map(|t| vec![clip(t, 64)])
                .unwrap_or_default();
            Element::Party(b.party(
                &n.at,
                PartyFields {
                    name: clip(name, NAME_MAX),
                    kind,
                    trust_level: if internet {
                        TrustLevel::Untrusted
                    } else {
                        TrustLevel::PartiallyTrusted
                    },
                    trust_zone_id: zone,
                    services,
                    accessible_asset_ids: processed,
                    data_processing_agreement: None,
                    last_assessment_date: None,
                    last_assessment_result: None,
                    description,
                },
            ))
        } else {
            let (classification, cia) = rated(b, n);
            let mut meta = Map::new();
            meta.insert("id".into(), id.clone().into());
            for key in [
                "type",
                "technology",
                "size",
                "machine",
                "encryption",
                "usage",
            ] {
                if let Some(v) = n.text(b, key) {
                    meta.insert(key.into(), v.into());
                }
            }
            for key in [
                "data_assets_processed",
                "data_assets_stored",
                "data_formats_accepted",
            ] {
                let list = strings(b, n, key);
                if !list.is_empty() {
                    meta.insert(key.into(), list.into());
                }
            }
            let owner = n.text(b, "owner").map(|o| clip(o, NAME_MAX));
            let out_of_scope = n.bool(b, "out_of_scope").unwrap_or(false);
            let tags = strings(b, n, "tags");
            Element::Asset(b.asset(
                &n.at,
                AssetFields {
                    name: clip(name, NAME_MAX),
                    kind: if kind == Some(2) {
                        AssetKind::Infrastructure
                    } else {
                        AssetKind::Application
                    },
                    description,
                    owner,
                    classification,
                    cia,
                    business_criticality: None,
                    in_scope: !out_of_scope,
                    parent_id: None,
                    trust_zone_id: zone,
                    tags,
                    metadata: Map::from_iter([("threagile".to_string(), Value::Object(meta))]),
                },
            ))
        };
        elements.insert(id, element);
    }
    for (asset, _, at) in &inside {
        if !elements.contains_key(asset) {
            b.problem(at, format!("no technical asset {asset:?} in the file"));
        }
    }
    for nested in parent.keys() {
        if !zone_ids.contains_key(nested) {
            b.problem(
                root.ptr("trust_boundaries"),
                format!("no trust boundary {nested:?} to nest"),
            );
        }
    }

    let endpoint = |e: Element| match e {
        Element::Asset(a) => Endpoint {
            asset_id: Some(a),
            party_id: None,
        },
        Element::Party(p) => Endpoint {
            asset_id: None,
            party_id: Some(p),
        },
    };
    for (_, n) in &technical {
        let Some(source) =
            n.v.get("id")
                .and_then(Value::as_str)
                .and_then(|id| elements.get(id))
                .copied()
        else {
            continue;
        };
        for (link, l) in n.entries(b, "communication_links") {
            if !l.object(b) {
                continue;
            }
            let target = l.req_str(b, "target").and_then(|t| match elements.get(t) {
                Some(e) => Some(*e),
                None => {
                    b.problem(
                        l.ptr("target"),
                        format!("no technical asset {t:?} in the file"),
                    );
                    None
                }
            });
            let Some(target) = target else { continue };
            let protocol = l.text(b, "protocol").unwrap_or_default().to_string();
            let authentication = l.text(b, "authentication").unwrap_or("none");
            let mut data = Vec::new();
            for key in ["data_assets_sent", "data_assets_received"] {
                for (at, d) in l.strings(b, key) {
                    match data_ids.get(d) {
                        Some(a) if !data.contains(a) => data.push(*a),
                        Some(_) => {}
                        None => b.problem(at, format!("no data asset {d:?} in the file")),
                    }
                }
            }
            let purpose = match l.text(b, "description") {
                Some(d) => format!("{link}: {d}"),
                None => link.to_string(),
            };
            b.interaction(
                &l.at,
                InteractionFields {
                    source: endpoint(source),
                    destination: endpoint(target),
                    purpose: Some(purpose),
                    protocol: (!protocol.is_empty()).then(|| clip(&protocol, NAME_MAX)),
                    data_asset_ids: data,
                    authenticated: authentication != "none",
                    encrypted: encrypted(&protocol),
                    bidirectional: false,
                },
            );
        }
    }

    // Individual risks, each a threat, and one control per category.
    let mut risks: Vec<(String, ThreatId, ControlId, String)> = Vec::new();
    for (name, cat) in root.entries(b, "individual_risk_categories") {
        if !cat.object(b) {
            continue;
        }
        let Some(cid) = claim(b, &cat, "risk category") else {
            continue;
        };
        let stride = pick(b, &cat, "stride", &STRIDE).unwrap_or(Stride::Tampering);
        let description = cat.text(b, "description").map(str::to_string);
        let mitigation = cat.text(b, "mitigation").map(str::to_string);
        let control = b.control(
            &cat.at,
            ControlFields {
                name: clip(&format!("{}: mitigation", plain(name)), NAME_MAX),
                description: mitigation,
                control_type: ControlType::Preventive,
                category: ControlCategory::Technical,
                status: ControlStatus::Planned,
                effectiveness: 50,
                threat_ids: Vec::new(),
                asset_ids: Vec::new(),
                defense_node_ids: Vec::new(),
            },
        );
        b.approximated(
            &cat.at,
            "the category's mitigation becomes a planned control of effectiveness 50",
        );
        for (title, r) in cat.entries(b, "risks_identified") {
            if !r.object(b) {
                continue;
            }
            let likelihood =
                pick(b, &r, "exploitation_likelihood", &LIKELIHOOD).unwrap_or(NistLevel::Moderate);
            let impact = pick(b, &r, "exploitation_impact", &IMPACT).unwrap_or(NistLevel::Moderate);
            let mut parts = vec![cid.clone()];
            let mut assets = Vec::new();
            for key in [
                "most_relevant_data_asset",
                "most_relevant_technical_asset",
                "most_relevant_communication_link",
                "most_relevant_trust_boundary",
                "most_relevant_shared_runtime",
            ] {
                if let Some(v) = r.text(b, key) {
                    parts.push(v.to_string());
                    match (data_ids.get(v), elements.get(v)) {
                        (Some(a), _) | (_, Some(Element::Asset(a))) => assets.push(*a),
                        _ if key.ends_with("_asset") => {
                            b.problem(r.ptr(key), format!("no asset {v:?} in the file"))
                        }
                        _ => {}
                    }
                }
            }
            for (at, t) in r.strings(b, "data_breach_technical_assets") {
                match elements.get(t) {
                    Some(Element::Asset(a)) if !assets.contains(a) => assets.push(*a),
                    Some(_) => {}
                    None => b.problem(at, format!("no technical asset {t:?} in the file")),
                }
            }
            let threat = b.threat(
                &r.at,
                ThreatFields {
                    title: clip(&plain(title), NAME_MAX),
                    description: description.clone(),
                    stride,
                    asset_ids: assets.clone(),
                    actor_ids: Vec::new(),
                    interaction_ids: Vec::new(),
                    attack_tree_node_ids: Vec::new(),
                    assessment: super::ratings::nist(likelihood, impact),
                },
            );
            if let Some(c) = b.control_mut(control) {
                c.fields.threat_ids.push(threat);
                for a in assets {
                    if !c.fields.asset_ids.contains(&a) {
                        c.fields.asset_ids.push(a);
                    }
                }
            }
            risks.push((parts.join("@"), threat, control, r.at.clone()));
        }
    }

    // Risk tracking: each key names risks by their id, `*` for any part.
    let mut decided: HashSet<ThreatId> = HashSet::new();
    for (key, t) in root.entries(b, "risk_tracking") {
        if !t.object(b) {
            continue;
        }
        let matched: Vec<&(String, ThreatId, ControlId, String)> =
            risks.iter().filter(|(id, ..)| tracks(key, id)).collect();
        if matched.is_empty() {
            b.dropped(&t.at, format!("{key:?} tracks no risk of the file (Threagile's own rules find those; they are not run here)"));
            continue;
        }
        let status = pick(
            b,
            &t,
            "status",
            &[
                ("unchecked", 0u8),
                ("in-discussion", 1),
                ("accepted", 2),
                ("in-progress", 3),
                ("mitigated", 4),
                ("false-positive", 5),
            ],
        );
        let justification = t.text(b, "justification").map(str::to_string);
        let checked_by = t.text(b, "checked_by").map(|s| clip(s, NAME_MAX));
        let owner = checked_by
            .clone()
            .or_else(|| author.clone())
            .unwrap_or_else(|| "unassigned".into());
        let ticket = t.text(b, "ticket").map(|k| Ticket {
            system: "threagile".into(),
            key: clip(k, 200),
            url: None,
        });
        for (_, threat, control, _) in matched {
            if !decided.insert(*threat) {
                b.problem(&t.at, "a risk is tracked by more than one key");
                continue;
            }
            let base = TreatmentInput {
                threat_id: Some(*threat),
                owner: Some(owner.clone()),
                rationale: justification.clone(),
                ticket: ticket.clone(),
                ..Default::default()
            };
            let reduce = |s: TreatmentStatus| {
                (
                    TreatmentInput {
                        strategy: Some(Strategy::Reduce),
                        control_ids: Some(vec![*control]),
                        ..base.clone()
                    },
                    s,
                )
            };
            let (input, s) = match status {
                Some(1) => reduce(TreatmentStatus::Proposed),
                Some(3) => reduce(TreatmentStatus::InProgress),
                Some(4) => {
                    if let Some(c) = b.control_mut(*control) {
                        c.fields.status = ControlStatus::Implemented;
                    }
                    reduce(TreatmentStatus::Done)
                }
                Some(2) => {
                    b.approximated(&t.at, "accepted: an acceptance for a year from today");
                    (
                        TreatmentInput {
                            strategy: Some(Strategy::Accept),
                            justification: Some(
                                justification
                                    .clone()
                                    .unwrap_or_else(|| "Accepted in Threagile".into()),
                            ),
                            approver: Some(owner.clone()),
                            expires_on: b.today().checked_add_days(chrono::Days::new(365)),
                            rationale: None,
                            ..base.clone()
                        },
                        TreatmentStatus::Approved,
                    )
                }
                Some(5) => {
                    b.approximated(&t.at, "a false positive: kept as a threat with no decision");
                    continue;
                }
                _ => continue,
            };
            b.treatment(&t.at, input, s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_keys_match_by_part_with_wildcards() {
        assert!(tracks(
            "something-strange@sql-database",
            "something-strange@sql-database"
        ));
        assert!(tracks(
            "something-strange@*",
            "something-strange@sql-database"
        ));
        assert!(!tracks("something-strange@*", "something-strange@a@b"));
        assert!(!tracks("other@*", "something-strange@sql-database"));
    }

    #[test]
    fn titles_lose_their_markup() {
        assert_eq!(
            plain("<b>Example Individual Risk</b> at <b>Database</b>"),
            "Example Individual Risk at Database"
        );
    }
}
