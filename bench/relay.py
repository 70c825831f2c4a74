"""An SMTP relay on the loopback that answers like a distant one: the e-mail production sends, received.

    python -m bench.relay --port 8025 [--latency-ms 20]

Production sends e-mail to an SMTP relay elsewhere on the network (a provider's, the association's host).
Each of its answers takes a round trip: this relay (aiosmtpd) waits `--latency-ms` before answering the
connection's greeting, EHLO, MAIL, RCPT and DATA, so a message costs five waits, and keeps nothing. It
serves every connection at once, as a real relay does. bench/load.py runs it in a process of its own (not
the client's, whose threads it would slow down) for the public registration with e-mail through SMTP.
"""
import argparse
import asyncio
import contextlib
import signal
import subprocess
import sys
import time

from aiosmtpd.controller import Controller


class DistantRelay:
    """aiosmtpd's handler: every answer `latency` seconds late; what is received is counted, then dropped."""

    def __init__(self, latency: float):
        self.latency = latency
        self.received = 0
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        await asyncio.sleep(self.latency * 2)  # the greeting, then EHLO
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        await asyncio.sleep(self.latency)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await asyncio.sleep(self.latency)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.latency)
        self.received += 1
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def running(port: int, latency_ms: float):
    """The relay in a process of its own, listening on 127.0.0.1:`port` until the block ends."""
    process = subprocess.Popen([sys.executable, "-m", "bench.relay", "--port", str(port),
                                "--latency-ms", str(latency_ms)], stdout=subprocess.PIPE, text=True)
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP relay did not start")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args(argv)
    handler = DistantRelay(args.latency_ms / 1000)
    controller = Controller(handler, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    print("ready", flush=True)
    try:
        while not stop:
            time.sleep(0.2)
    finally:
        controller.stop()
        print(f"the relay received {handler.received} e-mails over {handler.connections} connections, "
              f"{time.process_time():.1f} s of CPU", file=sys.stderr)


if __name__ == "__main__":
    main()
