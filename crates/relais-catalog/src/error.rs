//! The two errors of this crate: a field that fails validation, and a row of
//! an import file that cannot be used (its line and why).

use std::fmt;

/// A value that fails validation: which field (`price`, `complements[2]`,
/// `hours`) and why, in words a data engineer can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

impl From<FieldError> for relais_core::Error {
    fn from(e: FieldError) -> Self {
        relais_core::Error::invalid(e.to_string())
    }
}

/// One row of an import file that was not imported. `line` is 1-based and
/// points at the first line of the row (a quoted CSV cell may span lines);
/// line 1 of a CSV file is its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub reason: String,
}

impl RowError {
    pub fn new(line: u64, reason: impl Into<String>) -> RowError {
        RowError {
            line,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for RowError {}

impl From<RowError> for relais_core::Error {
    fn from(e: RowError) -> Self {
        relais_core::Error::invalid(e.to_string())
    }
}
