//! The e-mail channel: rendering (Liquid, MJML, a plain-text part), click and
//! open tracking helpers, the SMTP provider (pooled, DKIM-signing) and the parsing
//! of inbound bounces (DSN) and complaints (ARF). See `docs/channels/email.md`.

pub mod bench;
mod dkim;
mod dkim_key;
pub mod dsn;
mod html;
mod qp;
pub mod render;
pub mod smtp;
mod smtp_config;
mod smtp_errors;
mod smtp_message;
pub mod tracking;

pub use dsn::{parse_feedback, BounceReport, Complaint, DsnAction, DsnError, Feedback};
pub use render::{html_to_text, mjml_to_html, render_liquid, RenderError};
pub use smtp::{ConfigError, DkimAlgorithm, DkimConfig, SmtpConfig, SmtpProvider, SmtpTls};
pub use smtp_message::RELAIS_ID_HEADER;
pub use tracking::{add_utm, insert_open_pixel, rewrite_links};
