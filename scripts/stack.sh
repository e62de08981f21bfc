# The local stack both demos start, sourced by them (bash). Needs $cofre
# (the binary) and $work (a scratch directory); sets $coord_url, $simroot,
# $coord_pid and $agent_pid, and exports what cofre's commands read.

# stack_people makes the owners' keys (alice, bob) and the auditor's
# certificate (ops).
stack_people() {
  local k
  for k in alice bob ops; do
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$k.key" 2>/dev/null
  done
  openssl req -x509 -new -key "$work/ops.key" -subj /CN=ops -days 1 -out "$work/ops.pem" 2>/dev/null
  openssl pkey -in "$work/alice.key" -pubout -out "$work/alice.pub" 2>/dev/null
}

# stack_pub prints a key's public half, indented for a manifest.
stack_pub() { openssl pkey -in "$1" -pubout 2>/dev/null | sed 's/^/      /'; }

# stack_coordinator starts a development coordinator (SIMULATION) on a free
# loopback port: alice may create manifests, ops audits everything.
stack_coordinator() {
  "$cofre" coordinator --dev --listen 127.0.0.1:0 --state "$work/coord" --log-level warn \
    --admit-owner "$work/alice.pub" --auditor "$work/ops.pem" > "$work/coord.log" 2>&1 &
  coord_pid=$!
  coord_url=""
  for _ in $(seq 1 100); do
    coord_url=$(sed -n 's/^cofre coordinator: listening on \(https:[^ ]*\).*/\1/p' "$work/coord.log")
    [ -n "$coord_url" ] && break
    sleep 0.1
  done
  [ -n "$coord_url" ] || { cat "$work/coord.log"; return 1; }
  export COFRE_COORDINATOR=$coord_url COFRE_INSECURE_SIMULATION=true
  simroot="$work/coord/sim/root-cert.pem"
}

# stack_agent starts the node agent, which signs SIMULATION evidence for
# launchers on this node, on a unix socket.
stack_agent() {
  "$cofre" agent --listen "unix://$work/agent.sock" --sim-platform "$work/coord/sim/platform.pem" > "$work/agent.log" 2>&1 &
  agent_pid=$!
  for _ in $(seq 1 100); do [ -S "$work/agent.sock" ] && break; sleep 0.1; done
  [ -S "$work/agent.sock" ] || { cat "$work/agent.log"; return 1; }
}
