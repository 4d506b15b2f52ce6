#!/usr/bin/env python3
"""A real SMTP server on loopback for xdesk's tests (aiosmtpd), writing each message it accepts
to OUT_DIR as NNNNNN.eml (and the client's port, which tells connections apart, as NNNNNN.peer).
It prints its port, then serves until its stdin closes.

Options: --starttls CERT KEY (offer STARTTLS and require it before MAIL), --implicit CERT KEY
(TLS from the first byte, as on port 465), --auth USER:PASS (require this login).

Recipients steer it, so tests can exercise failures:
  - an address containing "reject" is refused with 550 (permanent);
  - mail to an address containing "tempfail" gets 451 (temporary) the first time, then is taken.
"""
import argparse
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Capture:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.deferred = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if "reject" in address:
            return "550 5.1.1 <%s>: Recipient address rejected: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        rcpts = ",".join(envelope.rcpt_tos)
        if "tempfail" in rcpts and rcpts not in self.deferred:
            self.deferred.add(rcpts)
            return "451 4.3.0 Temporary local problem, try again later"
        self.count += 1
        path = os.path.join(self.out_dir, "%06d.eml" % self.count)
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(os.path.join(self.out_dir, "%06d.peer" % self.count), "w") as f:
            f.write(str(session.peer[1]))
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as capture-%d" % self.count


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--implicit", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--auth")
    args = parser.parse_args()
    out_dir = args.out_dir
    os.makedirs(out_dir, exist_ok=True)
    port = free_port()
    kwargs = {}
    if args.starttls:
        kwargs.update(tls_context=tls_context(*args.starttls), require_starttls=True)
    if args.implicit:
        kwargs.update(ssl_context=tls_context(*args.implicit), server_hostname="localhost")
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode() == user and auth_data.password.decode() == password
            )
            return AuthResult(success=ok)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller = Controller(Capture(out_dir), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print(port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
