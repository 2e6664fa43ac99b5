"""Run the emulator under uvicorn.

    python -m emulator [--host 127.0.0.1] [--port 8765] [--seed emulator/seed.json] [--update-delay 2.0]
                       [--strict | --no-strict] [--max-instances 10] [--evaluation-slack SECONDS]
                       [--limits | --no-limits] [--latency SECONDS | --latency LOW HIGH]

The socket is bound and listening before anything is printed, so the one line
"emulator listening on http://HOST:PORT" means it is ready. With --port 0 the OS picks a free port
and that line carries the real one: tests start `python -m emulator --port 0` and read that line.
"""

import argparse
import json
import signal
from pathlib import Path

from emulator import rules
from emulator.app import bind_socket, create_app, make_server
from emulator.limits import Limits, latency_ok
from emulator.monitoring import Monitoring
from emulator.store import Store


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port (printed)")
    parser.add_argument("--seed", type=Path, default=Path(__file__).with_name("seed.json"))
    parser.add_argument("--update-delay", type=float, default=2.0, help="seconds a deployment stays UPDATING")
    parser.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="refuse an update of an ACTIVE deployment that changes more than one infrastructure option group "
        "(default: on)",
    )
    parser.add_argument(
        "--max-instances",
        type=int,
        default=rules.DEFAULT_MAX_INSTANCES,
        help="instance-count limit per deployment, 400 LimitExceeded above it (undocumented by OCI: a guess; 0 = none)",
    )
    parser.add_argument(
        "--evaluation-slack",
        type=float,
        default=None,
        help="seconds alarm evaluation waits for late metric data, for every alarm (default: each alarm's "
        "evaluationSlackDuration, PT3M if unset)",
    )
    parser.add_argument(
        "--limits",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="OCI's documented tenancy-wide rate limits on the wall clock: 10 alarm operations/s shared, "
        "SummarizeMetricsData 10/s, PostMetricData 50/s, else 429 TooManyRequests (see rules.py). Default: off "
        "(calls are still logged: GET /_emulator/limits), because infra/cleanup_low_alarms.py has no retry for "
        '429 yet; POST /_emulator/config {"limits": true} turns them on at run time',
    )
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[0.0],
        metavar="SECONDS",
        help="seconds every API call waits before it is handled, or LOW HIGH: uniform per call (default: 0)",
    )
    args = parser.parse_args(argv)
    latency = args.latency[0] if len(args.latency) == 1 else args.latency
    if not latency_ok(latency):
        parser.error("--latency takes SECONDS >= 0, or LOW HIGH with 0 <= LOW <= HIGH")

    store = Store.from_seed(
        json.loads(args.seed.read_text()),
        update_delay_seconds=args.update_delay,
        strict=args.strict,
        max_instances=args.max_instances or None,
        monitoring=Monitoring(slack_seconds=args.evaluation_slack),
    )
    sock = bind_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    print(f"emulator listening on http://{f'[{host}]' if ':' in host else host}:{port}", flush=True)
    # uvicorn shuts down gracefully, then re-raises the signal it caught: make SIGTERM end like Ctrl-C (exit 0).
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        make_server(create_app(store, limits=Limits(args.limits, latency=latency)), args.host).run(sockets=[sock])
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
