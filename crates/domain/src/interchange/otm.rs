//! Open Threat Model (OTM) 0.1.x and 0.2.0: trust zones, data assets,
//! components, dataflows, threats and mitigations, both ways.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::plan::Builder;
use super::ratings::{cia_level, cia_rating, nist_level, nist_rating};
use super::source::Node;
use crate::asset::{AssetFields, AssetKind, Cia};
use crate::document::Records;
use crate::environment::{Endpoint, InteractionFields, TrustZoneFields};
use crate::ids::{AssetId, ControlId, InteractionId, ThreatId, TrustZoneId};
use crate::model::ModelFields;
use crate::scoring::residual::ControlStatus;
use crate::scoring::Assessment;
use crate::threat::{
    ControlCategory, ControlFields, ControlType, Stride, ThreatAssessment, ThreatFields,
};
use crate::treatment::{Strategy, TreatmentInput, TreatmentStatus};

/// The version written on export.
pub const VERSION: &str = "0.2.0";

/// The kinds of element an OTM reference can name. Every reference is
/// typed by where it stands (`parent.trustZone`, `threats[].threat`,
/// `mitigations[].mitigation`…), so an id is unique within its kind only:
/// tools give a threat and its mitigation the same id.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Zone,
    Data,
    Component,
    Dataflow,
    Threat,
    Mitigation,
}

/// Ids of the file's elements, to find duplicates and resolve references.
#[derive(Default)]
struct Ids {
    seen: HashMap<(Kind, String), String>,
    zones: HashMap<String, TrustZoneId>,
    data: HashMap<String, AssetId>,
    components: HashMap<String, AssetId>,
    dataflows: HashMap<String, InteractionId>,
}

impl Ids {
    /// The element's id, a problem if it is missing or used twice in its kind.
    fn claim<'a>(&mut self, b: &mut Builder, n: &Node<'a>, kind: Kind) -> Option<&'a str> {
        let id = n.req_str(b, "id")?;
        if let Some(first) = self.seen.get(&(kind, id.to_string())) {
            b.problem(n.ptr("id"), format!("id {id:?} is also the id of {first}"));
            return None;
        }
        self.seen.insert((kind, id.to_string()), n.at.clone());
        Some(id)
    }
}

/// A rating that must be 0–100.
fn rating(b: &mut Builder, n: &Node, key: &str) -> Option<f64> {
    let r = n.num(b, key)?;
    if !(0.0..=100.0).contains(&r) {
        b.problem(n.ptr(key), format!("must be 0 to 100 (got {r})"));
        return None;
    }
    Some(r)
}

/// An asset kind for a component's free-form type.
pub(crate) fn kind_of(component_type: &str) -> AssetKind {
    let t = component_type.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&[
        "client", "browser", "mobile", "desktop", "app", "code", "frontend",
    ]) {
        AssetKind::Application
    } else if has(&[
        "service", "api", "server", "function", "lambda", "gateway", "backend",
    ]) {
        AssetKind::Service
    } else if has(&[
        "database",
        "db",
        "storage",
        "bucket",
        "queue",
        "cache",
        "network",
        "vpc",
        "host",
        "vm",
        "container",
        "cluster",
        "balancer",
        "firewall",
    ]) {
        AssetKind::Infrastructure
    } else if has(&["device", "iot", "sensor"]) {
        AssetKind::Device
    } else if has(&["user", "person", "human"]) {
        AssetKind::People
    } else {
        AssetKind::Other
    }
}

/// STRIDE for an OTM category, case and spacing aside.
pub(crate) fn stride_of(category: &str) -> Option<Stride> {
    let c: String = category
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    Some(match c.as_str() {
        "spoofing" => Stride::Spoofing,
        "tampering" => Stride::Tampering,
        "repudiation" => Stride::Repudiation,
        "informationdisclosure" => Stride::InformationDisclosure,
        "denialofservice" => Stride::DenialOfService,
        "elevationofprivilege" | "elevationofprivileges" => Stride::ElevationOfPrivilege,
        _ => return None,
    })
}

/// STRIDE as OTM files name it.
fn category_of(s: Stride) -> &'static str {
    match s {
        Stride::Spoofing => "Spoofing",
        Stride::Tampering => "Tampering",
        Stride::Repudiation => "Repudiation",
        Stride::InformationDisclosure => "Information Disclosure",
        Stride::DenialOfService => "Denial Of Service",
        Stride::ElevationOfPrivilege => "Elevation Of Privilege",
    }
}

/// Free `attributes` are kept in an asset's metadata while small.
const ATTRIBUTES_KEPT_BYTES: usize = 8 * 1024;

