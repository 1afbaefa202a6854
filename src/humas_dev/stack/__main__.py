"""``python -m humas_dev.stack run|up|down|status|clean`` (``make run/stop/status/clean``)."""
from __future__ import annotations

import sys

from humas_dev.stack.cli import main

if __name__ == "__main__":
    sys.exit(main())
