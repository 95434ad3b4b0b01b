#!/bin/sh
# BASELINE (re-enactment of the original prototype, used only by the benchmark; see README.md).
# pipework-like: pipework.sh <bridge> <container> <address/len> <gateway>
set -e
bridge=$1 container=$2 cidr=$3 gateway=$4
pid=$(docker inspect -f '{{.State.Pid}}' "$container")
[ "$pid" -gt 0 ]
host=obp$pid peer=obq$pid
ip link add "$host" type veth peer name "$peer"
ip link set "$host" master "$bridge"
ip link set "$host" up
ip link set "$peer" netns "$pid"
nsenter -t "$pid" -n ip link set "$peer" name eth1
nsenter -t "$pid" -n sysctl -qw net.ipv6.conf.eth1.accept_dad=0
nsenter -t "$pid" -n ip -6 addr add "$cidr" dev eth1
nsenter -t "$pid" -n ip link set eth1 up
nsenter -t "$pid" -n ip -6 route replace default via "$gateway" dev eth1