fn keep_attributes(b: &mut Builder, n: &Node, otm: &mut Map<String, Value>) {
    if let Some(a) = n.get("attributes") {
        let len = a.v.to_string().len();
        if len <= ATTRIBUTES_KEPT_BYTES {
            otm.insert("attributes".into(), a.v.clone());
        } else {
            b.dropped(
                &a.at,
                format!(
                    "attributes of {len} bytes (more than {ATTRIBUTES_KEPT_BYTES} are not kept)"
                ),
            );
        }
    }
}

/// Members of an OTM object that no mapping reads are reported dropped,
/// so nothing in a file is lost silently (`ownerContact`, a risk's
/// `likelihoodComment`, a zone's `type`…); `null` and empty ones are not.
fn unread(b: &mut Builder, n: &Node, read: &[&str]) {
    let Some(members) = n.v.as_object() else {
        return;
    };
    for (key, v) in members {
        let empty = match v {
            Value::Null => true,
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if !empty && !read.contains(&key.as_str()) {
            b.dropped(&n.ptr(key), format!("{key} is not kept"));
        }
    }
}

/// Where a threat or mitigation was found in use.
#[derive(Default)]
struct Uses {
    /// The first instance, where a threat's treatment comes from.
    first_at: String,
    assets: Vec<AssetId>,
    interactions: Vec<InteractionId>,
    states: Vec<String>,
    /// For a mitigation: the threats it was named with.
    threats: Vec<String>,
    /// For a threat: the mitigations named with it, with their states.
    mitigations: Vec<(String, String)>,
}

pub(super) fn import(root: Node, b: &mut Builder) {
    if !root.object(b) {
        return;
    }
    unread(
        b,
        &root,
        &[
            "otmVersion",
            "project",
            "representations",
            "assets",
            "trustZones",
            "components",
            "dataflows",
            "threats",
            "mitigations",
        ],
    );
    match root.req_str(b, "otmVersion") {
        Some(v) if v.starts_with("0.1.") || v.starts_with("0.2.") => {}
        Some(v) => b.problem(
            root.ptr("otmVersion"),
            format!("OTM {v:?} is not read: 0.1.x and 0.2.x are"),
        ),
        None => {}
    }
    let mut owner = None;
    match root.get("project") {
        None => b.problem(root.ptr("project"), "is required"),
        Some(p) if p.object(b) => {
            unread(
                b,
                &p,
                &["name", "id", "description", "owner", "tags", "attributes"],
            );
            let name = p.req_str(b, "name").unwrap_or_default();
            let tags = p
                .strings(b, "tags")
                .into_iter()
                .map(|(_, t)| t.to_string())
                .collect();
            let description = p.text(b, "description").map(str::to_string);
            b.model(
                &p.at,
                ModelFields {
                    name: name.to_string(),
                    description,
                    risk_appetite: Default::default(),
                    tags,
                },
            );
            owner = p.text(b, "owner").map(str::to_string);
            if owner.is_some() {
                b.approximated(
                    &p.ptr("owner"),
                    "the project owner becomes the owner of the imported treatments",
                );
            }
            if p.get("attributes").is_some() {
                b.dropped(&p.ptr("attributes"), "project attributes are not kept");
            }
        }
        Some(_) => {}
    }
    if root.get("representations").is_some() {
        b.dropped(
            &root.ptr("representations"),
            "representations (diagrams, code) are not kept",
        );
    }

    let mut ids = Ids::default();
    for z in root.items(b, "trustZones") {
        if !z.object(b) {
            continue;
        }
        unread(
            b,
            &z,
            &["id", "name", "description", "risk", "parent", "type"],
        );
        // Palisade's zones have no type; the one its export writes loses nothing.
        match z.str(b, "type") {
            Some(t) if t != "trust-zone" && !t.trim().is_empty() => {
                b.dropped(&z.ptr("type"), format!("the zone type {t:?} is not kept"))
            }
            _ => {}
        }
        if let Some(r) = z.get("risk") {
            unread(b, &r, &["trustRating"]);
        }
        let id = ids.claim(b, &z, Kind::Zone);
        let name = z.req_str(b, "name").unwrap_or_default();
        let trust = match z.get("risk") {
            Some(r) => rating(b, &r, "trustRating"),
            None => None,
        };
        let trust = trust.unwrap_or_else(|| {
            b.approximated(&z.at, "no risk.trustRating: given 50");
            50.0
        });
        if z.get("parent").is_some() {
            b.approximated(
                &z.ptr("parent"),
                "nested trust zones are flattened: Palisade's are not nested",
            );
        }
        let description = z.text(b, "description").map(str::to_string);
        let zid = b.zone(
            &z.at,
            TrustZoneFields {
                name: name.to_string(),
                trust_rating: trust.round() as i64,
                description,
            },
        );
        if let Some(id) = id {
            ids.zones.insert(id.to_string(), zid);
        }
    }

    for a in root.items(b, "assets") {
        if !a.object(b) {
            continue;
        }
        unread(b, &a, &["id", "name", "description", "risk", "attributes"]);
        let id = ids.claim(b, &a, Kind::Data);
        let name = a.req_str(b, "name").unwrap_or_default();
        let mut otm = Map::new();
        if let Some(id) = id {
            otm.insert("id".into(), id.into());
        }
        let cia = match a.get("risk") {
            None => {
                b.problem(a.ptr("risk"), "is required");
                None
            }
            Some(r) => {
                let c = rating(b, &r, "confidentiality");
                let i = rating(b, &r, "integrity");
                let av = rating(b, &r, "availability");
                for (key, v) in [
                    ("confidentiality", c),
                    ("integrity", i),
                    ("availability", av),
                ] {
                    match v {
                        None if r.get(key).is_none() => b.problem(r.ptr(key), "is required"),
                        Some(x) if f64::from(cia_rating(cia_level(x))) != x.round() => b
                            .approximated(
                                &r.ptr(key),
                                format!(
                                    "{x} is rated {}, exported as {}",
                                    cia_level(x),
                                    cia_rating(cia_level(x))
                                ),
                            ),
                        _ => {}
                    }
                }
                const RISK: [&str; 5] = [
                    "confidentiality",
                    "integrity",
                    "availability",
                    "comment",
                    "riskComments",
                ];
                unread(b, &r, &RISK);
                // OTM 0.1 files (and Threat Dragon's sample) call it riskComments.
                if let Some(comment) = r.text(b, "comment").or_else(|| r.text(b, "riskComments")) {
                    otm.insert("comment".into(), comment.into());
                }
                match (c, i, av) {
                    (Some(c), Some(i), Some(av)) => Some(Cia {
                        confidentiality: cia_level(c),
                        integrity: cia_level(i),
                        availability: cia_level(av),
                    }),
                    _ => None,
                }
            }
        };
        keep_attributes(b, &a, &mut otm);
        let description = a.text(b, "description").map(str::to_string);
        let aid = b.asset(
            &a.at,
            AssetFields {
                name: name.to_string(),
                kind: AssetKind::Data,
                description,
                owner: None,
                classification: None,
                cia,
                business_criticality: None,
                in_scope: true,
                parent_id: None,
                trust_zone_id: None,
                tags: Vec::new(),
                metadata: Map::from_iter([("otm".to_string(), Value::Object(otm))]),
            },
        );
        if let Some(id) = id {
            ids.data.insert(id.to_string(), aid);
        }
    }

    let components = root.items(b, "components");
    let order = component_order(b, &components);
    let mut zone_of: HashMap<String, Option<TrustZoneId>> = HashMap::new();
    let mut threat_uses: BTreeMap<String, Uses> = BTreeMap::new();
    let mut instance_nodes: Vec<(Node, Option<AssetId>, Option<InteractionId>)> = Vec::new();
    for &k in &order {
        let c = &components[k];
        unread(
            b,
            c,
            &[
                "id",
                "name",
                "type",
                "description",
                "parent",
                "representations",
                "assets",
                "threats",
                "tags",
                "attributes",
            ],
        );
        if let Some(inst) = c.get("assets") {
            unread(b, &inst, &["processed", "stored"]);
        }
        let id = ids.claim(b, c, Kind::Component);
        let name = c.req_str(b, "name").unwrap_or_default();
        let ctype = c.str(b, "type").unwrap_or_else(|| {
            b.approximated(&c.at, "no type: kind other");
            "other"
        });
        let (mut zone, mut parent) = (None, None);
        match c.get("parent") {
            None => b.problem(c.ptr("parent"), "is required: a trustZone or a component"),
            Some(p) => {
                if let Some(z) = p.str(b, "trustZone") {
                    match ids.zones.get(z) {
                        Some(zid) => zone = Some(*zid),
                        None => b.problem(
                            p.ptr("trustZone"),
                            format!("no trust zone {z:?} in the file"),
                        ),
                    }
                } else if let Some(pc) = p.str(b, "component") {
                    match ids.components.get(pc) {
                        Some(aid) => {
                            parent = Some(*aid);
                            zone = zone_of.get(pc).copied().flatten();
                        }
                        None => b.problem(
                            p.ptr("component"),
                            format!("no component {pc:?} in the file"),
                        ),
                    }
                } else if !p.v.is_object() {
                    b.problem(
                        &p.at,
                        format!(
                            "must be an object naming a trustZone or a component (as {{\"trustZone\": \"id\"}}), not {}",
                            super::source::kind(p.v)
                        ),
                    );
                } else {
                    b.problem(&p.at, "names neither a trustZone nor a component");
                }
            }
        }
        let mut otm = Map::new();
        if let Some(id) = id {
            otm.insert("id".into(), id.into());
        }
        otm.insert("type".into(), ctype.into());
        if let Some(inst) = c.get("assets") {
            for key in ["processed", "stored"] {
                let mut list = Vec::new();
                for (at, d) in inst.strings(b, key) {
                    if ids.data.contains_key(d) {
                        list.push(Value::from(d));
                    } else {
                        b.problem(at, format!("no data asset {d:?} in the file"));
                    }
                }
                if !list.is_empty() {
                    otm.insert(key.into(), Value::Array(list));
                }
            }
        }
        if c.get("representations").is_some() {
            b.dropped(&c.ptr("representations"), "representations are not kept");
        }
        keep_attributes(b, c, &mut otm);
        let tags = c
            .strings(b, "tags")
            .into_iter()
            .map(|(_, t)| t.to_string())
            .collect();
        let description = c.text(b, "description").map(str::to_string);
        let aid = b.asset(
            &c.at,
            AssetFields {
                name: name.to_string(),
                kind: kind_of(ctype),
                description,
                owner: None,
                classification: None,
                cia: None,
                business_criticality: None,
                in_scope: true,
                parent_id: parent,
                trust_zone_id: zone,
                tags,
                metadata: Map::from_iter([("otm".to_string(), Value::Object(otm))]),
            },
        );
        if let Some(id) = id {
            ids.components.insert(id.to_string(), aid);
            zone_of.insert(id.to_string(), zone);
        }
        instance_nodes.extend(
            c.items(b, "threats")
                .into_iter()
                .map(|t| (t, Some(aid), None)),
        );
    }

    for f in root.items(b, "dataflows") {
        if !f.object(b) {
            continue;
        }
        unread(
            b,
            &f,
            &[
                "id",
                "name",
                "description",
                "tags",
                "attributes",
                "bidirectional",
                "source",
                "destination",
                "assets",
                "threats",
            ],
        );
        let id = ids.claim(b, &f, Kind::Dataflow);
        let name = f.req_str(b, "name").unwrap_or_default();
        // An end is a component; one naming a trust zone (which some tools
        // write) is something Palisade's interactions cannot join.
        let mut zone_end = false;
        let mut end = |key: &str| -> Endpoint {
            let asset_id = f.req_str(b, key).and_then(|s| match ids.components.get(s) {
                Some(a) => Some(*a),
                None if ids.zones.contains_key(s) => {
                    b.dropped(
                        &f.ptr(key),
                        format!(
                            "a dataflow from or to the trust zone {s:?} is not kept: interactions join assets and parties"
                        ),
                    );
                    zone_end = true;
                    None
                }
                None => {
                    b.problem(f.ptr(key), format!("no component {s:?} in the file"));
                    None
                }
            });
            Endpoint {
                asset_id: asset_id.or(Some(AssetId(uuid::Uuid::nil()))),
                party_id: None,
            }
        };
        let (source, destination) = (end("source"), end("destination"));
        if zone_end {
            continue;
        }
        let mut data = Vec::new();
        for (at, d) in f.strings(b, "assets") {
            match ids.data.get(d) {
                Some(a) => data.push(*a),
                None => b.problem(at, format!("no data asset {d:?} in the file")),
            }
        }
        let bidirectional = f.bool(b, "bidirectional").unwrap_or(false);
        for key in ["description", "tags", "attributes"] {
            if f.get(key).is_some()
                && !matches!(f.v.get(key), Some(Value::Array(a)) if a.is_empty())
            {
                b.dropped(&f.ptr(key), format!("a dataflow's {key} is not kept"));
            }
        }
        let iid = b.interaction(
            &f.at,
            InteractionFields {
                source,
                destination,
                purpose: Some(name.to_string()),
                protocol: None,
                data_asset_ids: data,
                authenticated: false,
                encrypted: false,
                bidirectional,
            },
        );
        if let Some(id) = id {
            ids.dataflows.insert(id.to_string(), iid);
        }
        instance_nodes.extend(
            f.items(b, "threats")
                .into_iter()
                .map(|t| (t, None, Some(iid))),
        );
    }

    // Threat instances: which threat applies where, in which state, with
    // which mitigations; references are checked once every id is known.
    let mut mitigation_uses: BTreeMap<String, Uses> = BTreeMap::new();
    let mut refs: Vec<(String, bool, String)> = Vec::new();
    for (inst, asset, interaction) in &instance_nodes {
        if !inst.object(b) {
            continue;
        }
        unread(b, inst, &["threat", "state", "mitigations"]);
        let Some(tid) = inst.req_str(b, "threat") else {
            continue;
        };
        refs.push((inst.ptr("threat"), false, tid.to_string()));
        let state = inst
            .str(b, "state")
            .unwrap_or("exposed")
            .to_ascii_lowercase();
        let mut named = Vec::new();
        for m in inst.items(b, "mitigations") {
            unread(b, &m, &["mitigation", "state"]);
            let Some(mid) = m.req_str(b, "mitigation") else {
                continue;
            };
            refs.push((m.ptr("mitigation"), true, mid.to_string()));
            let mstate = m.str(b, "state").unwrap_or("required").to_ascii_lowercase();
            let mu = mitigation_uses.entry(mid.to_string()).or_default();
            mu.assets.extend(asset);
            mu.states.push(mstate.clone());
            mu.threats.push(tid.to_string());
            named.push((mid.to_string(), mstate));
        }
        let u = threat_uses.entry(tid.to_string()).or_default();
        if u.first_at.is_empty() {
            u.first_at = inst.at.clone();
        }
        u.assets.extend(asset);
        u.interactions.extend(interaction);
        u.states.push(state);
        u.mitigations.extend(named);
    }

    let mut threats: HashMap<String, ThreatId> = HashMap::new();
    for t in root.items(b, "threats") {
        if !t.object(b) {
            continue;
        }
        unread(
            b,
            &t,
            &[
                "id",
                "name",
                "description",
                "categories",
                "cwes",
                "tags",
                "risk",
            ],
        );
        let id = ids.claim(b, &t, Kind::Threat);
        let name = t.req_str(b, "name").unwrap_or_default();
        let categories = t.strings(b, "categories");
        let stride = categories.iter().find_map(|(_, c)| stride_of(c));
        let stride = stride.unwrap_or_else(|| {
            b.approximated(
                &t.ptr("categories"),
                "no STRIDE category: filed as tampering",
            );
            Stride::Tampering
        });
        let others: Vec<&str> = categories
            .iter()
            .map(|(_, c)| *c)
            .filter(|c| stride_of(c) != Some(stride))
            .collect();
        if !others.is_empty() {
            b.dropped(
                &t.ptr("categories"),
                format!("only the first STRIDE category is kept; not {others:?}"),
            );
        }
        for key in ["cwes", "tags"] {
            let list = t.strings(b, key);
            if !list.is_empty() {
                let names: Vec<&str> = list.iter().map(|(_, s)| *s).collect();
                b.dropped(&t.ptr(key), format!("{key} {names:?} are not kept"));
            }
        }
        let (likelihood, impact) = match t.get("risk") {
            None => {
                b.problem(t.ptr("risk"), "is required");
                (None, None)
            }
            Some(r) => {
                unread(b, &r, &["likelihood", "impact"]);
                let l = rating(b, &r, "likelihood");
                if l.is_none() && r.get("likelihood").is_none() {
                    b.approximated(&r.ptr("likelihood"), "no likelihood: moderate");
                }
                let i = rating(b, &r, "impact");
                if i.is_none() && r.get("impact").is_none() {
                    b.problem(r.ptr("impact"), "is required");
                }
                for (key, v) in [("likelihood", l), ("impact", i)] {
                    if let Some(x) = v {
                        let level = nist_level(x);
                        if f64::from(nist_rating(level)) != x.round() {
                            b.approximated(
                                &r.ptr(key),
                                format!(
                                    "{x} is {level} (SP 800-30 bins), exported as {}",
                                    nist_rating(level)
                                ),
                            );
                        }
                    }
                }
                (
                    Some(l.map_or(crate::scoring::nist::NistLevel::Moderate, nist_level)),
                    i.map(nist_level),
                )
            }
        };
        let uses = id.and_then(|id| threat_uses.get(id));
        let description = t.text(b, "description").map(str::to_string);
        let tid = b.threat(
            &t.at,
            ThreatFields {
                title: name.to_string(),
                description,
                stride,
                asset_ids: dedup(uses.map(|u| u.assets.clone()).unwrap_or_default()),
                actor_ids: Vec::new(),
                interaction_ids: dedup(uses.map(|u| u.interactions.clone()).unwrap_or_default()),
                attack_tree_node_ids: Vec::new(),
                assessment: super::ratings::nist(
                    likelihood.unwrap_or(crate::scoring::nist::NistLevel::Moderate),
                    impact.unwrap_or(crate::scoring::nist::NistLevel::Moderate),
                ),
            },
        );
        if let Some(id) = id {
            threats.insert(id.to_string(), tid);
        }
    }

    let mut controls: HashMap<String, ControlId> = HashMap::new();
    for m in root.items(b, "mitigations") {
        if !m.object(b) {
            continue;
        }
        unread(b, &m, &["id", "name", "description", "riskReduction"]);
        let id = ids.claim(b, &m, Kind::Mitigation);
        let name = m.req_str(b, "name").unwrap_or_default();
        let reduction = rating(b, &m, "riskReduction");
        if reduction.is_none() && m.get("riskReduction").is_none() {
            b.problem(m.ptr("riskReduction"), "is required");
        }
        let uses = id.and_then(|id| mitigation_uses.get(id));
        let status = match uses {
            Some(u) if u.states.iter().any(|s| s == "implemented") => ControlStatus::Implemented,
            Some(u) if u.states.iter().any(|s| s.starts_with("partial")) => ControlStatus::Partial,
            _ => ControlStatus::Planned,
        };
        let threat_ids = dedup(
            uses.map(|u| {
                u.threats
                    .iter()
                    .filter_map(|t| threats.get(t).copied())
                    .collect()
            })
            .unwrap_or_default(),
        );
        let description = m.text(b, "description").map(str::to_string);
        let cid = b.control(
            &m.at,
            ControlFields {
                name: name.to_string(),
                description,
                control_type: ControlType::Preventive,
                category: ControlCategory::Technical,
                status,
                effectiveness: reduction.unwrap_or(0.0).round() as i64,
                threat_ids,
                asset_ids: dedup(uses.map(|u| u.assets.clone()).unwrap_or_default()),
                defense_node_ids: Vec::new(),
            },
        );
        if let Some(id) = id {
            controls.insert(id.to_string(), cid);
        }
    }

    for (at, mitigation, id) in refs {
        if mitigation && !controls.contains_key(&id) {
            b.problem(at, format!("no mitigation {id:?} in the file"));
        } else if !mitigation && !threats.contains_key(&id) {
            b.problem(at, format!("no threat {id:?} in the file"));
        }
    }
    if b.has_problems() {
        return;
    }

    let owner_name = owner.clone().unwrap_or_else(|| "unassigned".to_string());
    for (tid, u) in &threat_uses {
        let Some(threat_id) = threats.get(tid).copied() else {
            continue;
        };
        let control_ids = dedup(
            u.mitigations
                .iter()
                .filter(|(_, s)| !matches!(s.as_str(), "rejected" | "not-applicable"))
                .filter_map(|(m, _)| controls.get(m).copied())
                .collect(),
        );
        let at = u.first_at.clone();
        let base = TreatmentInput {
            threat_id: Some(threat_id),
            owner: Some(owner_name.clone()),
            ..Default::default()
        };
        let all = |s: &str| !u.states.is_empty() && u.states.iter().all(|x| x == s);
        if u.states.iter().any(|s| s.starts_with("accept")) {
            b.approximated(
                &at,
                "accepted: an acceptance for a year, approved by the project owner",
            );
            b.treatment(
                &at,
                TreatmentInput {
                    strategy: Some(Strategy::Accept),
                    justification: Some("Accepted in the imported OTM file".into()),
                    approver: Some(owner_name.clone()),
                    expires_on: b.today().checked_add_days(chrono::Days::new(365)),
                    ..base
                },
                TreatmentStatus::Approved,
            );
        } else if !control_ids.is_empty() {
            let status = if all("mitigated") {
                TreatmentStatus::Done
            } else if u
                .states
                .iter()
                .any(|s| s.starts_with("partial") || s == "mitigated")
            {
                TreatmentStatus::InProgress
            } else {
                TreatmentStatus::Proposed
            };
            b.treatment(
                &at,
                TreatmentInput {
                    strategy: Some(Strategy::Reduce),
                    control_ids: Some(control_ids),
                    ..base
                },
                status,
            );
        }
    }
    if owner.is_none() && b.has_treatments() {
        b.approximated(
            "/project",
            "no project owner: treatments are owned by \"unassigned\"",
        );
    }
}

fn dedup<T: Copy + Eq + std::hash::Hash>(items: Vec<T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.into_iter().filter(|i| seen.insert(*i)).collect()
}

/// Components with their parent components first; a cycle is a problem.
fn component_order(b: &mut Builder, components: &[Node]) -> Vec<usize> {
    let index: HashMap<&str, usize> = components
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.v.get("id").and_then(Value::as_str).map(|id| (id, i)))
        .collect();
    let parent = |i: usize| -> Option<usize> {
        let p = components[i].v.get("parent")?.get("component")?.as_str()?;
        index.get(p).copied()
    };
    let parents: Vec<Option<usize>> = (0..components.len()).map(parent).collect();
    let depth = super::nesting(&parents);
    for (i, d) in depth.iter().enumerate() {
        if d.is_none() {
            b.problem(components[i].ptr("parent"), "components nest in a cycle");
        }
    }
    let mut order = Vec::new();
    for (i, c) in components.iter().enumerate() {
        if c.object(b) {
            order.push(i);
        }
    }
    order.sort_by_key(|&i| depth[i].unwrap_or(0));
    order
}

