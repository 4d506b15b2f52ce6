#!/usr/bin/env python3
"""A real SMTP server on loopback for xdesk's tests (aiosmtpd), writing each message it accepts
to OUT_DIR as NNNNNN.eml. It prints its port, then serves until its stdin closes.

Recipients steer it, so tests can exercise failures:
  - an address containing "reject" is refused with 550 (permanent);
  - mail to an address containing "tempfail" gets 451 (temporary) the first time, then is taken.
"""
import os
import socket
import sys

from aiosmtpd.controller import Controller


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
        os.rename(path + ".tmp", path)
        return "250 2.0.0 Ok: queued as capture-%d" % self.count


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    port = free_port()
    controller = Controller(Capture(out_dir), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
