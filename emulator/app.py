"""Starlette app serving a Store over the OCI REST API, plus admin endpoints under /_emulator."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import uuid

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import records, rules
from emulator.limits import Limits, draw_latency
from emulator.limits import latency_ok as _latency_spec
from emulator.store import OciError, Store

DS, MON = "/20190101", "/20180401"
OPTIONAL_BODY = {"RetrieveDimensionStates"}  # the SDK sends no body when the optional details are omitted
FAULT_CODES = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}


class Faults:
    """Armed faults, consumed in order: {"operation", "count", and one of "status" | "latency" | "drop" | "barrier"}.

    "latency": seconds delays each matching call, or [low, high]: a uniform draw per call (100-300 ms of a real API).
    "drop": true closes the connection before the call reaches the store; "drop": "after" applies the call first.
    "barrier": n (with "timeout", seconds, default 10): each matching request is applied, then its response is held
    until n of them have reached that point (or the timeout passed), then they all respond: two clients that both
    list before either creates, deterministically. "count" defaults to n.
    {"operation": "UpdateModelDeployment", "work_request": "FAILED", "outcome": "revert" | "needs_attention",
    "revert_tags": bool, "count": n, "deployment_id": optional}: the next n accepted updates end FAILED when their
    delay elapses (Store.fail_next_updates; refused updates do not count).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._items: list[dict] = []
        self.store: Store | None = None  # set by create_app: work request faults live in the store

    def _add_work_request_failure(self, spec: dict) -> dict:
        if spec.get("operation") != "UpdateModelDeployment" or spec.get("work_request") != "FAILED":
            raise OciError(400, "InvalidParameter", 'A work request fault is "UpdateModelDeployment" / "FAILED"')
        unknown = set(spec) - {"operation", "work_request", "outcome", "revert_tags", "count", "deployment_id"}
        if unknown or self.store is None:
            raise OciError(400, "InvalidParameter", f"Unknown work request fault field(s): {sorted(unknown)}")
        kwargs = {k: spec[k] for k in ("outcome", "revert_tags", "count", "deployment_id") if k in spec}
        return self.store.fail_next_updates(**kwargs)

    def add(self, spec) -> dict:
        if not isinstance(spec, dict) or not isinstance(spec.get("operation"), str):
            raise OciError(400, "InvalidParameter", "A fault needs an 'operation' (SDK operation name or '*')")
        if "work_request" in spec:
            return self._add_work_request_failure(spec)
        kinds = [k for k in ("status", "latency", "drop", "barrier") if k in spec]
        count = spec.get("count", spec.get("barrier", 1) if "barrier" in spec else 1)
        if len(kinds) != 1 or not isinstance(count, int) or count < 1:
            raise OciError(
                400, "InvalidParameter", "A fault needs exactly one of status/latency/drop/barrier and count >= 1"
            )
        if "status" in spec and spec["status"] not in FAULT_CODES:
            raise OciError(400, "InvalidParameter", f"Fault status must be one of {sorted(FAULT_CODES)}")
        if "drop" in spec and spec["drop"] not in (True, "after"):
            raise OciError(400, "InvalidParameter", 'drop is true (before the call) or "after" (call applied)')
        if "latency" in spec and not _latency_spec(spec["latency"]):
            raise OciError(400, "InvalidParameter", "Fault latency is seconds >= 0, or [low, high]: uniform per call")
        fault = {"operation": spec["operation"], "count": count, kinds[0]: spec[kinds[0]]}
        if "barrier" in spec:
            fault.update(_barrier_fault(spec))
        with self._lock:
            self._items.append(fault)
        return fault

    def take(self, operation: str) -> tuple[float, dict | None]:
        """Consume the faults matching an operation: (total latency, first status/drop fault or None)."""
        latency, action = 0.0, None
        with self._lock:
            for fault in self._items:
                if (
                    fault["operation"] not in (operation, "*")
                    or "barrier" in fault
                    or ("latency" not in fault and action)
                ):
                    continue
                fault["count"] -= 1
                if "latency" in fault:
                    latency += draw_latency(fault["latency"])
                else:
                    action = fault
            self._items = [f for f in self._items if f["count"] > 0]
        return latency, action

    def take_barrier(self, operation: str) -> _Barrier | None:
        """Consume one use of the first barrier fault matching an operation."""
        with self._lock:
            for fault in self._items:
                if "barrier" in fault and fault["operation"] in (operation, "*"):
                    fault["count"] -= 1
                    self._items = [f for f in self._items if f["count"] > 0]
                    return fault["_state"]
        return None

    def list(self) -> list[dict]:
        failures = [] if self.store is None else self.store.update_failures()
        work_requests = [
            {"operation": "UpdateModelDeployment", "work_request": "FAILED", **failure} for failure in failures
        ]
        with self._lock:
            return [{k: v for k, v in f.items() if not k.startswith("_")} for f in self._items] + work_requests

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
        if self.store is not None:
            self.store.clear_update_failures()


