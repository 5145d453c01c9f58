//! Report files from the report view: JSON as it is, Markdown and HTML
//! through templates with automatic escaping (HTML entities in the page,
//! Markdown and HTML metacharacters in the Markdown). The SVG pictures are
//! built here from numbers and fixed words, and the tree diagrams by the
//! domain, which escapes every label.

use minijinja::{AutoEscape, Environment, Value};
use palisade_domain::report::view::{HeatMap, ReportView};
use palisade_domain::report::ReportFormat;

const HTML: &str = include_str!("templates/report.html");
const MARKDOWN: &str = include_str!("templates/report.md");

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering the {format} report failed: {message}")]
    Template {
        format: ReportFormat,
        message: String,
    },
    #[error("serialising the JSON report failed: {0}")]
    Json(#[from] serde_json::Error),
}

/// One file of the report.
pub fn render(view: &ReportView, format: ReportFormat) -> Result<String, RenderError> {
    match format {
        ReportFormat::Json => Ok(serde_json::to_string_pretty(view)?),
        ReportFormat::Markdown => template(view, format, "report.md", MARKDOWN),
        ReportFormat::Html => template(view, format, "report.html", HTML),
    }
}

fn template(
    view: &ReportView,
    format: ReportFormat,
    name: &'static str,
    source: &'static str,
) -> Result<String, RenderError> {
    let failed = |e: minijinja::Error| RenderError::Template {
        format,
        message: e.to_string(),
    };
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".md") {
            AutoEscape::Custom("markdown")
        } else {
            AutoEscape::Html
        }
    });
    env.set_formatter(|out, state, value| {
        if state.auto_escape() == AutoEscape::Custom("markdown") && !value.is_safe() {
            let text = if value.is_none() || value.is_undefined() {
                String::new()
            } else {
                value.to_string()
            };
            out.write_str(&markdown_escape(&text))?;
            Ok(())
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.add_filter("when", when);
    env.add_template(name, source).map_err(failed)?;
    let trees: Vec<Value> = view
        .attack_trees
        .iter()
        .map(|t| Value::from_safe_string(t.svg.clone()))
        .collect();
    let ctx = minijinja::context! {
        r => view,
        tree_svgs => trees,
        heat_inherent => Value::from_safe_string(heat_map_svg(&view.heat_map, false)),
        heat_residual => Value::from_safe_string(heat_map_svg(&view.heat_map, true)),
    };
    env.get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(failed)
}

/// An RFC 3339 time as people read it: `2026-12-02 12:47 UTC`.
fn when(value: String) -> String {
    match chrono::DateTime::parse_from_rfc3339(&value) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => value,
    }
}

/// Text for Markdown: HTML metacharacters as entities (renderers pass raw
/// HTML through), Markdown's own escaped, one line (it may sit in a table).
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

const LEVELS: [&str; 5] = ["very low", "low", "moderate", "high", "very high"];

/// A 5×5 grid, likelihood along, impact up; each cell's count and a
/// colour for its risk (impact × likelihood).
fn heat_map_svg(map: &HeatMap, residual: bool) -> String {
    let cells = if residual {
        &map.residual
    } else {
        &map.inherent
    };
    let (cell, left, top) = (56.0, 92.0, 30.0);
    let width = left + cell * 5.0 + 10.0;
    let height = top + cell * 5.0 + 48.0;
    let title = if residual {
        "Residual risk"
    } else {
        "Inherent risk"
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title} heat map\" class=\"heat\">\
         <text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>",
        left + cell * 2.5
    );
    for impact in 0..5 {
        let y = top + cell * (4 - impact) as f64;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            left - 6.0,
            y + cell / 2.0 + 4.0,
            LEVELS[impact]
        ));
        for likelihood in 0..5 {
            let x = left + cell * likelihood as f64;
            let risk = (impact + 1) * (likelihood + 1);
            let fill = match risk {
                0..=3 => "#d9f0d3",
                4..=7 => "#fff3b0",
                8..=12 => "#ffd59e",
                13..=19 => "#f9a27a",
                _ => "#e8615a",
            };
            let count = cells[impact][likelihood];
            svg.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{cell}\" height=\"{cell}\" fill=\"{fill}\" stroke=\"#ffffff\" stroke-width=\"2\"><title>impact {}, likelihood {}: {count}</title></rect>",
                LEVELS[impact], LEVELS[likelihood]
            ));
            if count > 0 {
                svg.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{count}</text>",
                    x + cell / 2.0,
                    y + cell / 2.0 + 6.0
                ));
            }
        }
    }
    for (likelihood, label) in LEVELS.iter().enumerate() {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">{label}</text>",
            left + cell * likelihood as f64 + cell / 2.0,
            top + cell * 5.0 + 14.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"11\">likelihood →</text>\
         <text x=\"12\" y=\"{}\" font-size=\"11\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">impact →</text></svg>",
        left + cell * 2.5,
        top + cell * 5.0 + 34.0,
        top + cell * 2.5,
        top + cell * 2.5
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_text_cannot_open_html_links_or_table_cells() {
        assert_eq!(
            markdown_escape("<script>a|b</script> [x](javascript:alert(1))\n# h"),
            "&lt;script&gt;a\\|b&lt;/script&gt; \\[x\\](javascript:alert(1)) \\# h"
        );
    }
}
