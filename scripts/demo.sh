# shellcheck shell=bash
# The demo of ./orchestrator: sourced by the launcher (which defines ROOT, RUN, KARAF, DEMO, say,
# die, need_root, ensure_runtime, build_if_needed, install_if_needed, start_karaf, print_access,
# karaf_pid, http_port). Not meant to run on its own.
#
# Everything the demo creates carries the prefix orch-demo / odm / orch_demo and lives in
# fd00:7d::/32, so `./orchestrator stop` can remove exactly that and nothing else.

DEMO_NS=orch-demo                 # device namespaces orch-demo-1 .. orch-demo-N
DEMO_VETH=odm-d                   # host ends of the devices' veths: odm-d1 ..
DEMO_DEV_BR=odm-dev0              # device bridge (served by the demo's dnsmasq)
DEMO_INST_BR=odm-br0              # instance bridge (created by the pipework plug-in)
DEMO_GW=fd00:7d:d::1              # host address on the device bridge
DEMO_DEV_PREFIX=fd00:7d:d::/64
DEMO_INST_PREFIX=fd00:7d:1::/64
DEMO_NFT=orch_demo_inst
DEMO_INST_VETH=odmi               # host ends of the instances' veths
DEMO_PROVIDER=docker-demo
DEMO_SOURCE=demo-lan
DEMO_NETWORK=demo-inst
DEMO_CFGS=(org.orchestrator.dhcp.dnsmasq-demo org.orchestrator.network.pipework-demo org.orchestrator.provider.docker-demo)
DEMO_TIMEOUT=${DEMO_TIMEOUT:-300}  # seconds to wait for every device (first boot included)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

cmd_demo() {
  local n=3
  while [ $# -gt 0 ]; do
    case "$1" in
      --clients) n=${2:-}; shift 2 || shift ;;
      --clients=*) n=${1#*=}; shift ;;
      *) die "unknown option '$1' (usage: ./orchestrator demo [--clients N])" ;;
    esac
  done
  [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 50 ] || die "--clients takes a number from 1 to 50"
  need_root demo
  if [ -d "$DEMO" ]; then
    say "removing the previous demo first"
    demo_teardown
    demo_sweep
  fi
  ensure_runtime
  build_if_needed
  install_if_needed
  mkdir -p "$DEMO/devices"
  demo_network
  demo_config
  start_karaf
  demo_await_dnsmasq
  local i
  say "starting $n simulated devices on $DEMO_DEV_BR (odd: dhclient -6, even: dhcpcd)"
  for i in $(seq 1 "$n"); do demo_device_start "$i"; done
  demo_wait "$n"
  demo_table "$n"
  print_access
  echo "  Devices     : ip netns exec $DEMO_NS-1 curl -g http://[<instance address>]/   (./orchestrator stop removes the demo)"
  echo
}

# Devices started before dnsmasq serves back off between solicits: start them once it runs.
demo_await_dnsmasq() {
  local t0; t0=$(date +%s)
  say "waiting for the platform's dnsmasq on $DEMO_DEV_BR (bundles starting)"
  while [ -z "$(demo_dnsmasq_pids)" ]; do
    if [ $(( $(date +%s) - t0 )) -ge 180 ]; then
      say "no dnsmasq on $DEMO_DEV_BR after 180 s; starting the devices anyway (see $KARAF/data/log/karaf.log)"
      return 0
    fi
    sleep 1
  done
  say "dnsmasq serves $DEMO_DEV_BR ($(( $(date +%s) - t0 )) s)"
}

