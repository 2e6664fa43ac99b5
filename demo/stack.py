"""Start the emulator and the real function as processes, talk to them as OCI and Fn would."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FUNCTION_DIR = ROOT / "functions" / "autoscale"
DEMO_COMPARTMENT = "ocid1.compartment.oc1..demo"


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def invoke(socket_path: str, body: bytes, call_id: str = "local", timeout: float = 60) -> tuple[int, bytes, str | None]:
    """POST /call on the fdk socket, as the Fn server does for `fn invoke` and for Notifications.

    fdk answers 502 for an exception and 504 for a timeout; any other status the handler returns (our 400
    for a rejected message) is sent as 200 unless the caller sets `Fn-Intent: httprequest` (API Gateway),
    and only then travels in the Fn-Http-Status header (fdk event_handler). Notifications calls without
    that intent, so a rejected message is answered 200 and not redelivered.
    Returns (status, body, Fn-Http-Status).
    """
    connection = UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request(
            "POST", "/call", body=body, headers={"Fn-Call-Id": call_id, "Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("Fn-Http-Status")
    finally:
        connection.close()


class Stack:
    """The emulator (seeded) and the function under fdk, started together and stopped with no leftovers."""

    def __init__(
        self,
        seed: Path = ROOT / "emulator" / "seed.json",
        update_delay: float = 1.0,
        functions: int = 1,
        emulator_args: tuple[str, ...] = ("--limits",),
        **config: str,
    ):
        """`functions` > 1 starts that many function processes, as OCI runs concurrent invocations in
        separate containers; `invoke(..., function=i)` reaches the i-th. The emulator enforces OCI's tenancy
        limits (10 alarm operations a second: emulator/rules.py) unless emulator_args say otherwise."""
        self.seed, self.update_delay, self.config = seed, update_delay, config
        self.emulator_args = emulator_args
        self.processes: list[subprocess.Popen] = []
        self.logs: list = []
        self.workdir = Path(tempfile.mkdtemp(prefix="md-autoscale-"))
        self.sockets = [str(self.workdir / f"fn{index}.sock") for index in range(functions)]
        self.socket = self.sockets[0]
        self.emulator_url = ""

    def __enter__(self) -> Stack:
        try:
            self._start_emulator()
            for socket_path in self.sockets:
                self._start_function(socket_path)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _start_emulator(self) -> None:
        command = [sys.executable, "-m", "emulator", "--port", "0", "--seed", str(self.seed)]
        command += ["--update-delay", str(self.update_delay), *self.emulator_args]
        process = self._spawn(command, cwd=ROOT, stdout=subprocess.PIPE)
        line = process.stdout.readline().decode()
        if "listening on" not in line:
            raise RuntimeError(f"emulator did not start: {line!r} {self._stderr(process)}")
        self.emulator_url = line.strip().rsplit(" ", 1)[-1]

    def _start_function(self, socket_path: str) -> None:
        env = {
            **os.environ,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{socket_path}",
            "PYTHONPATH": str(FUNCTION_DIR),  # as the OCI build image does with /function
            "AUTOSCALE_AUTH": "emulator",
            "AUTOSCALE_COMPARTMENT_ALLOWLIST": DEMO_COMPARTMENT,
            "AUTOSCALE_DATA_SCIENCE_ENDPOINT": self.emulator_url,
            "AUTOSCALE_MONITORING_ENDPOINT": self.emulator_url,
            **self.config,
        }
        fdk = str(Path(sys.executable).with_name("fdk"))
        process = self._spawn([fdk, str(FUNCTION_DIR / "func.py"), "handler"], cwd=FUNCTION_DIR, env=env)
        deadline = time.monotonic() + 30
        while not os.path.exists(socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fdk did not start: {self._stderr(process)}")
            time.sleep(0.02)

    def _spawn(self, command, **kwargs) -> subprocess.Popen:
        log = open(self.workdir / f"{len(self.processes)}.log", "wb")
        self.logs.append(log)
        process = subprocess.Popen(command, stderr=log, **kwargs)
        self.processes.append(process)
        return process

    def _stderr(self, process: subprocess.Popen, tail: int = 2000) -> str:
        index = self.processes.index(process)
        return (self.workdir / f"{index}.log").read_text(errors="replace")[-tail:]

    def function_log(self) -> list[dict]:
        """The function processes' JSON log lines so far (fdk's own debug lines are skipped)."""
        lines = []
        for process in self.processes[1:]:
            for raw in self._stderr(process, tail=0).splitlines():
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    continue
        return lines

    def invoke(self, body: bytes | dict, function: int = 0, timeout: float = 60) -> tuple[int, dict | str]:
        raw = json.dumps(body).encode() if isinstance(body, dict) else body
        status, data, _ = invoke(self.sockets[function], raw, timeout=timeout)
        try:
            return status, json.loads(data)
        except ValueError:
            return status, data.decode(errors="replace")

    def admin(self, method: str, path: str, body: dict | None = None, timeout: float = 10):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.emulator_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def state(self) -> dict:
        return self.admin("GET", "/_emulator/state")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout:
                process.stdout.close()
        for log in self.logs:
            log.close()
        shutil.rmtree(self.workdir, ignore_errors=True)