/// The model as an OTM 0.2.0 document. Data assets outside any zone and
/// without a parent are OTM assets; every other asset, and every party,
/// is a component; a component with no zone is put in the zone
/// `palisade-unzoned`, as OTM requires a parent.
pub fn export(records: &Records) -> Value {
    let m = &records.model;
    let otm_id = |meta: &Map<String, Value>, fallback: String| -> String {
        meta.get("otm")
            .and_then(|o| o.get("id"))
            .and_then(Value::as_str)
            .map_or(fallback, str::to_string)
    };
    let is_otm_asset = |a: &crate::asset::Asset| {
        a.fields.kind == AssetKind::Data
            && a.fields.trust_zone_id.is_none()
            && a.fields.parent_id.is_none()
    };
    // An OTM id kept from an import is written back while it is still
    // unique in its kind (OTM assets, components), else the record's own;
    // records still of the kind they were imported as (a component kept
    // its `type`) claim their ids first.
    let was_component = |a: &crate::asset::Asset| {
        a.fields
            .metadata
            .get("otm")
            .and_then(|o| o.get("type"))
            .is_some()
    };
    let mut taken: HashSet<(bool, String)> = HashSet::new();
    let mut asset_ids: HashMap<AssetId, String> = HashMap::new();
    for first in [true, false] {
        for a in &records.assets {
            let as_component = !is_otm_asset(a);
            if (as_component == was_component(a)) != first {
                continue;
            }
            let kept = otm_id(&a.fields.metadata, a.id.to_string());
            let id = if taken.insert((as_component, kept.clone())) {
                kept
            } else {
                a.id.to_string()
            };
            asset_ids.insert(a.id, id);
        }
    }
    let current: HashMap<ThreatId, &crate::treatment::Treatment> = records
        .treatments
        .iter()
        .filter(|t| t.superseded_by.is_none())
        .map(|t| (t.fields.threat_id, t))
        .collect();
    let threat_state = |t: ThreatId| -> &'static str {
        match current.get(&t) {
            Some(tr) if tr.fields.plan.strategy() == Strategy::Accept && tr.status.stands() => {
                "accepted"
            }
            Some(tr) if tr.status.finished() => "mitigated",
            Some(tr) if tr.status == TreatmentStatus::InProgress => "partially-mitigated",
            _ => "exposed",
        }
    };
    // Who names what, once, so the export is linear in the records.
    let mut mitigations_of: HashMap<ThreatId, Vec<Value>> = HashMap::new();
    for c in &records.controls {
        let state = match c.fields.status {
            ControlStatus::Implemented => "implemented",
            ControlStatus::Partial => "partially-implemented",
            ControlStatus::Planned => "required",
        };
        for t in &c.fields.threat_ids {
            mitigations_of
                .entry(*t)
                .or_default()
                .push(json!({"mitigation": c.id.to_string(), "state": state}));
        }
    }
    let mut on_asset: HashMap<AssetId, Vec<Value>> = HashMap::new();
    let mut on_flow: HashMap<InteractionId, Vec<Value>> = HashMap::new();
    for t in &records.threats {
        let instance = json!({
            "threat": t.id.to_string(),
            "state": threat_state(t.id),
            "mitigations": mitigations_of.get(&t.id).cloned().unwrap_or_default(),
        });
        for a in &t.fields.asset_ids {
            on_asset.entry(*a).or_default().push(instance.clone());
        }
        for i in &t.fields.interaction_ids {
            on_flow.entry(*i).or_default().push(instance.clone());
        }
    }

    let mut zones: Vec<Value> = records
        .trust_zones
        .iter()
        .map(|z| {
            json!({
                "id": z.id.to_string(),
                "name": z.fields.name,
                "type": "trust-zone",
                "description": z.fields.description,
                "risk": {"trustRating": z.fields.trust_rating},
            })
        })
        .collect();
    let mut unzoned = false;
    let mut parent_of = |zone: Option<TrustZoneId>, parent: Option<AssetId>| -> Value {
        match (parent.and_then(|p| asset_ids.get(&p)), zone) {
            (Some(p), _) => json!({"component": p}),
            (None, Some(z)) => json!({"trustZone": z.to_string()}),
            (None, None) => {
                unzoned = true;
                json!({"trustZone": UNZONED})
            }
        }
    };

    let data_ids: HashSet<&str> = records
        .assets
        .iter()
        .filter(|a| is_otm_asset(a))
        .filter_map(|a| asset_ids.get(&a.id).map(String::as_str))
        .collect();
    let mut assets = Vec::new();
    let mut components = Vec::new();
    for a in &records.assets {
        let f = &a.fields;
        let otm = f.metadata.get("otm").and_then(Value::as_object);
        if is_otm_asset(a) {
            let cia = f.cia;
            let r =
                |pick: fn(&Cia) -> crate::asset::CiaLevel| cia.map_or(50, |c| cia_rating(pick(&c)));
            let mut risk = json!({
                "confidentiality": r(|c| c.confidentiality),
                "integrity": r(|c| c.integrity),
                "availability": r(|c| c.availability),
            });
            if let Some(comment) = otm.and_then(|o| o.get("comment")) {
                risk["comment"] = comment.clone();
            }
            assets.push(json!({
                "id": asset_ids[&a.id],
                "name": f.name,
                "description": f.description,
                "risk": risk,
            }));
            continue;
        }
        let kept = |key: &str| otm.and_then(|o| o.get(key)).cloned();
        let mut c = json!({
            "id": asset_ids[&a.id],
            "name": f.name,
            "type": kept("type").unwrap_or_else(|| f.kind.as_str().into()),
            "description": f.description,
            "parent": parent_of(f.trust_zone_id, f.parent_id),
            "tags": f.tags,
            "threats": on_asset.remove(&a.id).unwrap_or_default(),
        });
        // Only OTM assets can be named as data; one since put in a zone
        // is a component now.
        let data_only = |v: Option<Value>| -> Option<Value> {
            let list: Vec<Value> = v?
                .as_array()?
                .iter()
                .filter(|d| d.as_str().is_some_and(|d| data_ids.contains(d)))
                .cloned()
                .collect();
            (!list.is_empty()).then_some(Value::Array(list))
        };
        let processed = data_only(kept("processed"));
        let stored = data_only(kept("stored"));
        if processed.is_some() || stored.is_some() {
            c["assets"] = json!({"processed": processed.unwrap_or(json!([])), "stored": stored.unwrap_or(json!([]))});
        }
        if let Some(attrs) = kept("attributes") {
            c["attributes"] = attrs;
        }
        components.push(c);
    }
    for p in &records.parties {
        components.push(json!({
            "id": p.id.to_string(),
            "name": p.fields.name,
            "type": format!("party-{}", p.fields.kind),
            "description": p.fields.description,
            "parent": parent_of(p.fields.trust_zone_id, None),
            "tags": [],
            "threats": [],
        }));
    }
    if unzoned {
        zones.push(json!({
            "id": UNZONED,
            "name": "Unzoned",
            "type": "trust-zone",
            "description": "Palisade records with no trust zone",
            "risk": {"trustRating": 50},
        }));
    }
    let end = |e: &Endpoint| -> String {
        e.asset_id
            .and_then(|a| asset_ids.get(&a).cloned())
            .or_else(|| e.party_id.map(|p| p.to_string()))
            .unwrap_or_default()
    };
    let dataflows: Vec<Value> = records
        .interactions
        .iter()
        .map(|i| {
            json!({
                "id": i.id.to_string(),
                "name": i.fields.purpose.clone().unwrap_or_else(|| "Interaction".into()),
                "bidirectional": i.fields.bidirectional,
                "source": end(&i.fields.source),
                "destination": end(&i.fields.destination),
                "assets": i.fields.data_asset_ids.iter().filter_map(|a| asset_ids.get(a)).filter(|a| data_ids.contains(a.as_str())).collect::<Vec<_>>(),
                "threats": on_flow.remove(&i.id).unwrap_or_default(),
            })
        })
        .collect();
    let inherent: HashMap<ThreatId, f64> = records
        .register
        .items
        .iter()
        .map(|r| (r.threat_id, r.inherent_score))
        .collect();
    let threats: Vec<Value> = records
        .threats
        .iter()
        .map(|t| {
            let risk = match &t.fields.assessment {
                ThreatAssessment::Stateless(Assessment::Nist(n)) => {
                    let likelihood = crate::scoring::nist::likelihood_of(n)
                        .map(|(l, _)| nist_rating(l))
                        .ok();
                    json!({"likelihood": likelihood, "impact": nist_rating(n.impact)})
                }
                // Other methods have no likelihood and impact of their own:
                // the impact is the inherent score on 0–100.
                _ => json!({
                    "likelihood": null,
                    "impact": inherent.get(&t.id).map_or(0.0, |s| (s * 10.0).round()),
                }),
            };
            json!({
                "id": t.id.to_string(),
                "name": t.fields.title,
                "description": t.fields.description,
                "categories": [category_of(t.fields.stride)],
                "risk": risk,
            })
        })
        .collect();
    let mitigations: Vec<Value> = records
        .controls
        .iter()
        .map(|c| {
            json!({
                "id": c.id.to_string(),
                "name": c.fields.name,
                "description": c.fields.description,
                "riskReduction": c.fields.effectiveness,
            })
        })
        .collect();
    json!({
        "otmVersion": VERSION,
        "project": {
            "name": m.fields.name,
            "id": m.id.to_string(),
            "description": m.fields.description,
            "tags": m.fields.tags,
        },
        "trustZones": zones,
        "assets": assets,
        "components": components,
        "dataflows": dataflows,
        "threats": threats,
        "mitigations": mitigations,
    })
}

/// The zone of exported components that have none.
pub const UNZONED: &str = "palisade-unzoned";
