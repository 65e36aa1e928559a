//! Building the RFC 5322 message an [`Outgoing`] e-mail becomes: headers,
//! multipart/alternative body, DKIM signature (over the final bytes).

use super::dkim::DkimSigner;
use super::qp::encode_body;
use super::render::html_to_text;
use crate::{Address, Content, Outgoing, SendError};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart, SinglePart};
use lettre::Message;

/// The header carrying the Relais message id, returned in bounces and complaints.
pub const RELAIS_ID_HEADER: &str = "X-Relais-Message-Id";

/// The headers a DKIM signature covers, in this order in `h=`. Each present
/// one is listed once per instance; absent ones (no `Reply-To`, no `List-Id`,
/// no top-level `Content-Transfer-Encoding` in a multipart message) are listed
/// once: verifiers count them as empty, so they cannot be added in transit
/// without breaking the signature. RFC 8058 requires `List-Unsubscribe` and
/// `List-Unsubscribe-Post` to be covered for one-click unsubscription; RFC 6376
/// §5.4.1 advises the `Content-*` ones, which the signature over the final
/// bytes can cover.
pub(crate) const SIGNED_HEADERS: [&str; 14] = [
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "List-Id",
    "Feedback-ID",
    RELAIS_ID_HEADER,
];

/// Headers the provider writes itself; `EmailContent::headers` may not set them.
const RESERVED: [&str; 15] = [
    "from",
    "to",
    "cc",
    "bcc",
    "subject",
    "date",
    "message-id",
    "reply-to",
    "sender",
    "return-path",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "dkim-signature",
    "x-relais-message-id",
];

/// A message ready for the wire.
#[derive(Debug)]
pub(crate) struct Built {
    pub bytes: Vec<u8>,
    /// `bytes` ready for DATA (dot-stuffed, terminated), sent in one write.
    pub data: Option<String>,
    pub from: lettre::Address,
    pub to: lettre::Address,
    /// `<{msg.id}@{from domain}>`.
    pub message_id: String,
}

/// The message as RFC 5322 bytes, before signing: `data` is not made yet.
#[derive(Debug)]
pub(crate) struct Composed(Built);

/// [`compose`] then [`finish`]: the provider runs them apart, to sign RSA off
/// the async workers.
#[cfg(test)]
pub(crate) fn build(msg: &Outgoing, dkim: Option<&DkimSigner>) -> Result<Built, SendError> {
    finish(compose(msg)?, dkim)
}

/// Signs the exact bytes to be sent when `dkim` is given (the DKIM-Signature
/// header goes in front), then prepares the DATA payload.
pub(crate) fn finish(composed: Composed, dkim: Option<&DkimSigner>) -> Result<Built, SendError> {
    let mut built = composed.0;
    if let Some(dkim) = dkim {
        built.bytes = dkim.sign(&built.bytes)?;
    }
    built.data = dot_stuffed(&built.bytes);
    Ok(built)
}

