"""``chalice local`` with TCP_NODELAY on its connections.

Chalice's local server writes a response's headers and body in two sends; on a kept-alive
connection Nagle's algorithm then holds the body until the client's delayed ACK, adding
about 40 ms to every response. API Gateway is not affected; this only keeps the local
stack (make run, the end-to-end tests, make load) from being 40 ms slow per request.
"""

from __future__ import annotations

import sys

from chalice.cli import cli
from chalice.local import ChaliceRequestHandler


def main() -> int:
    ChaliceRequestHandler.disable_nagle_algorithm = True
    arguments = sys.argv[1:]
    # chalice's autoreloader re-runs sys.argv as a command: make it this module again.
    sys.argv = [sys.executable, "-m", "devstack.chalice_local", *arguments]
    return cli(args=arguments, prog_name="chalice", obj={})


if __name__ == "__main__":
    sys.exit(main())
