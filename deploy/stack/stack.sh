#!/usr/bin/env bash
# `make stack`: the full stack without Docker. Starts a local Kafka (deploy/kafka/kafka.sh), a
# slamon worker, the simulator, Prometheus (deploy/prometheus/prometheus.yml and its rules,
# targets moved to the ports below) and Alertmanager (deploy/alertmanager/alertmanager.yml),
# waits until each is ready, prints the URLs, then runs until Ctrl-C or STACK_DURATION.
# Everything it started is stopped on exit, on failure and on Ctrl-C; a Kafka that was already
# running is left running. Each run has its own app id and topics (slamon-stack-<time>).
#
# Settings (environment):
#   STACK_DURATION              how long to run: 90s, 10m, 2h (default: until Ctrl-C)
#   STACK_WORKER_PORT           the worker's /metrics, /healthz, /readyz (default: 6066)
#   STACK_PROMETHEUS_PORT       Prometheus (default: 9090)
#   STACK_ALERTMANAGER_PORT     Alertmanager (default: 9093)
#   STACK_SCRAPE_INTERVAL       scrape and rule evaluation interval (default: the config's)
#   STACK_RATE                  simulated new tickets per second (default: 2)
#   STACK_POLICY                SLA policy of the worker and the simulator
#                               (default: deploy/demo-policy.yaml)
#   STACK_DIR                   logs and data of the runs (default: var/stack)
#   STACK_RUN_ID                app id and topic prefix (default: slamon-stack-<UTC time>)
#   STACK_READY_TIMEOUT         seconds to wait for each process (default: 120)
#   PROMETHEUS, ALERTMANAGER    the binaries (default: prometheus; alertmanager or Debian's
#                               prometheus-alertmanager)
#   SLAMON_KAFKA_PORT, ...      the broker's settings, as for deploy/kafka/kafka.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=.venv/bin
DURATION=${STACK_DURATION:-}
WORKER_PORT=${STACK_WORKER_PORT:-6066}
PROM_PORT=${STACK_PROMETHEUS_PORT:-9090}
AM_PORT=${STACK_ALERTMANAGER_PORT:-9093}
KAFKA_PORT=${SLAMON_KAFKA_PORT:-9092}
RATE=${STACK_RATE:-2}
POLICY=${STACK_POLICY:-deploy/demo-policy.yaml}
READY_TIMEOUT=${STACK_READY_TIMEOUT:-120}
RUN_ID=${STACK_RUN_ID:-slamon-stack-$(date -u +%Y%m%d-%H%M%S)}
RUN=${STACK_DIR:-var/stack}/$RUN_ID
PROMETHEUS=${PROMETHEUS:-prometheus}
if [[ -z ${ALERTMANAGER:-} ]]; then
    ALERTMANAGER=alertmanager
    command -v alertmanager >/dev/null || ALERTMANAGER=prometheus-alertmanager
fi
BROKER=kafka://127.0.0.1:$KAFKA_PORT

say() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

# --- what was started, stopped in reverse order on any exit ----------------------------
PIDS=()
NAMES=()
KAFKA_STARTED=0
stop() {
    local rc=$? i pid
    trap - EXIT INT TERM
    if ((${#PIDS[@]})); then
        say "stopping ${NAMES[*]}"
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            kill -TERM "${PIDS[i]}" 2>/dev/null || true
        done
        # The worker's own stop is bounded (12 s); past 20 s anything left is killed.
        local waited=0
        for pid in "${PIDS[@]}"; do
            while kill -0 "$pid" 2>/dev/null && ((waited < 200)); do
                sleep 0.1
                waited=$((waited + 1))
            done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
    fi
    if ((KAFKA_STARTED)); then
        say "stopping Kafka (started by this run)"
        bash deploy/kafka/kafka.sh down || true
    fi
    exit "$rc"
}
trap stop EXIT
trap 'echo; say "interrupted"; exit 130' INT TERM

need() { command -v "$1" >/dev/null || die "$1 not found: $2"; }
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME LOG CMD...: run in the background, remembered for stop().
start() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 &
    PIDS+=("$!")
    NAMES+=("$name")
}

# wait_ready NAME URL LOG: until URL answers 2xx, the process dies, or the timeout.
wait_ready() {
    local name=$1 url=$2 log=$3 pid=${PIDS[-1]} t0=$SECONDS
    until curl -fs -o /dev/null --max-time 2 "$url"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "stack: $name stopped; the end of $log:" >&2
            tail -n 15 "$log" >&2
            exit 1
        fi
        if ((SECONDS - t0 >= READY_TIMEOUT)); then
            echo "stack: $name not ready after ${READY_TIMEOUT}s; the end of $log:" >&2
            tail -n 15 "$log" >&2
            exit 1
        fi
        sleep 0.5
    done
    say "$name ready after $((SECONDS - t0))s"
}

# "90s", "10m", "2h", "1d" or plain seconds -> seconds
seconds_of() {
    local value=$1
    case $value in
        *s) echo "${value%s}" ;;
        *m) echo $((${value%m} * 60)) ;;
        *h) echo $((${value%h} * 3600)) ;;
        *d) echo $((${value%d} * 86400)) ;;
        *) echo "$value" ;;
    esac
}

