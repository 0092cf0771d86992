#!/usr/bin/env bash
# Builds (and tears down) the network of the scale tests and `npm run bench:scale`:
# one network namespace per node on a bridge, as machines on a LAN.
#
#   topology.sh up <nodes on subnet 1> <nodes on subnet 2> <state file>
#   topology.sh down <state file>
#
# Run it only inside the private namespace of ../shared/netns-run: every
# interface and address it makes lives there (and in its children), so
# nothing is visible to the host and nothing can leave the machine.
#
# Each node's namespace is held by a `sleep` process started by
# `unshare --net` (no `ip netns`, so no mount under /run leaks to the host);
# commands enter it with `nsenter -t <pid> -n`. Subnet s is 10.71.s.0/24 on
# bridge meshbr<s>; node i (1-based) of subnet s is 10.71.s.i, its gateway
# 10.71.s.254 is the parent namespace, which routes unicast between the two
# subnets. Multicast is not routed (no multicast routing daemon runs, and
# mDNS's 224.0.0.251 is link-local anyway), so mDNS sees only its own subnet.
# One more namespace per subnet, address 10.71.s.200, is for a client.
#
# The state file gets one line per namespace: `<subnet> <index> <pid> <address>`
# (index 0 is the subnet's client namespace).
set -euo pipefail

die () { echo "topology.sh: $*" >&2; exit 2; }

inside_private_netns () {
  # ../shared/netns-run leaves only loopback; refuse to touch a real network.
  local ifs
  # (/sys/class/net shows the namespace sysfs was mounted in, not ours: ask ip)
  ifs=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1)
  for i in $ifs; do
    case "$i" in lo|meshbr*|meshv*) ;; *) return 1 ;; esac
  done
}

up () {
  local n1=$1 n2=$2 state=$3
  inside_private_netns || die "run me inside ../shared/netns-run (found interfaces: $(ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' '))"
  [ "$n1" -le 199 ] && [ "$n2" -le 199 ] || die "at most 199 nodes per subnet"
  : > "$state"
  echo 1 > /proc/sys/net/ipv4/ip_forward
  local s count i pid addr
  for s in 1 2; do
    count=$n1; [ "$s" = 2 ] && count=$n2
    [ "$count" -gt 0 ] || continue
    ip link add "meshbr$s" type bridge
    # Snooping would hold back multicast until IGMP reports are seen.
    ip link set "meshbr$s" type bridge mcast_snooping 0 || true
    ip addr add "10.71.$s.254/24" dev "meshbr$s"
    ip link set "meshbr$s" up
    for i in $(seq 0 "$count"); do
      unshare --net sleep infinity </dev/null >/dev/null 2>&1 &
      pid=$!
      # wait until the child has its own namespace
      while [ "$(readlink /proc/$pid/ns/net)" = "$(readlink /proc/$$/ns/net)" ]; do sleep 0.01; done
      addr="10.71.$s.$i"; [ "$i" = 0 ] && addr="10.71.$s.200"
      ip link add "meshv$s-$i" type veth peer name eth0 netns "$pid"
      ip link set "meshv$s-$i" master "meshbr$s" up
      nsenter -t "$pid" -n sh -c "ip link set lo up && ip link set eth0 up && ip addr add $addr/24 dev eth0 && ip route add default via 10.71.$s.254"
      echo "$s $i $pid $addr" >> "$state"
    done
  done
}

down () {
  local state=$1 s i pid addr
  [ -f "$state" ] || return 0
  while read -r s i pid addr; do
    kill "$pid" 2>/dev/null || true
  done < "$state"
  for s in 1 2; do ip link del "meshbr$s" 2>/dev/null || true; done
  rm -f "$state"
}

case "${1:-}" in
  up) [ $# = 4 ] || die "usage: topology.sh up N1 N2 STATE"; up "$2" "$3" "$4" ;;
  down) [ $# = 2 ] || die "usage: topology.sh down STATE"; down "$2" ;;
  *) die "usage: topology.sh up N1 N2 STATE | down STATE" ;;
esac
