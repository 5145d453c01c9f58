//! OWASP Threat Dragon JSON, v2 and the v1 files Threat Dragon 2 still
//! opens: the cells of each diagram (actors, processes, stores, flows,
//! trust boundaries) and the threats on them. Lenient where real files
//! break their own schema (nulls, missing fields, drawing attributes are
//! never read); strict where a wrong value would corrupt the model (a flow
//! to a cell that is not there, two elements of one diagram with one id).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::otm::stride_of;
use super::plan::Builder;
use super::source::{clip, Node};
use crate::asset::{AssetFields, AssetKind};
use crate::environment::{
    Endpoint, InteractionFields, PartyFields, PartyKind, TrustLevel, TrustZoneFields,
};
use crate::ids::{AssetId, PartyId, TrustZoneId};
use crate::model::ModelFields;
use crate::scoring::nist::NistLevel;
use crate::scoring::residual::ControlStatus;
use crate::threat::{ControlCategory, ControlFields, ControlType, Stride, ThreatFields};
use crate::treatment::{Strategy, TreatmentInput, TreatmentStatus};
use crate::validation::NAME_MAX;

/// The most boundary boxes one diagram may hold: each element is placed
/// by testing it against every box.
pub const MAX_BOXES: usize = 1000;

/// What a cell became.
#[derive(Clone, Copy)]
enum Made {
    Asset(AssetId),
    Party(PartyId),
    Flow(crate::ids::InteractionId),
    Other,
}

/// A box on the canvas.
#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn of(n: &Node) -> Option<Rect> {
        let p = n.v.get("position")?;
        let s = n.v.get("size")?;
        Some(Rect {
            x: p.get("x")?.as_f64()?,
            y: p.get("y")?.as_f64()?,
            w: s.get("width")?.as_f64()?,
            h: s.get("height")?.as_f64()?,
        })
    }

    /// Whether the centre of `inner` lies in this box.
    fn holds(&self, inner: &Rect) -> bool {
        let (cx, cy) = (inner.x + inner.w / 2.0, inner.y + inner.h / 2.0);
        cx >= self.x && cx <= self.x + self.w && cy >= self.y && cy <= self.y + self.h
    }
}

/// A cell as either version writes it. v2 (X6) cells carry `shape` and
/// their properties and threats under `data`; v1 (JointJS) cells carry
/// `type` (`tm.Actor`…) with properties and threats on the cell itself,
/// the name in `attrs.text.text` (a flow's in its first label) and the
/// ends of a flow as `{id}` rather than `{cell}`.
#[derive(Clone)]
struct Cell<'a> {
    n: Node<'a>,
    v1: bool,
}

impl<'a> Cell<'a> {
    fn shape(&self) -> &'a str {
        let key = if self.v1 { "type" } else { "shape" };
        let raw = self
            .n
            .v
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !self.v1 {
            return raw;
        }
        match raw {
            "tm.Actor" => "actor",
            "tm.Process" => "process",
            "tm.Store" => "store",
            "tm.Flow" => "flow",
            "tm.Boundary" => "trust-boundary-curve",
            other => other,
        }
    }

    fn is_node(&self) -> bool {
        matches!(self.shape(), "actor" | "process" | "store")
    }

    /// Where the cell's properties and threats are.
    fn data(&self) -> Option<Node<'a>> {
        if self.v1 {
            Some(self.n.clone())
        } else {
            self.n.get("data")
        }
    }

    fn text(&self, b: &mut Builder, key: &str) -> Option<String> {
        // Both versions break long names over lines on the canvas; a
        // record's name is one line.
        let one_line = |t: &str| Some(t.split_whitespace().collect::<Vec<_>>().join(" "));
        if self.v1 && key == "name" {
            let label = if self.shape() == "flow" {
                self.n.v.pointer("/labels/0/attrs/text/text")
            } else {
                self.n.v.pointer("/attrs/text/text")
            };
            return label
                .and_then(Value::as_str)
                .and_then(one_line)
                .filter(|t| !t.is_empty());
        }
        let text = self.data()?.text(b, key)?;
        if key == "name" {
            one_line(text)
        } else {
            Some(text.to_string())
        }
    }

    /// The id of the cell at a flow's `source` or `target`, if it names one.
    fn end(&self, key: &str) -> Option<Node<'a>> {
        self.n.get(key)?.get(if self.v1 { "id" } else { "cell" })
    }
}

fn impact_of(severity: &str) -> Option<NistLevel> {
    Some(match severity.trim().to_ascii_lowercase().as_str() {
        "critical" => NistLevel::VeryHigh,
        "high" => NistLevel::High,
        "medium" => NistLevel::Moderate,
        "low" => NistLevel::Low,
        _ => return None,
    })
}

