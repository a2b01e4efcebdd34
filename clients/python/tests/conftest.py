"""The real pipeline for the client's tests: `bin/routing-replay local --follow` (an in-process Kafka broker and a
Flink MiniCluster running the job on the bundled tiny Qwen3-MoE), started once per test session."""
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MODEL = REPO / "fixtures" / "qwen3-moe-tiny"
CLI = REPO / "bin" / "routing-replay"


def built_or_fail():
    if not list((REPO / "cli" / "target").glob("cli-*.jar")):
        pytest.fail("the cli's jars are not built: run `mvn -q -DskipTests package` in the repository root first")


@pytest.fixture(scope="session")
def bootstrap():
    built_or_fail()
    proc = subprocess.Popen([str(CLI), "local", "--follow", "--model", str(MODEL)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines, found = [], {}

    def pump():  # keeps reading stderr so the job never blocks on a full pipe
        for line in proc.stderr:
            lines.append(line)
            m = re.search(r"following; publish more requests to (\S+)", line)
            if m:
                found["bootstrap"] = m.group(1)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 300
    while "bootstrap" not in found:
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("`routing-replay local --follow` did not come up:\n" + "".join(lines[-40:]))
        time.sleep(0.5)
    yield found["bootstrap"]
    proc.terminate()
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def run_cli(*args, timeout=600):
    """`bin/routing-replay ARGS`, failing the test with its output when it exits non-zero."""
    done = subprocess.run([str(CLI), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"routing-replay {' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-4000:]}")
    return done