# The device bridge with its ULA prefix, and IPv6 forwarding; the instance bridge is made by pipework.
demo_network() {
  say "device bridge $DEMO_DEV_BR ($DEMO_GW/64), instance network $DEMO_INST_PREFIX on $DEMO_INST_BR, IPv6 forwarding on"
  sysctl -n net.ipv6.conf.all.forwarding > "$DEMO/forwarding.orig" 2>/dev/null || true
  if ! ip link show "$DEMO_DEV_BR" >/dev/null 2>&1; then
    ip link add "$DEMO_DEV_BR" type bridge
  fi
  sysctl -qw "net.ipv6.conf.$DEMO_DEV_BR.disable_ipv6=0" "net.ipv6.conf.$DEMO_DEV_BR.accept_dad=0" >/dev/null
  ip -6 addr replace "$DEMO_GW/64" dev "$DEMO_DEV_BR" nodad
  ip link set "$DEMO_DEV_BR" up
  sysctl -qw net.ipv6.conf.all.forwarding=1 >/dev/null
}

# The demo's configuration: one dnsmasq source, one pipework network with isolation, one Docker
# provider and a route between them in core's policy. The operator's core configuration is kept
# aside and restored by `stop`.
demo_config() {
  local etc="$KARAF/etc"
  say "configuring $KARAF/etc: dnsmasq on $DEMO_DEV_BR, pipework $DEMO_NETWORK (isolation), provider $DEMO_PROVIDER, route $DEMO_SOURCE"
  cat > "$etc/org.orchestrator.dhcp.dnsmasq-demo.cfg" <<CFG
# written by ./orchestrator demo (removed by ./orchestrator stop)
dhcp.source.name = $DEMO_SOURCE
mode = managed
interfaceName = $DEMO_DEV_BR
listenAddress = $DEMO_GW
prefixLength = 64
leaseTime = 600
CFG
  cat > "$etc/org.orchestrator.network.pipework-demo.cfg" <<CFG
# written by ./orchestrator demo (removed by ./orchestrator stop)
network.name = $DEMO_NETWORK
bridge = $DEMO_INST_BR
prefix = $DEMO_INST_PREFIX
isolation = true
deviceInterface = $DEMO_DEV_BR
devicePrefix = $DEMO_DEV_PREFIX
vethPrefix = $DEMO_INST_VETH
nftTable = $DEMO_NFT
CFG
  cat > "$etc/org.orchestrator.provider.docker-demo.cfg" <<CFG
# written by ./orchestrator demo (removed by ./orchestrator stop)
name = $DEMO_PROVIDER
CFG
  local core="$etc/org.orchestrator.core.cfg" route="$DEMO_SOURCE=$DEMO_PROVIDER,$DEMO_NETWORK" existing=""
  if [ -f "$core" ]; then
    [ -f "$DEMO/core.cfg.orig" ] || cp -p "$core" "$DEMO/core.cfg.orig"
    existing=$(sed -n 's/^[[:space:]]*routes[[:space:]]*[=:][[:space:]]*//p' "$core" | tail -1)
  else
    : > "$DEMO/core.cfg.absent"
  fi
  {
    [ -f "$core" ] && grep -v '^[[:space:]]*routes[[:space:]]*[=:]' "$core"
    echo "# route added by ./orchestrator demo (restored by ./orchestrator stop)"
    if [ -n "$existing" ]; then echo "routes = $existing; $route"; else echo "routes = $route"; fi
  } > "$DEMO/core.cfg.new"
  mv "$DEMO/core.cfg.new" "$core"
}

