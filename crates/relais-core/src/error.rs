//! One error type with stable codes, shared by every layer.
//!
//! The code is part of the public API (clients match on it); the message is
//! for humans and says what was wrong and where.

use serde::Serialize;

/// Stable, machine-readable error codes. Never rename a variant's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    InvalidBody,
    InvalidGzip,
    UnsupportedEncoding,
    MissingField,
    InvalidField,
    MissingIdentity,
    InvalidType,
    /// A segment condition or computed trait definition is wrong; the
    /// message names the node (`and[1].where[0].op`).
    InvalidCondition,
    /// A journey definition that cannot run; the message names the step.
    InvalidJourney,
    /// A message template that does not render (Liquid, MJML).
    InvalidTemplate,
    EventTooLarge,
    BatchTooLarge,
    PayloadTooLarge,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    Overloaded,
    Timeout,
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidGzip => "invalid_gzip",
            ErrorCode::UnsupportedEncoding => "unsupported_encoding",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::MissingIdentity => "missing_identity",
            ErrorCode::InvalidType => "invalid_type",
            ErrorCode::InvalidCondition => "invalid_condition",
            ErrorCode::InvalidJourney => "invalid_journey",
            ErrorCode::InvalidTemplate => "invalid_template",
            ErrorCode::EventTooLarge => "event_too_large",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status this code maps to. Kept here so every transport
    /// (HTTP today, others later) answers the same way.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedEncoding => 415,
            ErrorCode::Overloaded => 503,
            ErrorCode::Timeout => 504,
            ErrorCode::Internal => 500,
            _ => 400,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A domain error: a stable code and a message that names the culprit.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::NotFound, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidField, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::Internal, message)
    }
}
