//! What Twilio posts to us: inbound messages (with opt-out keywords), status
//! callbacks, and the `X-Twilio-Signature` that proves they came from Twilio.
//!
//! Parameters: <https://www.twilio.com/docs/messaging/guides/webhook-request>
//! (`From`, `To`, `Body`, `MessageSid`) and the status callback
//! (`MessageSid`, `MessageStatus`, `ErrorCode`).
//! Signature: <https://www.twilio.com/docs/usage/webhooks/webhooks-security>: the full
//! URL, then every POST parameter sorted by name as name + value with no separator,
//! HMAC-SHA1 keyed with the auth token, base64.
//! Keywords: Twilio's default opt-out set (STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
//! QUIT, REVOKE, OPTOUT), opt-in (START, YES, UNSTOP) and help (HELP, INFO):
//! <https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out>; plus the
//! French STOP forms (ARRET, ARRÊT, STOP SMS) used on French short codes.

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;

/// What an inbound body asks for, when it is a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    /// Opt out of this sender.
    Stop,
    /// Opt back in.
    Start,
    /// Ask for help (the program's contact details).
    Help,
}

const STOP: &[&str] = &[
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "ARRET",
    "ARRÊT",
    "STOP SMS",
];
const START: &[&str] = &["START", "YES", "UNSTOP"];
const HELP: &[&str] = &["HELP", "INFO"];

impl Keyword {
    /// The keyword a whole body is, ignoring case and surrounding or repeated
    /// whitespace; `None` for anything else ("stop it" is not STOP).
    pub fn detect(body: &str) -> Option<Keyword> {
        let norm = body
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase();
        if STOP.contains(&norm.as_str()) {
            Some(Keyword::Stop)
        } else if START.contains(&norm.as_str()) {
            Some(Keyword::Start)
        } else if HELP.contains(&norm.as_str()) {
            Some(Keyword::Help)
        } else {
            None
        }
    }
}

/// One message received on a Twilio number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inbound {
    pub from: String,
    pub to: String,
    pub body: String,
    pub message_sid: String,
    pub keyword: Option<Keyword>,
}

/// A delivery status change of a message we sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusUpdate {
    pub message_sid: String,
    /// queued, sending, sent, delivered, undelivered, failed, read, canceled…
    /// (Twilio adds values over time: kept as sent).
    pub status: String,
    /// Twilio's error code for failed / undelivered messages (30003 unreachable…).
    pub error_code: Option<u32>,
}

fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Reads an inbound-message webhook; `None` when `From` or `MessageSid` is missing.
pub fn parse_inbound(form: &[(String, String)]) -> Option<Inbound> {
    let from = param(form, "From")?.to_string();
    let message_sid = param(form, "MessageSid")
        .or_else(|| param(form, "SmsMessageSid"))?
        .to_string();
    let body = param(form, "Body").unwrap_or_default().to_string();
    Some(Inbound {
        keyword: Keyword::detect(&body),
        from,
        to: param(form, "To").unwrap_or_default().to_string(),
        body,
        message_sid,
    })
}

/// Reads a status callback; `None` when `MessageSid` or the status is missing.
pub fn parse_status_callback(form: &[(String, String)]) -> Option<StatusUpdate> {
    let message_sid = param(form, "MessageSid")
        .or_else(|| param(form, "SmsSid"))?
        .to_string();
    let status = param(form, "MessageStatus")
        .or_else(|| param(form, "SmsStatus"))?
        .to_ascii_lowercase();
    let error_code = param(form, "ErrorCode").and_then(|c| c.trim().parse().ok());
    Some(StatusUpdate {
        message_sid,
        status,
        error_code,
    })
}

/// Checks `X-Twilio-Signature` (`header_value`) for a form-encoded webhook.
/// `full_url` is the URL exactly as Twilio called it (scheme, host, port if any,
/// path, query string); `form_params` are all the POST parameters received.
/// The comparison is constant-time (HMAC verification).
pub fn verify_signature(
    auth_token: &str,
    full_url: &str,
    form_params: &[(String, String)],
    header_value: &str,
) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(header_value.trim()) else {
        return false;
    };
    signer(auth_token, full_url, form_params)
        .verify_slice(&expected)
        .is_ok()
}

/// The signature Twilio would send for this request (base64).
pub fn signature(auth_token: &str, full_url: &str, form_params: &[(String, String)]) -> String {
    let tag = signer(auth_token, full_url, form_params).finalize().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(tag)
}