pub(crate) fn compose(msg: &Outgoing) -> Result<Composed, SendError> {
    let (Address::Email(to), Content::Email(c)) = (&msg.to, &msg.content) else {
        return Err(SendError::permanent(
            "smtp: not an e-mail (address and content must both be e-mail)",
        ));
    };
    let to_addr: lettre::Address = to.address.trim().parse().map_err(|e| {
        SendError::invalid_address(format!("smtp: recipient `{}` is not valid: {e}", to.address))
    })?;
    let from_addr: lettre::Address =
        c.from.address.trim().parse().map_err(|e| {
            SendError::permanent(format!("smtp: sender `{}` is not valid: {e}", c.from.address))
        })?;
    if msg.id.is_empty()
        || !msg
            .id
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "_-.".contains(ch))
    {
        return Err(SendError::permanent(format!(
            "smtp: message id `{}` cannot go in a Message-ID",
            msg.id
        )));
    }
    let message_id = format!("<{}@{}>", msg.id, from_addr.domain());
    let mut builder = Message::builder()
        .from(LettreMailbox::new(c.from.name.clone(), from_addr.clone()))
        .to(LettreMailbox::new(to.name.clone(), to_addr.clone()))
        .subject(c.subject.as_str())
        .message_id(Some(message_id.clone()))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str(RELAIS_ID_HEADER),
            msg.id.clone(),
        ));
    if let Some(reply_to) = &c.reply_to {
        let addr: lettre::Address = reply_to.address.trim().parse().map_err(|e| {
            SendError::permanent(format!("smtp: reply-to `{}` is not valid: {e}", reply_to.address))
        })?;
        builder = builder.reply_to(LettreMailbox::new(reply_to.name.clone(), addr));
    }
    for (name, value) in &c.headers {
        builder = builder.raw_header(HeaderValue::new(header_name(name)?, value.clone()));
    }
    let text = if c.text.trim().is_empty() && !c.html.is_empty() {
        html_to_text(&c.html)
    } else {
        c.text.clone()
    };
    let built = if c.html.is_empty() {
        builder.singlepart(part(ContentType::TEXT_PLAIN, &text))
    } else {
        builder.multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, &text))
                .singlepart(part(ContentType::TEXT_HTML, &c.html)),
        )
    };
    let message = built.map_err(|e| SendError::permanent(format!("smtp: message does not build: {e}")))?;
    Ok(Composed(Built {
        bytes: message.formatted(),
        data: None,
        from: from_addr,
        to: to_addr,
        message_id,
    }))
}

fn part(content_type: ContentType, text: &str) -> SinglePart {
    SinglePart::builder().header(content_type).body(encode_body(text))
}

/// The DATA payload: lines starting with "." get another (RFC 5321 §4.5.2), and
/// the terminating "." line follows. `None` if the message is not UTF-8 (it is
/// ASCII: headers are encoded, bodies 7bit or quoted-printable).
fn dot_stuffed(msg: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(msg).ok()?;
    let mut out = String::with_capacity(msg.len() + 64);
    for line in text.split_inclusive('\n') {
        if line.starts_with('.') {
            out.push('.');
        }
        out.push_str(line);
    }
    if !out.ends_with("\r\n") {
        out.push_str("\r\n");
    }
    out.push_str(".\r\n");
    Some(out)
}

