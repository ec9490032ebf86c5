#!/usr/bin/env bash
# The demo: a local Kafka, one slamon worker and live simulated traffic, for
# DEMO_DURATION (default 3m); alerts are printed as they happen. Stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DURATION=${DEMO_DURATION:-3m}
PORT=${SLAMON_WEB_PORT:-6066}
POLICY=deploy/demo-policy.yaml
RUN=var/demo
mkdir -p "$RUN"

bash deploy/kafka/kafka.sh up
"$BIN/slamon" worker --policy "$POLICY" --app-id slamon-demo --web-port "$PORT" \
    --data-dir "$RUN/worker" --log-format json >"$RUN/worker.log" 2>&1 &
WORKER=$!
cleanup() { kill "$WORKER" 2>/dev/null || true; wait "$WORKER" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    kill -0 "$WORKER" 2>/dev/null || { echo "worker failed, see $RUN/worker.log" >&2; exit 1; }
    sleep 0.5
done

cat <<MSG

slamon demo: worker ready, simulating ticket traffic for $DURATION (policy $POLICY).
  metrics     http://127.0.0.1:$PORT/metrics      (readiness: /readyz)
  alerts      $BIN/slamon tail slamon.alerts --brief
  outcomes    $BIN/slamon tail slamon.outcomes
  worker log  $RUN/worker.log
Breach and at-risk alerts follow as deadlines pass (no event needed):

MSG
"$BIN/slamon" simulate --policy "$POLICY" --rate 2 --duration "$DURATION" &
SIM=$!
"$BIN/slamon" tail slamon.alerts --brief &
TAIL=$!
wait "$SIM" || true
sleep 2
kill "$TAIL" 2>/dev/null || true
wait "$TAIL" 2>/dev/null || true
echo
echo "summary (from /metrics):"
curl -fs "http://127.0.0.1:$PORT/metrics" \
    | grep -E '^slamon_(events_total|alerts_total|open_tickets)' | grep -v ' 0.0$' | sort