fn signer(auth_token: &str, full_url: &str, form_params: &[(String, String)]) -> Hmac<Sha1> {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key length");
    mac.update(full_url.as_bytes());
    // Sorted by name; a repeated name keeps its values in sorted order, as the
    // Twilio helper libraries do.
    let mut sorted: Vec<&(String, String)> = form_params.iter().collect();
    sorted.sort();
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keywords_are_whole_body_case_and_space_insensitive() {
        for (body, kw) in [
            ("STOP", Some(Keyword::Stop)),
            ("  stop \n", Some(Keyword::Stop)),
            ("StopAll", Some(Keyword::Stop)),
            ("unsubscribe", Some(Keyword::Stop)),
            ("Cancel", Some(Keyword::Stop)),
            ("end", Some(Keyword::Stop)),
            ("QUIT", Some(Keyword::Stop)),
            ("arret", Some(Keyword::Stop)),
            ("Arrêt", Some(Keyword::Stop)),
            ("stop   sms", Some(Keyword::Stop)),
            ("start", Some(Keyword::Start)),
            ("Yes", Some(Keyword::Start)),
            ("UNSTOP", Some(Keyword::Start)),
            ("help", Some(Keyword::Help)),
            ("Info", Some(Keyword::Help)),
            ("stop it", None),
            ("please stop", None),
            ("", None),
            ("stops", None),
        ] {
            assert_eq!(Keyword::detect(body), kw, "{body:?}");
        }
    }

    #[test]
    fn inbound_message_is_read() {
        let f = form(&[
            ("MessageSid", "SM123"),
            ("From", "+33612345678"),
            ("To", "+33700000000"),
            ("Body", " Stop "),
            ("NumMedia", "0"),
        ]);
        let m = parse_inbound(&f).unwrap();
        assert_eq!(m.from, "+33612345678");
        assert_eq!(m.to, "+33700000000");
        assert_eq!(m.message_sid, "SM123");
        assert_eq!(m.body, " Stop ");
        assert_eq!(m.keyword, Some(Keyword::Stop));
        let m = parse_inbound(&form(&[("MessageSid", "SM1"), ("From", "+1"), ("Body", "START")])).unwrap();
        assert_eq!(m.keyword, Some(Keyword::Start));
        assert_eq!(parse_inbound(&form(&[("From", "+1")])), None);
    }

    #[test]
    fn status_callback_is_read() {
        let f = form(&[
            ("MessageSid", "SM9"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
        ]);
        assert_eq!(
            parse_status_callback(&f),
            Some(StatusUpdate {
                message_sid: "SM9".into(),
                status: "undelivered".into(),
                error_code: Some(30003),
            })
        );
        let f = form(&[("SmsSid", "SM1"), ("SmsStatus", "delivered")]);
        assert_eq!(parse_status_callback(&f).unwrap().error_code, None);
        assert_eq!(parse_status_callback(&form(&[("MessageSid", "SM1")])), None);
    }

    /// The worked example of Twilio's security page (auth token 12345).
    #[test]
    fn signature_matches_twilio_documented_example() {
        let params = form(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(signature("12345", url, &params), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_signature(
            "12345",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        // Order of the received parameters does not matter.
        let mut reversed = params.clone();
        reversed.reverse();
        assert!(verify_signature(
            "12345",
            url,
            &reversed,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        // Any change breaks it: token, URL, a value, a parameter more.
        assert!(!verify_signature(
            "12346",
            url,
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify_signature(
            "12345",
            "https://mycompany.com/myapp.php",
            &params,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        let mut changed = params.clone();
        changed[2].1 = "1235".into();
        assert!(!verify_signature(
            "12345",
            url,
            &changed,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        changed = params.clone();
        changed.push(("Extra".into(), "".into()));
        assert!(!verify_signature(
            "12345",
            url,
            &changed,
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        ));
        assert!(!verify_signature("12345", url, &params, "not base64!"));
        assert!(!verify_signature("12345", url, &params, ""));
    }

    /// The example of the twilio-php helper library's validation guide (same
    /// URL and token, other caller number).
    #[test]
    fn signature_matches_twilio_php_example() {
        let params = form(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]);
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert!(verify_signature(
            "12345",
            url,
            &params,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }
}
