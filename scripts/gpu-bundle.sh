#!/usr/bin/env bash
# Builds a self-contained folder for a GPU machine that has no Java and no Maven:
#   OUT/jre      jlink'd Java 17 runtime (java.base, java.logging, jdk.unsupported, java.sql, and jdk.jfr: JAVA_OPTS=-XX:StartFlightRecording=... profiles a run on the GPU machine)
#   OUT/lib      the gpu-runtime jar (with kernels.ptx), its runtime dependencies minus the tokenizer (DJL, whose
#                natives alone would break the 64 MiB transfer limit), JCuda + linux-x86_64 natives
#   OUT/test     the compiled GPU checks (CudaChecks) and test helpers
#   OUT/run      entry point: `run check` (conformance, invariance, CPU agreement), `run bench [args]`,
#                `run main CLASS [args]`, and anything else goes to the CLI (io.routingreplay.runtime.cli.Main,
#                the same arguments as bin/routing-replay) when this build has it
# Needs nvcc on PATH (the PTX is compiled by the build).
# Usage: scripts/gpu-bundle.sh OUT [--tar FILE.tar.gz] [--tokenizer]
#   --tokenizer adds the DJL tokenizer (linux-x86_64 native only, ~8 MB more) for text prompts through the CLI;
#   left out by default so bundle + repository stay under the device machine's 64 MiB transfer limit.
set -euo pipefail
out="${1:?usage: scripts/gpu-bundle.sh OUT [--tar FILE.tar.gz] [--tokenizer]}"
shift
tarfile=""; tokenizer=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tar) tarfile="$2"; shift 2 ;;
    --tokenizer) tokenizer=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
root="$(cd "$(dirname "$0")/.." && pwd)"
command -v nvcc >/dev/null || { echo "nvcc is not on PATH: the bundle needs the kernels' PTX" >&2; exit 1; }
cd "$root"
mvn -q -pl gpu-runtime -am -DskipTests package
mvn -q -pl gpu-runtime test-compile
jar="$(ls gpu-runtime/target/gpu-runtime-*.jar | grep -v sources | head -1)"
for ptx in kernels.ptx gemm_bf16_inputs.ptx; do
  unzip -l "$jar" | grep "$ptx" >/dev/null || { echo "$jar has no $ptx" >&2; exit 1; }
done
rm -rf "$out" && mkdir -p "$out/lib" "$out/test"
mvn -q -pl gpu-runtime dependency:copy-dependencies -DincludeScope=runtime -DexcludeGroupIds=ai.djl,ai.djl.huggingface,net.java.dev.jna,commons-io,org.apache.commons,commons-codec,com.google.code.gson,com.google.errorprone -DoutputDirectory="$(cd "$out" && pwd)/lib"
cp "$jar" "$out/lib/"
if [ "$tokenizer" = 1 ]; then
  mvn -q -pl gpu-runtime dependency:copy-dependencies -DincludeScope=runtime \
    -DincludeGroupIds=ai.djl,ai.djl.huggingface,net.java.dev.jna,commons-io,org.apache.commons,commons-codec,com.google.code.gson \
    -DoutputDirectory="$(cd "$out" && pwd)/lib"
  # keep only the linux-x86_64 native of the tokenizer
  python3 - "$out"/lib/tokenizers-*.jar <<'PY'
import sys, zipfile, shutil
src = sys.argv[1]
tmp = src + ".tmp"
with zipfile.ZipFile(src) as zi, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zo:
    for item in zi.infolist():
        if item.filename.startswith("native/lib/") and "linux-x86_64" not in item.filename and not item.filename.endswith("/"):
            continue
        zo.writestr(item, zi.read(item.filename))
shutil.move(tmp, src)
PY
fi
cp -r gpu-runtime/target/test-classes/. "$out/test/"
jlink --add-modules java.base,java.logging,jdk.unsupported,java.sql,jdk.jfr --strip-debug --no-man-pages --no-header-files \
  --compress=2 --output "$out/jre"
cat > "$out/run" <<'RUN'
#!/usr/bin/env bash
# Runs the CUDA backend's tools with the bundled Java. The working directory must be a routing-replay checkout
# (the checks read fixtures/ from it).
here="$(cd "$(dirname "$0")" && pwd)"
cp="$here/lib/*:$here/test"
java="$here/jre/bin/java"
opts=(-Xss4m -XX:+UseParallelGC ${JAVA_OPTS:-})
cmd="${1:-check}"; shift || true
case "$cmd" in
  check) exec "$java" "${opts[@]}" -cp "$cp" io.routingreplay.runtime.backend.cuda.CudaChecks "$@" ;;
  bench) exec "$java" "${opts[@]}" -cp "$cp" io.routingreplay.runtime.backend.cuda.CudaBenchmark "$@" ;;
  main)  cls="$1"; shift; exec "$java" "${opts[@]}" -cp "$cp" "$cls" "$@" ;;
  help|-h|--help) echo "usage: run check | bench [--layers N|auto] [--batches 1,32,128,256] [--prompt 512] [--output 256] | main CLASS [args] | <routing-replay CLI arguments>" ;;
  *) exec "$java" "${opts[@]}" -Dslf4j.internal.verbosity=ERROR -cp "$cp" io.routingreplay.runtime.cli.Main "$cmd" "$@" ;;
esac
RUN
chmod +x "$out/run"
if [ -n "$tarfile" ]; then
  tar czf "$tarfile" -C "$(dirname "$out")" "$(basename "$out")"
  ls -la "$tarfile"
fi
du -sh "$out"
