#!/usr/bin/env bash
# Builds the streaming job (Kafka + Flink MiniCluster + the CUDA engine: `routing-replay local`) as a self-contained
# folder for a GPU machine without Java, cut into parts small enough for a transfer limit:
#   OUT/part-*   pieces of stream-bundle.tar.gz (reassemble: cat OUT/part-* | tar xz  ->  stream-bundle/)
#   stream-bundle/jre   jlink'd Java 17 (java.se and the JDK modules Flink and Kafka use)
#   stream-bundle/lib   the cli jar and its runtime classpath (job, Flink, in-process broker) (the tokenizer left out: token-id requests only, and
#                       the model folder must then have no tokenizer.json[.gz])
#   stream-bundle/run   the routing-replay CLI (same arguments as bin/routing-replay), e.g.
#                       stream-bundle/run local --conf engine.backend=cuda --model M --input R --output O
# Needs nvcc on PATH (the PTX is compiled by the build).
# Usage: scripts/gpu-stream-bundle.sh OUT [PART_MiB (default 60)]
set -euo pipefail
out="${1:?usage: scripts/gpu-stream-bundle.sh OUT [PART_MiB]}"
part="${2:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v nvcc >/dev/null || { echo "nvcc is not on PATH: the bundle needs the kernels' PTX" >&2; exit 1; }
cd "$root"
mvn -q -DskipTests package
for ptx in kernels.ptx gemm_bf16_inputs.ptx; do
  unzip -l gpu-runtime/target/gpu-runtime-*[0-9T].jar | grep -q "$ptx" || { echo "gpu-runtime jar has no $ptx" >&2; exit 1; }
done
stage="$(mktemp -d)"
b="$stage/stream-bundle"
mkdir -p "$b/lib"
cp cli/target/cli-*[0-9T].jar "$b/lib/"
for j in cli/target/lib/*.jar; do
  case "$(basename "$j")" in
    tokenizers-*|api-0.*|jna-*) ;; # DJL's tokenizer with the natives of every platform: left out (see above)
    *) cp "$j" "$b/lib/" ;;
  esac
done
jlink --add-modules java.se,jdk.unsupported,jdk.management,jdk.crypto.ec,jdk.zipfs --strip-debug --no-man-pages \
  --no-header-files --compress=2 --output "$b/jre"
cat > "$b/run" <<'RUN'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/jre/bin/java" -Xss4m -Dslf4j.internal.verbosity=ERROR ${JAVA_OPTS:-} -cp "$here/lib/*" \
  io.routingreplay.job.cli.Main "$@"
RUN
chmod +x "$b/run"
rm -rf "$out" && mkdir -p "$out"
tar czf - -C "$stage" stream-bundle | split -b "${part}m" - "$out/part-"
rm -rf "$stage"
ls -la "$out"
