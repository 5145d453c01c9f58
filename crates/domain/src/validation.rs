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
        if value.trim().is_empty() {
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
        if len > TEXT_MAX {
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
        if tags.len() > TAGS_MAX {
            self.add(
                field,
                format!("at most {TAGS_MAX} tags (got {})", tags.len()),
            );
            return;
        }
        for (i, tag) in tags.iter().enumerate() {
            let len = tag.chars().count();
            if tag.trim().is_empty() {
                self.add(format!("{field}[{i}]"), "must not be empty");
            } else if len > TAG_MAX {
                self.add(
                    format!("{field}[{i}]"),
                    format!("must be at most {TAG_MAX} characters (got {len})"),
                );
            } else if tags[..i].contains(tag) {
                self.add(format!("{field}[{i}]"), format!("duplicate tag {tag:?}"));
            }
        }
    }

    pub fn check_id_list<T>(&mut self, field: &str, ids: &[T]) {
        if ids.len() > ID_LIST_MAX {
            self.add(
                field,
                format!("at most {ID_LIST_MAX} ids (got {})", ids.len()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
