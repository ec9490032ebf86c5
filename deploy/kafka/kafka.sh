#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1,
# run from the official jars, without Docker. See docs/kafka.md.
#
#   deploy/kafka/kafka.sh up | down | status | logs [-f | LINES]
#
# Settings (environment):
#   SLAMON_KAFKA_HOME             jars/, data/, logs/, config and pid file
#                                 (default: ~/.cache/slamon/kafka)
#   SLAMON_KAFKA_JARS             where the jars are kept (default: $SLAMON_KAFKA_HOME/jars;
#                                 tests that start fresh brokers share one copy)
#   SLAMON_KAFKA_PORT             client listener on 127.0.0.1 (default: 9092)
#   SLAMON_KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default: 9093)
#   SLAMON_KAFKA_HEAP             JVM heap flags (default: -Xms256m -Xmx512m)
#   SLAMON_KAFKA_START_TIMEOUT    seconds `up` waits for the broker (default: 60)
set -euo pipefail

KAFKA_HOME_DIR=${SLAMON_KAFKA_HOME:-$HOME/.cache/slamon/kafka}
PORT=${SLAMON_KAFKA_PORT:-9092}
CONTROLLER_PORT=${SLAMON_KAFKA_CONTROLLER_PORT:-9093}
HEAP=${SLAMON_KAFKA_HEAP:--Xms256m -Xmx512m}
START_TIMEOUT=${SLAMON_KAFKA_START_TIMEOUT:-60}

POM=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pom.xml
JARS=${SLAMON_KAFKA_JARS:-$KAFKA_HOME_DIR/jars}
DATA=$KAFKA_HOME_DIR/data
LOGS=$KAFKA_HOME_DIR/logs
CONFIG=$KAFKA_HOME_DIR/server.properties
PIDFILE=$KAFKA_HOME_DIR/kafka.pid
LOGFILE=$LOGS/kafka.log
BOOTSTRAP=127.0.0.1:$PORT

say() { echo "kafka: $*"; }
die() { echo "kafka: error: $*" >&2; exit 1; }

need() {
    command -v "$1" >/dev/null || die "$1 not found: $2"
}

# Run a Kafka command-line tool (quiet: warnings and errors only, on stderr).
kafka_tool() {
    java -Xmx256m -Dlog4j2.configurationFile="$KAFKA_HOME_DIR/log4j2-tools.properties" \
        -cp "$JARS/*" "$@"
}

# The jars are fetched once. The marker holds the pom's checksum and is written only
# after a complete copy, so an interrupted download, or a version bump in the pom,
# triggers a fresh fetch.
fetch_jars() {
    local sum
    sum=$(sha256sum "$POM" | cut -d' ' -f1)
    if [[ -f $JARS/.complete && $(<"$JARS/.complete") == "$sum" ]]; then
        return
    fi
    need mvn "install Maven 3.8+ (apt-get install maven)"
    say "fetching the Kafka jars with Maven (once, ~55 MB) ..."
    rm -rf "$JARS.tmp"
    # Maven's output goes to a file: on success it is noise, on failure it is the story.
    if ! mvn -q -B -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$JARS.tmp" >"$LOGS/mvn.log" 2>&1; then
        tail -n 40 "$LOGS/mvn.log" >&2
        die "could not fetch the jars (full Maven log: $LOGS/mvn.log)"
    fi
    rm -rf "$JARS"
    mv "$JARS.tmp" "$JARS"
    echo "$sum" >"$JARS/.complete"
}

# Regenerated on every `up`, so changed settings apply at the next start.
write_config() {
    cat >"$CONFIG" <<EOF
# Written by deploy/kafka/kafka.sh: edits are lost at the next 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA

# One node: every internal topic has a single replica.
num.partitions=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# Tests create consumer groups all the time: don't make each join wait 3 s.
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
EOF
    # The broker logs to stdout (redirected to logs/kafka.log); the tools only warn.
    cat >"$KAFKA_HOME_DIR/log4j2.properties" <<'EOF'
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
    cat >"$KAFKA_HOME_DIR/log4j2-tools.properties" <<'EOF'
appender.err.type = Console
appender.err.name = STDERR
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = STDERR
EOF
}

# KRaft storage is formatted once; the cluster id then lives in data/meta.properties.
format_storage() {
    [[ -f $DATA/meta.properties ]] && return
    local cluster_id
    cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
    say "formatting $DATA (cluster id $cluster_id)"
    # --standalone: this node alone forms the (dynamic) controller quorum.
    kafka_tool kafka.tools.StorageTool format --cluster-id "$cluster_id" \
        --config "$CONFIG" --standalone >>"$LOGFILE"
}

# The pid from the pid file, if that process is still alive and is *our* broker (a pid
# left over from a crash or a reboot may now belong to an unrelated process).
broker_pid() {
    local pid args
    [[ -f $PIDFILE ]] || return 1
    pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    args=$(ps -p "$pid" -o args= 2>/dev/null) || return 1
    [[ $args == *"kafka.Kafka $CONFIG"* ]] || return 1
    echo "$pid"
}

