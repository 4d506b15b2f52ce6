use std::fmt;

/// A rejected input value. Carries the field it belongs to so the API can point the caller at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct FieldError {
    /// The input field, e.g. `to_address`.
    pub field: String,
    /// A stable machine-readable code, e.g. `invalid_address`.
    pub code: &'static str,
    /// What is wrong, for a human.
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code,
            reason: reason.into(),
        }
    }

    /// Re-labels the error for the field the caller actually parsed (e.g. `address` -> `to_address`).
    #[must_use]
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}
