#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1,
# run from the official jars, without Docker. See docs/kafka.md.
#
#   deploy/kafka/kafka.sh up | down | status | logs [-f | LINES]
#   deploy/kafka/kafka.sh up-secure | down-secure | status-secure | logs-secure [-f | LINES]
#
# The *-secure commands (or SLAMON_KAFKA_SECURE=1 with the plain ones) run a second
# broker, with its own home and ports, whose client listener is SASL_SSL: TLS with a
# CA and broker certificate generated once, SCRAM-SHA-512 users created at format time.
#
# Settings (environment):
#   SLAMON_KAFKA_HOME             jars/, data/, logs/, config and pid file
#                                 (default: ~/.cache/slamon/kafka; secure: ~/.cache/slamon/kafka-secure)
#   SLAMON_KAFKA_JARS             where the jars are kept (default: $SLAMON_KAFKA_HOME/jars;
#                                 secure: ~/.cache/slamon/kafka/jars, the plain broker's;
#                                 tests that start fresh brokers share one copy)
#   SLAMON_KAFKA_PORT             client listener on 127.0.0.1 (default: 9092; secure: 9094)
#   SLAMON_KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default: 9093;
#                                 secure: 9095)
#   SLAMON_KAFKA_HEAP             JVM heap flags (default: -Xms256m -Xmx512m)
#   SLAMON_KAFKA_START_TIMEOUT    seconds `up` waits for the broker (default: 60), counted
#                                 from its last progress in loading its partition logs
#   SLAMON_KAFKA_SECURE           1: the plain commands act on the secure broker
#   SLAMON_KAFKA_SECURE_USER      secure: the client's SCRAM user (default: slamon)
set -euo pipefail

COMMAND=${1:-}
SECURE=${SLAMON_KAFKA_SECURE:-0}
if [[ $COMMAND == *-secure ]]; then
    SECURE=1
    COMMAND=${COMMAND%-secure}
fi
if [[ $SECURE == 1 ]]; then
    umask 077  # passwords, keys and the data of a secured broker: for this user only
    KAFKA_HOME_DIR=${SLAMON_KAFKA_HOME:-$HOME/.cache/slamon/kafka-secure}
    PORT=${SLAMON_KAFKA_PORT:-9094}
    CONTROLLER_PORT=${SLAMON_KAFKA_CONTROLLER_PORT:-9095}
    DEFAULT_JARS=$HOME/.cache/slamon/kafka/jars  # one copy for both brokers
else
    KAFKA_HOME_DIR=${SLAMON_KAFKA_HOME:-$HOME/.cache/slamon/kafka}
    PORT=${SLAMON_KAFKA_PORT:-9092}
    CONTROLLER_PORT=${SLAMON_KAFKA_CONTROLLER_PORT:-9093}
    DEFAULT_JARS=$KAFKA_HOME_DIR/jars
fi
HEAP=${SLAMON_KAFKA_HEAP:--Xms256m -Xmx512m}
START_TIMEOUT=${SLAMON_KAFKA_START_TIMEOUT:-60}

POM=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pom.xml
JARS=${SLAMON_KAFKA_JARS:-$DEFAULT_JARS}
DATA=$KAFKA_HOME_DIR/data
LOGS=$KAFKA_HOME_DIR/logs
CONFIG=$KAFKA_HOME_DIR/server.properties
PIDFILE=$KAFKA_HOME_DIR/kafka.pid
LOGFILE=$LOGS/kafka.log
BOOTSTRAP=127.0.0.1:$PORT

# Secure mode only.
TLS=$KAFKA_HOME_DIR/tls                     # CA, broker key and certificate, keystores
CA_FILE=$TLS/ca.crt                         # all a client needs to trust the broker
SASL_USER=${SLAMON_KAFKA_SECURE_USER:-slamon}
PASSWORD_FILE=$KAFKA_HOME_DIR/$SASL_USER.password
BROKER_USER=kafka-broker                    # the broker's own (inter-broker) SCRAM user
BROKER_PASSWORD_FILE=$KAFKA_HOME_DIR/$BROKER_USER.password
CLIENT_CONFIG=$KAFKA_HOME_DIR/client.properties  # for Kafka's own tools (--command-config)
CLIENT_ENV=$KAFKA_HOME_DIR/client.env            # SLAMON_* settings for slamon's commands
if [[ $SECURE == 1 ]]; then
    LISTENER=SASL_SSL
else
    LISTENER=PLAINTEXT
fi

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
listeners=$LISTENER://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=$LISTENER://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=$LISTENER
listener.security.protocol.map=$LISTENER:$LISTENER,CONTROLLER:PLAINTEXT
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
    if [[ $SECURE == 1 ]]; then
        write_secure_config
    fi
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

