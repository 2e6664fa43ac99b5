"""`terraform plan` of examples/complete (real Terraform, offline provider, an in-process emulator).

What validate cannot do and plan can: evaluate the variables a user gives (terraform.tfvars.example as
shipped), the module's expressions, variable validations and preconditions on real values.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from infra.tfrun import copy_tree


@pytest.fixture(scope="module")
def example(terraform, tmp_path_factory):
    tree = copy_tree(tmp_path_factory.mktemp("plan") / "terraform")
    example = tree / "examples" / "complete"
    assert terraform.init(example).code == 0
    return example


def plan(terraform, example, emulator_url, tfvars: dict | None = None):
    shutil.copy(example / "terraform.tfvars.example", example / "terraform.tfvars")
    extra = example / "override.auto.tfvars.json"
    extra.unlink(missing_ok=True)
    if tfvars:
        extra.write_text(json.dumps(tfvars))
    return terraform.run(example, "plan", "-input=false", "-no-color", OCI_EMULATOR_URL=emulator_url)


def test_the_shipped_tfvars_example_plans(terraform, example, emulator_url):
    result = plan(terraform, example, emulator_url)
    assert result.code == 0, result.text
    # 15 resources (13 + the reconcile schedule and its policy) plus one alarm per signal the example's deployments
    # enable: churn cpu and mem, fraud cpu (mem_alarm = false), llm gpu and latency.
    assert "Plan: 20 to add, 0 to change, 0 to destroy." in result.out
    assert re.search(r'autoscale_max_instances\s+= "8"', result.out)  # fraud's override, as a deployment tag
    assert re.search(r'autoscale_signals\s+= "gpu,latency"', result.out)  # llm's signal switches, as a tag
    assert "GPUCoreUtilization[1m]" in result.out and "PredictLatency[1m]" in result.out
    assert "groupBy(resourceId).mean() > 2000" in result.out  # llm's latency objective is its alarm's threshold
    assert "PredictRequestCount" not in result.out  # request alarms follow the count: the function's own


def test_an_inconsistent_override_fails_the_plan(terraform, example, emulator_url):
    deployments = {"churn": {"deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplechurn"}}
    deployments["churn"]["overrides"] = {"cpu_target": 15}  # below the 20 % low threshold
    result = plan(terraform, example, emulator_url, {"deployments": deployments})
    assert result.code == 1
    error = " ".join(result.err.split())
    assert (
        "Inconsistent scaling policy (defaults + overrides): churn: cpu_low_threshold 20 is not below cpu_target 15"
        in error
    )


def test_a_scaling_value_the_function_would_refuse_fails_the_plan(terraform, example, emulator_url):
    result = plan(terraform, example, emulator_url, {"scaling": {"scale_in_headroom": 1.5}})
    assert result.code == 1
    assert "scaling.scale_in_headroom must be in [0, 1]" in " ".join(result.err.split())


def test_a_gpu_override_inconsistent_with_its_alarm_fails_the_plan(terraform, example, emulator_url):
    deployments = {"llm": {"deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplellm"}}
    deployments["llm"]["overrides"] = {"signals": ["gpu"], "gpu_target": 80}  # above the 75 % GPU alarm
    result = plan(terraform, example, emulator_url, {"deployments": deployments})
    assert result.code == 1
    assert "llm: GPU high threshold 75 is not above gpu_target 80" in " ".join(result.err.split())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_instances": 11}, "churn: overrides.max_instances 11 is above instance_ceiling 10"),
        ({"min_instances": 12, "max_instances": 12}, "churn: overrides.min_instances 12 is above instance_ceiling 10"),
        ({"max_instances": 4, "schedule": "Daily=500"}, "churn: overrides.schedule asks for 500 instances, above"),
    ],
)
def test_an_override_above_the_instance_ceiling_fails_the_plan(terraform, example, emulator_url, overrides, message):
    """The function clamps a max_instances tag to the ceiling and refuses a floor above it; at plan time both fail."""
    deployments = {"churn": {"deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplechurn"}}
    deployments["churn"]["overrides"] = overrides
    result = plan(terraform, example, emulator_url, {"deployments": deployments})
    assert result.code == 1
    error = " ".join(result.err.split())
    assert message in error and "lower the count or raise instance_ceiling" in error, error


def test_the_instance_ceiling_reaches_the_function_and_bounds_the_defaults(terraform, example, emulator_url):
    deployments = {"churn": {"deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplechurn"}}
    deployments["churn"]["overrides"] = {"max_instances": 20}
    raised = plan(terraform, example, emulator_url, {"deployments": deployments, "instance_ceiling": 20})
    assert raised.code == 0, raised.text
    assert re.search(r'"AUTOSCALE_INSTANCE_CEILING"\s+= "20"', raised.out)
    result = plan(terraform, example, emulator_url, {"scaling": {"max_instances": 11}})
    assert result.code == 1
    assert "scaling.max_instances 11 is above instance_ceiling 10" in " ".join(result.err.split())
    # What the function refuses at load (its schedule above its max_instances), refused at plan time too.
    result = plan(terraform, example, emulator_url, {"scaling": {"schedule": "Mon-Fri 08:00-18:00=5; Sun=1"}})
    assert result.code == 1
    assert "scaling.schedule asks for 5 instances, above scaling.max_instances 4" in " ".join(result.err.split())


def test_an_unknown_signal_fails_the_plan(terraform, example, emulator_url):
    deployments = {"llm": {"deployment_id": "ocid1.datasciencemodeldeployment.oc1.iad.aaaaaaaaexamplellm"}}
    deployments["llm"]["overrides"] = {"signals": ["gpu", "disk"]}
    result = plan(terraform, example, emulator_url, {"deployments": deployments})
    assert result.code == 1
    assert "overrides.signals must be a non-empty list of distinct signals" in " ".join(result.err.split())
