#!/usr/bin/env bash
# Installs what the local runner and the tests need on a fresh Debian machine:
# uv (from PyPI), redis-server, postgresql and chromium (Debian's packages), and checks Java 17+
# and Maven.
# As root it installs what is missing; otherwise it prints the exact command and stops.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ] || missing+=(redis-server)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
# The browser tests drive Debian's Chromium through Playwright (its own browser download is not
# reachable); a font so that pages render text the way a customer sees it.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing ${missing[*]}. Install them with:" >&2
    echo "    sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian's postgresql package starts a cluster of its own on 5432; the project never uses it:
# `make run` keeps its own cluster in var/postgres on CIAM_POSTGRES_PORT (5433), the tests a
# throwaway one on a free port.
java_major=$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "bootstrap: Kafka 4 needs Java 17+, found '${java_major:-none}'." >&2
  echo "    sudo apt-get install openjdk-17-jre-headless   (and put it first on PATH)" >&2
  exit 1
fi

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
