#!/usr/bin/env bash
# Proves the session-cluster path of docs/streaming.md on this machine, without Docker: a Flink 2.2 session cluster
# (JobManager + one TaskManager) and a Kafka 4.x KRaft broker, both from Maven jars and their entry classes, all on
# 127.0.0.1. It submits the shaded job jar with `flink run` (CliFrontend), publishes examples/requests.jsonl with
# bin/routing-replay publish, consumes the results, stops the job with a savepoint, publishes a second batch while it
# is stopped, resumes from the savepoint and consumes everything again; then it checks that every rid was answered
# exactly once and that the results equal `bin/routing-replay generate` on the same requests. Heavy (three JVMs);
# CI does not run it. Everything it starts is killed on exit; its logs stay in target/session-cluster-check/ (the
# folder is cleared at the next run).
# Needs the jars: mvn -q -DskipTests package. Usage: scripts/session-cluster-check.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$root"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
model="$root/fixtures/qwen3-moe-tiny"
job_jar="$(find job/target -maxdepth 1 -name 'job-*-flink.jar' | head -1)"
[ -n "$job_jar" ] && [ -d cli/target/lib ] || { echo "build first: mvn -q -DskipTests package" >&2; exit 1; }
job_jar="$root/$job_jar"

work="$root/target/session-cluster-check"
rm -rf "$work"
mkdir -p "$work"/{flink/lib,flink/conf,flink/log,kafka-logs,savepoints,checkpoints,out}
flink_home="$work/flink"
pids=()
cleanup() {
  local rc=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then echo "session-cluster-check: FAILED (rc $rc); logs in $work" >&2; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
step() { echo "== $(date -u +%H:%M:%S) $*"; }
fail() { echo "session-cluster-check: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits up to $1 seconds for the command after it to succeed.
wait_for() {
  local seconds="$1"; shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 1
  done
}

# Flink's JVMs need the JDK internals Flink's own config.yaml opens (env.java.opts.all of the distribution).
add_opens=(--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED)

step "Flink lib/: Flink ${FLINK_VERSION:-2.2.x} from Maven jars (scripts/session-cluster/pom.xml) + the JNI jars"
mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} -f scripts/session-cluster/pom.xml dependency:copy-dependencies \
  -DoutputDirectory="$flink_home/lib"
scripts/flink-lib-jars.sh "$flink_home" | sed 's/^/   /'
if ls "$flink_home/lib" | grep -E '^(kafka-clients|flink-connector-kafka|avro|operators|job)-' ; then
  fail "the cluster's lib/ must not have the job's own dependencies: the shaded jar has to bring them"
fi

step "the shaded jar: $(basename "$job_jar") ($(( $(stat -c %s "$job_jar") / 1024 / 1024 )) MiB)"
jar_list="$work/job-jar-entries.txt"
unzip -Z1 "$job_jar" > "$jar_list"
grep -q '^io/routingreplay/job/RoutingReplayJob.class$' "$jar_list" || fail "no RoutingReplayJob in the jar"
grep -q '^org/apache/flink/connector/kafka/source/reader/deserializer/KafkaRecordDeserializationSchema.class$' \
  "$jar_list" || fail "the Kafka connector is not in the jar"
if grep -E '^(kafka/.*\.class$|scala/|org/junit/|org/apache/kafka/(raft|storage|metadata|controller)/|jcuda/|ai/djl/|com/sun/jna/|org/apache/flink/runtime/)' \
    "$jar_list" | head -5 | grep .; then
  fail "the job jar carries a broker, Scala, JUnit, JNI or Flink runtime classes (above)"
fi

kafka_port="$(free_port)"; controller_port="$(free_port)"
rpc_port="$(free_port)"; rest_port="$(free_port)"
bootstrap="127.0.0.1:$kafka_port"
log_conf="$work/log4j2.properties"
cat > "$log_conf" <<'LOG'
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = File
appender.file.type = File
appender.file.name = File
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{HH:mm:ss,SSS} %-5p %-40c{1.} - %m%n
LOG

step "Kafka KRaft broker (kafka.Kafka from Maven jars) on $bootstrap"
cat > "$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$kafka_port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$work/kafka-logs
num.partitions=2
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# auto-created output topics take the job's kafka.max-record-bytes (16 MiB); Kafka's default is 1 MiB
message.max.bytes=16777216
PROPS
kafka_cp="$root/cli/target/lib/*"
kafka_java=("$java" -Xmx512m -Dlog.file="$work/kafka.log" -Dlog4j2.configurationFile="$log_conf" -cp "$kafka_cp")
cluster_id="$("${kafka_java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)"
"${kafka_java[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$work/server.properties" >"$work/kafka-format.out" 2>&1 \
  || { cat "$work/kafka-format.out"; fail "kafka-storage format failed"; }
"${kafka_java[@]}" kafka.Kafka "$work/server.properties" >"$work/kafka.out" 2>&1 &  # $! is the JVM
pids+=($!)
wait_for 90 bash -c "exec 3<>/dev/tcp/127.0.0.1/$kafka_port" || fail "broker not listening after 90 s (see $work/kafka.out)"

step "Flink session cluster: JobManager (StandaloneSessionClusterEntrypoint), TaskManager (TaskManagerRunner); REST 127.0.0.1:$rest_port"
cat > "$flink_home/conf/config.yaml" <<CONF
jobmanager.rpc.address: 127.0.0.1
jobmanager.rpc.port: $rpc_port
jobmanager.bind-host: 127.0.0.1
taskmanager.bind-host: 127.0.0.1
taskmanager.host: 127.0.0.1
rest.address: 127.0.0.1
rest.bind-address: 127.0.0.1
rest.port: $rest_port
jobmanager.memory.process.size: 1024m
# flink's start scripts derive these with BashJavaUtils and pass them to TaskManagerRunner; here they are explicit
taskmanager.cpu.cores: 2
taskmanager.memory.task.heap.size: 768m
taskmanager.memory.task.off-heap.size: 0m
taskmanager.memory.network.min: 64m
taskmanager.memory.network.max: 64m
taskmanager.memory.managed.size: 64m
taskmanager.memory.framework.heap.size: 128m
taskmanager.memory.framework.off-heap.size: 128m
taskmanager.memory.jvm-metaspace.size: 256m
taskmanager.memory.jvm-overhead.min: 192m
taskmanager.memory.jvm-overhead.max: 192m
taskmanager.numberOfTaskSlots: 2
parallelism.default: 1
execution.checkpointing.dir: file://$work/checkpoints
execution.checkpointing.savepoint-dir: file://$work/savepoints
restart-strategy.type: fixed-delay
restart-strategy.fixed-delay.attempts: 3
restart-strategy.fixed-delay.delay: 2s
CONF
flink_cp="$flink_home/lib/*"
# The java command line of a Flink process; its log goes to $flink_home/log/NAME.log. Started as "${cmd[@]}" &, so
# that $! is the JVM itself (the trap kills it by that id).
flink_jvm() { # NAME
  cmd=("$java" "${add_opens[@]}" -Dlog.file="$flink_home/log/$1.log" -Dlog4j.configurationFile="$log_conf"
    -Dlog4j2.configurationFile="$log_conf" -cp "$flink_cp")
}
flink_jvm jobmanager
"${cmd[@]}" -Xmx768m org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint \
  --configDir "$flink_home/conf" >"$flink_home/log/jobmanager.out" 2>&1 &
pids+=($!)
flink_jvm taskmanager
"${cmd[@]}" -Xmx896m -Xms896m -XX:MaxDirectMemorySize=192m -XX:MaxMetaspaceSize=256m \
  org.apache.flink.runtime.taskexecutor.TaskManagerRunner --configDir "$flink_home/conf" \
  >"$flink_home/log/taskmanager.out" 2>&1 &
pids+=($!)
wait_for 120 bash -c "curl -sf http://127.0.0.1:$rest_port/overview | grep -q '\"taskmanagers\":1'" \
  || fail "no TaskManager registered after 120 s (see $flink_home/log)"

flink() { # the `flink` command line: CliFrontend with the cluster's config.yaml
  local cmd
  flink_jvm client
  FLINK_CONF_DIR="$flink_home/conf" "${cmd[@]}" org.apache.flink.client.cli.CliFrontend "$@"
}
job_args=(--kafka.bootstrap-servers "$bootstrap" --model.dir "$model" --job.checkpoint-interval 2s)
submit() { # [-s SAVEPOINT]: prints the JobID
  local out="$work/out/submit-$(date +%s%N).out"
  flink run -d "$@" -c io.routingreplay.job.RoutingReplayJob "$job_jar" "${job_args[@]}" >"$out" 2>&1 \
    || { cat "$out" >&2; fail "flink run failed"; }
  grep -o 'JobID [0-9a-f]\{32\}' "$out" | awk '{print $2}' | tail -1
}
wait_running() {
  wait_for 120 bash -c "curl -sf http://127.0.0.1:$rest_port/jobs/$1 | grep -q '\"state\":\"RUNNING\"'" \
    || fail "job $1 not RUNNING after 120 s"
}
rr() { "$root/bin/routing-replay" "$@"; }

# Two batches of requests: examples/requests.jsonl, and the same with other rids (published while stopped).
cp examples/requests.jsonl "$work/batch1.jsonl"
sed 's/"rid": "\([^"]*\)"/"rid": "\1-after-savepoint"/' examples/requests.jsonl > "$work/batch2.jsonl"
n1="$(wc -l < "$work/batch1.jsonl")"; n2="$(wc -l < "$work/batch2.jsonl")"

step "flink run -d -c io.routingreplay.job.RoutingReplayJob $(basename "$job_jar") ${job_args[*]}"
job1="$(submit)"
[ -n "$job1" ] || fail "no JobID in flink run's output"
wait_running "$job1"
echo "   job $job1 RUNNING"

step "publish batch 1 ($n1 requests), consume its results"
rr publish --bootstrap "$bootstrap" --topic prompts "$work/batch1.jsonl" | sed 's/^/   /'
rr consume --bootstrap "$bootstrap" --model "$model" --topic results --group check-first --max "$n1" --idle-seconds 180 \
  --output "$work/out/first.jsonl" | sed 's/^/   /'
[ "$(wc -l < "$work/out/first.jsonl")" -eq "$n1" ] || fail "expected $n1 results before the savepoint"

step "flink stop --savepointPath (the job ends with a savepoint)"
stop_out="$work/out/stop.out"
flink stop --savepointPath "file://$work/savepoints" "$job1" >"$stop_out" 2>&1 || { cat "$stop_out"; fail "flink stop failed"; }
savepoint="$(grep -o 'Savepoint completed. Path: [^ ]*' "$stop_out" | awk '{print $4}')"
[ -n "$savepoint" ] || { cat "$stop_out"; fail "no savepoint path in flink stop's output"; }
echo "   savepoint $savepoint"
wait_for 60 bash -c "curl -sf http://127.0.0.1:$rest_port/jobs/$job1 | grep -q '\"state\":\"FINISHED\"'" \
  || fail "job $job1 not FINISHED after the stop"

step "publish batch 2 ($n2 requests) while the job is stopped"
rr publish --bootstrap "$bootstrap" --topic prompts "$work/batch2.jsonl" | sed 's/^/   /'

step "flink run -s $savepoint ... (resume)"
job2="$(submit -s "$savepoint")"
[ -n "$job2" ] || fail "no JobID for the resumed job"
wait_running "$job2"
restored="$(curl -sf "http://127.0.0.1:$rest_port/jobs/$job2/checkpoints" | python3 -c \
  'import json,sys; r=(json.load(sys.stdin).get("latest") or {}).get("restored") or {}; print(r.get("external_path",""))')"
