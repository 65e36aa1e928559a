//! What an SMTP failure means for the outbox (retry, give up, suppress the
//! address), and what a 250 reply says about the server's queue id.

use crate::http::truncate;
use crate::SendError;

/// The step of the conversation that failed: the same reply code means different
/// things on `RCPT TO` (this recipient) and on `DATA` (this message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Connect,
    Auth,
    MailFrom,
    RcptTo,
    Data,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Connect => "connect",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
        }
    }
}

/// Reads a lettre error: a reply from the server is classified by its code,
/// anything else (refused or dropped connection, timeout, TLS, garbled reply) is
/// worth a retry.
pub(crate) fn classify(stage: Stage, e: &lettre::transport::smtp::Error) -> SendError {
    match e.status() {
        Some(code) => {
            let code: u16 = code.to_string().parse().unwrap_or(500);
            let text = std::error::Error::source(e)
                .map(|s| s.to_string())
                .unwrap_or_default();
            classify_reply(stage, code, &text)
        }
        None => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_tls() {
                "TLS failed"
            } else {
                "failed"
            };
            SendError::retryable(format!("smtp: {} {what}: {e}", stage.as_str()))
        }
    }
}

/// The mapping of a negative reply:
///
/// | reply | outcome |
/// |---|---|
/// | 4xx anywhere | retryable |
/// | 530/534/535/538, or any 5xx to AUTH | retryable (credentials being fixed) |
/// | 5xx to the greeting, EHLO or STARTTLS | retryable (the relay, not the message) |
/// | 5xx to `RCPT TO` with enhanced status 5.1.x (not 5.1.7/5.1.8, the sender's), or no enhanced status and 550/551/553 | permanent, invalid address |
/// | any other 5xx | permanent |
pub(crate) fn classify_reply(stage: Stage, code: u16, text: &str) -> SendError {
    let text = truncate(text.trim(), 300);
    let reason = format!("smtp: {} rejected: {code} {text}", stage.as_str());
    let not_the_message = matches!(stage, Stage::Connect | Stage::Auth);
    if (400..500).contains(&code) || matches!(code, 530 | 534 | 535 | 538) || not_the_message {
        return SendError::retryable(reason);
    }
    let invalid_address = stage == Stage::RcptTo
        && match enhanced_status(text) {
            Some((5, 1, detail)) => !matches!(detail, 7 | 8),
            Some(_) => false,
            None => matches!(code, 550 | 551 | 553),
        };
    SendError::Permanent {
        reason,
        invalid_address,
    }
}

/// The RFC 3463 enhanced status code at the start of a reply text ("5.1.1 …").
pub(crate) fn enhanced_status(text: &str) -> Option<(u8, u16, u16)> {
    let word = text.split_whitespace().next()?;
    let mut parts = word.split('.');
    let class = parts
        .next()?
        .parse::<u8>()
        .ok()
        .filter(|c| matches!(c, 2 | 4 | 5))?;
    let subject = parts.next()?.parse().ok()?;
    let detail = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((class, subject, detail))
}

/// The queue id a server put in its 250 reply to the message, when it names one:
/// Postfix `Ok: queued as 4Xk3pQ1Zz2z9`, Exim `OK id=1tXyz7-000AbC-2b`, Sendmail
/// `5ABCxyz123 Message accepted for delivery`, Amazon SES `Ok 0100018f…-000000`.
pub(crate) fn queue_id(reply_text: &str) -> Option<String> {
    let text = reply_text.trim();
    let clean = |s: &str| {
        let s = s.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '.');
        (!s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        .then(|| s.to_owned())
    };
    let lower = text.to_ascii_lowercase();
    if let Some(i) = lower.find("queued as ") {
        return text[i + 10..].split_whitespace().next().and_then(clean);
    }
    if let Some(i) = lower.find("id=") {
        return text[i + 3..].split_whitespace().next().and_then(clean);
    }
    let mut words: Vec<&str> = text.split_whitespace().collect();
    if words.first().is_some_and(|w| enhanced_status(w).is_some()) {
        words.remove(0);
    }
    match words.as_slice() {
        [id, next, ..] if next.eq_ignore_ascii_case("message") && looks_like_id(id) => clean(id),
        [ok, id, ..] if ok.eq_ignore_ascii_case("ok") && looks_like_id(id) => clean(id),
        [ok, id] if ok.eq_ignore_ascii_case("ok") && id.len() >= 10 => clean(id),
        _ => None,
    }
}

