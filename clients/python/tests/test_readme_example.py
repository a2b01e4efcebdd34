"""The README's Python example, as printed there, run against the real job."""
import os
import re
import subprocess
import sys

from conftest import REPO


def readme_example():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- python-example -->\s*```python\n(.*?)```", text, re.S)
    assert m, "README.md has no ```python block after <!-- python-example -->"
    return m.group(1)


def test_readme_example_reads_results_into_numpy(bootstrap):
    code = readme_example()
    assert len(code.strip().splitlines()) <= 12, "the README example should stay about ten lines"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ROUTING_REPLAY_BOOTSTRAP": bootstrap}, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    # the example prints the rid and the shape of its routing ids
    assert re.search(r"readme-1 \(\d+, \d+, \d+\)", done.stdout), done.stdout
