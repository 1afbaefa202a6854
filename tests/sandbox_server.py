"""The platform sandbox served over HTTP on a free port for the duration of a test or module."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from humas_dev.sandbox import SandboxConfig, SandboxHTTPServer, make_server, serve_in_thread


@contextmanager
def running_sandbox(config: SandboxConfig) -> Iterator[SandboxHTTPServer]:
    """A sandbox answering on 127.0.0.1 (its ``base_url``) until the block ends."""
    server = make_server(config, "127.0.0.1", 0)
    serve_in_thread(server)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
