#!/bin/sh
# BASELINE (re-enactment of the original prototype, used only by the benchmark; see README.md).
# CGI handler run by busybox httpd per request: docker CLI, then the pipework-like script.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
dir=$(cd "$(dirname "$0")/../.." && pwd)
. "$dir/proto.env"   # BRIDGE, PREFIX (e.g. fd00:7c:3::), GATEWAY, IMAGE
duid= addr=
IFS='&'
for kv in $QUERY_STRING; do
  case "$kv" in
    duid=*) duid=${kv#duid=} ;;
    addr=*) addr=${kv#addr=} ;;
  esac
done
unset IFS
case "$duid$addr" in ''|*[!0-9a-fA-F:]*) printf 'Status: 400\r\nContent-Type: text/plain\r\n\r\nbad\n'; exit 0 ;; esac
suffix=${addr##*:}
name=orch-bn-proto-$suffix
log=$dir/handler.log
if docker run -d --network none --name "$name" --label orch-bn=proto \
     --sysctl net.ipv6.conf.all.disable_ipv6=0 --memory 128m --cpus 0.5 --pids-limit 128 \
     -e ORCHESTRATOR_CLIENT="$duid" "$IMAGE" >/dev/null 2>>"$log" \
   && "$dir/pipework.sh" "$BRIDGE" "$name" "$PREFIX$suffix/64" "$GATEWAY" 2>>"$log"; then
  printf 'Content-Type: text/plain\r\n\r\nok %s\n' "$name"
else
  printf 'Status: 500\r\nContent-Type: text/plain\r\n\r\nfailed %s\n' "$name"
fi