# Device i: a namespace on the device bridge with a real DHCPv6 client, private state in $DEMO/devices/i.
demo_device_start() {
  local i=$1 ns="$DEMO_NS-$1" hv="$DEMO_VETH$1" dir="$DEMO/devices/$1"
  mkdir -p "$dir"
  # without this guard the client would rewrite the host's /etc/resolv.conf
  mkdir -p "/etc/netns/$ns" && : > "/etc/netns/$ns/resolv.conf"
  ip netns add "$ns"
  ip link add "$hv" type veth peer name eth0 netns "$ns"
  ip link set "$hv" master "$DEMO_DEV_BR"
  ip link set "$hv" up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.eth0.accept_dad=0 >/dev/null
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  now_ms > "$dir/t_request"
  if [ $((i % 2)) -eq 1 ]; then
    echo dhclient > "$dir/client"
    ip netns exec "$ns" dhclient -6 -nw -lf "$dir/dhclient6.leases" -pf "$dir/dhclient6.pid" -sf /bin/true eth0 \
      >"$dir/dhclient.log" 2>&1
  else
    echo dhcpcd > "$dir/client"
    mkdir -p /var/lib/dhcpcd
    # private DUID and state: tmpfs over /var/lib/dhcpcd and /run in a mount namespace of its own
    setsid ip netns exec "$ns" unshare -m sh -c \
      'mount -t tmpfs none /var/lib/dhcpcd && mount -t tmpfs none /run && mkdir /run/dhcpcd && exec dhcpcd -6 -B -d eth0' \
      >"$dir/dhcpcd.log" 2>&1 </dev/null &
    echo $! > "$dir/dhcpcd.pid"
  fi
}

# The address device i holds, configured on its eth0 (dhclient runs with -sf /bin/true).
demo_device_address() {
  local i=$1 ns="$DEMO_NS-$1" dir="$DEMO/devices/$1" a=""
  if [ "$(cat "$dir/client")" = dhclient ]; then
    a=$(sed -n 's/.*iaaddr \([0-9a-f:]*\) {.*/\1/p' "$dir/dhclient6.leases" 2>/dev/null | tail -1)
    [ -n "$a" ] && ip -n "$ns" -6 addr replace "$a/128" dev eth0 nodad 2>/dev/null
  else
    a=$(ip -n "$ns" -6 -o addr show dev eth0 scope global 2>/dev/null | sed -n 's/.* inet6 \(fd[0-9a-f:]*\)\/.*/\1/p' | head -1)
  fi
  echo "$a"
}

json_field() { # json_field NAME JSON: first string value of "NAME"
  sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" <<<"$2" | head -1
}

