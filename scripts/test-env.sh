#!/usr/bin/env bash
# Installs and starts what the tests need on a Debian machine that has only Java 17 and Maven.
# Idempotent: safe to run again. Run as root.
#   scripts/test-env.sh          install packages, start dockerd and PostgreSQL, build the client image
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf '[test-env] %s\n' "$*"; }

need_pkgs=()
check() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$1"); }
for p in docker.io dnsmasq-base isc-dhcp-client dhcpcd-base iproute2 nftables busybox-static \
         chromium chromium-driver openssl postgresql curl procps psmisc util-linux; do
  check "$p"
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing: ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# Docker engine: start our own when none answers.
if ! docker version >/dev/null 2>&1; then
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >/var/log/orchestrator-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  docker version >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/orchestrator-dockerd.log"; exit 1; }
fi

# PostgreSQL for the store tests: a private cluster on a unix socket + loopback port 55432.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDATA=/var/lib/orchestrator-test/pg
if [ -n "$PGBIN" ]; then
  if ! "$PGBIN/pg_isready" -h 127.0.0.1 -p 55432 >/dev/null 2>&1; then
    log "starting PostgreSQL on 127.0.0.1:55432"
    mkdir -p "$PGDATA" /var/run/postgresql && chown -R postgres:postgres /var/lib/orchestrator-test /var/run/postgresql
    if [ ! -f "$PGDATA/PG_VERSION" ]; then
      su postgres -s /bin/sh -c "$PGBIN/initdb -D $PGDATA -A trust -U postgres >/dev/null"
    fi
    su postgres -s /bin/sh -c "$PGBIN/pg_ctl -D $PGDATA -o '-p 55432 -k /var/run/postgresql -c listen_addresses=127.0.0.1' -l $PGDATA/server.log -w start >/dev/null"
  fi
  su postgres -s /bin/sh -c "psql -h 127.0.0.1 -p 55432 -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='orchestrator_test'\"" | grep -q 1 \
    || su postgres -s /bin/sh -c "psql -h 127.0.0.1 -p 55432 -U postgres -qc 'CREATE DATABASE orchestrator_test'"
fi

# The default client image, built offline from busybox-static.
"$here/build-client-image.sh"

# A daemon that answers but cannot start a container (seen once: every container's shim gone at the
# same moment, then every start hanging) would fail every test that needs one: restart it.
container_starts() {
  docker rm -f orch-ci-probe >/dev/null 2>&1 || true
  timeout -s KILL 30 docker run --rm --name orch-ci-probe --network none --entrypoint /bin/busybox \
    orchestrator/client:latest true >/dev/null 2>&1
}
if ! container_starts; then
  log "dockerd answers but cannot start a container; restarting dockerd and containerd"
  pkill -9 -x dockerd || true
  pkill -9 -x containerd || true
  sleep 2
  nohup dockerd --bridge=none --iptables=false --ip6tables=false >>/var/log/orchestrator-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  container_starts || { log "dockerd still cannot start a container; see /var/log/orchestrator-dockerd.log"; exit 1; }
fi
log "ready"
