"""Domain values: shapes, capacities, a deployment's state, alarm signals and decisions. No I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

# (OCPUs, memory GB) of the fixed shapes a ladder may name; Flex rungs carry their own size.
FIXED_SHAPES = {
    "VM.Standard2.1": (1, 15),
    "VM.Standard2.2": (2, 30),
    "VM.Standard2.4": (4, 60),
    "VM.Standard2.8": (8, 120),
    "VM.Standard2.16": (16, 240),
}
# GPUs per instance of the GPU shapes (docs "Compute Shapes"): what a GPU rung up or down multiplies. Their OCPUs and
# memory are left out of FIXED_SHAPES on purpose: cost mode compares CPU shapes by price, not GPU shapes.
GPU_COUNTS = {
    "VM.GPU2.1": 1,
    "VM.GPU3.1": 1,
    "VM.GPU3.2": 2,
    "VM.GPU3.4": 4,
    "VM.GPU.A10.1": 1,
    "VM.GPU.A10.2": 2,
}


class Shape(BaseModel):
    """A compute shape; Flex shapes carry OCPUs and memory, fixed shapes do not."""

    model_config = ConfigDict(frozen=True)
    name: str
    ocpus: float | None = None
    memory_gbs: float | None = None

    @property
    def size(self) -> tuple[float, float] | None:
        """(OCPUs, memory GB) of one instance: a Flex rung carries its own, a fixed shape is looked up."""
        if self.ocpus is not None:
            return self.ocpus, self.memory_gbs
        return FIXED_SHAPES.get(self.name)

    @property
    def gpus(self) -> int | None:
        """GPUs of one instance, or None for a shape we do not know to have GPUs."""
        return GPU_COUNTS.get(self.name)

    def __str__(self) -> str:
        if self.ocpus is None:
            return self.name
        return f"{self.name}:{self.ocpus:g}:{self.memory_gbs:g}"

    @classmethod
    def parse(cls, text: str) -> Shape:
        """`VM.Standard2.4` or `VM.Standard.E4.Flex:2:32` (OCPUs, memory GB)."""
        parts = text.strip().split(":")
        if len(parts) == 1 and parts[0]:
            return cls(name=parts[0])
        if len(parts) == 3 and parts[0]:
            try:
                ocpus, memory = float(parts[1]), float(parts[2])
            except ValueError:
                raise ValueError(f"rung {text!r}: OCPUs and memory must be numbers") from None
            if ocpus <= 0 or memory <= 0:
                raise ValueError(f"rung {text!r}: OCPUs and memory must be positive")
            return cls(name=parts[0], ocpus=ocpus, memory_gbs=memory)
        raise ValueError(f"rung {text!r} is not SHAPE or SHAPE:OCPUS:MEMORY_GB")


@dataclass(frozen=True)
class Capacity:
    instance_count: int
    shape: Shape

    def __str__(self) -> str:
        return f"{self.instance_count} x {self.shape}"


@dataclass(frozen=True)
class DeploymentState:
    id: str
    compartment_id: str
    lifecycle_state: str
    deployment_type: str  # SINGLE_MODEL is the only type we can resize
    scaling_policy: str  # FIXED_SIZE, or AUTOSCALING when OCI's native autoscaling owns it
    capacity: Capacity
    last_up: float | None = None  # epoch seconds of our last scale-up
    last_down: float | None = None
    scale_in_hold: float | None = None  # seconds a scale-in waits after a change, grown by flapping
    recent_events: tuple[str, ...] = ()  # event keys of alarms already acted on
    last_target: str | None = None  # the capacity our last change asked for (str(Capacity))
    # How long this deployment's updates took, as OCI measured them (update_time.py): our last scale-up's and last
    # scale-in's, in seconds, None until the tick has measured one; and the last change they were measured after.
    up_update_seconds: float | None = None
    down_update_seconds: float | None = None
    update_measured_for: float | None = None


@dataclass(frozen=True)
class Signal:
    metric: str  # "cpu" | "mem" | "gpu" | "requests" | "latency" (constants.METRIC_NAMES)
    direction: str  # "up" | "down"
    observed: float | None  # the value that fired the alarm, when the message carries it (requests: per minute)
    event_key: str
    alarm_time: float  # epoch seconds
    per_instance: bool = False  # the alarm watches each instance's stream: `observed` is one instance's value


class Action(StrEnum):
    NONE = "none"
    SCALE_OUT = "scale_out"
    SCALE_IN = "scale_in"
    SHAPE_UP = "shape_up"
    SHAPE_DOWN = "shape_down"


class LowAlarm(StrEnum):
    """What to do with the metric's low (scale-down) alarm: it should exist exactly above the floor."""

    ENSURE = "ensure"
    REMOVE = "remove"
    LEAVE = "leave"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    target: Capacity | None = None
    low_alarm: LowAlarm = LowAlarm.LEAVE
    scale_in_hold: float | None = None  # the flap-damping wait to record with the change
