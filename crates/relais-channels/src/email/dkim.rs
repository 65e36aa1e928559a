//! DKIM signing (RFC 6376) of the finished message — the exact bytes sent —
//! with ring: `rsa-sha256` (RSASSA-PKCS1-v1_5) or `ed25519-sha256` (RFC 8463),
//! relaxed/relaxed canonicalisation. ring signs RSA-2048 several times faster
//! than the pure-Rust `rsa` crate lettre's signer uses, and signing the final
//! bytes lets the signature cover `Content-Type`, which lettre writes after
//! signing.
//!
//! Which headers are signed is the caller's list (`SIGNED_HEADERS`): each one
//! present is listed in `h=` once per instance (so every instance is covered,
//! taken from the bottom up as verifiers do), and each one absent is listed
//! once, which makes verifiers hash it as empty: it cannot be added in transit
//! without breaking the signature.

use super::dkim_key::SigningKey;
use crate::SendError;
use base64::Engine as _;
use ring::digest::{digest, Digest, SHA256};
use ring::rand::SystemRandom;
use ring::signature::RSA_PKCS1_SHA256;
use std::time::{SystemTime, UNIX_EPOCH};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Longest line written in the DKIM-Signature header (RFC 5322 §2.1.1 says 78).
const LINE: usize = 78;

/// Signs messages for one domain and selector.
#[derive(Debug)]
pub(crate) struct DkimSigner {
    domain: String,
    selector: String,
    key: SigningKey,
    headers: &'static [&'static str],
    rng: SystemRandom,
}

impl DkimSigner {
    /// `domain` (`d=`) and `selector` (`s=`) must be DNS names in ASCII (an
    /// internationalised domain as its `xn--` A-label).
    pub(crate) fn new(
        domain: &str,
        selector: &str,
        key: SigningKey,
        headers: &'static [&'static str],
    ) -> Result<DkimSigner, String> {
        for (what, name) in [("domain", domain), ("selector", selector)] {
            let ok = !name.is_empty()
                && name.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                });
            if !ok {
                return Err(format!(
                    "{what} `{name}` is not a DNS name (ASCII letters, digits, `-`, `_`, dots)"
                ));
            }
        }
        Ok(DkimSigner {
            domain: domain.to_ascii_lowercase(),
            selector: selector.to_owned(),
            key,
            headers,
            rng: SystemRandom::new(),
        })
    }

    /// `true` for RSA, whose signature costs hundreds of microseconds of CPU.
    pub(crate) fn is_slow(&self) -> bool {
        matches!(self.key, SigningKey::Rsa(_))
    }

    fn algorithm(&self) -> &'static str {
        match self.key {
            SigningKey::Rsa(_) => "rsa-sha256",
            SigningKey::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// `message` (CRLF line ends, headers then an empty line then the body) with
    /// a DKIM-Signature header put in front, signed now.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SendError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.sign_at(message, now)
    }

    pub(crate) fn sign_at(&self, message: &[u8], timestamp: u64) -> Result<Vec<u8>, SendError> {
        let (fields, body) = split_message(message);
        let mut h: Vec<&str> = Vec::with_capacity(self.headers.len() + 2);
        for &name in self.headers {
            let n = fields
                .iter()
                .filter(|f| field_name(f).eq_ignore_ascii_case(name.as_bytes()))
                .count();
            for _ in 0..n.max(1) {
                h.push(name);
            }
        }
        let bh = B64.encode(body_hash(body));
        let mut f = Folded::new("DKIM-Signature:");
        f.tag("v=1;");
        f.tag(&format!("a={};", self.algorithm()));
        f.tag("c=relaxed/relaxed;");
        f.tag(&format!("d={};", self.domain));
        f.tag(&format!("s={};", self.selector));
        f.tag(&format!("t={timestamp};"));
        f.next_line("h=");
        for (i, name) in h.iter().enumerate() {
            let sep = if i + 1 < h.len() { ":" } else { ";" };
            f.glued(&format!("{}{sep}", name.to_ascii_lowercase()));
        }
        f.tag(&format!("bh={bh};"));
        f.next_line("b=");
        let data = signed_data(&fields, &h, f.text.as_bytes());
        let signature = B64.encode(self.signature(&data)?);
        // Verifiers remove the value with its folding before hashing, so `data`
        // (ending in "b=") is what they see.
        for chunk in signature.as_bytes().chunks(72) {
            f.glued(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        }
        let header = f.text + "\r\n";
        let mut out = Vec::with_capacity(header.len() + message.len());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(message);
        Ok(out)
    }

    /// The signature of the canonical header data.
    fn signature(&self, data: &[u8]) -> Result<Vec<u8>, SendError> {
        match &self.key {
            SigningKey::Rsa(key) => {
                let mut sig = vec![0; key.public().modulus_len()];
                // ring hashes `data` with SHA-256 itself (EMSA-PKCS1-v1_5).
                key.sign(&RSA_PKCS1_SHA256, &self.rng, data, &mut sig)
                    .map_err(|_| SendError::retryable("smtp: DKIM signing failed (RSA)"))?;
                Ok(sig)
            }
            // RFC 8463 §3: Ed25519 (pure) over the SHA-256 hash of the data.
            SigningKey::Ed25519(key) => Ok(key.sign(digest(&SHA256, data).as_ref()).as_ref().to_vec()),
        }
    }
}

/// A header field being written, folded to keep lines within [`LINE`].
struct Folded {
    text: String,
    col: usize,
}

