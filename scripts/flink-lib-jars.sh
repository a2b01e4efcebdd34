#!/usr/bin/env bash
# Puts the job's JNI libraries into a Flink installation's lib/: JCuda with its linux-x86_64 natives and the DJL
# Hugging Face tokenizer with its dependencies (JNA, gson, commons-compress ...), the set k8s/docker/native-libs/pom.xml
# names and the job image uses. The job's jar (job/target/job-*-flink.jar) leaves them out on purpose: a native library
# can be loaded by one classloader per JVM, and a session cluster makes a new user classloader for every submission
# and every restart, so from the job jar the tokenizer would load once and then fail with "already loaded in another
# classloader". From lib/ they load once per TaskManager. Restart the cluster after running this (lib/ is read at start).
# Resolves the jars with Maven (from ~/.m2 when they are there; MVN_ARGS=-o keeps it offline).
# Usage: scripts/flink-lib-jars.sh FLINK_HOME
set -euo pipefail
flink_home="${1:?usage: scripts/flink-lib-jars.sh FLINK_HOME}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
if [ ! -d "$flink_home/lib" ]; then
  echo "flink-lib-jars: $flink_home/lib is not a folder: give the Flink installation's home" >&2
  exit 1
fi
# shellcheck disable=SC2086
mvn -B -q -Dstyle.color=never ${MVN_ARGS:-} -f "$root/k8s/docker/native-libs/pom.xml" dependency:copy-dependencies \
  -DoutputDirectory="$flink_home/lib"
echo "flink-lib-jars: JNI libraries in $flink_home/lib:"
(cd "$flink_home/lib" && ls -1 jcuda-*.jar tokenizers-*.jar api-*.jar jna-*.jar | sed 's/^/  /')
