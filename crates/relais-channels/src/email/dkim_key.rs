//! DKIM private keys in the forms people have them, turned into the forms lettre
//! takes: lettre reads RSA keys as PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`) and
//! Ed25519 keys as the base64 of the 32-byte seed, while `openssl genpkey` writes
//! PKCS#8 (`BEGIN PRIVATE KEY`) for both. PKCS#8 is unwrapped here with a few
//! lines of DER reading rather than another crypto dependency.

use base64::Engine as _;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The RSA key as PKCS#1 PEM, from PKCS#1 or PKCS#8 PEM.
pub(crate) fn rsa_pkcs1_pem(pem: &str) -> Result<String, String> {
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return Ok(pem.to_owned());
    }
    let der = pem_body(pem, "PRIVATE KEY")?;
    let inner = pkcs8_private_key(&der)?;
    let b64 = B64.encode(inner);
    let mut out = String::from("-----BEGIN RSA PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END RSA PRIVATE KEY-----\n");
    Ok(out)
}

/// The Ed25519 seed as base64, from PKCS#8 PEM or from the bare base64 seed.
pub(crate) fn ed25519_seed_b64(key: &str) -> Result<String, String> {
    if !key.contains("-----BEGIN") {
        return Ok(key.trim().to_owned());
    }
    let der = pem_body(key, "PRIVATE KEY")?;
    let inner = pkcs8_private_key(&der)?;
    // RFC 8410: CurvePrivateKey ::= OCTET STRING (the 32-byte seed).
    let (tag, seed, _) = der_read(inner)?;
    if tag != 0x04 || seed.len() != 32 {
        return Err("not an Ed25519 PKCS#8 key".into());
    }
    Ok(B64.encode(seed))
}

/// The DER inside `-----BEGIN {label}-----` … `-----END {label}-----`.
fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
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

/// PKCS#8 `PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING, … }`:
/// the content of `privateKey`.
fn pkcs8_private_key(der: &[u8]) -> Result<&[u8], String> {
    let (tag, seq, _) = der_read(der)?;
    if tag != 0x30 {
        return Err("PKCS#8: not a SEQUENCE".into());
    }
    let (tag, _version, rest) = der_read(seq)?;
    if tag != 0x02 {
        return Err("PKCS#8: no version".into());
    }
    let (tag, _algorithm, rest) = der_read(rest)?;
    if tag != 0x30 {
        return Err("PKCS#8: no algorithm".into());
    }
    let (tag, key, _) = der_read(rest)?;
    if tag != 0x04 {
        return Err("PKCS#8: no private key".into());
    }
    Ok(key)
}

/// One DER element: (tag, content, what follows).
fn der_read(der: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let short = || "DER: truncated".to_string();
    let (&tag, rest) = der.split_first().ok_or_else(short)?;
    let (&first, mut rest) = rest.split_first().ok_or_else(short)?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err("DER: bad length".into());
        }
        let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
        rest = &rest[n..];
        len
    };
    if rest.len() < len {
        return Err(short());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    // `openssl genpkey -algorithm ed25519` output (a throwaway test key).
    const ED25519_PKCS8: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n\
        -----END PRIVATE KEY-----\n";

    #[test]
    fn ed25519_seed_from_pkcs8_and_bare() {
        let seed = ed25519_seed_b64(ED25519_PKCS8).unwrap();
        let bytes = B64.decode(&seed).unwrap();
        assert_eq!(bytes, (1..=32).collect::<Vec<u8>>());
        assert_eq!(ed25519_seed_b64(&format!(" {seed}\n")).unwrap(), seed);
    }

    #[test]
    fn rsa_pkcs8_is_unwrapped_to_pkcs1() {
        // A PKCS#8 envelope around a (fake) PKCS#1 body: SEQUENCE { INTEGER 0 }.
        let pkcs1 = [0x30, 0x03, 0x02, 0x01, 0x00];
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ];
        let mut body = vec![0x02, 0x01, 0x00];
        body.extend_from_slice(&alg);
        body.extend_from_slice(&[0x04, pkcs1.len() as u8]);
        body.extend_from_slice(&pkcs1);
        let mut der = vec![0x30, body.len() as u8];
        der.extend_from_slice(&body);
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            B64.encode(&der)
        );
        let out = rsa_pkcs1_pem(&pem).unwrap();
        assert!(out.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        assert_eq!(pem_body(&out, "RSA PRIVATE KEY").unwrap(), pkcs1);
        assert!(rsa_pkcs1_pem("garbage").is_err());
        assert!(rsa_pkcs1_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err());
    }
}
