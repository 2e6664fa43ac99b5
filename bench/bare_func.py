"""The baseline for the function micro-benchmarks: a bare fdk handler that only imports oci."""

import oci  # noqa: F401  (the import is the point: the SDK is most of our cold start)
from fdk import response


def handler(ctx, data=None):
    return response.Response(ctx, response_data='{"ok": true}', headers={"Content-Type": "application/json"})
