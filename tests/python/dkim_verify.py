"""Verifies the DKIM signature of a message with dkimpy, the public key given as
a PEM file instead of a DNS lookup (the TXT record `v=DKIM1; k=rsa; p=…` is
built from it). Exits 0 when the signature verifies, 1 when it does not, 2 on
bad usage; says why on stderr.

    python dkim_verify.py FILE.eml PUBKEY.pem
"""

import base64
import logging
import sys

import dkim


def txt_record(pem_path):
    with open(pem_path) as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith("-----")]
    der = base64.b64decode("".join(lines))
    # SubjectPublicKeyInfo of an Ed25519 key: 12 bytes of prefix, then the key.
    if len(der) == 44 and der[:12] == bytes.fromhex("302a300506032b6570032100"):
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(der[12:])
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        message = f.read()
    record = txt_record(sys.argv[2])

    def dnsfunc(name, timeout=5):
        print(f"dkim_verify: DNS TXT {name.decode() if isinstance(name, bytes) else name}", file=sys.stderr)
        return record

    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="dkim_verify: %(message)s")
    ok = dkim.verify(message, logger=logging.getLogger("dkim"), dnsfunc=dnsfunc)
    print("dkim_verify: pass" if ok else "dkim_verify: FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
