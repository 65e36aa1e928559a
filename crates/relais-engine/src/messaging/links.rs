//! Signed links in messages: open pixel, click redirect, one-click
//! unsubscribe, preference centre. A link carries what it is about (workspace,
//! message or profile, target URL) and an HMAC-SHA256 of it under the
//! installation's signing key, so nobody can forge an unsubscribe or an
//! open-redirect through Relais.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use relais_core::{ProfileId, WorkspaceId};
use sha2::Sha256;

/// Name of the installation setting holding the key (hex, 32 bytes).
pub const SIGNING_KEY_SETTING: &str = "link_signing_key";

/// What a link is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Open {
        ws: WorkspaceId,
        message: String,
    },
    Click {
        ws: WorkspaceId,
        message: String,
        url: String,
    },
    Unsubscribe {
        ws: WorkspaceId,
        message: String,
    },
    Preferences {
        ws: WorkspaceId,
        profile: ProfileId,
    },
}

impl Link {
    fn encode(&self) -> String {
        match self {
            Link::Open { ws, message } => format!("o|{}|{message}", ws.0),
            Link::Click { ws, message, url } => format!("c|{}|{message}|{url}", ws.0),
            Link::Unsubscribe { ws, message } => format!("u|{}|{message}", ws.0),
            Link::Preferences { ws, profile } => format!("p|{}|{}", ws.0, profile.0),
        }
    }

    fn decode(s: &str) -> Option<Link> {
        let mut parts = s.splitn(4, '|');
        let kind = parts.next()?;
        let ws = WorkspaceId(parts.next()?.parse().ok()?);
        let third = parts.next()?.to_owned();
        let rest = parts.next();
        match (kind, rest) {
            ("o", None) => Some(Link::Open { ws, message: third }),
            ("u", None) => Some(Link::Unsubscribe { ws, message: third }),
            ("c", Some(url)) => Some(Link::Click {
                ws,
                message: third,
                url: url.to_owned(),
            }),
            ("p", None) => Some(Link::Preferences {
                ws,
                profile: ProfileId(third.parse().ok()?),
            }),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
    /// Public base URL of this Relais (no trailing slash).
    base: String,
}

impl Signer {
    pub fn new(key: Vec<u8>, base: &str) -> Signer {
        Signer {
            key,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    fn mac(&self, data: &[u8]) -> Vec<u8> {
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes()[..16].to_vec()
    }

    /// `payload.signature`, both base64url.
    pub fn token(&self, link: &Link) -> String {
        let data = link.encode();
        format!("{}.{}", B64.encode(&data), B64.encode(self.mac(data.as_bytes())))
    }

    /// The link a token stands for, if its signature holds.
    pub fn verify(&self, token: &str) -> Option<Link> {
        let (data, sig) = token.split_once('.')?;
        let data = B64.decode(data).ok()?;
        let sig = B64.decode(sig).ok()?;
        let mut m = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(&data);
        m.verify_truncated_left(&sig).ok()?;
        Link::decode(std::str::from_utf8(&data).ok()?)
    }

    /// The public base URL links start with.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The full URL for a link.
    pub fn url(&self, link: &Link) -> String {
        let path = match link {
            Link::Open { .. } => "t/o",
            Link::Click { .. } => "t/c",
            Link::Unsubscribe { .. } => "u",
            Link::Preferences { .. } => "p",
        };
        format!("{}/{path}/{}", self.base, self.token(link))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
            "https://r.example.com/",
        )
    }

    #[test]
    fn links_round_trip_and_resist_tampering() {
        let s = signer();
        let links = [
            Link::Open {
                ws: WorkspaceId(1),
                message: "msg_a".into(),
            },
            Link::Click {
                ws: WorkspaceId(1),
                message: "msg_a".into(),
                url: "https://shop.example/x?a=1|2".into(),
            },
            Link::Unsubscribe {
                ws: WorkspaceId(2),
                message: "msg_b".into(),
            },
            Link::Preferences {
                ws: WorkspaceId(3),
                profile: ProfileId(42),
            },
        ];
        for l in &links {
            let t = s.token(l);
            assert_eq!(s.verify(&t).as_ref(), Some(l));
            // Another payload under this signature fails.
            let (_, sig) = t.split_once('.').unwrap();
            let forged = format!("{}.{sig}", B64.encode("u|1|msg_other"));
            assert_eq!(s.verify(&forged), None);
            // Another key fails.
            let other = Signer::new(b"another key".to_vec(), "x");
            assert_eq!(other.verify(&t), None);
        }
        assert!(s.url(&links[0]).starts_with("https://r.example.com/t/o/"));
        assert_eq!(s.verify("garbage"), None);
        assert_eq!(s.verify("a.b.c"), None);
    }
}