# --- checks before starting anything --------------------------------------------------
[[ -x $BIN/slamon ]] || die "$BIN/slamon not found: run make setup"
need curl "apt-get install curl"
need "$PROMETHEUS" "apt-get install prometheus (or set PROMETHEUS)"
need "$ALERTMANAGER" "apt-get install prometheus-alertmanager (or set ALERTMANAGER)"
LIMIT=
if [[ -n $DURATION ]]; then
    LIMIT=$(seconds_of "$DURATION")
    [[ $LIMIT =~ ^[0-9]+$ ]] || die "STACK_DURATION: expected 90s, 10m, 2h, 1d or seconds, got '$DURATION'"
fi
for port in "$WORKER_PORT" "$PROM_PORT" "$AM_PORT"; do
    port_taken "$port" && die "port $port is taken (see STACK_*_PORT in deploy/stack/stack.sh)"
done
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
say "run $RUN_ID, logs and data in $RUN"

# --- Kafka ------------------------------------------------------------------------------
kafka_status=0
bash deploy/kafka/kafka.sh status >/dev/null 2>&1 || kafka_status=$?
if ((kafka_status == 0)); then
    say "Kafka already running on 127.0.0.1:$KAFKA_PORT (left running on exit)"
else
    ((kafka_status == 3)) && KAFKA_STARTED=1  # not running: ours to stop; 1: someone's, starting
    bash deploy/kafka/kafka.sh up
fi

# --- Alertmanager -----------------------------------------------------------------------
# --cluster.listen-address= (empty): a single Alertmanager, no gossip port.
start alertmanager "$RUN/alertmanager.log" "$ALERTMANAGER" \
    --config.file=deploy/alertmanager/alertmanager.yml \
    --storage.path="$RUN/alertmanager" \
    --web.listen-address="127.0.0.1:$AM_PORT" \
    --cluster.listen-address=
wait_ready Alertmanager "http://127.0.0.1:$AM_PORT/-/ready" "$RUN/alertmanager.log"

# --- the worker ---------------------------------------------------------------------------
start worker "$RUN/worker.log" "$BIN/slamon" worker --policy "$POLICY" --app-id "$RUN_ID" \
    --broker "$BROKER" --web-port "$WORKER_PORT" --data-dir "$RUN/worker" --partitions 3 \
    --events-topic "$RUN_ID.ticket-events" --alerts-topic "$RUN_ID.alerts" \
    --outcomes-topic "$RUN_ID.outcomes" --dead-letter-topic "$RUN_ID.dead-letter" \
    --log-format json
wait_ready worker "http://127.0.0.1:$WORKER_PORT/readyz" "$RUN/worker.log"

# --- Prometheus -----------------------------------------------------------------------
interval=()
[[ -n ${STACK_SCRAPE_INTERVAL:-} ]] && interval=(--scrape-interval "$STACK_SCRAPE_INTERVAL")
"$BIN/python" deploy/stack/prometheus_config.py "$RUN/prometheus.yml" \
    --worker "127.0.0.1:$WORKER_PORT" --prometheus "127.0.0.1:$PROM_PORT" \
    --alertmanager "127.0.0.1:$AM_PORT" "${interval[@]}"
start prometheus "$RUN/prometheus.log" "$PROMETHEUS" \
    --config.file="$RUN/prometheus.yml" \
    --storage.tsdb.path="$RUN/prometheus" \
    --web.listen-address="127.0.0.1:$PROM_PORT"
wait_ready Prometheus "http://127.0.0.1:$PROM_PORT/-/ready" "$RUN/prometheus.log"

# --- the simulator ----------------------------------------------------------------------
start simulator "$RUN/simulate.log" "$BIN/slamon" simulate --policy "$POLICY" \
    --broker "$BROKER" --events-topic "$RUN_ID.ticket-events" --rate "$RATE" \
    --duration "${LIMIT:-86400}s"
say "simulator: $RATE new tickets a second"

cat <<EOF

  Prometheus     http://127.0.0.1:$PROM_PORT   (targets: /targets, alerts: /alerts)
  Alertmanager   http://127.0.0.1:$AM_PORT
  worker         http://127.0.0.1:$WORKER_PORT/metrics   (/healthz, /readyz)
  Kafka          127.0.0.1:$KAFKA_PORT   topics $RUN_ID.*
  alerts         $BIN/slamon tail $RUN_ID.alerts --brief
  live board     $BIN/slamon watch --metrics-url http://127.0.0.1:$WORKER_PORT/metrics \\
                     --alerts-topic $RUN_ID.alerts --outcomes-topic $RUN_ID.outcomes

EOF
if [[ -n $LIMIT ]]; then
    say "running for $DURATION (Ctrl-C stops it earlier)"
else
    say "running until Ctrl-C"
fi

# --- run: until the time is up, or one of them stops ------------------------------------
t0=$SECONDS
while [[ -z $LIMIT ]] || ((SECONDS - t0 < LIMIT)); do
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
            [[ ${NAMES[i]} == simulator ]] && [[ -n $LIMIT ]] && continue  # done by itself
            die "${NAMES[i]} stopped unexpectedly; see $RUN/${NAMES[i]/simulator/simulate}.log"
        fi
    done
    sleep 1
done
say "$DURATION elapsed"