[ "$restored" = "$savepoint" ] || fail "job $job2 did not restore from $savepoint (restored: '$restored')"
echo "   job $job2 RUNNING, restored from $restored"

step "consume every result from the beginning (new group, read_committed)"
total=$((n1 + n2))
rr consume --bootstrap "$bootstrap" --model "$model" --topic results --group check-all --max "$total" --idle-seconds 180 \
  --output "$work/out/all.jsonl" | sed 's/^/   /'
echo "   and nothing after them (a duplicate would come here): the same group for 15 more seconds"
rr consume --bootstrap "$bootstrap" --model "$model" --topic results --group check-all --idle-seconds 15 \
  --output "$work/out/after.jsonl" | sed 's/^/   /'
cat "$work/out/after.jsonl" >> "$work/out/all.jsonl"

step "bin/routing-replay generate on the same $total requests"
cat "$work/batch1.jsonl" "$work/batch2.jsonl" > "$work/all-requests.jsonl"
rr generate --model "$model" --input "$work/all-requests.jsonl" --output "$work/out/generate.jsonl" | sed 's/^/   /'

step "compare"
python3 - "$work/out/all.jsonl" "$work/out/generate.jsonl" "$work/all-requests.jsonl" <<'PY'
import collections, json, sys
results, generated, requests = ([json.loads(l) for l in open(p) if l.strip()] for p in sys.argv[1:4])
rids = [r["rid"] for r in requests]
counts = collections.Counter(r["rid"] for r in results)
missing = [rid for rid in rids if counts[rid] == 0]
twice = {rid: c for rid, c in counts.items() if c > 1}
extra = [rid for rid in counts if rid not in rids]
print(f"   {len(results)} results for {len(rids)} requests; missing {missing}, duplicated {twice}, unknown {extra}")
if missing or twice or extra:
    sys.exit("not exactly once")
by_rid = {r["rid"]: r for r in results}
gen = {r["rid"]: r for r in generated}
differ = [rid for rid in rids if by_rid[rid] != gen.get(rid)]
if differ:
    for rid in differ[:2]:
        print("   stream  :", json.dumps(by_rid[rid])[:400]); print("   generate:", json.dumps(gen.get(rid))[:400])
    sys.exit(f"results differ from generate for {differ}")
stream_lines = {json.loads(l)["rid"]: l for l in open(sys.argv[1]) if l.strip()}
gen_lines = {json.loads(l)["rid"]: l for l in open(sys.argv[2]) if l.strip()}
if any(stream_lines[rid] != gen_lines[rid] for rid in rids):
    sys.exit("equal as JSON but not byte for byte")
print(f"   all {len(rids)} results equal generate's, byte for byte per line")
PY

step "flink cancel $job2"
flink cancel "$job2" >/dev/null 2>&1 || true
echo "session-cluster-check: PASSED (savepoint stop/resume exactly once; results equal generate)"
