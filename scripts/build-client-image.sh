#!/usr/bin/env bash
# Builds the default instance image orchestrator/client:latest offline, from Debian's static
# busybox. It serves HTTP on port 80 with a page naming its client (ORCHESTRATOR_CLIENT and
# ORCHESTRATOR_HOSTNAME from the environment, or /etc/orchestrator/client written at claim time).
set -euo pipefail
IMAGE=${1:-orchestrator/client:latest}
if docker image inspect "$IMAGE" >/dev/null 2>&1 && [ "${FORCE:-0}" != 1 ]; then
  exit 0
fi
BUSYBOX=/bin/busybox
[ -x "$BUSYBOX" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/www" "$ctx/rootfs/etc/orchestrator" "$ctx/rootfs/tmp" "$ctx/rootfs/proc" "$ctx/rootfs/sys" "$ctx/rootfs/dev"
cp "$BUSYBOX" "$ctx/rootfs/bin/busybox"
for a in sh httpd cat echo ip ls sleep hostname mkdir date; do ln -s busybox "$ctx/rootfs/bin/$a"; done
cat > "$ctx/rootfs/bin/serve" <<'SH'
#!/bin/sh
# Writes the identity page, then serves it over HTTP on port 80 (IPv6 and IPv4).
client="${ORCHESTRATOR_CLIENT:-unassigned}"
[ -f /etc/orchestrator/client ] && client=$(cat /etc/orchestrator/client)
host="${ORCHESTRATOR_HOSTNAME:-$(hostname)}"
mkdir -p /www
{
  echo "<!doctype html><html><head><title>Orchestrator instance</title></head><body>"
  echo "<h1>Hello, device ${client}</h1>"
  echo "<p>This instance (${host}) belongs to the device with DUID <code id=duid>${client}</code>.</p>"
  echo "</body></html>"
} > /www/index.html
echo "${client}" > /www/duid
exec httpd -f -p 80 -h /www
SH
chmod +x "$ctx/rootfs/bin/serve"
cat > "$ctx/Dockerfile" <<'DF'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
EXPOSE 80
CMD ["/bin/serve"]
DF
docker build -q -t "$IMAGE" "$ctx" >/dev/null
echo "built $IMAGE"
