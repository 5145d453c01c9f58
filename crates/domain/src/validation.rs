//! Field-level validation shared by every record, so that each limit of the
//! HTTP contract is written once.

use serde::Serialize;

/// Names, titles and labels.
pub const NAME_MAX: usize = 200;
/// Descriptions and other free text.
pub const TEXT_MAX: usize = 20_000;
pub const TAGS_MAX: usize = 100;
pub const TAG_MAX: usize = 64;
pub const ID_LIST_MAX: usize = 10_000;
/// Free-form metadata, serialized.
pub const METADATA_MAX_BYTES: usize = 64 * 1024;

/// One problem with one field, named by its path in the request body
/// (`cia.integrity`, `tags[3]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every problem found in one input; a request is rejected with all of them
/// at once rather than one per round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.summary())]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::new();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was found, so validators can end with `errors.finish()`.
    pub fn finish(self) -> Result<(), Self> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    fn summary(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A name: 1–200 characters, not only white space.
    pub fn check_name(&mut self, field: &str, value: &str) {
        let len = value.chars().count();
        if let Some(c) = value.chars().find(|c| is_forbidden_char(*c)) {
            self.add(field, forbidden_message(c));
        } else if value.trim().is_empty() {
            self.add(field, "must not be empty");
        } else if len > NAME_MAX {
            self.add(
                field,
                format!("must be at most {NAME_MAX} characters (got {len})"),
            );
        }
    }

    /// Free text: at most 20 000 characters.
    pub fn check_text(&mut self, field: &str, value: &str) {
        let len = value.chars().count();
        if let Some(c) = value.chars().find(|c| is_forbidden_char(*c)) {
            self.add(field, forbidden_message(c));
        } else if len > TEXT_MAX {
            self.add(
                field,
                format!("must be at most {TEXT_MAX} characters (got {len})"),
            );
        }
    }

    pub fn check_optional_name(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.check_name(field, v);
        }
    }

    pub fn check_optional_text(&mut self, field: &str, value: Option<&str>) {
        if let Some(v) = value {
            self.check_text(field, v);
        }
    }

    /// Tags: at most 100, each 1–64 characters, no duplicates.
    pub fn check_tags(&mut self, field: &str, tags: &[String]) {
        let mut seen = std::collections::HashSet::with_capacity(tags.len());
        if tags.len() > TAGS_MAX {
            self.add(
                field,
                format!("at most {TAGS_MAX} tags (got {})", tags.len()),
            );
            return;
        }
        for (i, tag) in tags.iter().enumerate() {
            let len = tag.chars().count();
            if let Some(c) = tag.chars().find(|c| is_forbidden_char(*c)) {
                self.add(format!("{field}[{i}]"), forbidden_message(c));
            } else if tag.trim().is_empty() {
                self.add(format!("{field}[{i}]"), "must not be empty");
            } else if len > TAG_MAX {
                self.add(
                    format!("{field}[{i}]"),
                    format!("must be at most {TAG_MAX} characters (got {len})"),
                );
            } else if !seen.insert(tag) {
                self.add(format!("{field}[{i}]"), format!("duplicate tag {tag:?}"));
            }
        }
    }

    /// At most 10 000 ids, none twice. Over the bound nothing else is
    /// looked at; the duplicate check is one pass with a set.
    pub fn check_id_list<T: Eq + std::hash::Hash + std::fmt::Display>(
        &mut self,
        field: &str,
        ids: &[T],
    ) {
        if ids.len() > ID_LIST_MAX {
            self.add(
                field,
                format!("at most {ID_LIST_MAX} ids (got {})", ids.len()),
            );
            return;
        }
        let mut seen = std::collections::HashSet::with_capacity(ids.len());
        for (i, id) in ids.iter().enumerate() {
            if !seen.insert(id) {
                self.add(format!("{field}[{i}]"), format!("{id} is listed twice"));
            }
        }
    }
}

/// Control characters (C0, DEL, C1) other than tab, newline and carriage
/// return: no text field takes them (PostgreSQL refuses NUL outright, and
/// the rest only hide text from the people reading it).
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Every string (and object key) in a JSON document that holds a forbidden
/// character, named by its path (`metadata.k.deep[0]`).
pub fn control_characters(value: &serde_json::Value) -> ValidationErrors {
    fn walk(value: &serde_json::Value, path: &mut String, errors: &mut ValidationErrors) {
        let here = |path: &str| {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        };
        match value {
            serde_json::Value::String(s) => {
                if let Some(c) = s.chars().find(|c| is_forbidden_char(*c)) {
                    errors.add(here(path), forbidden_message(c));
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path, errors);
                    path.truncate(len);
                }
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    if let Some(c) = key.chars().find(|c| is_forbidden_char(*c)) {
                        errors.add(here(path), format!("the key {}", forbidden_message(c)));
                    }
                    walk(item, path, errors);
                    path.truncate(len);
                }
            }
            _ => {}
        }
    }
    let mut errors = ValidationErrors::new();
    walk(value, &mut String::new(), &mut errors);
    errors
}

pub fn forbidden_message(c: char) -> String {
    format!(
        "must not contain control characters other than tab, newline and carriage return (found U+{:04X})",
        c as u32
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_by_path_and_plain_text_passes() {
        let doc = serde_json::json!({
            "name": "tab\tnew\nline\r ok",
            "tags": ["a", "b\u{0}"],
            "metadata": {"k": {"deep": ["\u{7f}"]}, "c1\u{85}": 1},
        });
        let fields: Vec<String> = control_characters(&doc)
            .0
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["metadata.c1\u{85}", "metadata.k.deep[0]", "tags[1]"]
        );
        assert!(control_characters(&serde_json::json!("é ✓ \u{a0}")).is_empty());
    }

    #[test]
    fn name_limits_count_characters_not_bytes() {
        let mut e = ValidationErrors::new();
        e.check_name("name", &"é".repeat(200));
        assert!(e.is_empty(), "200 two-byte characters are a valid name");
        e.check_name("name", &"é".repeat(201));
        e.check_name("title", "   ");
        assert_eq!(
            e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(),
            ["name", "title"]
        );
    }

    #[test]
    fn an_id_list_over_the_bound_is_one_error_and_duplicates_are_named() {
        let mut e = ValidationErrors::new();
        e.check_id_list("asset_ids", &vec![7; ID_LIST_MAX + 1]);
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "asset_ids");

        let mut e = ValidationErrors::new();
        e.check_id_list("asset_ids", &[1, 2, 1, 3, 2]);
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["asset_ids[2]", "asset_ids[4]"]);
    }

    #[test]
    fn text_limit_is_twenty_thousand() {
        let mut e = ValidationErrors::new();
        e.check_text("description", &"a".repeat(20_000));
        assert!(e.is_empty());
        e.check_text("description", &"a".repeat(20_001));
        assert_eq!(e.0[0].field, "description");
    }

    #[test]
    fn tags_are_checked_one_by_one() {
        let mut e = ValidationErrors::new();
        let tags = vec![
            "pci".to_string(),
            "".to_string(),
            "x".repeat(65),
            "pci".to_string(),
        ];
        e.check_tags("tags", &tags);
        let fields: Vec<_> = e.0.iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["tags[1]", "tags[2]", "tags[3]"]);

        let mut e = ValidationErrors::new();
        let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
        e.check_tags("tags", &many);
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "tags");
    }
}
