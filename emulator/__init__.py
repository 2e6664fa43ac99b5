"""Local emulator of the OCI Data Science and Monitoring REST APIs used by the autoscaler.

The unmodified `oci` SDK talks to it when given service_endpoint="http://HOST:PORT" and any signer.
`Store` is the pure in-memory state (also usable directly by in-process fakes), `create_app` the
Starlette app, `serve_in_thread` runs it under uvicorn in a background thread. `Limits` holds the
HTTP layer's tenancy-wide rate limits, per-call latency and call log (the Store never throttles).
"""

from emulator.app import Faults, create_app, serve_in_thread
from emulator.limits import Limits
from emulator.store import OciError, Store

__all__ = ["Faults", "Limits", "OciError", "Store", "create_app", "serve_in_thread"]
