"""Cold start to the first answer: the real function against a bare fdk function that imports the same SDK clients.

    python -m bench.coldstart [--runs 15]

Each run starts a fresh `fdk func.py handler` process on a unix socket (as the Fn server does in a new
container) and times spawn -> socket ready -> the answer to its first call. The bare function imports
oci.data_science, oci.monitoring and pydantic and answers {}; ours gets a body it rejects without calling OCI
(a malformed message: parsing, settings, the logger), so both measure start-up, not OCI. Runs alternate between
the two so that the machine's state affects both alike; medians and the spread are printed, and the ratio of the
medians is the figure the issue asks for (at most 1.1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo.stack import FUNCTION_DIR, invoke

BARE = """import oci.data_science  # the SDK clients the autoscaler uses, and pydantic
import oci.monitoring
import pydantic
from fdk import response


def handler(ctx, data=None):
    return response.Response(ctx, response_data="{}", headers={"Content-Type": "application/json"})
"""


def first_answer(func: Path, workdir: Path, env: dict) -> float:
    socket_path = workdir / f"fn-{time.monotonic_ns()}.sock"
    fdk = str(Path(sys.executable).with_name("fdk"))
    environment = {**os.environ, **env, "FN_FORMAT": "http-stream", "FN_LISTENER": f"unix:{socket_path}"}
    started = time.monotonic()
    process = subprocess.Popen([fdk, str(func), "handler"], cwd=func.parent, env=environment, stderr=subprocess.DEVNULL)
    try:
        while not socket_path.exists():
            if process.poll() is not None or time.monotonic() - started > 60:
                raise RuntimeError(f"fdk did not start for {func}")
            time.sleep(0.002)
        status, _, _ = invoke(str(socket_path), b'{"not": "an alarm"}')
        elapsed = time.monotonic() - started
        if status != 200:
            raise RuntimeError(f"{func}: status {status}")
        return elapsed
    finally:
        process.terminate()
        process.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.coldstart", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    ours_env = {
        "PYTHONPATH": str(FUNCTION_DIR),
        "AUTOSCALE_AUTH": "emulator",
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": "ocid1.compartment.oc1..demo",
    }
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bare = workdir / "bare" / "func.py"
        bare.parent.mkdir()
        bare.write_text(BARE)
        times = {"bare": [], "ours": []}
        for _ in range(args.runs):
            times["bare"].append(first_answer(bare, workdir, {}))
            times["ours"].append(first_answer(FUNCTION_DIR / "func.py", workdir, ours_env))
    for name, values in times.items():
        values.sort()
        print(
            f"{name}: median {statistics.median(values) * 1000:.0f} ms, "
            f"min {values[0] * 1000:.0f}, max {values[-1] * 1000:.0f} ({len(values)} runs)"
        )
    ratio = statistics.median(times["ours"]) / statistics.median(times["bare"])
    print(f"ratio of the medians: {ratio:.2f}")


if __name__ == "__main__":
    main()