/// A token with digits and letters, long enough not to be a word.
fn looks_like_id(s: &str) -> bool {
    s.len() >= 8 && s.chars().any(|c| c.is_ascii_digit()) && s.chars().any(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(e: &SendError) -> bool {
        matches!(
            e,
            SendError::Permanent {
                invalid_address: true,
                ..
            }
        )
    }

    #[test]
    fn reply_codes_are_classified() {
        let e = classify_reply(
            Stage::RcptTo,
            550,
            "5.1.1 <x@y>: Recipient address rejected: User unknown",
        );
        assert!(invalid(&e), "{e:?}");
        assert!(e.to_string().contains("RCPT TO rejected: 550 5.1.1"), "{e}");
        assert!(invalid(&classify_reply(
            Stage::RcptTo,
            553,
            "mailbox name not allowed"
        )));
        assert!(invalid(&classify_reply(Stage::RcptTo, 551, "User not local")));
        assert!(invalid(&classify_reply(Stage::RcptTo, 550, "5.1.10 null MX")));
        // Policy refusals on RCPT are not about the address.
        let e = classify_reply(Stage::RcptTo, 550, "5.7.1 Relaying denied");
        assert!(!invalid(&e) && !e.is_retryable());
        assert!(!invalid(&classify_reply(
            Stage::RcptTo,
            552,
            "5.2.2 Mailbox full"
        )));
        // The same 550 after DATA is about the message.
        let e = classify_reply(Stage::Data, 550, "5.1.1 unknown");
        assert!(!invalid(&e) && !e.is_retryable());
        assert!(!invalid(&classify_reply(
            Stage::MailFrom,
            553,
            "5.1.8 sender domain"
        )));
        for (stage, code) in [(Stage::RcptTo, 451), (Stage::Data, 452), (Stage::MailFrom, 421)] {
            assert!(classify_reply(stage, code, "4.3.0 try later").is_retryable());
        }
        assert!(classify_reply(Stage::Auth, 535, "5.7.8 bad credentials").is_retryable());
        assert!(classify_reply(Stage::MailFrom, 530, "5.7.0 Authentication required").is_retryable());
        assert!(classify_reply(Stage::Auth, 504, "mechanism unknown").is_retryable());
        assert!(classify_reply(Stage::Connect, 554, "5.7.1 no service for you").is_retryable());
    }

    #[test]
    fn enhanced_status_codes() {
        assert_eq!(enhanced_status("5.1.1 User unknown"), Some((5, 1, 1)));
        assert_eq!(enhanced_status("4.7.0"), Some((4, 7, 0)));
        assert_eq!(enhanced_status("Mailbox unavailable"), None);
        assert_eq!(enhanced_status("1.2.3 nope"), None);
        assert_eq!(enhanced_status("5.1 short"), None);
    }

    #[test]
    fn queue_ids_in_replies() {
        assert_eq!(
            queue_id("2.0.0 Ok: queued as 4Xk3pQ1Zz2z9").as_deref(),
            Some("4Xk3pQ1Zz2z9")
        );
        assert_eq!(
            queue_id("OK id=1tXyz7-000AbC-2b").as_deref(),
            Some("1tXyz7-000AbC-2b")
        );
        assert_eq!(
            queue_id("2.0.0 5ABCxyz123 Message accepted for delivery").as_deref(),
            Some("5ABCxyz123")
        );
        assert_eq!(
            queue_id("Ok 0100018f2b3c4d5e-1a2b3c4d-000000").as_deref(),
            Some("0100018f2b3c4d5e-1a2b3c4d-000000")
        );
        assert_eq!(queue_id("Message accepted for delivery"), None);
        assert_eq!(queue_id("2.0.0 OK"), None);
        assert_eq!(queue_id("Ok"), None);
    }
}
