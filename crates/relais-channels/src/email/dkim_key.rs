//! DKIM private keys in the forms people have them, loaded for ring: RSA as
//! PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) or PKCS#8 PEM (`BEGIN PRIVATE KEY`, what
//! `openssl genpkey` writes), Ed25519 as PKCS#8 PEM or as the base64 of the
//! 32-byte seed. ring reads both DER forms itself; only the PEM armour is
//! removed here.

use base64::Engine as _;
use ring::signature::{Ed25519KeyPair, RsaKeyPair};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A loaded signing key.
pub(crate) enum SigningKey {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Rsa(k) => write!(f, "Rsa({} bits)", k.public().modulus_len() * 8),
            SigningKey::Ed25519(_) => f.write_str("Ed25519"),
        }
    }
}

/// An RSA key from PKCS#1 or PKCS#8 PEM. ring signs with keys of 2048 to 4096
/// bits (RFC 8301 makes 1024 the floor for verifiers and 2048 the advice).
pub(crate) fn rsa_key(pem: &str) -> Result<SigningKey, String> {
    refuse_unusable(pem)?;
    let rejected = |e: ring::error::KeyRejected| {
        format!("not a usable RSA private key ({e}; RSA keys must be 2048 to 4096 bits)")
    };
    let key = if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        RsaKeyPair::from_der(&pem_body(pem, "RSA PRIVATE KEY")?).map_err(rejected)?
    } else {
        RsaKeyPair::from_pkcs8(&pem_body(pem, "PRIVATE KEY")?).map_err(rejected)?
    };
    Ok(SigningKey::Rsa(key))
}

/// An Ed25519 key from PKCS#8 PEM (v1, as `openssl genpkey` writes it, or v2
/// with the public key) or from the bare base64 seed.
pub(crate) fn ed25519_key(key: &str) -> Result<SigningKey, String> {
    if !key.contains("-----BEGIN") {
        let seed = B64
            .decode(key.trim())
            .map_err(|e| format!("bad base64 in the Ed25519 seed: {e}"))?;
        if seed.len() != 32 {
            return Err(format!("an Ed25519 seed is 32 bytes, not {}", seed.len()));
        }
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
            .map_err(|e| format!("not a usable Ed25519 seed ({e})"))?;
        return Ok(SigningKey::Ed25519(pair));
    }
    refuse_unusable(key)?;
    let der = pem_body(key, "PRIVATE KEY")?;
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
        .map_err(|e| format!("not a usable Ed25519 PKCS#8 key ({e})"))?;
    Ok(SigningKey::Ed25519(pair))
}

/// PEM forms that are keys but not ones we can use, with what to do about it.
fn refuse_unusable(pem: &str) -> Result<(), String> {
    if pem.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err("the private key is encrypted: decrypt it (`openssl pkey -in K -out K2`)".into());
    }
    if pem.contains("PUBLIC KEY-----") && !pem.contains("PRIVATE KEY-----") {
        return Err("this is a public key; the private key is needed".into());
    }
    Ok(())
}