impl Folded {
    fn new(name: &str) -> Folded {
        Folded {
            text: name.to_owned(),
            col: name.len(),
        }
    }

    /// `token` after a space, or on a line of its own when it does not fit.
    fn tag(&mut self, token: &str) {
        if self.col + 1 + token.len() > LINE {
            self.text.push_str("\r\n");
            self.col = 0;
        }
        self.text.push(' ');
        self.text.push_str(token);
        self.col += 1 + token.len();
    }

    /// `token` right after what precedes, or on the next line when it does not fit.
    fn glued(&mut self, token: &str) {
        if self.col + token.len() > LINE {
            self.text.push_str("\r\n ");
            self.col = 1;
        }
        self.text.push_str(token);
        self.col += token.len();
    }

    /// `token` at the start of a new line.
    fn next_line(&mut self, token: &str) {
        self.text.push_str("\r\n ");
        self.text.push_str(token);
        self.col = 1 + token.len();
    }
}

/// The header fields (each without its final CRLF, continuation lines
/// included) and the body. A message without the empty line is all headers.
pub(crate) fn split_message(message: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut fields = Vec::with_capacity(24);
    // The field being read: where it starts and where its last line ends.
    let mut current: Option<(usize, usize)> = None;
    let mut pos = 0;
    loop {
        let (end, next) = match find_crlf(&message[pos..]) {
            Some(i) => (pos + i, pos + i + 2),
            None => (message.len(), message.len()),
        };
        let line = &message[pos..end];
        if line.is_empty() {
            fields.extend(current.map(|(s, e)| &message[s..e]));
            return (fields, &message[next..]);
        }
        current = match current {
            Some((s, _)) if is_wsp(line[0]) => Some((s, end)),
            _ => {
                fields.extend(current.map(|(s, e)| &message[s..e]));
                Some((pos, end))
            }
        };
        if next == end {
            fields.extend(current.map(|(s, e)| &message[s..e]));
            return (fields, &[]);
        }
        pos = next;
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b'\n') {
        let at = from + i;
        if at > 0 && bytes[at - 1] == b'\r' {
            return Some(at - 1);
        }
        from = at + 1;
    }
    None
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A field's name, without the white space relaxed canonicalisation drops.
fn field_name(field: &[u8]) -> &[u8] {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    let mut name = &field[..colon];
    while let [rest @ .., last] = name {
        if !is_wsp(*last) {
            break;
        }
        name = rest;
    }
    name
}

/// RFC 6376 §3.4.2, relaxed header canonicalisation, without the final CRLF:
/// name lower-cased, unfolded, runs of white space made one space, white space
/// at the ends of the value and around the colon removed.
pub(crate) fn relaxed_header(field: &[u8], out: &mut Vec<u8>) {
    let name = field_name(field);
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let value = field
        .iter()
        .position(|&b| b == b':')
        .map_or(&[][..], |c| &field[c + 1..]);
    let (mut started, mut space) = (false, false);
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = started,
            _ => {
                if space {
                    out.push(b' ');
                    space = false;
                }
                out.push(b);
                started = true;
            }
        }
    }
}

/// RFC 6376 §3.4.4, relaxed body canonicalisation: white space at line ends
/// removed, runs of white space made one space, empty lines at the end
/// removed, the last line ended with CRLF (an empty body stays empty).
///
/// One pass that copies the input in spans between the places that change (a
/// run of white space that is not one space, or that ends a line): in mail as
/// we build it most bytes are copied in bulk.
pub(crate) fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 2);
    let n = body.len();
    // `span..i` is input not yet copied and needing no change.
    let (mut span, mut i) = (0, 0);
    while i < n {
        let b = body[i];
        if !is_wsp(b) {
            i += 1;
            continue;
        }
        let run = i;
        while i < n && is_wsp(body[i]) {
            i += 1;
        }
        if i == n || body[i..].starts_with(b"\r\n") {
            out.extend_from_slice(&body[span..run]);
            span = i;
        } else if i - run > 1 || b == b'\t' {
            out.extend_from_slice(&body[span..run]);
            out.push(b' ');
            span = i;
        }
    }
    out.extend_from_slice(&body[span..]);
    while out.ends_with(b"\r\n") {
        out.truncate(out.len() - 2);
    }
    if !out.is_empty() {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The SHA-256 of the relaxed canonical body.
fn body_hash(body: &[u8]) -> Digest {
    digest(&SHA256, &relaxed_body(body))
}

/// What is signed (RFC 6376 §3.7): the fields named in `h`, canonicalised and
/// each ended with CRLF — for a name listed k times the k bottom-most
/// instances, bottom first; a name with no instance left adds nothing — then
/// the DKIM-Signature field itself, `b=` empty, without its CRLF.
pub(crate) fn signed_data(fields: &[&[u8]], h: &[&str], signature_field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    let mut used: Vec<(&str, usize)> = Vec::new();
    for &name in h {
        let seen = match used.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some((_, k)) => {
                *k += 1;
                *k - 1
            }
            None => {
                used.push((name, 1));
                0
            }
        };
        let instance = fields
            .iter()
            .rev()
            .filter(|f| field_name(f).eq_ignore_ascii_case(name.as_bytes()))
            .nth(seen);
        if let Some(field) = instance {
            relaxed_header(field, &mut out);
            out.extend_from_slice(b"\r\n");
        }
    }
    relaxed_header(signature_field, &mut out);
    out
}

#[cfg(test)]
#[path = "dkim_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "dkim_interop_tests.rs"]
mod interop_tests;
