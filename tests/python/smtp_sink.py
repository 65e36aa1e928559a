"""A real SMTP server (aiosmtpd) for the e-mail integration tests.

It listens on 127.0.0.1 (port given, or 0 for any), prints the port as the
first line of stdout, and writes each message it accepts to OUT/NNNN.eml with
one JSON line in OUT/log.jsonl (mail_from, rcpt_tos, peer, connection, file).
OUT/connections holds the number of TCP connections accepted so far. It can
require AUTH (PLAIN/LOGIN) with one user, offer STARTTLS with a given
certificate (or speak TLS from the first byte), and refuse chosen recipients with 550 5.1.1 or 451 4.3.0.

    python smtp_sink.py --out DIR [--port N] [--auth-user U --auth-password P]
        [--tls-cert CERT --tls-key KEY [--implicit-tls]]
        [--reject-550 ADDR]... [--reject-451 ADDR]...
        [--max-seconds S]

It stops on SIGTERM/SIGINT, when its stdin closes, or after --max-seconds.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, out, reject_550, reject_451):
        self.out = out
        self.reject_550 = {a.lower() for a in reject_550}
        self.reject_451 = {a.lower() for a in reject_451}
        self.messages = 0
        self.connections = 0

    def connected(self):
        self.connections += 1
        path = os.path.join(self.out, "connections")
        with open(path + ".tmp", "w") as f:
            f.write(str(self.connections))
        os.replace(path + ".tmp", path)
        return self.connections

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject_550:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.lower() in self.reject_451:
            return f"451 4.3.0 <{address}>: Temporary failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        name = f"{self.messages:04d}.eml"
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(envelope.original_content or envelope.content)
        entry = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "peer": list(session.peer) if session.peer else None,
            "connection": server.relais_connection,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "file": name,
        }
        with open(os.path.join(self.out, "log.jsonl"), "a") as f:
            f.write(json.dumps(entry) + "\n")
        return f"250 2.0.0 Ok: queued as Q{self.messages:06X}"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd answers 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--auth-user")
    p.add_argument("--auth-password")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--reject-550", action="append", default=[])
    p.add_argument("--reject-451", action="append", default=[])
    p.add_argument("--max-seconds", type=float, default=300.0)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    sink = Sink(args.out, args.reject_550, args.reject_451)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    auth = args.auth_user is not None

    starttls = tls_context if not args.implicit_tls else None

    def factory():
        server = SMTP(
            sink,
            hostname="sink.relais.test",
            tls_context=starttls,
            require_starttls=starttls is not None,
            authenticator=authenticator(args.auth_user, args.auth_password) if auth else None,
            auth_required=auth,
            # Over STARTTLS when offered; in clear otherwise (loopback only).
            auth_require_tls=starttls is not None,
        )
        server.relais_connection = sink.connected()
        return server

    loop = asyncio.get_running_loop()
    implicit = tls_context if args.implicit_tls else None
    server = await loop.create_server(factory, "127.0.0.1", args.port, ssl=implicit)
    print(server.sockets[0].getsockname()[1], flush=True)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # stdin closing means the test that started us is gone.
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(4096) else None)
    try:
        await asyncio.wait_for(stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        pass
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
