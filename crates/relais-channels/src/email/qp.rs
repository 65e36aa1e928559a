//! Body encoding for the text and HTML parts: `7bit` when the text allows it,
//! else quoted-printable (RFC 2045 §6.7), done here in one pass because lettre's
//! generic encoder spent ~250 µs on a 35 KB newsletter, the main cost of a send.
//! Line breaks become CRLF; the output is ASCII, so relays never need to
//! re-encode it (which would break the DKIM body hash).

use lettre::message::header::ContentTransferEncoding;
use lettre::message::Body;

/// Longest line SMTP allows, CRLF excluded (RFC 5321 §4.5.3.1.6).
const MAX_7BIT_LINE: usize = 998;
/// Longest encoded quoted-printable line, soft-break `=` included.
const QP_LINE: usize = 76;

/// The body of a text part, encoded.
pub(crate) fn encode_body(text: &str) -> Body {
    if text.is_ascii() && text.split('\n').all(|l| l.len() <= MAX_7BIT_LINE) && !text.contains('\0') {
        let mut out = Vec::with_capacity(text.len() + text.len() / 32);
        for (i, line) in lines(text).enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(line.as_bytes());
        }
        return Body::dangerous_pre_encoded(out, ContentTransferEncoding::SevenBit);
    }
    Body::dangerous_pre_encoded(quoted_printable(text), ContentTransferEncoding::QuotedPrintable)
}

/// The lines of `text`, without their `\n` or `\r\n` (a final newline gives a
/// last, empty line, so that joining them with CRLF keeps it).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

pub(crate) fn quoted_printable(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    for (n, line) in lines(text).enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        qp_line(line.as_bytes(), &mut out);
    }
    out
}

/// Printable ASCII but `=`, and space and tab (literal unless they end the line).
fn literal(b: u8) -> bool {
    matches!(b, 33..=60 | 62..=126 | b' ' | b'\t')
}

/// One line, with soft breaks (`=` CRLF) keeping encoded lines within 76 bytes.
/// Runs of literal bytes are copied whole: this is the hot loop of a send.
fn qp_line(bytes: &[u8], out: &mut Vec<u8>) {
    let n = bytes.len();
    // Trailing white space would be stripped in transit: it is encoded.
    let mut lit_end = n;
    while lit_end > 0 && matches!(bytes[lit_end - 1], b' ' | b'\t') {
        lit_end -= 1;
    }
    let mut col = 0;
    let mut i = 0;
    while i < n {
        if i < lit_end && literal(bytes[i]) {
            let mut j = i + 1;
            while j < lit_end && literal(bytes[j]) {
                j += 1;
            }
            while i < j {
                // The last piece of a line may use the column a soft break would take.
                let limit = if j == n && j - i <= QP_LINE - col {
                    QP_LINE
                } else {
                    QP_LINE - 1
                };
                if col >= limit {
                    out.extend_from_slice(b"=\r\n");
                    col = 0;
                    continue;
                }
                let k = (j - i).min(limit - col);
                out.extend_from_slice(&bytes[i..i + k]);
                col += k;
                i += k;
            }
        } else {
            let limit = if i + 1 == n { QP_LINE } else { QP_LINE - 1 };
            if col + 3 > limit {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            let b = bytes[i];
            out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            col += 3;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference decoder, to check that encoding round-trips.
    fn decode(qp: &[u8]) -> String {
        let s = std::str::from_utf8(qp).unwrap();
        let mut bytes = Vec::new();
        let joined = s.replace("=\r\n", "");
        let mut it = joined.as_bytes().iter();
        while let Some(&b) = it.next() {
            if b == b'=' {
                let h = [*it.next().unwrap(), *it.next().unwrap()];
                bytes.push(u8::from_str_radix(std::str::from_utf8(&h).unwrap(), 16).unwrap());
            } else {
                bytes.push(b);
            }
        }
        String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
    }

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let long = format!("{}é€ end", "a=b ".repeat(60));
        let samples = [
            "",
            "plain",
            "tab\tand trailing space \nnext",
            "Prix: 20 € — été\r\nfin",
            &long,
            "\n\n",
        ];
        for s in samples {
            let enc = quoted_printable(s);
            assert!(enc.is_ascii());
            for line in std::str::from_utf8(&enc).unwrap().split("\r\n") {
                assert!(line.len() <= QP_LINE, "{line:?}");
                assert!(!line.ends_with(' ') && !line.ends_with('\t'), "{line:?}");
            }
            assert_eq!(decode(&enc), s.replace("\r\n", "\n"), "{s:?}");
        }
        assert_eq!(quoted_printable("a = b \u{e9}"), b"a =3D b =C3=A9");
        assert_eq!(quoted_printable("end "), b"end=20");
    }

    #[test]
    fn ascii_text_goes_as_7bit() {
        let b = encode_body("Hello\nworld\r\n");
        assert_eq!(b.encoding(), ContentTransferEncoding::SevenBit);
        assert_eq!(b.as_ref(), b"Hello\r\nworld\r\n");
        assert_eq!(encode_body("x").as_ref(), b"x");
        let b = encode_body(&"x".repeat(999));
        assert_eq!(b.encoding(), ContentTransferEncoding::QuotedPrintable);
        assert_eq!(
            encode_body("é").encoding(),
            ContentTransferEncoding::QuotedPrintable
        );
    }
}
