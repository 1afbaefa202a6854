"""``python -m humas_dev.sandbox [--host 127.0.0.1] [--port 8090] [--state-file PATH] [--smtp-port 8025]``."""
from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path
from types import FrameType

from humas_dev.sandbox.config import TOKEN_ENV, SandboxConfig
from humas_dev.sandbox.messages import start_smtp
from humas_dev.sandbox.server import make_server


def main(argv: list[str] | None = None) -> None:
    """Serve the sandbox until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(
        prog="python -m humas_dev.sandbox", description=f"Local platform sandbox; the accepted token is ${TOKEN_ENV}.",
        epilog="Environment: HUMAS_SANDBOX_TOKEN (required), HUMAS_SANDBOX_STATE_FILE (like --state-file), "
               "HUMAS_SANDBOX_IN_PROGRESS_POLLS (IN_PROGRESS answers before FINISHED, default 1), "
               "HUMAS_SANDBOX_IG_QUOTA (Instagram posts per 24 h, default 50), "
               "HUMAS_SANDBOX_VIDEO_PROCESSING (seconds a received video is processed, default 2).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--state-file", type=Path, help="JSON file that keeps posts across restarts")
    parser.add_argument("--smtp-port", type=int, default=int(os.environ.get("HUMAS_SANDBOX_SMTP_PORT", "0")),
                        help="also receive email on this port (0: no SMTP receiver)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    server = make_server(SandboxConfig.from_env(args.state_file), args.host, args.port)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    logging.getLogger("humas_dev.sandbox").info("platform sandbox on %s", server.base_url)
    smtp = start_smtp(server.app, args.host, args.smtp_port) if args.smtp_port else None
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if smtp:
            smtp.stop()
        server.server_close()


if __name__ == "__main__":
    main()
