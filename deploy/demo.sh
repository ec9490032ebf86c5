#!/usr/bin/env bash
# The demo: a local Kafka, one slamon worker and live simulated traffic for DEMO_DURATION
# (default 3m), shown on a live board (`slamon watch`), then a summary table. Stops by itself;
# Ctrl-C stops it early. Every run has its own consumer group and topics (slamon-demo-<time>),
# so nothing of an earlier run comes back. Not on a terminal (CI, a file): plain text.
# `deploy/demo.sh reset` (`make demo-reset`) deletes earlier runs' topics and table stores.
# With Prometheus and Alertmanager installed (Debian's prometheus, prometheus-alertmanager)
# and their ports 9090/9093 free, they run too: rules, per-ticket alerts, URLs printed
# (DEMO_STACK=no leaves them out; `make stack` is the full stack without the board).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

if [ "${1:-}" = reset ]; then
    "$BIN/python" - <<'PY'
import asyncio

from aiokafka.errors import KafkaError

from slamon.adapters.kafka import admin_client
from slamon.adapters.kafka_security import KafkaSecurity


async def reset() -> None:
    async with admin_client("127.0.0.1:9092", KafkaSecurity()) as admin:
        names = [t for t in await admin.list_topics() if t.startswith("slamon-demo-")]
        if names:
            await admin.delete_topics(names)
    print(f"deleted {len(names)} topics of earlier demo runs (slamon-demo-*)")


try:
    asyncio.run(reset())
except KafkaError as exc:
    raise SystemExit(f"demo reset: Kafka at 127.0.0.1:9092: {exc}") from None
PY
    rm -rf var/demo
    exit
fi
DURATION=${DEMO_DURATION:-3m}
PORT=${SLAMON_WEB_PORT:-6066}
POLICY=deploy/demo-policy.yaml
RUN_ID=slamon-demo-$(date -u +%Y%m%d-%H%M%S)
RUN=var/demo/$RUN_ID
URL=http://127.0.0.1:$PORT/metrics
TOPICS=(--alerts-topic "$RUN_ID.alerts" --outcomes-topic "$RUN_ID.outcomes")
STARTED=$SECONDS
ALERTMANAGER=$(command -v alertmanager || command -v prometheus-alertmanager || true)
PROMETHEUS=$(command -v prometheus || true)
STACK=no
if [ "${DEMO_STACK:-auto}" != no ] && [ -n "$PROMETHEUS" ] && [ -n "$ALERTMANAGER" ] \
    && ! curl -s -o /dev/null http://127.0.0.1:9090/ && ! curl -s -o /dev/null http://127.0.0.1:9093/; then
    STACK=yes
fi
ONCALL=()
[ $STACK = yes ] && ONCALL=(--alertmanager http://127.0.0.1:9093)

PIDS=()
stop() {
    [ ${#PIDS[@]} -eq 0 ] && return
    echo "stopping the processes the demo started"
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap stop EXIT
trap 'echo; echo "interrupted"; exit 130' INT TERM

if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT is taken (another worker?): stop it or set SLAMON_WEB_PORT" >&2
    exit 1
fi
rm -rf var/demo  # earlier runs' table stores: their consumer groups are never used again
mkdir -p "$RUN"
echo "slamon demo $RUN_ID: $DURATION of simulated tickets, policy $POLICY"
echo
echo "[1/4] Kafka on 127.0.0.1:9092"
bash deploy/kafka/kafka.sh up
if [ $STACK = yes ]; then
    echo "      Alertmanager on 127.0.0.1:9093, Prometheus on 127.0.0.1:9090 (logs in $RUN)"
    "$ALERTMANAGER" --config.file=deploy/alertmanager/alertmanager.yml \
        --storage.path="$RUN/alertmanager" --web.listen-address=127.0.0.1:9093 \
        --cluster.listen-address= >"$RUN/alertmanager.log" 2>&1 &
    PIDS+=("$!")
    "$BIN/python" deploy/stack/prometheus_config.py "$RUN/prometheus.yml" \
        --worker "127.0.0.1:$PORT" --prometheus 127.0.0.1:9090 --alertmanager 127.0.0.1:9093
    "$PROMETHEUS" --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/prometheus" \
        --web.listen-address=127.0.0.1:9090 >"$RUN/prometheus.log" 2>&1 &
    PIDS+=("$!")
fi

echo "[2/4] worker: topics $RUN_ID.*, consumer group $RUN_ID, log $RUN/worker.log"
"$BIN/slamon" worker --policy "$POLICY" --app-id "$RUN_ID" --web-port "$PORT" \
    --data-dir "$RUN/worker" --partitions 3 --log-format json \
    --events-topic "$RUN_ID.ticket-events" --alerts-topic "$RUN_ID.alerts" \
    --outcomes-topic "$RUN_ID.outcomes" --dead-letter-topic "$RUN_ID.dead-letter" \
    "${ONCALL[@]}" >"$RUN/worker.log" 2>&1 &
WORKER=$!
PIDS+=("$WORKER")
echo "      creating its topics, joining the consumer group, recovering its tables..."
waited=0
until curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$WORKER" 2>/dev/null; then
        echo "the worker stopped; the end of $RUN/worker.log:" >&2
        tail -n 5 "$RUN/worker.log" >&2
        exit 1
    fi
    if [ $waited -ge 240 ]; then
        echo "the worker is not ready after 120s; see $RUN/worker.log" >&2
        exit 1
    fi
    sleep 0.5
    waited=$((waited + 1))
    [ $((waited % 10)) -eq 0 ] && echo "      still starting ($((waited / 2))s)"
done
echo "      ready after $((waited / 2))s: $URL (readiness /readyz)"
if [ $STACK = yes ]; then
    echo "      Prometheus   http://127.0.0.1:9090/alerts   (slamon's rules, the worker scraped)"
    echo "      Alertmanager http://127.0.0.1:9093          (per-ticket SlaAtRisk / SlaBreached)"
fi

echo "[3/4] simulating 2 new tickets a second for $DURATION (log $RUN/simulate.log)"
echo "      alerts as lines: $BIN/slamon tail $RUN_ID.alerts --brief"
"$BIN/slamon" simulate --policy "$POLICY" --events-topic "$RUN_ID.ticket-events" \
    --rate 2 --duration "$DURATION" >"$RUN/simulate.log" 2>&1 &
SIM=$!
PIDS+=("$SIM")
"$BIN/slamon" watch --metrics-url "$URL" "${TOPICS[@]}" --for "$DURATION"
wait "$SIM" || { echo "the simulator failed: $(tail -n 1 "$RUN/simulate.log")" >&2; exit 1; }
KEEP=()
for pid in "${PIDS[@]}"; do [ "$pid" = "$SIM" ] || KEEP+=("$pid"); done
PIDS=("${KEEP[@]}")  # the simulator is done; the worker (and Prometheus) still report
echo "      $(tail -n 1 "$RUN/simulate.log")"
sleep 2  # the worker handles the last events

echo
echo "[4/4] summary of $RUN_ID after $((SECONDS - STARTED))s"
"$BIN/slamon" watch --metrics-url "$URL" "${TOPICS[@]}" --from-beginning --once
stop
echo "Kafka keeps running (make kafka-down); this run's topics stay: $RUN_ID.*"
