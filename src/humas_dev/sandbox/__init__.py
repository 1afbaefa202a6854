"""A local stand-in for the Instagram Graph API, Facebook Page API and X API v2 (the subset the uploader uses).

Run it with ``python -m humas_dev.sandbox --host 127.0.0.1 --port 8090`` (token from ``HUMAS_SANDBOX_TOKEN``),
or in tests with ``make_server(SandboxConfig(token=...), port=0)`` and ``serve_in_thread(server)``.
Limits come from ``include/platforms.yaml`` through ``humas.profiles``, the same data the asset checks read.
"""
from __future__ import annotations

from humas_dev.sandbox.config import (
    FACEBOOK_PAGE_ID, INSTAGRAM_QUOTA_DURATION, INSTAGRAM_QUOTA_TOTAL, INSTAGRAM_USER_ID, INSTAGRAM_USERNAME,
    X_USER_ID, X_USERNAME, SandboxConfig,
)
from humas_dev.sandbox.server import SandboxHTTPServer, make_server, serve_in_thread

__all__ = [
    "FACEBOOK_PAGE_ID", "INSTAGRAM_QUOTA_DURATION", "INSTAGRAM_QUOTA_TOTAL", "INSTAGRAM_USER_ID", "INSTAGRAM_USERNAME",
    "X_USER_ID", "X_USERNAME", "SandboxConfig", "SandboxHTTPServer", "make_server", "serve_in_thread",
]
