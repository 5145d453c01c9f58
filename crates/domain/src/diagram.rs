//! Attack trees drawn as Mermaid, Graphviz DOT and SVG. Gates, leaves and
//! defenses look different, the highlighted (cheapest) path stands out, and
//! every label is escaped for its format: a hostile label can neither break
//! the diagram nor inject markup. The SVG layout is our own small layered
//! tree layout, so nothing external runs.

use std::collections::HashSet;
use std::fmt::Write;

use crate::scoring::attack_tree::{FlatNode, Link, NodeKind};

string_enum!(DiagramFormat {
    Mermaid => "mermaid",
    Dot => "dot",
    Svg => "svg",
});

/// A tree to draw: nodes in sibling order, with their ids and the nodes to highlight.
pub struct Drawing<'a> {
    nodes: &'a [FlatNode],
    children: Vec<Vec<usize>>,
    countermeasure: Vec<Option<usize>>,
    root: usize,
    highlight: HashSet<usize>,
}

impl<'a> Drawing<'a> {
    pub fn new(nodes: &'a [FlatNode], highlight: impl IntoIterator<Item = usize>) -> Self {
        let mut children = vec![Vec::new(); nodes.len()];
        let mut countermeasure = vec![None; nodes.len()];
        let mut root = 0;
        for (i, n) in nodes.iter().enumerate() {
            match (n.parent, n.link) {
                (None, _) => root = i,
                (Some(p), Link::Child) if p < nodes.len() => children[p].push(i),
                (Some(p), Link::Countermeasure) if p < nodes.len() => countermeasure[p] = Some(i),
                _ => {}
            }
        }
        Drawing {
            nodes,
            children,
            countermeasure,
            root,
            highlight: highlight.into_iter().collect(),
        }
    }

    pub fn render(&self, format: DiagramFormat) -> String {
        match format {
            DiagramFormat::Mermaid => self.mermaid(),
            DiagramFormat::Dot => self.dot(),
            DiagramFormat::Svg => self.svg(),
        }
    }

    /// Edges in drawing order: (parent, child, is countermeasure, position among siblings).
    fn edges(&self) -> Vec<(usize, usize, bool, usize)> {
        let mut edges = Vec::new();
        for (p, kids) in self.children.iter().enumerate() {
            for (pos, c) in kids.iter().enumerate() {
                edges.push((p, *c, false, pos + 1));
            }
            if let Some(c) = self.countermeasure[p] {
                edges.push((p, c, true, 0));
            }
        }
        edges
    }

