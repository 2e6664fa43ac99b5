"""Micro-benchmarks of the function as OCI runs it (`fdk func.py handler` on a unix socket), each beside
a bare fdk handler that only imports oci: cold start, warm per-alarm latency, OCI calls per alarm, peak RSS."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo.stack import invoke
from emulator import OciError, Store, serve_in_thread

ROOT = Path(__file__).resolve().parents[1]
FUNCTION = ROOT / "functions" / "autoscale" / "func.py"
BARE = Path(__file__).resolve().with_name("bare_func.py")
SEED = json.loads((ROOT / "emulator" / "seed.json").read_text())
DEPLOYMENT = "ocid1.datasciencemodeldeployment.oc1.iad.demo1"
COMPARTMENT = "ocid1.compartment.oc1..demo"


class Function:
    """One fdk process serving a handler on a unix socket, as the Fn server runs it."""

    def __init__(self, entry: Path, env: dict[str, str]):
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-fn-"))
        self.socket = str(self.workdir / "fn.sock")
        fdk = str(Path(sys.executable).with_name("fdk"))
        self.env = {
            **os.environ,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket}",
            "PYTHONPATH": str(entry.parent),
            **env,
        }
        self.log = open(self.workdir / "stderr.log", "wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [fdk, str(entry), "handler"], cwd=entry.parent, env=self.env, stdout=subprocess.DEVNULL, stderr=self.log
        )

    def first_answer(self, body: bytes, timeout: float = 60) -> float:
        """Seconds from process start to the first answered POST /call."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                status, *_ = invoke(self.socket, body)
                if status == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            if self.process.poll() is not None or time.perf_counter() > deadline:
                raise RuntimeError(f"fdk did not answer: {(self.workdir / 'stderr.log').read_text()[-2000:]}")
            time.sleep(0.005)

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


HIGH = "ocid1.alarm.oc1.iad.demo1highcpu"  # seed.json: CpuUtilization[1m]{...}.groupBy(resourceId).mean() > 80


def _fire(store: Store, alarm_id: str, value: float) -> bytes:
    """A real alarm message: the emulator's Monitoring sets the deployment's stream FIRING and returns the message
    OCI would send, so the function's check that the alarm really fired (RetrieveDimensionStates) passes."""
    stream = {"resourceId": DEPLOYMENT}
    with contextlib.suppress(OciError):
        store.clear_alarm(alarm_id, stream)
    return json.dumps(store.fire_alarm(alarm_id, stream, value)).encode()


def _function_env(url: str) -> dict[str, str]:
    return {
        "AUTOSCALE_AUTH": "emulator",
        "AUTOSCALE_COMPARTMENT_ALLOWLIST": COMPARTMENT,
        "AUTOSCALE_DATA_SCIENCE_ENDPOINT": url,
        "AUTOSCALE_MONITORING_ENDPOINT": url,
        "AUTOSCALE_SCALE_UP_COOLDOWN_SECONDS": "0",  # every alarm below acts: the full path is measured
        "AUTOSCALE_SCALE_DOWN_COOLDOWN_SECONDS": "0",
        "AUTOSCALE_FLAP_WINDOW_SECONDS": "0",  # the alternation below is a flap by design: do not damp it
    }


def measure(invocations: int = 300, cold_starts: int = 5) -> dict:
    """Figures for the real function and the bare handler, against an emulator with no injected latency."""
    store = Store.from_seed(SEED, update_delay_seconds=0)
    url, stop_emulator = serve_in_thread(store)
    try:
        ours = {"cold_start_s": [], "latency_ms": [], "calls": [], "peak_rss_mib": None}
        bare = {"cold_start_s": [], "latency_ms": [], "calls": [0], "peak_rss_mib": None}
        for _ in range(cold_starts):
            for figures, entry, env in ((ours, FUNCTION, _function_env(url)), (bare, BARE, {})):
                store.load(SEED)
                function = Function(entry, env)
                try:
                    figures["cold_start_s"].append(function.first_answer(_fire(store, HIGH, 92)))
                finally:
                    function.stop()
        store.load(SEED)
        ours.update(_warm(Function(FUNCTION, _function_env(url)), store, invocations))
        bare.update(_warm(Function(BARE, {}), None, invocations))
    finally:
        stop_emulator()
    return {"ours": _summary(ours), "bare": _summary(bare), "invocations": invocations, "cold_starts": cold_starts}


def _warm(function: Function, store: Store | None, invocations: int) -> dict:
    """Alternate a high and a low CPU alarm, so each one scales (1 -> 2 -> 1) and syncs the low alarm."""
    latencies, calls = [], []
    try:
        scratch = Store.from_seed(SEED)  # the bare handler ignores its input: any real message will do
        function.first_answer(_fire(store or scratch, HIGH, 92))
        if store is not None:
            store.load(SEED)  # back to 1 instance: each high alarm below scales 1 -> 2, each low one 2 -> 1
        for index in range(invocations):
            if store is not None and index % 2 == 1:
                name = f"model_deployment_low_cpu-{DEPLOYMENT}"
                low = [a for a in store.list_alarms(COMPARTMENT, name, "ACTIVE")]
                if not low:
                    raise RuntimeError(f"the function created no low alarm: {store.calls[-8:]}")
                body = _fire(store, low[0]["id"], 5)
            else:
                body = _fire(store or scratch, HIGH, 92)
            before = len(store.calls) if store is not None else 0
            started = time.perf_counter()
            status, answer, *_ = invoke(function.socket, body)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"invocation {index} answered {status}: {answer[:300]!r}")
            if store is not None:
                calls.append(len(store.calls) - before)
        rss = function.peak_rss_mib()
    finally:
        function.stop()
    return {"latency_ms": latencies, "calls": calls or [0], "peak_rss_mib": rss}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _summary(figures: dict) -> dict:
    return {
        "cold_start_ms": 1000 * statistics.median(figures["cold_start_s"]),
        "warm_p50_ms": _percentile(figures["latency_ms"], 50),
        "warm_p99_ms": _percentile(figures["latency_ms"], 99),
        "calls_per_alarm": statistics.mean(figures["calls"]),
        "peak_rss_mib": figures["peak_rss_mib"],
    }


def markdown(result: dict) -> str:
    ours, bare = result["ours"], result["bare"]
    rows = [
        (f"cold start: process start to first answer (median of {result['cold_starts']})", "cold_start_ms", "ms"),
        (f"warm per-alarm latency p50 ({result['invocations']} alarms)", "warm_p50_ms", "ms"),
        ("warm per-alarm latency p99", "warm_p99_ms", "ms"),
        ("OCI calls per alarm", "calls_per_alarm", ""),
        ("peak RSS (VmHWM of the fdk process)", "peak_rss_mib", "MiB"),
    ]
    lines = ["| measure | autoscale function | bare fdk + `import oci` |", "|---|---:|---:|"]
    for label, key, unit in rows:
        fmt = "{:.1f}" if key != "calls_per_alarm" else "{:.2f}"
        lines.append(f"| {label} | {fmt.format(ours[key])} {unit} | {fmt.format(bare[key])} {unit} |")
    return "\n".join(lines)