# Secure mode: TLS on the client (and inter-broker) listener, SCRAM-SHA-512 for every
# connection to it; the controller listener stays PLAINTEXT on loopback (clients never
# use it). No authorizer: any authenticated user may do anything.
write_secure_config() {
    local store_pass broker_pass
    store_pass=$(<"$TLS/store.password")
    broker_pass=$(<"$BROKER_PASSWORD_FILE")
    cat >>"$CONFIG" <<EOF

# Secure mode (kafka.sh up-secure): SASL_SSL with SCRAM-SHA-512.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$broker_pass";
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS/broker.p12
ssl.keystore.password=$store_pass
ssl.key.password=$store_pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS/truststore.p12
ssl.truststore.password=$store_pass
ssl.client.auth=none
EOF
    local password
    password=$(<"$PASSWORD_FILE")
    cat >"$CLIENT_CONFIG" <<EOF
# Written by deploy/kafka/kafka.sh: for Kafka's tools, e.g. --command-config $CLIENT_CONFIG
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$SASL_USER" password="$password";
ssl.truststore.type=PEM
ssl.truststore.location=$CA_FILE
EOF
    cat >"$CLIENT_ENV" <<EOF
# Written by deploy/kafka/kafka.sh: slamon's settings for this broker
# (set -a; . $CLIENT_ENV; set +a). The password stays in its file.
SLAMON_BROKER=kafka://$BOOTSTRAP
SLAMON_KAFKA_SECURITY_PROTOCOL=SASL_SSL
SLAMON_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
SLAMON_KAFKA_SASL_USERNAME=$SASL_USER
SLAMON_KAFKA_SASL_PASSWORD_FILE=$PASSWORD_FILE
SLAMON_KAFKA_SSL_CAFILE=$CA_FILE
EOF
}

new_secret() {
    openssl rand -hex 24
}

# A CA and the broker's certificate (SAN IP:127.0.0.1 and DNS:localhost, what clients
# check), generated once; the keystore holds the broker's key and chain, the truststore
# the CA (PKCS12, one generated store password). Built in tls.tmp, moved when complete.
make_tls() {
    [[ -f $TLS/.complete ]] && return
    need openssl "install OpenSSL (apt-get install openssl)"
    need keytool "it ships with the Java runtime (apt-get install openjdk-17-jre-headless)"
    say "generating a CA and the broker certificate in $TLS (once)"
    local tmp=$TLS.tmp log=$LOGS/tls.log
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if ! (
        cd "$tmp"
        new_secret >store.password
        openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
            -subj "/CN=slamon test CA" -keyout ca.key -out ca.crt \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
            -keyout broker.key -out broker.csr
        cat >broker.ext <<'EOF'
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer
EOF
        openssl x509 -req -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
            -days 3650 -sha256 -extfile broker.ext -out broker.crt
        openssl pkcs12 -export -name broker -in broker.crt -inkey broker.key \
            -certfile ca.crt -out broker.p12 -passout file:store.password
        keytool -importcert -noprompt -alias ca -file ca.crt -storetype PKCS12 \
            -keystore truststore.p12 -storepass:file store.password
        rm -f broker.csr broker.ext ca.srl
    ) >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "could not generate the certificates (log: $log)"
    fi
    touch "$tmp/.complete"
    rm -rf "$TLS"
    mv "$tmp" "$TLS"
}

# The SCRAM passwords, generated once. They are stored in the metadata log at format
# time, so a password file lost after formatting cannot simply be regenerated.
make_passwords() {
    local file
    for file in "$PASSWORD_FILE" "$BROKER_PASSWORD_FILE"; do
        [[ -s $file ]] && continue
        [[ -f $DATA/meta.properties ]] &&
            die "$file is missing but $DATA was formatted with it; reset the storage: rm -rf $DATA"
        new_secret >"$file"
    done
    chmod 600 "$PASSWORD_FILE" "$BROKER_PASSWORD_FILE"
}

# KRaft storage is formatted once; the cluster id then lives in data/meta.properties.
format_storage() {
    [[ -f $DATA/meta.properties ]] && return
    local cluster_id
    cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
    say "formatting $DATA (cluster id $cluster_id)"
    local scram=()
    if [[ $SECURE == 1 ]]; then
        [[ $SASL_USER == "$BROKER_USER" ]] && die "SLAMON_KAFKA_SECURE_USER: $BROKER_USER is the broker's own user"
        # SCRAM users live in the metadata log: created with it, before the first start.
        scram=(--add-scram "SCRAM-SHA-512=[name=$SASL_USER,password=$(<"$PASSWORD_FILE")]"
            --add-scram "SCRAM-SHA-512=[name=$BROKER_USER,password=$(<"$BROKER_PASSWORD_FILE")]")
    fi
    # --standalone: this node alone forms the (dynamic) controller quorum.
    kafka_tool kafka.tools.StorageTool format --cluster-id "$cluster_id" \
        --config "$CONFIG" --standalone "${scram[@]}" >>"$LOGFILE"
}