    fn tag(kind: NodeKind) -> &'static str {
        match kind {
            NodeKind::Or => "OR",
            NodeKind::And => "AND",
            NodeKind::Sand => "SAND (in order)",
            NodeKind::Leaf => "",
            NodeKind::Defense => "DEFENSE",
        }
    }

    pub fn mermaid(&self) -> String {
        let mut out = String::from("flowchart TD\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let tag = Self::tag(n.kind);
            let text = if tag.is_empty() {
                mermaid_text(&n.label)
            } else {
                format!("{tag}: {}", mermaid_text(&n.label))
            };
            let (open, close) = match n.kind {
                NodeKind::Or => ("{{\"", "\"}}"),
                NodeKind::And | NodeKind::Sand => ("[\"", "\"]"),
                NodeKind::Leaf => ("([\"", "\"])"),
                NodeKind::Defense => ("[/\"", "\"/]"),
            };
            let _ = writeln!(out, "    n{i}{open}{text}{close}");
        }
        for (p, c, counter, pos) in self.edges() {
            let arrow = if counter {
                "-.-x".to_string()
            } else if self.nodes[p].kind == NodeKind::Sand {
                format!("-->|{pos}|")
            } else {
                "-->".to_string()
            };
            let _ = writeln!(out, "    n{p} {arrow} n{c}");
        }
        out.push_str("    classDef defense fill:#e6f4ea,stroke:#2e7d32\n");
        out.push_str("    classDef cheapest stroke:#c62828,stroke-width:3px\n");
        let defenses: Vec<String> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].kind == NodeKind::Defense)
            .map(|i| format!("n{i}"))
            .collect();
        if !defenses.is_empty() {
            let _ = writeln!(out, "    class {} defense", defenses.join(","));
        }
        let mut path: Vec<usize> = self.highlight.iter().copied().collect();
        path.sort_unstable();
        if !path.is_empty() {
            let names: Vec<String> = path.iter().map(|i| format!("n{i}")).collect();
            let _ = writeln!(out, "    class {} cheapest", names.join(","));
        }
        out
    }

    pub fn dot(&self) -> String {
        let mut out = String::from("digraph attack_tree {\n    rankdir=TB;\n    node [fontname=\"Helvetica\", fontsize=10];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let tag = Self::tag(n.kind);
            let label = if tag.is_empty() {
                dot_text(&n.label)
            } else {
                format!("{tag}\\n{}", dot_text(&n.label))
            };
            let shape = match n.kind {
                NodeKind::Or => "shape=box, style=\"rounded,filled\", fillcolor=\"#eef2ff\"",
                NodeKind::And => "shape=box, style=filled, fillcolor=\"#eef2ff\"",
                NodeKind::Sand => "shape=box, style=\"filled,bold\", fillcolor=\"#eef2ff\"",
                NodeKind::Leaf => "shape=ellipse",
                NodeKind::Defense => {
                    "shape=box, style=filled, fillcolor=\"#e6f4ea\", color=\"#2e7d32\""
                }
            };
            let hot = if self.highlight.contains(&i) {
                ", color=\"#c62828\", penwidth=3"
            } else {
                ""
            };
            let _ = writeln!(out, "    n{i} [label=\"{label}\", {shape}{hot}];");
        }
        for (p, c, counter, pos) in self.edges() {
            let mut attrs = Vec::new();
            if counter {
                attrs.push("style=dashed".to_string());
                attrs.push("arrowhead=tee".to_string());
            } else if self.nodes[p].kind == NodeKind::Sand {
                attrs.push(format!("label=\"{pos}\""));
            }
            if self.highlight.contains(&p) && self.highlight.contains(&c) {
                attrs.push("color=\"#c62828\"".into());
                attrs.push("penwidth=2".into());
            }
            let attrs = if attrs.is_empty() {
                String::new()
            } else {
                format!(" [{}]", attrs.join(", "))
            };
            let _ = writeln!(out, "    n{p} -> n{c}{attrs};");
        }
        out.push_str("}\n");
        out
    }

    pub fn svg(&self) -> String {
        const W: f64 = 170.0;
        const H: f64 = 46.0;
        const SLOT: f64 = 190.0;
        const LEVEL: f64 = 90.0;
        const MARGIN: f64 = 20.0;
        let n = self.nodes.len();
        // Depth top-down, x bottom-up: leaves take the next slot, parents sit over their children.
        let mut depth = vec![0usize; n];
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![self.root];
        while let Some(i) = stack.pop() {
            order.push(i);
            let kids: Vec<usize> = self.children[i]
                .iter()
                .copied()
                .chain(self.countermeasure[i])
                .collect();
            for c in kids.iter().rev() {
                depth[*c] = depth[i] + 1;
                stack.push(*c);
            }
        }
        let mut x = vec![0.0f64; n];
        let mut next_slot = 0.0;
        // Pre-order reversed is not post-order for slots; walk again with an explicit post-order.
        let mut post = Vec::with_capacity(n);
        let mut stack = vec![(self.root, false)];
        while let Some((i, expanded)) = stack.pop() {
            if expanded {
                post.push(i);
                continue;
            }
            stack.push((i, true));
            let kids: Vec<usize> = self.children[i]
                .iter()
                .copied()
                .chain(self.countermeasure[i])
                .collect();
            for c in kids.iter().rev() {
                stack.push((*c, false));
            }
        }
        for &i in &post {
            let kids: Vec<usize> = self.children[i]
                .iter()
                .copied()
                .chain(self.countermeasure[i])
                .collect();
            if kids.is_empty() {
                x[i] = next_slot;
                next_slot += 1.0;
            } else {
                x[i] = (x[kids[0]] + x[kids[kids.len() - 1]]) / 2.0;
            }
        }
        let max_depth = depth.iter().copied().max().unwrap_or(0) as f64;
        let width = next_slot.max(1.0) * SLOT + 2.0 * MARGIN;
        let height = (max_depth + 1.0) * LEVEL + 2.0 * MARGIN;
        let cx = |i: usize| MARGIN + x[i] * SLOT + SLOT / 2.0;
        let top = |i: usize| MARGIN + depth[i] as f64 * LEVEL;

        let mut out = String::new();
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">"
        );
        out.push_str("<g class=\"edges\" fill=\"none\" stroke=\"#555\">\n");
        for (p, c, counter, _) in self.edges() {
            let hot = self.highlight.contains(&p) && self.highlight.contains(&c);
            let style = match (counter, hot) {
                (true, _) => " stroke-dasharray=\"5,4\" stroke=\"#2e7d32\"",
                (false, true) => " stroke=\"#c62828\" stroke-width=\"3\"",
                _ => "",
            };
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{style}/>",
                cx(p),
                top(p) + H,
                cx(c),
                top(c)
            );
        }
        out.push_str("</g>\n<g class=\"nodes\">\n");
        for &i in &order {
            let node = &self.nodes[i];
            let (fill, stroke, rx) = match node.kind {
                NodeKind::Or | NodeKind::And | NodeKind::Sand => ("#eef2ff", "#3949ab", 12),
                NodeKind::Leaf => ("#ffffff", "#424242", 22),
                NodeKind::Defense => ("#e6f4ea", "#2e7d32", 0),
            };
            let (stroke, stroke_width) = if self.highlight.contains(&i) {
                ("#c62828", 3)
            } else {
                (stroke, 1)
            };
            let left = cx(i) - W / 2.0;
            let _ = writeln!(out, "<g class=\"node {}\">", node.kind);
            let _ = writeln!(out, "<title>{}</title>", xml_text(&node.label));
            let _ = writeln!(
                out,
                "<rect x=\"{left}\" y=\"{}\" width=\"{W}\" height=\"{H}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>",
                top(i)
            );
            let tag = Self::tag(node.kind);
            if !tag.is_empty() {
                let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-weight=\"bold\" font-size=\"9\">{tag}</text>", cx(i), top(i) + 14.0);
            }
            let y = if tag.is_empty() {
                top(i) + H / 2.0 + 4.0
            } else {
                top(i) + 32.0
            };
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{y}\" text-anchor=\"middle\">{}</text>",
                cx(i),
                xml_text(&truncate(&node.label, 28))
            );
            out.push_str("</g>\n");
        }
        out.push_str("</g>\n</svg>\n");
        out
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Mermaid: entity codes inside a quoted label; `#` first, as it starts them.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// DOT: a double-quoted string; backslashes are doubled so `\l`-style
/// escapes in a label stay literal.
fn dot_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// XML text: the five entities, and no characters XML 1.0 forbids.
fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::attack_tree::{flatten, NestedNode};

    const HOSTILE: &str =
        "\"]; n9 --> x[\"pwn\"] <script>alert('x')</script> & #quot; \\l\n\u{1}end";

    fn drawing_nodes() -> Vec<FlatNode> {
        let root: NestedNode = serde_json::from_value(serde_json::json!({"kind": "or", "label": HOSTILE, "children": [
            {"kind": "leaf", "label": "sqli", "attributes": {"cost": 1},
             "countermeasure": {"kind": "defense", "label": "WAF </text><script>", "attributes": {"probability": 0.5}}},
            {"kind": "sand", "label": "a then b", "children": [{"kind": "leaf", "label": "a"}, {"kind": "leaf", "label": "b"}]}
        ]})).unwrap();
        flatten(&root).0
    }

    #[test]
    fn svg_is_well_formed_xml_with_no_injected_element() {
        let nodes = drawing_nodes();
        let svg = Drawing::new(&nodes, [0, 1]).svg();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let names: HashSet<&str> = doc
            .descendants()
            .filter(|n| n.is_element())
            .map(|n| n.tag_name().name())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| ["svg", "g", "line", "rect", "text", "title"].contains(n)),
            "{names:?}"
        );
        let titles: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("title"))
            .filter_map(|n| n.text().map(str::to_string))
            .collect();
        assert!(
            titles
                .iter()
                .any(|t| t.contains("<script>alert('x')</script>")),
            "the label survives as text"
        );
        assert!(
            svg.contains("stroke=\"#c62828\""),
            "the path is highlighted"
        );
        assert!(
            svg.contains("stroke-dasharray"),
            "the countermeasure is drawn dashed"
        );
    }

    #[test]
    fn dot_and_mermaid_keep_hostile_labels_inside_their_quotes() {
        let nodes = drawing_nodes();
        let dot = Drawing::new(&nodes, [0, 1]).dot();
        // Every line is a statement: no label broke out onto its own line or closed its quote.
        for line in dot.lines().skip(3) {
            let t = line.trim();
            assert!(t == "}" || t.ends_with(';'), "{t}");
            let unescaped_quotes = t
                .replace("\\\\", "")
                .replace("\\\"", "")
                .matches('"')
                .count();
            assert_eq!(unescaped_quotes % 2, 0, "{t}");
        }
        assert!(dot.contains("\\\\l"), "backslashes are doubled");
        assert!(dot.contains("penwidth=3"));

        let mermaid = Drawing::new(&nodes, [0, 1]).mermaid();
        assert!(!mermaid.contains("<script>"));
        assert!(!mermaid.contains("pwn\"]"));
        assert!(mermaid.contains("#quot;") && mermaid.contains("#35;quot;"));
        assert_eq!(mermaid.lines().filter(|l| l.contains("n0{{")).count(), 1);
        assert!(
            mermaid.contains("-.-x"),
            "countermeasures are drawn differently"
        );
        assert!(
            mermaid.contains("-->|1|"),
            "sequential children are numbered"
        );
        assert!(mermaid.contains("class n0,n1 cheapest"));
    }
}
