#!/bin/sh
# BASELINE (re-enactment of the original prototype, used only by the benchmark; see README.md).
# dnsmasq --dhcp-script: on "add", spawn curl to the handler and return at once.
action=$1 duid=$2 addr=$3
[ "$action" = add ] || exit 0
url=$(cat "$(dirname "$0")/handler.url") || exit 0
# the prototype passed dnsmasq's values on unchecked; we at least keep them to hex and colons
case "$duid$addr" in *[!0-9a-fA-F:]*) exit 0 ;; esac
curl -s -m 60 -o /dev/null "$url?action=add&duid=$duid&addr=$addr" </dev/null >/dev/null 2>&1 &
exit 0