# Does something on the port answer a Kafka ApiVersions (v0) request? Cheap (no JVM),
# and proves a Kafka server is processing requests there, not just that a port is open.
# Request: size=10, api_key=18, api_version=0, correlation_id=1, client_id=null.
# Reply starts with: size (4 bytes), correlation_id=1, error_code=0.
answers() {
    local reply
    # shellcheck disable=SC2016  # $1 is expanded by the inner shell
    reply=$(timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
        head -c 10 <&3 | od -An -tx1' _ "$PORT" 2>/dev/null) || return 1
    reply=${reply//[[:space:]]/}
    [[ ${reply:8} == 000000010000 ]]
}

# The broker is ready for clients once it has registered with the controller and been
# unfenced: only then does it appear in the metadata, which this lists.
serves_metadata() {
    local out
    out=$(kafka_tool org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$BOOTSTRAP" 2>/dev/null) || return 1
    [[ $out == "$BOOTSTRAP (id: 1 "* ]]
}

port_taken() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Last log lines, plus the errors of this start: the cause (say, a port taken) is
# usually logged far above the shutdown noise at the end of the log.
show_failure() {
    tail -n 40 "$LOGFILE" >&2
    echo "--- errors since the last start:" >&2
    local error='\] (ERROR|FATAL) |^(Caused by: )?[[:alnum:]_.$]+(Exception|Error)(:|$)'
    tac "$LOGFILE" | sed '/^=== /q' | tac | grep -E "$error" | awk '!seen[$0]++' |
        cut -c1-300 | tail -n 10 >&2 || true
}

cmd_up() {
    need java "install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
    mkdir -p "$DATA" "$LOGS"
    local pid t0=$SECONDS
    if pid=$(broker_pid); then
        if answers; then
            say "already running (pid $pid) on $BOOTSTRAP"
            return
        fi
        say "pid $pid is starting, waiting for it"  # e.g. a second 'up' right after the first
    else
        if answers; then
            die "something else already serves Kafka on $BOOTSTRAP (not started from $KAFKA_HOME_DIR); stop it or set SLAMON_KAFKA_PORT"
        fi
        local port
        for port in "$PORT" "$CONTROLLER_PORT"; do
            port_taken "$port" && die "port $port on 127.0.0.1 is taken by another program" \
                "(see: ss -ltnp 'sport = :$port'); free it or set SLAMON_KAFKA_PORT /" \
                "SLAMON_KAFKA_CONTROLLER_PORT"
        done
        rm -f "$PIDFILE"
        fetch_jars
        write_config
        format_storage

        echo "=== $(date -u +%FT%TZ) kafka.sh up" >>"$LOGFILE"
        # setsid + nohup: the broker outlives this script and its terminal (Ctrl-C included).
        # shellcheck disable=SC2086  # HEAP is a list of flags
        setsid nohup java $HEAP -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
            -Djava.awt.headless=true \
            -Dlog4j2.configurationFile="$KAFKA_HOME_DIR/log4j2.properties" \
            -Dkafka.logs.dir="$LOGS" -cp "$JARS/*" kafka.Kafka "$CONFIG" \
            >>"$LOGFILE" 2>&1 </dev/null &
        echo $! >"$PIDFILE"
        say "starting (pid $!), log: $LOGFILE"
    fi

    local deadline=$((SECONDS + START_TIMEOUT))
    until answers && serves_metadata; do
        if ! broker_pid >/dev/null; then
            show_failure
            die "the broker exited during startup (log above: $LOGFILE)"
        fi
        if ((SECONDS >= deadline)); then
            show_failure
            die "no answer on $BOOTSTRAP after ${START_TIMEOUT}s (log above: $LOGFILE);" \
                "the broker is left running: '$0 down' stops it"
        fi
        sleep 0.5
    done
    say "ready on $BOOTSTRAP ($((SECONDS - t0))s)"
}

cmd_down() {
    local pid
    if ! pid=$(broker_pid); then
        [[ -f $PIDFILE ]] && say "removing stale pid file $PIDFILE"
        rm -f "$PIDFILE"
        say "not running"
        return
    fi
    # SIGTERM runs Kafka's controlled shutdown: logs are flushed and closed cleanly, so
    # the next start needs no recovery.
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "no exit 30 s after SIGTERM, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$PIDFILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid
    if pid=$(broker_pid); then
        if answers; then
            say "running (pid $pid) on $BOOTSTRAP, home $KAFKA_HOME_DIR"
            return 0
        fi
        say "process $pid is alive but does not answer on $BOOTSTRAP (starting or stuck; see '$0 logs')"
        return 1
    fi
    if answers; then
        say "not started from $KAFKA_HOME_DIR, but something serves Kafka on $BOOTSTRAP"
    else
        say "not running (home $KAFKA_HOME_DIR)"
    fi
    return 3
}

cmd_logs() {
    [[ -f $LOGFILE ]] || die "no log yet ($LOGFILE)"
    if [[ ${1:-} == -f ]]; then
        exec tail -n 40 -f "$LOGFILE"
    fi
    tail -n "${1:-100}" "$LOGFILE"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
logs) cmd_logs "${2:-}" ;;
*)
    echo "usage: $0 up | down | status | logs [-f | LINES]" >&2
    exit 2
    ;;
esac
