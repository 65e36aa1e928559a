//! Direct mail: letters through Lob's API, or a daily print batch (CSV + PDF)
//! for a local print shop. Addresses are checked before either, so that an
//! undeliverable letter is neither paid for nor printed.

pub mod address;
pub mod export;
mod helvetica;
pub mod lob;

pub use address::{validate, AddressProblem};
pub use export::{export_batch, ExportError, ExportedBatch, PrintLetter};
pub use lob::{LobConfig, LobProvider};

/// A direct-mail provider's configuration is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);
