"""OCI Functions entry point: fdk calls handler(ctx, data) with the alarm message from Notifications."""

from autoscaler.handler import handle


def handler(ctx, data=None):
    return handle(ctx, data)
