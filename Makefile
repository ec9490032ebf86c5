# One entry point for setup, demo, tests and benchmarks (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup demo replay-demo lint unit test bench bench-worker clean kafka-up kafka-down kafka-status

setup: $(STAMP)

# Re-install when the dependency list changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# The demo: local Kafka + a worker + live simulated traffic for DEMO_DURATION (3m), on a
# live board; each run has its own topics. demo-reset deletes earlier runs' (docs/demo.md).
.PHONY: demo-reset
demo: $(STAMP)
	bash deploy/demo.sh

demo-reset: $(STAMP)
	bash deploy/demo.sh reset

# Replay the bundled example log with the default policy and print the summary.
replay-demo: $(STAMP)
	$(BIN)/slamon replay examples/tickets.jsonl

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks setup.py
	$(BIN)/ruff format --check src tests benchmarks setup.py
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q -m "not integration"

# The README's test command; .ci/run calls exactly this. The core's tests run twice: on
# the pure modules, then on the build `pip install .` makes (compiled by mypyc).
test: $(STAMP) lint kafka-up compiled
	$(BIN)/python -m pytest -q
	PYTHONPATH=$(COMPILED) $(BIN)/python -c "$$CHECK_COMPILED"
	PYTHONPATH=$(COMPILED) $(BIN)/python -m pytest -q -p no:cacheprovider tests/core

# slamon.core compiled by mypyc as `pip install .` builds it, installed apart (~1 min)
COMPILED := build/compiled
define CHECK_COMPILED
import sys; from slamon.core import build
print("slamon.core:", build()); sys.exit(build() != "compiled by mypyc")
endef
export CHECK_COMPILED
.PHONY: compiled
compiled: $(COMPILED)/.built
$(COMPILED)/.built: $(STAMP) setup.py pyproject.toml $(wildcard src/slamon/core/*.py)
	rm -rf build
	SLAMON_MYPYC=1 $(BIN)/python -m pip wheel -q --no-deps -w build/wheel .
	$(BIN)/python -m pip install -q --no-deps --target $(COMPILED) build/wheel/slamon-*.whl
	touch $@

bench: $(STAMP)
	$(BIN)/python benchmarks/replay_bench.py

bench-worker: $(STAMP) kafka-up
	$(BIN)/python benchmarks/worker_bench.py

# Soak (10 min at 400 events/s over 100k open tickets) and recovery (1M open tickets);
# options through BENCH_ARGS, e.g. `make bench-soak BENCH_ARGS=--quick` (docs/benchmarks.md).
.PHONY: bench-soak bench-soak-sim bench-recovery
bench-soak: $(STAMP) kafka-up
	$(BIN)/python benchmarks/soak_bench.py $(BENCH_ARGS)

# the soak's traffic through the service alone, in virtual time: slamon's own memory
bench-soak-sim: $(STAMP)
	$(BIN)/python benchmarks/soak_sim.py $(BENCH_ARGS)

# a 1M-record backlog: streamed by a worker, then read with --catch-up (docs/benchmarks.md)
.PHONY: bench-catchup
bench-catchup: $(STAMP) kafka-up
	$(BIN)/python benchmarks/worker_bench.py --events 1000000 --log backfill \
		--parts streamed,catchup $(BENCH_ARGS)

bench-recovery: $(STAMP) kafka-up
	$(BIN)/python benchmarks/recovery_bench.py $(BENCH_ARGS)

.PHONY: bench-oncall
bench-oncall: $(STAMP) kafka-up
	$(BIN)/python benchmarks/oncall_bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info

# Local single-node Kafka for the integration tests and the demo (docs/kafka.md).
kafka-up:
	bash deploy/kafka/kafka.sh up

kafka-down:
	bash deploy/kafka/kafka.sh down

# "not running" (exit 3) is an answer, not a failure; "alive but not answering" (1) is.
kafka-status:
	@bash deploy/kafka/kafka.sh status; rc=$$?; [ $$rc -eq 0 ] || [ $$rc -eq 3 ]

# The full stack without Docker: Kafka, a worker, the simulator, Prometheus, Alertmanager
# (deploy/stack/stack.sh; STACK_DURATION=10m to stop by itself, ports in STACK_*_PORT).
.PHONY: stack compose-config kubernetes-manifests
stack: $(STAMP)
	bash deploy/stack/stack.sh

# Files generated from others (tests fail when they are stale): the Prometheus config of
# docker-compose.yml, and the Kubernetes policy ConfigMap and PrometheusRule.
compose-config: $(STAMP)
	$(BIN)/python deploy/stack/prometheus_config.py deploy/compose/prometheus.yml \
	    --worker worker-1:6066 --worker worker-2:6066 --prometheus localhost:9090 \
	    --alertmanager alertmanager:9093 --rules-base /etc/prometheus/slamon \
	    --header "docker-compose.yml (make compose-config)"

kubernetes-manifests: $(STAMP)
	$(BIN)/python deploy/kubernetes/render.py

# A second, secured broker (SASL_SSL + SCRAM-SHA-512 on 127.0.0.1:9094; docs/kafka.md).
.PHONY: kafka-up-secure kafka-down-secure
kafka-up-secure:
	bash deploy/kafka/kafka.sh up-secure

kafka-down-secure:
	bash deploy/kafka/kafka.sh down-secure
