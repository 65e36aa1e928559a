//! Relais domain types and pure logic.
//!
//! Nothing in this crate does I/O: it parses and validates Segment messages,
//! extracts and normalises identifiers, and folds events into a profile
//! document. The store, the engine and the HTTP layer all agree on these
//! types, so the semantics of `DESIGN.md` live in exactly one place.

pub mod commerce;
pub mod computed;
pub mod condition;
pub mod error;
pub mod identity;
pub mod ids;
pub mod journey;
pub mod membership;
pub mod message;
pub mod profile;
pub mod rfm;
pub mod slim;
pub mod time;

pub use error::{Error, ErrorCode};
pub use ids::{ProfileId, SegmentId, SourceId, WorkspaceId};
