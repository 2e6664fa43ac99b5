"""`make invoke PAYLOAD=alarms/<file>.json`: the local `fn invoke`, posting a file to the running function."""

from __future__ import annotations

import argparse
import json
import sys

from demo.stack import invoke


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("payload", help="the alarm message to send, e.g. alarms/high_cpu.json")
    parser.add_argument("--socket", default="run/fn.sock", help="the function's fdk unix socket")
    args = parser.parse_args()
    with open(args.payload, "rb") as file:
        status, data, http_status = invoke(args.socket, file.read())
    try:
        print(json.dumps(json.loads(data), indent=2))
    except ValueError:
        print(data.decode(errors="replace"))
    print(f"HTTP {status}" + (f" (Fn-Http-Status {http_status})" if http_status else ""), file=sys.stderr)
    return 0 if status < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
