"""Read messages on stdin, one per line; write one JSON object per line."""
from __future__ import annotations

import json
import sys

from intents.engine import Engine


def main() -> int:
    """Parse every stdin line and print its contract JSON."""
    engine = Engine()
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        sys.stdout.write(json.dumps(engine.parse(text).as_dict(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
