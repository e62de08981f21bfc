#!/usr/bin/env bash
# The main demo (`make demo`): confidential analytics on one machine, on the
# simulated TEE (labelled SIMULATION: it shows the flow, it protects nothing).
#  1. the local stack: the coordinator and the node agent;
#  2. a policy signed by two owners: which code may run (the measured cofre
#     binary), which Parquet master keys exist, and which service may use
#     which key through the coordinator's KMS;
#  3. `cofre run` attests the ingest job, which writes an encrypted taxi data
#     set (Parquet modular encryption: fares under their own key);
#  4. the files hold no plaintext: encrypted footers, no column names, no values;
#  5. `cofre run` attests the query job, which decrypts in memory and runs SQL;
#  6. refusals: the same query outside an attested workload gets no key; a
#     service granted only the trips key reads trips but not fares;
#  7. the results go to PostgreSQL with columns encrypted in the workload
#     (keys wrapped by the coordinator's KMS): the database holds ciphertext,
#     an attested reader decrypts (skipped, saying so, without PostgreSQL);
#  8. the account: which code was attested, which keys went to whom (the
#     signed audit log, verified).
# ROWS (default 20,000,000) sets the data set size.
set -euo pipefail
cd "$(dirname "$0")/.."
cofre=$(realpath "${1:-bin/cofre}")
rows=${ROWS:-20000000}
work=$(mktemp -d)
shm=$(mktemp -d /dev/shm/cofre-demo-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work" "$shm"
}
trap cleanup EXIT
# shellcheck source=scripts/stack.sh
. scripts/stack.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
began=$(date +%s)

say "1. The local stack: the coordinator and the node agent (SIMULATION TEE)"
stack_people
stack_coordinator
pids+=("$coord_pid")
url=$coord_url
echo "coordinator at $url"
stack_agent
pids+=("$agent_pid")
echo "node agent at $work/agent.sock"

say "2. The policy: measured code, master keys, KMS grants — signed by two owners"
digest=$("$cofre" run --print-digest -- "$cofre")
echo "cofre binary measured: sha256 $digest"
data="$work/taxi"
q1="SELECT passenger_count, count(*) AS trips, round(sum(total_amount), 2) AS revenue, round(avg(fare_amount), 2) AS avg_fare FROM taxi GROUP BY passenger_count ORDER BY passenger_count NULLS LAST"
q2="SELECT PULocationID AS zone, count(*) AS pickups FROM taxi GROUP BY zone ORDER BY pickups DESC LIMIT 5"
q3="SELECT PULocationID AS zone, count(*) AS trips, round(sum(total_amount), 2) AS revenue FROM taxi GROUP BY zone"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
db="postgres://cofre@127.0.0.1:$pgport/postgres?sslmode=disable"
# Every service reads its TLS client certificate and key from files the
# launcher writes in memory; COFRE_CERT and COFRE_KEY tell cofre where.
svc() { # name, kms grants, then the command's arguments as a YAML flow list
  cat <<YAML
  $1:
    package: cofre
    command: ["$cofre", $3]
    workload_digests: ["$digest"]
    env:
      COFRE_CERT: /etc/cofre/workload.pem
      COFRE_KEY: /etc/cofre/workload.key
    files:
      /etc/cofre/workload.pem: '{{ workload "chain-pem" }}'
      /etc/cofre/workload.key: '{{ workload "key-pem" }}'
    kms_grants: [$2]
YAML
}
cat > "$work/taxi.yaml" <<YAML
name: taxi
version: 1
owners:
  alice:
    public_key: |
$(stack_pub "$work/alice.key")
  bob:
    public_key: |
$(stack_pub "$work/bob.key")
update_threshold: 2
packages:
  cofre:
    references:
      - tee: sim
        measurements: ["$digest"]
services:
$(svc ingest "trips_key, fares_key" "\"datagen\", \"taxi\", \"--rows\", \"$rows\", \"--out\", \"$data\", \"--encrypt\", \"--footer-key\", \"trips_key\", \"--column-keys\", \"fares_key:fare_amount,extra,mta_tax,tip_amount,tolls_amount,improvement_surcharge,total_amount,congestion_surcharge,Airport_fee\"")
$(svc query "trips_key, fares_key" "\"query\", \"--table\", \"taxi=$data\", \"--sql\", \"$q1\"")
$(svc dispatch "trips_key" "\"query\", \"--table\", \"taxi=$data\", \"--sql\", \"$q2\"")
$(svc dispatch-fares "trips_key" "\"query\", \"--table\", \"taxi=$data\", \"--sql\", \"SELECT sum(total_amount) FROM taxi\"")
$(svc report "trips_key, fares_key, results_cmk" "\"query\", \"--quiet\", \"--table\", \"taxi=$data\", \"--sql\", \"$q3\", \"--out\", \"$db&table=zone_revenue\", \"--row-key\", \"zone\", \"--encrypt-columns\", \"revenue,trips\", \"--index-columns\", \"revenue\", \"--cmk\", \"results_cmk\"")
$(svc reader "results_cmk" "\"colenc\", \"read\", \"--db\", \"$db\", \"--table\", \"zone_revenue\", \"--limit\", \"5\"")
secrets:
  trips_key: {kind: parquet-master-key}
  fares_key: {kind: parquet-master-key}
  results_cmk: {kind: parquet-master-key}
users:
  ops:
    certificate: |
