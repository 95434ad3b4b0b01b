#!/bin/sh
# The FLOOR: the least work that gives one container an IPv6 address on a bridge and proves it
# answers HTTP, done directly with the docker CLI, plain ip/nsenter and curl (no platform).
# floor-one.sh <index> <bridge> <prefix, e.g. fd00:7c:2::> <image>
# Prints: "ok <create+start ms> <attach ms> <http ms>"
set -e
i=$1 bridge=$2 prefix=$3 image=$4
now() { date +%s%3N; }
t0=$(now)
name=orch-bn-floor-$i
docker run -d --network none --name "$name" --label orch-bn=floor \
  --sysctl net.ipv6.conf.all.disable_ipv6=0 --memory 128m --cpus 0.5 --pids-limit 128 \
  -e ORCHESTRATOR_CLIENT="floor-$i" "$image" >/dev/null
pid=$(docker inspect -f '{{.State.Pid}}' "$name")
t1=$(now)
addr=$prefix$(printf '%x' $((i + 256)))
ip link add "obf${i}h" type veth peer name "obf${i}c"
ip link set "obf${i}h" master "$bridge"
ip link set "obf${i}h" up
ip link set "obf${i}c" netns "$pid"
nsenter -t "$pid" -n ip link set "obf${i}c" name eth1
nsenter -t "$pid" -n sysctl -qw net.ipv6.conf.eth1.accept_dad=0
nsenter -t "$pid" -n ip -6 addr add "$addr/64" dev eth1
nsenter -t "$pid" -n ip link set eth1 up
t2=$(now)
n=0
until curl -6 -g -s -f -m 2 -o /dev/null "http://[$addr]/"; do
  n=$((n + 1)); [ $n -lt 300 ] || { echo "no HTTP answer from $addr" >&2; exit 1; }
  sleep 0.05
done
t3=$(now)
echo "ok $((t1 - t0)) $((t2 - t1)) $((t3 - t2))"
