//! Palisade's model and its rules.
//!
//! Pure by design: no I/O, no web framework, no database. The API and the
//! worker call into this crate so that every rule lives in one place and is
//! tested in milliseconds.

/// An enum stored and sent as a lower-case string, with the list of its
/// values (for validation messages and OpenAPI).
macro_rules! string_enum {
    ($(#[doc = $doc:literal])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        // Written by hand rather than derived: the derive does not see a
        // `serde(rename)` whose value comes from a macro argument, and would
        // publish the variant names instead of the wire values.
        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                let docs: &[&str] = &[$($doc),*];
                let description = docs.iter().map(|l| l.trim()).collect::<Vec<_>>().join("\n");
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description((!description.is_empty()).then_some(description))
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

pub mod asset;
pub mod asset_tree;
pub mod audit;
pub mod check;
pub mod diagram;
pub mod diff;
pub mod document;
pub mod environment;
pub mod evaluation;
pub mod gaps;
pub mod ids;
pub mod integration;
pub mod interchange;
pub mod job;
pub mod model;
pub mod org;
pub mod progress;
pub mod report;
pub mod risk;
pub mod role;
pub mod scope;
pub mod scoring;
pub mod severity;
pub mod signature;
pub mod threat;
pub mod threat_actor;
pub mod treatment;
pub mod tree;
pub mod validation;
pub mod version;
pub mod webhook;

pub use validation::{FieldError, ValidationErrors};