fn header_name(name: &str) -> Result<HeaderName, SendError> {
    let printable = !name.is_empty() && name.chars().all(|c| c.is_ascii_graphic() && c != ':');
    if !printable {
        return Err(SendError::permanent(format!(
            "smtp: `{name}` is not a header name"
        )));
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(SendError::permanent(format!(
            "smtp: header `{name}` is set by the provider"
        )));
    }
    HeaderName::new_from_ascii(name.to_owned())
        .map_err(|_| SendError::permanent(format!("smtp: `{name}` is not a header name")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmailContent, Mailbox};

    pub(crate) fn sample(id: &str, to: &str) -> Outgoing {
        Outgoing {
            id: id.into(),
            to: Address::Email(Mailbox {
                address: to.into(),
                name: Some("Zoé Client".into()),
            }),
            content: Content::Email(EmailContent {
                from: Mailbox {
                    address: "news@shop.example".into(),
                    name: Some("Shop".into()),
                },
                reply_to: Some(Mailbox {
                    address: "help@shop.example".into(),
                    name: None,
                }),
                subject: "Soldes d'été ☀".into(),
                html: "<p>Hello <a href=\"https://shop.example\">shop</a></p>".into(),
                text: "Hello shop (https://shop.example)".into(),
                headers: vec![
                    ("List-Unsubscribe".into(), "<https://shop.example/u/abc>".into()),
                    (
                        "List-Unsubscribe-Post".into(),
                        "List-Unsubscribe=One-Click".into(),
                    ),
                ],
            }),
        }
    }

    #[test]
    fn builds_headers_and_alternative_parts() {
        let b = build(&sample("msg_01abc", "zoe@client.example"), None).unwrap();
        let raw = String::from_utf8(b.bytes).unwrap();
        assert!(raw.is_ascii(), "headers and parts are encoded");
        assert_eq!(b.message_id, "<msg_01abc@shop.example>");
        for want in [
            "Message-ID: <msg_01abc@shop.example>\r\n",
            "X-Relais-Message-Id: msg_01abc\r\n",
            "List-Unsubscribe: <https://shop.example/u/abc>\r\n",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
            "Reply-To: help@shop.example\r\n",
            "Content-Type: multipart/alternative;",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Type: text/html; charset=utf-8",
            "Subject: Soldes =?utf-8?b?",
            "Date: ",
        ] {
            assert!(raw.contains(want), "missing {want:?} in\n{raw}");
        }
        assert!(raw.find("text/plain").unwrap() < raw.find("text/html").unwrap());
    }

    #[test]
    fn the_signature_covers_the_final_bytes_content_type_included() {
        let key =
            super::super::dkim_key::ed25519_key("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=").unwrap();
        let signer = DkimSigner::new("shop.example", "s1", key, &SIGNED_HEADERS).unwrap();
        let b = build(&sample("msg_01abc", "zoe@client.example"), Some(&signer)).unwrap();
        let raw = String::from_utf8(b.bytes).unwrap();
        assert!(
            raw.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;"),
            "{raw}"
        );
        let (fields, _) = super::super::dkim::split_message(raw.as_bytes());
        let signatures = fields
            .iter()
            .filter(|f| f.starts_with(b"DKIM-Signature:"))
            .count();
        assert_eq!(signatures, 1);
        let header = std::str::from_utf8(fields[0]).unwrap();
        let unfolded = header.replace("\r\n ", " ");
        assert!(
            unfolded.contains(
                "h=from:reply-to:to:subject:date:message-id:mime-version:content-type: \
                 content-transfer-encoding:list-unsubscribe:list-unsubscribe-post:list-id: \
                 feedback-id:x-relais-message-id;"
            ),
            "{header}"
        );
        let data = b.data.unwrap();
        assert!(data.starts_with("DKIM-Signature: ") && data.ends_with("\r\n.\r\n"));
    }

    #[test]
    fn data_is_dot_stuffed_and_terminated() {
        assert_eq!(
            dot_stuffed(b".a\r\nb\r\n.c\r\n..d").unwrap(),
            "..a\r\nb\r\n..c\r\n...d\r\n.\r\n"
        );
        assert_eq!(dot_stuffed(b"x\r\n").unwrap(), "x\r\n.\r\n");
        assert_eq!(dot_stuffed(b"\xff"), None);
    }

    #[test]
    fn refuses_bad_input() {
        let e = build(&sample("msg_1", "not an address"), None).unwrap_err();
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: true,
                    ..
                }
            ),
            "{e:?}"
        );
        let e = build(&sample("msg 1>", "a@b.example"), None).unwrap_err();
        assert!(
            matches!(
                e,
                SendError::Permanent {
                    invalid_address: false,
                    ..
                }
            ),
            "{e:?}"
        );
        for name in ["Bcc", "message-id", "X-A\r\nBcc", "", "A:B"] {
            let mut m = sample("msg_1", "a@b.example");
            let Content::Email(c) = &mut m.content else {
                unreachable!()
            };
            c.headers.push((name.into(), "x".into()));
            let e = build(&m, None).unwrap_err();
            assert!(!e.is_retryable(), "{name:?}");
        }
        let mut m = sample("msg_1", "a@b.example");
        m.content = Content::Sms(crate::SmsContent {
            body: "x".into(),
            from: None,
        });
        assert!(build(&m, None).is_err());
    }

    #[test]
    fn text_part_is_derived_when_missing_and_html_is_optional() {
        let mut m = sample("msg_1", "a@b.example");
        let Content::Email(c) = &mut m.content else {
            unreachable!()
        };
        c.text = String::new();
        let raw = String::from_utf8(build(&m, None).unwrap().bytes).unwrap();
        assert!(raw.contains("Hello shop (https://shop.example)"), "{raw}");
        let Content::Email(c) = &mut m.content else {
            unreachable!()
        };
        c.html = String::new();
        c.text = "only text".into();
        let raw = String::from_utf8(build(&m, None).unwrap().bytes).unwrap();
        assert!(!raw.contains("multipart") && raw.contains("only text"), "{raw}");
    }
}