# The pid from the pid file, if that process is still alive and is *our* broker (a pid
# left over from a crash or a reboot may now belong to an unrelated process).
broker_pid() {
    local pid args
    [[ -f $PIDFILE ]] || return 1
    pid=$(<"$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    args=$(ps -ww -p "$pid" -o args= 2>/dev/null) || return 1  # -ww: COLUMNS would cut it
    [[ $args == *"kafka.Kafka $CONFIG"* ]] || return 1
    echo "$pid"
}

# Does something on the port answer a Kafka ApiVersions (v0) request? Cheap (no JVM),
# and proves a Kafka server is processing requests there, not just that a port is open.
# Request: size=10, api_key=18, api_version=0, correlation_id=1, client_id=null.
# Reply starts with: size (4 bytes), correlation_id=1, error_code=0.
answers() {
    if [[ $SECURE == 1 ]]; then
        answers_tls
        return
    fi
    local reply
    # shellcheck disable=SC2016  # $1 is expanded by the inner shell
    reply=$(timeout 5 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "\x00\x00\x00\x0a\x00\x12\x00\x00\x00\x00\x00\x01\xff\xff" >&3
        head -c 10 <&3 | od -An -tx1' _ "$PORT" 2>/dev/null) || return 1
    reply=${reply//[[:space:]]/}
    [[ ${reply:8} == 000000010000 ]]
}

# Secure mode: does the port complete a TLS handshake with a certificate of our CA, valid
# for 127.0.0.1? Only a broker started from this home has one.
answers_tls() {
    [[ -f $CA_FILE ]] || return 1
    timeout 5 openssl s_client -connect "$BOOTSTRAP" -CAfile "$CA_FILE" -verify_return_error \
        -verify_ip 127.0.0.1 </dev/null >/dev/null 2>&1
}

# The broker is ready for clients once it has registered with the controller and been
# unfenced: only then does it appear in the metadata, which this lists. In secure mode
# the tool logs in as the client user, so this also proves that TLS and SCRAM work.
serves_metadata() {
    local out secure=()
    [[ $SECURE == 1 ]] && secure=(--command-config "$CLIENT_CONFIG")
    out=$(kafka_tool org.apache.kafka.tools.BrokerApiVersionsCommand \
        --bootstrap-server "$BOOTSTRAP" "${secure[@]}" 2>/dev/null) || return 1
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

# "N/M" of the broker's last "Completed load of Log ... (N/M completed in DIR)" line of
# this start, or nothing.
logs_loaded() {
    tac "$LOGFILE" | sed '/^=== /q' | grep -m1 -oE '\([0-9]+/[0-9]+ completed in' |
        grep -oE '[0-9]+/[0-9]+' || true
}

cmd_up() {
    need java "install a Java 17+ runtime (apt-get install openjdk-17-jre-headless)"
    mkdir -p "$DATA" "$LOGS"
    local pid t0=$SECONDS
    if pid=$(broker_pid); then
        if answers; then
            say "already running (pid $pid) on $BOOTSTRAP"
            secure_summary
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
        if [[ $SECURE == 1 ]]; then
            make_tls
            make_passwords
        fi
        write_config
        format_storage

        # The log is appended to at every start: past 50 MB it is kept as kafka.log.1.
        if [[ -f $LOGFILE ]] && (($(stat -c %s "$LOGFILE") > 50 * 1024 * 1024)); then
            mv -f "$LOGFILE" "$LOGFILE.1"
        fi
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

    local deadline=$((SECONDS + START_TIMEOUT)) loaded="" now_loaded
    until answers && serves_metadata; do
        if ! broker_pid >/dev/null; then
            show_failure
            die "the broker exited during startup (log above: $LOGFILE)"
        fi
        # A broker loading many partition logs is busy, not stuck: the timeout counts
        # from its last progress.
        now_loaded=$(logs_loaded)
        if [[ -n $now_loaded && $now_loaded != "$loaded" ]]; then
            [[ -z $loaded ]] && say "loading partition logs from $DATA ($now_loaded)"
            loaded=$now_loaded
            deadline=$((SECONDS + START_TIMEOUT))
        fi
        if ((SECONDS >= deadline)); then
            show_failure
            die "no answer on $BOOTSTRAP after ${START_TIMEOUT}s (log above: $LOGFILE);" \
                "the broker is left running: '$0 down' stops it"
        fi
        sleep 0.5
    done
    say "ready on $BOOTSTRAP ($((SECONDS - t0))s)"
    secure_summary
}

# What a client of the secure broker needs (paths only: the password stays in its file).
secure_summary() {
    [[ $SECURE == 1 ]] || return 0
    say "SASL_SSL with SCRAM-SHA-512, user $SASL_USER"
    say "CA file: $CA_FILE"
    say "password file: $PASSWORD_FILE"
    say "slamon settings: set -a; . $CLIENT_ENV; set +a"
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

case $COMMAND in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
logs) cmd_logs "${2:-}" ;;
*)
    echo "usage: $0 up | down | status | logs [-f | LINES]" >&2
    echo "       $0 up-secure | down-secure | status-secure | logs-secure [-f | LINES]" >&2
    exit 2
    ;;
esac