/// The DER inside `-----BEGIN {label}-----` … `-----END {label}-----`.
pub(crate) fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| format!("no `{begin}` line"))? + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("no `{end}` line"))?
        + start;
    let b64: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(b64).map_err(|e| format!("bad base64 in PEM: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{KeyPair, RSA_PKCS1_SHA256};

    // `openssl genpkey -algorithm ed25519` output (a throwaway test key, seed 1..=32).
    const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n\
        -----END PRIVATE KEY-----\n";

    const RSA_PKCS1: &str = include_str!("bench_dkim_rsa.pem");

    // A throwaway 1024-bit key (`openssl genpkey … rsa_keygen_bits:1024`): too short for ring.
    const RSA_1024_PKCS8: &str = "-----BEGIN PRIVATE KEY-----\n\
        MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBAN63A2vAMpg8MRbl\n\
        xpAwtufTE4YpG3O9D/DVylcOxG9oyPLAl5juHmZNczaQK9TnEw/UVolqg6d+//R7\n\
        ZUKBpKrPY5Xoiq1KPktBHmzyRHEUFDdwAl5/3RI/1mGLVxSJj4rtsYBC6xFYYchI\n\
        +EOsS/5A1L+y4To9BgyITooKohD9AgMBAAECgYEApOxbsSgTj15Lb8xZvR8F4ygQ\n\
        djHsrUldC5gVjWBXILU00WbDHDGA+3rxDX+3paI0IG26Y2on8hn+ynmyI4zDdYQG\n\
        wI7ca5junB5Xv/PgV3I28j+x5pZSldSyJrcmXkd5DWH8mN0zzOODB6EPbBz/vkzY\n\
        HSaITdNArAlF6JeOVxUCQQDzcldZAqmAG4TtDoPNxd9+k5XWxZurGXT4sDE1FMcG\n\
        EK5+So600uA73lv0BSYGxsnGPvpYYDDaTbF9tdZZxF9bAkEA6jL/ylulAGtn19uy\n\
        ibbkqXdYRzys2ASTLh09gyNY0ZsOfT5n+V+ern0AthPcqXC95OvQ/01zZNk+XJNC\n\
        RA3YhwJBAJ9GyftEkJ1uY9OtUXLJ6WWpLbms5CJXr34d2LP/+g7vzxp1sVSBO5Av\n\
        9T18ONrqKI16GtTDanMJrfyvgaSNpE0CQHo1PpDDnahIY5maBOIj09IyephBqxfV\n\
        209W5sBFc5V8yeTE6dCQ+uamR/a7CoxITm7kNtzh93MKgaYhGZUVfIUCQGrpvoz6\n\
        nmZOCnLPQf821klIQlUaWC4SfYY88hxSKnNJZdAbktlKpkC2gbiWZ2o7bRrvQEZn\n\
        RxxVHLUouVG4mkE=\n\
        -----END PRIVATE KEY-----\n";

    fn ed_public(k: &SigningKey) -> Vec<u8> {
        match k {
            SigningKey::Ed25519(k) => k.public_key().as_ref().to_vec(),
            SigningKey::Rsa(_) => panic!("not Ed25519"),
        }
    }

    #[test]
    fn ed25519_from_pkcs8_and_bare_seed() {
        let from_pem = ed25519_key(ED25519_PKCS8).unwrap();
        let seed = B64.encode((1..=32).collect::<Vec<u8>>());
        let from_seed = ed25519_key(&format!(" {seed}\n")).unwrap();
        assert_eq!(ed_public(&from_pem), ed_public(&from_seed));
        assert!(ed25519_key("AAAA").unwrap_err().contains("32 bytes"));
        assert!(
            ed25519_key(RSA_PKCS1).is_err(),
            "an RSA key is not an Ed25519 key"
        );
    }

    /// DER length octets.
    fn der_len(n: usize) -> Vec<u8> {
        match n {
            0..=0x7f => vec![n as u8],
            0x80..=0xff => vec![0x81, n as u8],
            _ => vec![0x82, (n >> 8) as u8, n as u8],
        }
    }

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        out.extend(der_len(content.len()));
        out.extend_from_slice(content);
        out
    }

    fn pem(label: &str, der: &[u8]) -> String {
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            B64.encode(der)
        )
    }

    #[test]
    fn rsa_from_pkcs1_and_pkcs8_sign_alike() {
        let pkcs1 = pem_body(RSA_PKCS1, "RSA PRIVATE KEY").unwrap();
        // PrivateKeyInfo { version 0, rsaEncryption with NULL parameters, the PKCS#1 key }.
        let alg = der(
            0x30,
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
            ],
        );
        let body = [&[0x02, 0x01, 0x00][..], &alg, &der(0x04, &pkcs1)].concat();
        let pkcs8 = pem("PRIVATE KEY", &der(0x30, &body));
        let rng = SystemRandom::new();
        let sign = |k: &SigningKey| {
            let SigningKey::Rsa(k) = k else { panic!("not RSA") };
            let mut sig = vec![0; k.public().modulus_len()];
            k.sign(&RSA_PKCS1_SHA256, &rng, b"message", &mut sig).unwrap();
            sig
        };
        let (a, b) = (rsa_key(RSA_PKCS1).unwrap(), rsa_key(&pkcs8).unwrap());
        assert_eq!(format!("{a:?}"), "Rsa(2048 bits)");
        // PKCS#1 v1.5 is deterministic: the same key signs the same bytes alike.
        assert_eq!(sign(&a), sign(&b));
    }

    #[test]
    fn unusable_keys_say_why() {
        assert!(rsa_key("garbage")
            .unwrap_err()
            .contains("no `-----BEGIN PRIVATE KEY-----`"));
        let e = rsa_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").unwrap_err();
        assert!(e.contains("not a usable RSA private key"), "{e}");
        assert!(
            rsa_key(ED25519_PKCS8).is_err(),
            "an Ed25519 key is not an RSA key"
        );
        let enc = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----";
        assert!(rsa_key(enc).unwrap_err().contains("encrypted"));
        assert!(ed25519_key(enc).unwrap_err().contains("encrypted"));
        let e = rsa_key(RSA_1024_PKCS8).unwrap_err();
        assert!(e.contains("TooSmall") && e.contains("2048 to 4096 bits"), "{e}");
        let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
        assert!(rsa_key(public).unwrap_err().contains("public key"));
    }
}