$(sed 's/^/      /' "$work/ops.pem")
    roles: [auditor]
roles:
  auditor: {resource: audit, actions: [read]}
attestation:
  allow_simulation: true
YAML
"$cofre" manifest sign --key "$work/alice.key" --owner alice -o "$work/taxi.alice.sig" "$work/taxi.yaml"
"$cofre" manifest sign --key "$work/bob.key" --owner bob -o "$work/taxi.bob.sig" "$work/taxi.yaml"
"$cofre" manifest set --sim-root "$simroot" "$work/taxi.yaml" "$work/taxi.alice.sig" "$work/taxi.bob.sig"
echo "policy: ingest and query may use trips_key and fares_key; dispatch and dispatch-fares only trips_key"

export COFRE_RUN_MANIFEST=taxi COFRE_RUN_AGENT="unix://$work/agent.sock" COFRE_RUN_SIM_ROOT="$simroot"
run() { # service
  COFRE_RUN_SERVICE=$1 COFRE_RUN_FILES_ROOT="$shm/$1" "$cofre" run -- "$cofre"
}

say "3. cofre run: attest the ingest job, which writes $rows encrypted taxi trips"
run ingest

say "4. What is on disk: ciphertext only"
files=$(find "$data" -name '*.parquet' | wc -l)
size=$(du -sh "$data" | cut -f1)
echo "$files Parquet files, $size, in $data"
bad=0
while IFS= read -r f; do
  # An encrypted footer ends with the magic PARE (a plaintext one, PAR1).
  [ "$(tail -c 4 "$f")" = PARE ] || { echo "not encrypted: $f"; bad=1; }
  # Column names live in the footer: none is readable.
  ! grep -q -a -e fare_amount -e PULocationID "$f" || { echo "plaintext column names in $f"; bad=1; }
done < <(find "$data" -name '*.parquet')
[ "$bad" = 0 ] || { echo "demo: plaintext found on disk" >&2; exit 1; }
echo "every file: encrypted footer (PARE), no column name or value in clear"

say "5. cofre run: attest the query job; it gets the keys, decrypts in memory, runs SQL"
echo "SQL: $q1"
run query

say "6. Refusals"
echo "(the same query from a process that verified the coordinator but is no attested workload: no certificate, no key)"
if "$cofre" query --sim-root "$simroot" --table "taxi=$data" --sql "$q1" > "$work/refused.out" 2>&1; then
  echo "demo: an unattested query read the data" >&2; exit 1
fi
sed 's/^/  /' "$work/refused.out" | head -3
echo "(service dispatch is granted trips_key only: trips yes —)"
run dispatch
echo "(— fares no: fare columns are under fares_key)"
if run dispatch-fares > "$work/fares.out" 2>&1; then
  echo "demo: a service without the fares grant read fares" >&2; exit 1
fi
grep -i -m2 'refused\|denied\|not granted\|forbidden' "$work/fares.out" | sed 's/^/  /' || tail -2 "$work/fares.out"

say "7. Results into PostgreSQL, encrypted per column in the workload"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -x "$pgbin/initdb" ]; then
  pgdir=$(mktemp -d)  # not under $work (0700): the server runs as its own user
  as=(); if [ "$(id -u)" = 0 ]; then chown postgres "$pgdir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -U cofre --auth=trust -E UTF8 --no-sync >/dev/null
  "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -o "-c listen_addresses=127.0.0.1 -c port=$pgport -c unix_socket_directories=$pgdir" -l "$pgdir/log" -w start >/dev/null
  pg_stop() { "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true; }
  trap 'pg_stop; rm -rf "$pgdir"; cleanup' EXIT
  echo "(a scratch PostgreSQL on 127.0.0.1:$pgport; the report job is granted results_cmk, the column master key)"
  run report
  echo "what the database holds (any DBA can look):"
  "$cofre" colenc show --db "$db" | sed 's/^/  /'
  psql "$db" -At -c "SELECT zone, encode(substring(revenue from 1 for 24), 'hex') || '…', encode(substring(trips from 1 for 24), 'hex') || '…' FROM zone_revenue ORDER BY zone LIMIT 3" | sed 's/^/  /'
  echo "an attested reader granted results_cmk decrypts them:"
  run reader | sed 's/^/  /'
else
  echo "(skipped: PostgreSQL is not installed — apt-get install postgresql; see docs/colenc.md)"
fi

say "8. The account: what was attested, which keys went to whom (signed audit log)"
"$cofre" audit show --sim-root "$simroot" --cert "$work/ops.pem" --key "$work/ops.key" > "$work/audit.jsonl"
python3 - "$work/audit.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("manifest") != "taxi":
        continue
    ok = "granted" if e.get("granted") else "REFUSED"
    if e["event"] == "activate":
        print(f"  activate {e.get('service','?'):15} {ok:8} tee={e.get('tee')}{' SIMULATION' if e.get('simulation') else ''} measurement={e.get('measurement','')[:16]}…")
    elif e["event"] == "kms":
        print(f"  kms {e.get('op','?'):8} key={e.get('key','?'):10} to {e.get('service','?'):15} {ok}{': ' + e['message'] if e.get('message') else ''}")
PY
"$cofre" audit verify --sim-root "$simroot" --cert "$work/ops.pem" --cert-key "$work/ops.key"
say "Done in $(( $(date +%s) - began )) s: data encrypted at rest with keys only attested code received; SIMULATION TEE (no hardware protection here)."
