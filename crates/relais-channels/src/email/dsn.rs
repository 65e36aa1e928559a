//! Reading what comes back: delivery status notifications (bounces, RFC 3464)
//! and abuse feedback reports (complaints, RFC 5965), as received on the bounce
//! or feedback mailbox. Both are `multipart/report` messages; the Relais message
//! they concern is found in the original headers they return.

use mail_parser::{MessageParser, MessagePart, MimeHeaders, PartType};
use serde::Serialize;

/// What an inbound message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "report", rename_all = "snake_case")]
pub enum Feedback {
    /// A DSN: one report per recipient it covers.
    Bounces(Vec<BounceReport>),
    /// An ARF complaint ("this is spam").
    Complaint(Complaint),
    /// Anything else (an auto-reply, a person writing back, a non-standard bounce).
    NotAReport,
}

/// One recipient's fate in a DSN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceReport {
    /// `Original-Recipient`, else `Final-Recipient`, without the address type.
    pub recipient: String,
    pub action: DsnAction,
    /// The RFC 3463 status, e.g. "5.1.1".
    pub status: String,
    /// A permanent failure (`5.x.x` and action `failed`): suppress the address.
    pub hard: bool,
    /// `Diagnostic-Code` without its type ("550 5.1.1 <x@y>: user unknown").
    pub diagnostic: Option<String>,
    /// `X-Relais-Message-Id` of the returned message, else the local part of its
    /// `Message-ID` when that is a Relais id (`msg_…@domain`).
    pub relais_message_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DsnAction {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl DsnAction {
    fn parse(s: &str) -> Option<DsnAction> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "failed" => DsnAction::Failed,
            "delayed" => DsnAction::Delayed,
            "delivered" => DsnAction::Delivered,
            "relayed" => DsnAction::Relayed,
            "expanded" => DsnAction::Expanded,
            _ => return None,
        })
    }
}

/// An ARF report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Complaint {
    /// `Feedback-Type`, lower-cased: "abuse", "fraud", "not-spam", "virus", "other".
    pub feedback_type: String,
    /// `Original-Rcpt-To`, else the `To` of the returned message (often redacted).
    pub original_recipient: Option<String>,
    pub relais_message_id: Option<String>,
}

/// A report that says it is one but cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DsnError {
    #[error("not an RFC 5322 message")]
    NotAMessage,
    #[error("malformed {report}: {reason}")]
    Malformed { report: &'static str, reason: String },
}

/// Classifies and reads an inbound message (raw RFC 5322 bytes).
pub fn parse_feedback(raw: &[u8]) -> Result<Feedback, DsnError> {
    let msg = MessageParser::default().parse(raw).ok_or(DsnError::NotAMessage)?;
    let report_type = msg
        .content_type()
        .filter(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype() == Some("report"))
        .and_then(|ct| ct.attribute("report-type"))
        .map(str::to_ascii_lowercase);
    let status_part = msg
        .parts
        .iter()
        .find(|p| has_type(p, "message", "delivery-status"));
    let status_part = status_part.or_else(|| {
        msg.parts
            .iter()
            .find(|p| has_type(p, "message", "global-delivery-status"))
    });
    let feedback_part = msg
        .parts
        .iter()
        .find(|p| has_type(p, "message", "feedback-report"));
    let original = original_headers(&msg.parts);
    let relais_id = original.as_deref().and_then(relais_message_id);
    let is_dsn = match report_type.as_deref() {
        Some("delivery-status") => true,
        Some("feedback-report") => false,
        // Some MTAs send the report parts without the multipart/report wrapper.
        _ if status_part.is_some() => true,
        _ if feedback_part.is_some() => false,
        _ => return Ok(Feedback::NotAReport),
    };
    if is_dsn {
        let part = status_part.ok_or_else(|| malformed("DSN", "no message/delivery-status part"))?;
        return dsn_reports(&part_text(part), relais_id).map(Feedback::Bounces);
    }
    let part = feedback_part.ok_or_else(|| malformed("ARF report", "no message/feedback-report part"))?;
    let fields = fields(&part_text(part));
    let feedback_type = field(&fields, "feedback-type")
        .map(|s| s.to_ascii_lowercase())
        .ok_or_else(|| malformed("ARF report", "no Feedback-Type field"))?;
    let original_recipient = field(&fields, "original-rcpt-to")
        .map(|r| strip_address(&r))
        .or_else(|| {
            original
                .as_deref()
                .and_then(|h| header(h, "to"))
                .map(strip_address)
        });
    Ok(Feedback::Complaint(Complaint {
        feedback_type,
        original_recipient,
        relais_message_id: relais_id,
    }))
}

