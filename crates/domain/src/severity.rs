//! Severity, the common scale every scoring method ends on.

string_enum!(
    /// Ordered from `info` to `critical`.
    Severity {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl Default for Severity {
    /// A model's risk appetite defaults to `medium` (product.md, step 5).
    fn default() -> Self {
        Severity::Medium
    }
}