demo_wait() {
  local n=$1 hp t0 deadline done_count=0 last_tick i
  hp=$(http_port); hp=${hp:-8181}
  t0=$(date +%s); deadline=$((t0 + DEMO_TIMEOUT)); last_tick=$t0
  say "waiting until every device reaches its own instance over IPv6 HTTP (at most ${DEMO_TIMEOUT} s)"
  while [ "$done_count" -lt "$n" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "not every device got there within ${DEMO_TIMEOUT} s; see $KARAF/data/log/karaf.log and './orchestrator shell' (orchestrator:clients)"
      return 0
    fi
    done_count=0
    for i in $(seq 1 "$n"); do
      local dir="$DEMO/devices/$i" ns="$DEMO_NS-$i" addr json cpart ipart duid state iid iaddr
      if [ -f "$dir/ready" ]; then done_count=$((done_count + 1)); continue; fi
      if [ ! -f "$dir/address" ]; then
        addr=$(demo_device_address "$i")
        [ -n "$addr" ] || continue
        echo "$addr" > "$dir/address"; now_ms > "$dir/t_lease"
        ip -n "$ns" -6 route replace "$DEMO_GW" dev eth0 2>/dev/null || true
        ip -n "$ns" -6 route replace default via "$DEMO_GW" dev eth0 2>/dev/null || true
        printf '    device %-2s (%-8s) leased %s\n' "$i" "$(cat "$dir/client")" "$addr"
      fi
      addr=$(cat "$dir/address")
      # the device asks the platform "what is mine?" from its own address
      json=$(ip netns exec "$ns" curl -s -m 3 -g "http://[$DEMO_GW]:$hp/orchestrator/api/v1/me" 2>/dev/null || true)
      [ -n "$json" ] || continue
      cpart=${json%%\"instance\"*}; ipart=${json#*\"instance\"}
      duid=$(json_field duid "$cpart"); state=$(json_field state "$cpart")
      iid=$(json_field id "$ipart"); iaddr=$(json_field address "$ipart")
      [ -n "$duid" ] && echo "$duid" > "$dir/duid"
      if [ -n "$state" ] && [ "$state" != "$(cat "$dir/state" 2>/dev/null)" ]; then
        echo "$state" > "$dir/state"
        printf '    device %-2s client %s is %s\n' "$i" "$duid" "$state"
      fi
      [ "$state" = READY ] && [ -n "$iaddr" ] || continue
      if ip netns exec "$ns" curl -s -m 3 -g "http://[$iaddr]/" 2>/dev/null | grep -qF "$duid"; then
        echo "$iid" > "$dir/instance"; echo "$iaddr" > "$dir/instance_address"; now_ms > "$dir/t_ready"
        : > "$dir/ready"
        printf '    device %-2s reached its instance %s at %s\n' "$i" "$iid" "$iaddr"
        done_count=$((done_count + 1))
      fi
    done
    if [ "$done_count" -lt "$n" ]; then
      if [ $(( $(date +%s) - last_tick )) -ge 10 ]; then
        last_tick=$(date +%s)
        local leased; leased=$(find "$DEMO/devices" -name address | wc -l)
        printf '    ... %s s: %s/%s leased, %s/%s reached their instance\n' "$((last_tick - t0))" "$leased" "$n" "$done_count" "$n"
      fi
      sleep 1
    fi
  done
  say "every device reached its own instance after $(( $(date +%s) - t0 )) s"
}

demo_table() {
  local n=$1 i dir
  echo
  printf '  %-3s %-8s %-44s %-24s %-20s %-24s %s\n' "#" "client" "device DUID" "device address" "instance" "instance address" "lease->ready"
  for i in $(seq 1 "$n"); do
    dir="$DEMO/devices/$i"
    local secs="-"
    if [ -f "$dir/t_ready" ] && [ -f "$dir/t_lease" ]; then
      local ms=$(( $(cat "$dir/t_ready") - $(cat "$dir/t_lease") ))
      secs=$(printf '%d.%01d s' $((ms / 1000)) $(( (ms % 1000) / 100 )))
    fi
    printf '  %-3s %-8s %-44s %-24s %-20s %-24s %s\n' "$i" "$(cat "$dir/client" 2>/dev/null)" "$(cat "$dir/duid" 2>/dev/null || echo -)" \
      "$(cat "$dir/address" 2>/dev/null || echo -)" "$(cat "$dir/instance" 2>/dev/null || echo -)" \
      "$(cat "$dir/instance_address" 2>/dev/null || echo -)" "$secs"
  done
  echo "  (lease->ready: from the device holding its lease until its instance answered it over HTTP)"
}

# While Karaf may still run: devices release their leases, the platform releases their instances
# at once, and the demo's configuration goes away (dnsmasq stops with it).
demo_teardown() {
  say "removing the demo's devices, instances and configuration"
  local dir i ns pw hp
  pw=$(cat "$KARAF/etc/admin.password" 2>/dev/null || true)
  hp=$(http_port); hp=${hp:-8181}
  for dir in "$DEMO"/devices/*; do
    [ -d "$dir" ] || continue
    i=$(basename "$dir"); ns="$DEMO_NS-$i"
    if [ "$(cat "$dir/client" 2>/dev/null)" = dhclient ]; then
      timeout 10 ip netns exec "$ns" dhclient -6 -r -lf "$dir/dhclient6.leases" -pf "$dir/dhclient6.pid" -sf /bin/true eth0 \
        >/dev/null 2>&1 || true
    elif [ -f "$dir/dhcpcd.pid" ]; then
      kill -ALRM "$(cat "$dir/dhcpcd.pid")" 2>/dev/null || true
    fi
    if [ -n "$(karaf_pid)" ] && [ -n "$pw" ] && [ -f "$dir/instance" ]; then
      curl -s -m 30 -o /dev/null -u "admin:$pw" -X DELETE "http://127.0.0.1:$hp/orchestrator/api/v1/instances/$(cat "$dir/instance")" || true
    fi
  done
  demo_remove_devices
  demo_remove_config
  if [ -n "$(karaf_pid)" ]; then
    for _ in $(seq 1 40); do
      [ -z "$(demo_dnsmasq_pids)" ] && break
      sleep 0.5
    done
  fi
}

demo_dnsmasq_pids() { pgrep -f -- "dnsmasq.*$KARAF/data/dnsmasq/$DEMO_SOURCE/" 2>/dev/null || true; }

demo_remove_devices() {
  local ns pid
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$DEMO_NS-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns delete "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  rm -rf /etc/netns/"$DEMO_NS"-*
}

demo_remove_config() {
  local pid
  for pid in "${DEMO_CFGS[@]}"; do rm -f "$KARAF/etc/$pid.cfg"; done
  if [ -f "$DEMO/core.cfg.orig" ]; then
    cp -p "$DEMO/core.cfg.orig" "$KARAF/etc/org.orchestrator.core.cfg" && rm -f "$DEMO/core.cfg.orig"
  elif [ -f "$DEMO/core.cfg.absent" ]; then
    rm -f "$KARAF/etc/org.orchestrator.core.cfg" "$DEMO/core.cfg.absent"
  fi
}

# Removes whatever is left by name, Karaf running or not: processes, namespaces, containers,
# links, the nft table, the plug-ins' demo folders, and the demo's own folder.
demo_sweep() {
  local pid link id
  demo_remove_devices
  demo_remove_config
  for pid in $(demo_dnsmasq_pids); do kill "$pid" 2>/dev/null || true; done
  for id in $(docker ps -aq --filter "label=org.orchestrator.provider=$DEMO_PROVIDER" 2>/dev/null); do
    docker rm -f "$id" >/dev/null 2>&1 || true
  done
  for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 \
      | grep -E "^($DEMO_INST_VETH|$DEMO_VETH[0-9])" || true); do
    ip link delete "$link" 2>/dev/null || true
  done
  for link in "$DEMO_DEV_BR" "$DEMO_INST_BR"; do ip link delete "$link" 2>/dev/null || true; done
  nft delete table inet "$DEMO_NFT" 2>/dev/null || true
  rm -rf "${KARAF:?}/data/dnsmasq/$DEMO_SOURCE" "$KARAF/data/orchestrator/pipework/$DEMO_NETWORK"
  if [ -f "$DEMO/forwarding.orig" ]; then
    sysctl -qw "net.ipv6.conf.all.forwarding=$(cat "$DEMO/forwarding.orig")" >/dev/null 2>&1 || true
  fi
  rm -rf "${DEMO:?}"
  say "demo removed (namespaces, bridges, containers, nft table, configuration, files)"
}

demo_status() {
  local n
  n=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$DEMO_NS-" || true)
  printf 'demo       %s device namespace(s), %s container(s) of %s, bridges:%s\n' "$n" \
    "$(docker ps -q --filter "label=org.orchestrator.provider=$DEMO_PROVIDER" 2>/dev/null | wc -l)" "$DEMO_PROVIDER" \
    "$(for b in "$DEMO_DEV_BR" "$DEMO_INST_BR"; do ip link show "$b" >/dev/null 2>&1 && printf ' %s' "$b"; done)"
  local dir
  for dir in "$DEMO"/devices/*; do
    [ -d "$dir" ] || continue
    printf '  device %-2s %-8s %-24s %s %s\n' "$(basename "$dir")" "$(cat "$dir/client" 2>/dev/null)" \
      "$(cat "$dir/address" 2>/dev/null || echo -)" "$(cat "$dir/instance" 2>/dev/null || echo -)" \
      "$(cat "$dir/instance_address" 2>/dev/null || true)"
  done
}