/// The per-recipient blocks of a `message/delivery-status` body (the first block
/// holds the per-message fields).
fn dsn_reports(text: &str, relais_id: Option<String>) -> Result<Vec<BounceReport>, DsnError> {
    let mut reports = Vec::new();
    for block in blocks(text).into_iter().skip(1) {
        let f = fields(&block);
        let Some(recipient) = field(&f, "original-recipient").or_else(|| field(&f, "final-recipient")) else {
            continue;
        };
        let action = field(&f, "action")
            .and_then(|a| DsnAction::parse(&a))
            .ok_or_else(|| malformed("DSN", format!("recipient {recipient}: no valid Action")))?;
        let status = field(&f, "status")
            .and_then(|s| s.split_whitespace().next().map(str::to_owned))
            .ok_or_else(|| malformed("DSN", format!("recipient {recipient}: no Status")))?;
        reports.push(BounceReport {
            recipient: strip_address(&recipient),
            hard: action == DsnAction::Failed && status.starts_with('5'),
            action,
            status,
            diagnostic: field(&f, "diagnostic-code").map(|d| strip_type(&d).to_owned()),
            relais_message_id: relais_id.clone(),
        });
    }
    if reports.is_empty() {
        return Err(malformed("DSN", "no per-recipient fields"));
    }
    Ok(reports)
}

fn malformed(report: &'static str, reason: impl Into<String>) -> DsnError {
    DsnError::Malformed {
        report,
        reason: reason.into(),
    }
}

fn has_type(part: &MessagePart<'_>, ctype: &str, subtype: &str) -> bool {
    part.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case(ctype)
            && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case(subtype))
    })
}

fn part_text(part: &MessagePart<'_>) -> String {
    String::from_utf8_lossy(part.contents()).into_owned()
}

/// The returned message's header fields (name lower-cased, value unfolded), from a
/// `message/rfc822` part or a `text/rfc822-headers` one.
fn original_headers(parts: &[MessagePart<'_>]) -> Option<Vec<(String, String)>> {
    for part in parts {
        if let PartType::Message(inner) = &part.body {
            let raw = inner.raw_message();
            let end = find_blank_line(raw).unwrap_or(raw.len());
            return Some(fields(&String::from_utf8_lossy(&raw[..end])));
        }
        if has_type(part, "text", "rfc822-headers") || has_type(part, "message", "global-headers") {
            return Some(fields(&part_text(part)));
        }
    }
    None
}

fn find_blank_line(raw: &[u8]) -> Option<usize> {
    raw.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n"))
}

fn relais_message_id(headers: &[(String, String)]) -> Option<String> {
    if let Some(id) = header(headers, "x-relais-message-id") {
        let id = id.trim();
        if !id.is_empty() {
            return Some(id.to_owned());
        }
    }
    let mid = header(headers, "message-id")?;
    let local = mid.trim().trim_start_matches('<').split('@').next()?;
    local.starts_with("msg_").then(|| local.to_owned())
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    header(fields, name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Splits DSN fields into blocks at blank lines.
fn blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push_str(line);
            cur.push('\n');
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Header-style fields, continuation lines unfolded; names lower-cased.
fn fields(block: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

/// `rfc822; a@b` → `a@b`; `smtp; 550 …` → `550 …`.
fn strip_type(v: &str) -> &str {
    match v.split_once(';') {
        Some((kind, rest)) if !kind.contains(' ') && !kind.contains('@') => rest.trim(),
        _ => v.trim(),
    }
}

fn strip_address(v: &str) -> String {
    let v = strip_type(v);
    let v = match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => &v[a + 1..b],
        _ => v,
    };
    v.trim().to_owned()
}

#[cfg(test)]
#[path = "dsn_tests.rs"]
mod tests;