class _Barrier:
    """One barrier fault's meeting point. Requests wait in the server's event loop (one thread): no lock needed."""

    def __init__(self, size: int, timeout: float):
        self.size, self.timeout, self.arrived = size, timeout, 0
        self._event: asyncio.Event | None = None

    async def wait(self) -> bool:
        """Wait until `size` requests have arrived (True) or the timeout passed (False)."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        self.arrived += 1
        if self.arrived % self.size == 0:
            event.set()
            self._event = None  # the next arrivals meet anew
            return True
        try:
            await asyncio.wait_for(event.wait(), self.timeout)
            return True
        except TimeoutError:
            return False


def _barrier_fault(spec: dict) -> dict:
    size, timeout = spec["barrier"], spec.get("timeout", 10)
    if not isinstance(size, int) or isinstance(size, bool) or size < 2:
        raise OciError(400, "InvalidParameter", "barrier is the number of requests to hold together, >= 2")
    if not (isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0):
        raise OciError(400, "InvalidParameter", "Fault timeout must be a number of seconds > 0")
    return {"timeout": timeout, "_state": _Barrier(size, timeout)}


def _client(request: Request) -> str:
    """The role our function names in its User-Agent ("oci-md-autoscaler/tick" or "/alarm"), else ""."""
    for token in request.headers.get("user-agent", "").split():
        if token.startswith("oci-md-autoscaler/"):
            return token.split("/", 1)[1]
    return ""


def _respond(request: Request, status: int, payload=None, headers: dict | None = None) -> Response:
    headers = {"opc-request-id": request.headers.get("opc-request-id") or uuid.uuid4().hex.upper(), **(headers or {})}
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(json.dumps(payload), status_code=status, headers=headers, media_type="application/json")


def _error(request: Request, status: int, code: str, message: str) -> Response:
    return _respond(request, status, {"code": code, "message": message})


def _page(request: Request, items: list, default_limit: int, max_limit: int = 1000) -> tuple[list, dict]:
    try:
        limit = int(request.query_params.get("limit", default_limit))
        offset = int(request.query_params.get("page", 0))
    except ValueError:
        raise OciError(
            400, "InvalidParameter", "limit must be an integer and page a token from opc-next-page"
        ) from None
    if not 1 <= limit <= max_limit or offset < 0:
        raise OciError(400, "InvalidParameter", f"limit must be between 1 and {max_limit}")
    more = offset + limit < len(items)
    return items[offset : offset + limit], ({"opc-next-page": str(offset + limit)} if more else {})


def _require(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if not value:
        raise OciError(400, "InvalidParameter", f"Query parameter {name} is required")
    return value


async def _drop_connection(request: Request) -> Response:
    """Close the TCP connection without writing a byte, so the client sees a connection error.

    Raising from the app is not enough: uvicorn answers an exception raised before the response starts with
    a 500. uvicorn's `send` is a bound method of its per-request cycle object, which holds the transport.
    """
    transport = getattr(getattr(request.scope.get("emulator.raw_send"), "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("drop fault: this server does not expose its transport")
    transport.close()
    for _ in range(3):  # let connection_lost run so uvicorn marks the cycle disconnected and sends nothing
        await asyncio.sleep(0)
    return Response(status_code=500)


class _EmulatorApp(Starlette):
    async def __call__(self, scope, receive, send):
        scope["emulator.raw_send"] = send  # the server's own send, before Starlette's middleware wraps it
        await super().__call__(scope, receive, send)


def create_app(
    store: Store,
    faults: Faults | None = None,
    limits: Limits | bool | None = None,
    latency: float | list[float] | None = None,
) -> Starlette:
    """The OCI REST API over a Store, plus admin endpoints under /_emulator.

    limits: a Limits (its clock, rates and log), True (OCI's documented tenancy-wide rate limits on the wall clock)
    or None/False (no throttling; calls are still logged). latency: seconds (or [low, high]) every API call waits
    before it is handled; overrides the Limits' own. Both can be changed later: POST /_emulator/config.
    """
    faults = faults or Faults()
    faults.store = store
    if not isinstance(limits, Limits):
        limits = Limits(enabled=bool(limits))
    if latency is not None:
        limits.configure({"latency": latency})

    def api(method: str, path: str, operation: str, handler, id_param: str | None = None) -> Route:
        async def endpoint(request: Request) -> Response:
            delay = limits.delay()
            if delay:  # "as slow as a real region": concurrent calls overlap in the event loop
                await asyncio.sleep(delay)
            if "authorization" not in request.headers:  # no tenancy known: logged, not counted against a budget
                limits.record(limits.clock(), operation, 401, client=_client(request))
                return _error(
                    request, 401, "NotAuthenticated", "The required authentication information was not provided"
                )
            now, refused = limits.admit(operation)
            if refused:  # refused at the door: the store never sees it
                limits.record(now, operation, 429, throttled=True, client=_client(request))
                return _error(request, 429, "TooManyRequests", limits.refusal(refused))
            try:
                response, dropped = await handle(request, now)
            except BaseException:
                limits.record(now, operation, 500, client=_client(request))
                raise
            if not dropped:
                limits.record(now, operation, response.status_code, client=_client(request))
            return response

        async def drop(request: Request, now: float) -> tuple[Response, bool]:
            limits.record(now, operation, None, client=_client(request))  # before the close: the client sees it at once
            return await _drop_connection(request), True

        async def handle(request: Request, now: float) -> tuple[Response, bool]:
            """The call itself: (response, whether the connection was dropped instead; then already logged)."""
            resource_id = request.path_params.get(id_param, "") if id_param else ""
            latency, fault = faults.take(operation)
            if latency:
                await asyncio.sleep(latency)
            if fault and fault.get("drop") != "after":
                store.record(operation, resource_id)
                if "drop" in fault:
                    return await drop(request, now)
                status = fault["status"]
                return _error(request, status, FAULT_CODES[status], f"Injected fault for {operation}"), False
            body = None
            if method in ("POST", "PUT") and (operation not in OPTIONAL_BODY or (await request.body()).strip()):
                try:
                    body = json.loads(await request.body())
                except ValueError:
                    store.record(operation, resource_id)
                    return _error(request, 400, "CannotParseRequest", "The request body is not valid JSON"), False
            barrier = faults.take_barrier(operation)
            try:
                status, payload, headers = handler(request, body)
                response = _respond(request, status, payload, headers)
            except OciError as e:
                response = _error(request, e.status, e.code, e.message)
            if barrier:  # applied; held until the barrier's other requests got here too
                await barrier.wait()
            if fault:  # "drop": "after": the call took effect but its response is lost
                return await drop(request, now)
            return response, False

        return Route(path, endpoint, methods=[method], name=operation)

    def if_match(request):
        return request.headers.get("if-match")

    def get_md(request, _):
        body, etag = store.get_model_deployment(request.path_params["id"])
        return 200, body, {"etag": etag}

    def list_md(request, _):
        q = request.query_params
        items = store.list_model_deployments(
            _require(request, "compartmentId"),
            q.get("lifecycleState"),
            q.get("displayName"),
            id=q.get("id"),
            project_id=q.get("projectId"),
            created_by=q.get("createdBy"),
            sort_by=q.get("sortBy"),
            sort_order=q.get("sortOrder"),
        )
        page, headers = _page(request, items, rules.DS_LIST_MAX_LIMIT, rules.DS_LIST_MAX_LIMIT)
        return 200, page, headers

    def list_md_shapes(request, _):
        items = store.list_model_deployment_shapes(_require(request, "compartmentId"))
        page, headers = _page(request, items, rules.DS_LIST_MAX_LIMIT, rules.DS_LIST_MAX_LIMIT)
        return 200, page, headers

    def list_wr(request, _):
        q = request.query_params
        items = store.list_work_requests(
            _require(request, "compartmentId"),
            id=q.get("id"),
            resource_id=q.get("resourceId"),
            operation_type=q.get("operationType"),
            status=q.get("status"),
            sort_by=q.get("sortBy"),
            sort_order=q.get("sortOrder"),
        )
        page, headers = _page(request, items, rules.DS_LIST_MAX_LIMIT, rules.DS_LIST_MAX_LIMIT)
        return 200, page, headers

    def list_wr_errors(request, _):
        items = store.list_work_request_errors(request.path_params["id"])
        page, headers = _page(request, items, rules.DS_LIST_MAX_LIMIT, rules.DS_LIST_MAX_LIMIT)
        return 200, page, headers

    def update_md(request, body):
        wr_id = store.update_model_deployment(request.path_params["id"], body, if_match(request))
        return 202, None, {"opc-work-request-id": wr_id}

    def get_wr(request, _):
        return 200, store.get_work_request(request.path_params["id"]), {}

    def create_alarm(request, body):
        alarm, etag = store.create_alarm(body, request.headers.get("opc-retry-token"))
        return 200, alarm, {"etag": etag}

    def get_alarm(request, _):
        alarm, etag = store.get_alarm(request.path_params["id"])
        return 200, alarm, {"etag": etag}

    def list_alarms(request, _):
        q = request.query_params
        subtree = q.get("compartmentIdInSubtree", "false").lower()
        if subtree not in ("true", "false"):
            raise OciError(400, "InvalidParameter", "compartmentIdInSubtree must be true or false")
        items = store.list_alarms(
            _require(request, "compartmentId"),
            q.get("displayName"),
            q.get("lifecycleState"),
            sort_by=q.get("sortBy"),
            sort_order=q.get("sortOrder"),
            compartment_id_in_subtree=subtree == "true",
        )
        page, headers = _page(request, items, rules.ALARMS_LIST_MAX_LIMIT, rules.ALARMS_LIST_MAX_LIMIT)
        return 200, page, headers

    def update_alarm(request, body):
        alarm, etag = store.update_alarm(request.path_params["id"], body, if_match(request))
        return 200, alarm, {"etag": etag}

    def delete_alarm(request, _):
        store.delete_alarm(request.path_params["id"], if_match(request))
        return 204, None, {}

    async def admin_state(request):
        return _respond(request, 200, store.dump())

    async def admin_reset(request):
        raw = await request.body()
        try:
            seed = json.loads(raw) if raw.strip() else {}
            Store.from_seed(seed)  # validate first: a bad seed must not leave the store half loaded
            store.load(seed)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            return _error(request, 400, "InvalidParameter", f"Bad seed: {e!r}")
        faults.clear()
        limits.reset()
        return _respond(request, 200, store.dump())

    async def admin_faults(request):
        if request.method == "DELETE":
            faults.clear()
        elif request.method == "POST":
            try:
                faults.add(json.loads(await request.body()))
            except ValueError:
                return _error(request, 400, "CannotParseRequest", "The request body is not valid JSON")
            except OciError as e:
                return _error(request, e.status, e.code, e.message)
        return _respond(request, 200, {"faults": faults.list()})

    async def admin_config(request):
        """GET or POST {"strict": bool, "max_instances": int | null} (the Store's rule switches, see rules.py) and
        {"limits": bool, "latency": seconds | [low, high], "rates": {group: int | null}} (the HTTP layer's, limits.py).
        """
        if request.method == "POST":
            try:
                change = json.loads(await request.body())
            except ValueError:
                return _error(request, 400, "CannotParseRequest", "The request body is not valid JSON")
            if not isinstance(change, dict):
                return _error(request, 400, "InvalidParameter", "Config is a JSON object")
            strict, limit = change.get("strict", store.strict), change.get("max_instances", store.max_instances)
            if set(change) - {"strict", "max_instances", "limits", "latency", "rates"} or not isinstance(strict, bool):
                return _error(
                    request,
                    400,
                    "InvalidParameter",
                    'Config takes "strict" (bool), "max_instances", "limits" (bool), "latency" and "rates"',
                )
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
                return _error(request, 400, "InvalidParameter", "max_instances is an integer >= 1 or null")
            try:
                limits.configure({k: change[k] for k in ("limits", "latency", "rates") if k in change})
            except ValueError as e:
                return _error(request, 400, "InvalidParameter", str(e))
            store.strict, store.max_instances = strict, limit
        return _respond(request, 200, {"strict": store.strict, "max_instances": store.max_instances, **limits.config()})

    async def admin_limits(request):
        """GET: the limits' config, groups and summary; ?detail=1 adds the call log ("calls", from index ?since=N).
        DELETE: forget the log and the budgets spent."""
        if request.method == "DELETE":
            limits.reset()
        q = request.query_params
        try:
            since = int(q.get("since", 0))
        except ValueError:
            return _error(request, 400, "InvalidParameter", "since is an index into the call log")
        payload = {
            **limits.config(),
            "window": limits.window,
            "groups": {group: sorted(ops) for group, ops in rules.RATE_LIMIT_GROUPS.items()},
            "summary": limits.summary(),
        }
        if q.get("detail", "0").lower() not in ("0", "false", ""):
            payload["calls"] = limits.calls(max(since, 0))
        return _respond(request, 200, payload)

    async def admin_calls(request):
        return _respond(request, 200, [{"operation": op, "id": rid} for op, rid in list(store.calls)])

    async def not_found(request, exc):
        status = getattr(exc, "status_code", 404)
        code = "MethodNotAllowed" if status == 405 else "NotFound"
        return _error(request, status, code, f"No operation for {request.method} {request.url.path}")

    routes = [
        *_monitoring_routes(api, store),  # first: /alarms/status must win over /alarms/{id}
        api("GET", DS + "/modelDeployments/{id}", "GetModelDeployment", get_md, "id"),
        api("PUT", DS + "/modelDeployments/{id}", "UpdateModelDeployment", update_md, "id"),
        api("GET", DS + "/modelDeployments", "ListModelDeployments", list_md),
        api("GET", DS + "/workRequests", "ListWorkRequests", list_wr),
        api("GET", DS + "/workRequests/{id}", "GetWorkRequest", get_wr, "id"),
        api("GET", DS + "/workRequests/{id}/errors", "ListWorkRequestErrors", list_wr_errors, "id"),
        api("GET", DS + "/modelDeploymentShapes", "ListModelDeploymentShapes", list_md_shapes),
        api("POST", MON + "/alarms", "CreateAlarm", create_alarm),
        api("GET", MON + "/alarms", "ListAlarms", list_alarms),
        api("GET", MON + "/alarms/{id}", "GetAlarm", get_alarm, "id"),
        api("PUT", MON + "/alarms/{id}", "UpdateAlarm", update_alarm, "id"),
        api("DELETE", MON + "/alarms/{id}", "DeleteAlarm", delete_alarm, "id"),
        Route("/_emulator/state", admin_state, methods=["GET"]),
        Route("/_emulator/reset", admin_reset, methods=["POST"]),
        Route("/_emulator/faults", admin_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/calls", admin_calls, methods=["GET"]),
        Route("/_emulator/config", admin_config, methods=["GET", "POST"]),
        Route("/_emulator/limits", admin_limits, methods=["GET", "DELETE"]),
        *records.routes(records.Records()),  # plain records for the offline Terraform provider
    ]
    app = _EmulatorApp(routes=routes, exception_handlers={404: not_found, 405: not_found})
    app.state.store, app.state.faults, app.state.limits = store, faults, limits
    return app


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so the port (also for port 0) is known and connectable at once.

    proto must be IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only then; without it every
    keep-alive request waits ~40 ms for a delayed ACK (uvicorn writes headers and body separately).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def make_server(app, host: str) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def serve_in_thread(
    store: Store,
    host: str = "127.0.0.1",
    port: int = 0,
    faults: Faults | None = None,
    limits: Limits | bool | None = None,
    latency: float | list[float] | None = None,
):
    """Run the emulator in a daemon thread: returns (base_url, stop). stop() shuts it down and joins the thread.

    limits/latency: see create_app (default: no throttling, no latency). Pass a Limits to read its log in-process.
    """
    sock = bind_socket(host, port)
    server = make_server(create_app(store, faults, limits, latency), host)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="oci-emulator", daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()

    bound_host, bound_port = sock.getsockname()[:2]
    return f"http://{f'[{bound_host}]' if ':' in bound_host else bound_host}:{bound_port}", stop


# -- Monitoring: metrics, alarm state and history, and their admin endpoints (emulator/monitoring.py) --


def _query_bool(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise OciError(400, "InvalidParameter", f"{name} must be true or false")
    return value == "true"


def _next_page(token: str | None) -> dict:
    return {"opc-next-page": token} if token else {}


def _monitoring_routes(api, store: Store) -> list[Route]:
    def post_metric_data(request, body):
        return 200, store.post_metric_data(body), {}

    def summarize_metrics_data(request, body):
        compartment = _require(request, "compartmentId")
        return 200, store.summarize_metrics_data(compartment, body, _query_bool(request, "compartmentIdInSubtree")), {}

    def get_alarm_history(request, _):
        q = request.query_params
        body, token = store.get_alarm_history(
            request.path_params["id"],
            q.get("alarmHistorytype"),
            q.get("timestampGreaterThanOrEqualTo"),
            q.get("timestampLessThan"),
            q.get("page"),
            q.get("limit"),
        )
        return 200, body, _next_page(token)

    def retrieve_dimension_states(request, body):
        q = request.query_params
        out, token = store.retrieve_dimension_states(request.path_params["id"], body, q.get("page"), q.get("limit"))
        return 200, out, _next_page(token)

    def list_alarms_status(request, _):
        q = request.query_params
        items, token = store.list_alarms_status(
            _require(request, "compartmentId"),
            compartment_id_in_subtree=_query_bool(request, "compartmentIdInSubtree"),
            display_name=q.get("displayName"),
            sort_by=q.get("sortBy"),
            sort_order=q.get("sortOrder"),
            resource_id=q.get("resourceId"),
            service_name=q.get("serviceName"),
            entity_id=q.get("entityId"),
            status=q.get("status"),
            page=q.get("page"),
            limit=q.get("limit"),
        )
        return 200, items, _next_page(token)

    def admin(action, fields: set[str]):
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                return _error(request, 400, "CannotParseRequest", "The request body is not valid JSON")
            if not isinstance(body, dict) or (fields and set(body) - fields):
                return _error(request, 400, "InvalidParameter", f"The body is a JSON object with {sorted(fields)}")
            try:
                return _respond(request, 200, action(request, body))
            except OciError as e:
                return _error(request, e.status, e.code, e.message)

        return endpoint

    def set_stream(request, body, status):
        if "dimensions" not in body:
            raise OciError(400, "InvalidParameter", 'The body needs "dimensions" (the metric stream)')
        change = store.fire_alarm if status == "FIRING" else store.clear_alarm
        return change(
            request.path_params["id"], body["dimensions"], body.get("value"), body.get("timestampEpochMillis")
        )

    def evaluate(request, body):
        now = body.get("now")
        if now is not None and (isinstance(now, bool) or not isinstance(now, int | float)):
            raise OciError(400, "InvalidParameter", "now is epoch seconds (a number)")
        return store.evaluate_alarms(now)

    stream_fields = {"dimensions", "value", "timestampEpochMillis"}
    return [
        api("POST", MON + "/metrics", "PostMetricData", post_metric_data),
        api("POST", MON + "/metrics/actions/summarizeMetricsData", "SummarizeMetricsData", summarize_metrics_data),
        api("GET", MON + "/alarms/status", "ListAlarmsStatus", list_alarms_status),
        api("GET", MON + "/alarms/{id}/history", "GetAlarmHistory", get_alarm_history, "id"),
        api(
            "POST",
            MON + "/alarms/{id}/actions/retrieveDimensionStates",
            "RetrieveDimensionStates",
            retrieve_dimension_states,
            "id",
        ),
        Route(
            "/_emulator/alarms/{id}/fire",
            admin(lambda r, b: set_stream(r, b, "FIRING"), stream_fields),
            methods=["POST"],
        ),
        Route("/_emulator/alarms/{id}/ok", admin(lambda r, b: set_stream(r, b, "OK"), stream_fields), methods=["POST"]),
        Route("/_emulator/evaluate", admin(evaluate, {"now"}), methods=["POST"]),
        Route("/_emulator/metrics", admin(lambda r, b: store.post_service_metrics(b), set()), methods=["POST"]),
    ]