pub(super) fn import(root: Node, b: &mut Builder) {
    if !root.object(b) {
        return;
    }
    let mut owner = None;
    match root.get("summary") {
        None => b.problem(root.ptr("summary"), "is required"),
        Some(s) => {
            let title = s.req_str(b, "title").unwrap_or_default();
            let description = s.text(b, "description").map(str::to_string);
            b.model(
                &s.at,
                ModelFields {
                    name: title.to_string(),
                    description,
                    risk_appetite: Default::default(),
                    tags: Vec::new(),
                },
            );
            owner = s.text(b, "owner").map(str::to_string);
        }
    }
    let Some(detail) = root.get("detail") else {
        b.problem(root.ptr("detail"), "is required");
        return;
    };
    let diagrams = detail.items(b, "diagrams");
    // A flow names the cells of its own diagram, so ids are looked up per
    // diagram: actors, processes and stores must be unique in it; flows,
    // boundaries and other cells are never referred to and may share ids.
    let mut made: Vec<HashMap<String, (Made, String)>> = Vec::new();
    let mut flows: Vec<(usize, Cell)> = Vec::new();
    let mut threat_cells: Vec<(Node, Made)> = Vec::new();
    for d in &diagrams {
        let here = made.len();
        made.push(HashMap::new());
        let (cells, v1) = match d.get("diagramJson") {
            Some(j) => (j.items(b, "cells"), true),
            None => (d.items(b, "cells"), false),
        };
        let cells: Vec<Cell> = cells.into_iter().map(|n| Cell { n, v1 }).collect();
        // Boxes first, so every element can be placed in the smallest one holding it.
        let mut boxes: Vec<(Rect, TrustZoneId)> = Vec::new();
        let box_count = cells
            .iter()
            .filter(|c| matches!(c.shape(), "trust-boundary-box" | "trust-boundary"))
            .count();
        if box_count > MAX_BOXES {
            b.problem(
                d.ptr("cells"),
                format!("holds {box_count} trust boundary boxes; at most {MAX_BOXES} a diagram"),
            );
            continue;
        }
        let mut others: HashMap<String, String> = HashMap::new();
        for cell in &cells {
            let c = &cell.n;
            if !c.object(b) {
                continue;
            }
            let shape = cell.shape();
            let data = cell.data();
            let id = c.req_str(b, "id");
            if let Some(id) = id {
                if let Some((_, first)) = made[here].get(id).filter(|_| cell.is_node()) {
                    b.problem(
                        c.ptr("id"),
                        format!("cell id {id:?} is also the id of {first}"),
                    );
                    continue;
                }
            }
            let record = match shape {
                "trust-boundary-box" | "trust-boundary" => {
                    let name = data.as_ref().and_then(|d| d.text(b, "name")).map_or_else(
                        || format!("Trust boundary {}", boxes.len() + 1),
                        str::to_string,
                    );
                    b.approximated(&c.at, "Threat Dragon gives no trust rating: 50");
                    let description = data
                        .as_ref()
                        .and_then(|d| d.text(b, "description"))
                        .map(str::to_string);
                    let zid = b.zone(
                        &c.at,
                        TrustZoneFields {
                            name,
                            trust_rating: 50,
                            description,
                        },
                    );
                    match Rect::of(c) {
                        Some(r) => boxes.push((r, zid)),
                        None => b.approximated(
                            &c.at,
                            "a boundary box without position and size holds nothing",
                        ),
                    }
                    Made::Other
                }
                "flow" => {
                    flows.push((here, cell.clone()));
                    Made::Other
                }
                "trust-boundary-curve" => {
                    b.dropped(
                        &c.at,
                        "a boundary line is not kept: Palisade finds crossings from trust zones",
                    );
                    Made::Other
                }
                "td-text-block" => {
                    b.dropped(&c.at, "a text block is not kept");
                    Made::Other
                }
                "actor" | "process" | "store" => {
                    if let Some(id) = id {
                        made[here].insert(id.to_string(), (Made::Other, c.at.clone()));
                    }
                    continue;
                }
                other => {
                    b.dropped(&c.at, format!("a cell of shape {other:?} is not read"));
                    Made::Other
                }
            };
            if let (Some(id), Made::Other) = (id, record) {
                others.entry(id.to_string()).or_insert_with(|| c.at.clone());
            }
        }
        boxes.sort_by(|a, b| (a.0.w * a.0.h).total_cmp(&(b.0.w * b.0.h)));
        let zone_of = |c: &Node| -> Option<TrustZoneId> {
            let r = Rect::of(c)?;
            boxes.iter().find(|(bx, _)| bx.holds(&r)).map(|(_, z)| *z)
        };
        for cell in &cells {
            let c = &cell.n;
            let shape = cell.shape();
            let Some(id) = c.v.get("id").and_then(Value::as_str) else {
                continue;
            };
            if !cell.is_node() {
                continue;
            }
            let data = cell.data();
            let text = |b: &mut Builder, key: &str| cell.text(b, key);
            let name = text(b, "name").unwrap_or_else(|| {
                b.approximated(
                    &c.at,
                    format!("an unnamed {shape}: named \"Unnamed {shape}\""),
                );
                format!("Unnamed {shape}")
            });
            let description = text(b, "description");
            let out_of_scope = data
                .as_ref()
                .and_then(|d| d.bool(b, "outOfScope"))
                .unwrap_or(false);
            let zone = zone_of(c);
            let record = if shape == "actor" {
                b.approximated(&c.at, "an actor becomes a party of kind other, untrusted");
                Made::Party(b.party(
                    &c.at,
                    PartyFields {
                        name,
                        kind: PartyKind::Other,
                        trust_level: TrustLevel::Untrusted,
                        trust_zone_id: zone,
                        services: Vec::new(),
                        accessible_asset_ids: Vec::new(),
                        data_processing_agreement: None,
                        last_assessment_date: None,
                        last_assessment_result: None,
                        description,
                    },
                ))
            } else {
                let mut td = Map::new();
                td.insert("id".into(), id.into());
                td.insert("shape".into(), shape.into());
                if let Some(Value::Object(d)) = data.as_ref().map(|d| d.v) {
                    for (k, v) in d {
                        if v.is_boolean()
                            && !matches!(k.as_str(), "outOfScope" | "hasOpenThreats" | "smooth")
                        {
                            td.insert(k.clone(), v.clone());
                        }
                    }
                    if let Some(p) = d
                        .get("privilegeLevel")
                        .and_then(Value::as_str)
                        .filter(|p| !p.is_empty())
                    {
                        td.insert("privilegeLevel".into(), p.into());
                    }
                    if let Some(r) = d
                        .get("reasonOutOfScope")
                        .and_then(Value::as_str)
                        .filter(|p| !p.is_empty())
                    {
                        td.insert("reasonOutOfScope".into(), clip(r, 2000).into());
                    }
                }
                Made::Asset(b.asset(
                    &c.at,
                    AssetFields {
                        name: clip(&name, NAME_MAX),
                        kind: if shape == "store" {
                            AssetKind::Data
                        } else {
                            AssetKind::Application
                        },
                        description,
                        owner: None,
                        classification: None,
                        cia: None,
                        business_criticality: None,
                        in_scope: !out_of_scope,
                        parent_id: None,
                        trust_zone_id: zone,
                        tags: Vec::new(),
                        metadata: Map::from_iter([(
                            "threat_dragon".to_string(),
                            Value::Object(td),
                        )]),
                    },
                ))
            };
            made[here].insert(id.to_string(), (record, c.at.clone()));
            if let Some(d) = data {
                threat_cells.push((d, record));
            }
        }
        for (id, at) in others {
            made[here].entry(id).or_insert((Made::Other, at));
        }
    }

    // Flows, once every cell of their diagram is known.
    let mut flow_made: Vec<(Node, Made)> = Vec::new();
    for (diagram, flow) in flows {
        let f = &flow.n;
        let data = flow.data();
        let made = &made[diagram];
        let end = |b: &mut Builder, key: &str| -> Option<Endpoint> {
            let cell = flow.end(key);
            let Some(cell) = cell else {
                b.dropped(
                    &f.at,
                    format!("a flow whose {key} is a point, not a cell, is not kept"),
                );
                return None;
            };
            let Some(id) = cell.v.as_str() else {
                b.problem(&cell.at, "must be a cell id");
                return None;
            };
            match made.get(id) {
                Some((Made::Asset(a), _)) => Some(Endpoint {
                    asset_id: Some(*a),
                    party_id: None,
                }),
                Some((Made::Party(p), _)) => Some(Endpoint {
                    asset_id: None,
                    party_id: Some(*p),
                }),
                Some((_, at)) => {
                    b.problem(
                        &cell.at,
                        format!("the flow ends at {at}, which is not an actor, process or store"),
                    );
                    None
                }
                None => {
                    b.problem(&cell.at, format!("no cell {id:?} in the file"));
                    None
                }
            }
        };
        let (source, destination) = (end(b, "source"), end(b, "target"));
        let (Some(source), Some(destination)) = (source, destination) else {
            continue;
        };
        let text = |b: &mut Builder, key: &str| flow.text(b, key);
        let purpose = text(b, "name");
        let protocol = text(b, "protocol").map(|p| clip(&p, NAME_MAX));
        let encrypted = data
            .as_ref()
            .and_then(|d| d.bool(b, "isEncrypted"))
            .unwrap_or(false);
        let bidirectional = data
            .as_ref()
            .and_then(|d| d.bool(b, "isBidirectional"))
            .unwrap_or(false);
        let iid = b.interaction(
            &f.at,
            InteractionFields {
                source,
                destination,
                purpose,
                protocol,
                data_asset_ids: Vec::new(),
                authenticated: false,
                encrypted,
                bidirectional,
            },
        );
        if let Some(d) = data {
            flow_made.push((d, Made::Flow(iid)));
        }
    }
    threat_cells.extend(flow_made);

    let owner_name = owner.clone().unwrap_or_else(|| "unassigned".to_string());
    let mut noted_likelihood = false;
    for (data, record) in threat_cells {
        for t in data.items(b, "threats") {
            if !t.object(b) {
                continue;
            }
            let title = t.text(b, "title").map_or_else(
                || {
                    b.approximated(&t.at, "an untitled threat: titled \"Untitled threat\"");
                    "Untitled threat".to_string()
                },
                |s| clip(s, NAME_MAX),
            );
            let kind = t.str(b, "type").unwrap_or_default();
            let stride = stride_of(kind).unwrap_or_else(|| {
                b.approximated(
                    &t.ptr("type"),
                    format!("{kind:?} is not a STRIDE category: filed as tampering"),
                );
                Stride::Tampering
            });
            let severity = t.str(b, "severity").unwrap_or_default();
            let impact = impact_of(severity).unwrap_or_else(|| {
                b.approximated(
                    &t.ptr("severity"),
                    format!("severity {severity:?}: impact moderate"),
                );
                NistLevel::Moderate
            });
            if !noted_likelihood {
                b.approximated(
                    &t.at,
                    "Threat Dragon threats have no likelihood: moderate, impact from severity",
                );
                noted_likelihood = true;
            }
            if t.text(b, "score").is_some() {
                b.dropped(
                    &t.ptr("score"),
                    "a threat's score is not kept: Palisade scores from likelihood and impact",
                );
            }
            let (asset_ids, interaction_ids) = match record {
                Made::Asset(a) => (vec![a], vec![]),
                Made::Flow(i) => (vec![], vec![i]),
                _ => (vec![], vec![]),
            };
            let description = t.text(b, "description").map(str::to_string);
            let threat_id = b.threat(
                &t.at,
                ThreatFields {
                    title: title.clone(),
                    description,
                    stride,
                    asset_ids: asset_ids.clone(),
                    actor_ids: Vec::new(),
                    interaction_ids,
                    attack_tree_node_ids: Vec::new(),
                    assessment: super::ratings::nist(NistLevel::Moderate, impact),
                },
            );
            let status = t.str(b, "status").unwrap_or("Open").to_ascii_lowercase();
            let mitigation = t.text(b, "mitigation");
            let mitigated = status == "mitigated";
            if status.replace(['/', ' '], "") == "notapplicable" || status == "na" {
                b.approximated(
                    &t.ptr("status"),
                    "not applicable: kept as a threat with no decision",
                );
                continue;
            }
            if !mitigated && mitigation.is_none() {
                continue;
            }
            b.approximated(
                &t.at,
                "the mitigation becomes a control of effectiveness 50 with a reduce treatment",
            );
            let control = b.control(
                &t.at,
                ControlFields {
                    name: mitigation
                        .map_or_else(|| format!("Mitigation of {title}"), |m| clip(m, NAME_MAX)),
                    description: mitigation.map(str::to_string),
                    control_type: ControlType::Preventive,
                    category: ControlCategory::Technical,
                    status: if mitigated {
                        ControlStatus::Implemented
                    } else {
                        ControlStatus::Planned
                    },
                    effectiveness: 50,
                    threat_ids: vec![threat_id],
                    asset_ids,
                    defense_node_ids: Vec::new(),
                },
            );
            b.treatment(
                &t.at,
                TreatmentInput {
                    threat_id: Some(threat_id),
                    strategy: Some(Strategy::Reduce),
                    owner: Some(owner_name.clone()),
                    control_ids: Some(vec![control]),
                    ..Default::default()
                },
                if mitigated {
                    TreatmentStatus::Done
                } else {
                    TreatmentStatus::Proposed
                },
            );
        }
    }
    if owner.is_none() && b.has_treatments() {
        b.approximated(
            "/summary",
            "no owner: treatments are owned by \"unassigned\"",
        );
    } else if owner.is_some() && b.has_treatments() {
        b.approximated(
            "/summary/owner",
            "the model owner becomes the owner of the imported treatments",
        );
    }
}
