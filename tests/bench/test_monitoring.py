"""The simulator publishes one stream per instance into the emulator's Monitoring and evaluates the Store's alarms
with it: per-instance alarms (no grouping) against per-deployment ones (`.groupBy(resourceId)`), the evaluation
slack, the cold first minute of a fresh instance, and pruning the streams of instances that are gone."""

import numpy as np

from autoscaler.domain import Capacity
from bench.policies import Ours, Sample2022
from bench.sim import COMPARTMENT, LADDER, NAMESPACE, START, Controller, SimConfig, Simulation, apply
from bench.traces import Trace
from emulator.monitoring import rfc3339


class Recorder(Controller):
    """The alarms of the 2022 sample and of the Terraform module side by side; records every message."""

    name = "recorder"

    def __init__(self, alarms=("2022", "ours")):
        self.sources = alarms
        self.messages = []

    def alarms(self, md_id):
        out = []
        if "2022" in self.sources:
            out += Sample2022().alarms(md_id)
        if "ours" in self.sources:
            out += Ours().alarms(md_id)
        return out

    def deliver(self, message, now):
        self.messages.append((now, message))


def flat(level, minutes=30):
    return Trace("flat", "flat", np.full(minutes, level), np.full(minutes, 4.0))


def firing(recorder, query_part):
    return [
        m for _, m in recorder.messages if m["type"] == "OK_TO_FIRING" and query_part in m["alarmMetaData"][0]["query"]
    ]


def test_a_hot_instance_fires_the_per_instance_alarm_but_not_the_deployment_alarm():
    # 1.4 OCPU over 2 x 1 OCPU: 70 % on average (below the 75 % deployment alarm), but the load balancer sends
    # 62.5 % of it to one instance: 87.5 % there (above the 2022 sample's per-instance 80 %).
    config = SimConfig(weights=(1.25, 0.75), evaluation_slack_seconds=0)
    recorder = Recorder()
    sim = Simulation([flat(1.4)], recorder, config, [Capacity(2, LADDER[0])])
    sim.run()
    hot = firing(recorder, "CpuUtilization[5m]")
    assert len(hot) == 1 and not firing(recorder, "groupBy(resourceId)")
    [dims] = hot[0]["alarmMetaData"][0]["dimensions"]
    assert set(dims) == {"resourceId", "instanceId"} and dims["instanceId"].endswith("-1")  # slot 0, the hot one
    assert float(next(iter(hot[0]["alarmMetaData"][0]["metricValues"][0].values()))) > 80
    [md_id] = sim.ids
    ours_high = f"ocid1.alarm.oc1.iad.md-autoscale-high-cpu-{md_id.rsplit('.', 1)[-1]}"
    assert sim.monitoring.status_of(ours_high) == "OK"


def test_even_load_fires_both_or_neither():
    recorder = Recorder()
    Simulation([flat(1.7)], recorder, SimConfig(weights=(1.0, 1.0), evaluation_slack_seconds=0),
               [Capacity(2, LADDER[0])]).run()  # fmt: skip
    assert firing(recorder, "CpuUtilization[5m]") and firing(recorder, "groupBy(resourceId)")  # 85 % everywhere


def test_the_evaluation_slack_delays_the_alarm():
    cpu = np.concatenate([np.full(10, 0.3), np.full(20, 0.95)])  # 95 % on one 1-OCPU instance from minute 10
    trace = Trace("step", "step", cpu, np.full(30, 4.0))
    first = {}
    for slack in (0, 180):
        recorder = Recorder(("ours",))
        Simulation([trace], recorder, SimConfig(evaluation_slack_seconds=slack), [Capacity(1, LADDER[0])]).run()
        [message] = firing(recorder, "CpuUtilization")
        first[slack] = (message["timestampEpochMillis"] / 1000 - START) / 60
    assert first[0] == 10 and first[180] == 13  # OCI's default slack PT3M: three minutes later
    assert Ours().alarms("x")[0].get("evaluationSlackDuration") is None  # so OCI's default applies


def test_a_fresh_instance_is_cold_for_its_first_minute():
    """After a scale-out the new instance reports little load for a minute: a per-instance low alarm can fire on it."""

    class ScaleOutOnce(Recorder):
        def tick(self, minute, now):
            if minute == 5:
                apply(self.sim.store, self.sim.ids[0], Capacity(2, LADDER[0]))
                self.acted = True

    config = SimConfig(weights=(1.0, 1.0), evaluation_slack_seconds=0, warmup_minutes=1, warmup_share=0.1)
    config = config.with_update_minutes(out=(3, 0))
    recorder = ScaleOutOnce(("2022",))
    sim = Simulation([flat(0.5, 20)], recorder, config, [Capacity(1, LADDER[0])])
    sim.run()
    [series] = sim.series.values()
    assert series.serving_ocpus[7] == 1 and series.serving_ocpus[8] == 2  # applied in minute 5, 3 min
    low = firing(recorder, "< 10")
    assert low and low[0]["alarmMetaData"][0]["dimensions"][0]["instanceId"].endswith("-2")  # the fresh one
    assert (low[0]["timestampEpochMillis"] / 1000 - START) / 60 == 8


def test_pruning_the_streams_of_gone_instances_changes_no_message_and_no_history():
    rng = np.random.default_rng(3)
    cpu = np.clip(1.2 * np.exp(rng.normal(0, 0.4, 600)), 0.1, 3.0)
    trace = Trace("noisy", "noisy", cpu, np.full(600, 4.0))
    runs = []
    for idle in (3 * 3600, 10**9):  # the default, and never
        recorder = Recorder()

        class Flapper(type(recorder)):
            def tick(self, minute, now):  # replace instances often: many dead streams
                if minute % 30 == 0:
                    count = 3 if (minute // 30) % 2 else 2
                    self.acted = apply(self.sim.store, self.sim.ids[0], Capacity(count, LADDER[0]))

        recorder.__class__ = Flapper
        sim = Simulation([trace], recorder, SimConfig().with_update_minutes(out=(3, 0), **{"in": (3, 0)}))
        sim.monitoring.idle_seconds = idle
        sim.run()
        history = sim.store.summarize_metrics_data(  # what the function's forecast reads: every instance ever
            COMPARTMENT,
            {
                "namespace": NAMESPACE,
                "query": f'CpuUtilization[1h]{{resourceId = "{sim.ids[0]}"}}.groupBy(resourceId).sum()',
                "startTime": rfc3339(START),
                "endTime": rfc3339(START + 600 * 60),
                "resolution": "1h",
            },
        )
        messages = [(t, m["type"], m["title"], m["alarmMetaData"][0]["dimensions"]) for t, m in recorder.messages]
        runs.append((messages, history))
    assert runs[0] == runs[1] and len(runs[0][0]) > 10
    [stream] = runs[0][1]
    assert len(stream["aggregatedDatapoints"]) == 10  # one value per hour of the range
