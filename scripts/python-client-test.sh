#!/usr/bin/env bash
# Tests the Python client (clients/python) against the real job: builds the jars when they are missing, installs
# the client's dependencies (Debian's python3-confluent-kafka / numpy / pytest, fastavro from the machine's wheel
# index) into a virtualenv under target/, installs the client from the checkout and runs its pytest suite, which
# starts `bin/routing-replay local --follow` itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! ls cli/target/cli-*.jar >/dev/null 2>&1; then
  mvn -B -q -DskipTests package
fi
py=/usr/bin/python3
if ! "$py" -c "import confluent_kafka, numpy, pytest, venv" 2>/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-confluent-kafka python3-numpy python3-pytest \
      python3-venv python3-setuptools >/dev/null
  else
    echo "python-client-test: install python3-confluent-kafka python3-numpy python3-pytest python3-venv" >&2
    exit 1
  fi
fi
venv=target/python-client-venv
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import fastavro" 2>/dev/null; then
  # the machine's local index first (no network beyond it), the default index otherwise
  if [ -d /opt/pypi/simple ]; then
    "$venv/bin/pip" install -q --index-url file:///opt/pypi/simple fastavro
  else
    "$venv/bin/pip" install -q fastavro
  fi
fi
"$venv/bin/pip" install -q --no-deps --no-build-isolation --force-reinstall ./clients/python
rm -rf clients/python/build clients/python/*.egg-info
cd clients/python/tests
exec "../../../$venv/bin/python" -m pytest -q -p no:cacheprovider . "$@"
