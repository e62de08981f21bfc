#!/usr/bin/env bash
# The attestation and coordinator demo (what `make demo` runs until the analytics demo lands):
#  1. a simulated TEE produces evidence bound to a nonce and a workload key;
#  2. cofre verifies it and appraises it against a development policy;
#  3. cofre verifies real evidence from Intel SGX and TDX, AMD SEV-SNP, an NVIDIA
#     H100, a GCE vTPM and Azure Attestation at the times it was valid;
#  4. one flipped byte in a real quote is refused, with the reason;
#  5. the attestation service issues a token verified offline;
#  6. the local stack — attestd, the coordinator, the node agent — and
#     `cofre run`: a workload is admitted under a policy signed by two
#     owners, gets a secret a user uploaded (environment) and a generated
#     one (a file in memory), a patched binary is refused, and the audit log
#     verifies.
# Everything runs offline, from vectors committed under attest/*/testdata.
set -euo pipefail
cd "$(dirname "$0")/.."
cofre=${1:-bin/cofre}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=scripts/stack.sh
. scripts/stack.sh
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1. Simulated TEE (SIMULATION: no confidentiality) produces evidence"
"$cofre" sim init --dir "$work/sim"
nonce=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
digest=$(sha256sum "$cofre" | cut -d' ' -f1)
"$cofre" evidence produce --sim-platform "$work/sim/platform.pem" --nonce "$nonce" \
  --measurement "$digest" --workload-digest "$digest" -o "$work/evidence.json"
echo "evidence for nonce $nonce written to $work/evidence.json"

say "2. Verify it, then appraise it against a development policy"
"$cofre" evidence verify --allow-simulation --sim-root "$work/sim/root-cert.pem" --nonce "$nonce" \
  --workload-digest "$digest" "$work/evidence.json"
cat > "$work/policy.yaml" <<YAML
name: demo-dev
allow_simulation: true
references:
  - tee: sim
    measurements: ["$digest"]
YAML
"$cofre" evidence verify --sim-root "$work/sim/root-cert.pem" --policy "$work/policy.yaml" "$work/evidence.json"
echo "(a hardware policy refuses the same evidence:)"
printf 'name: prod\nreferences:\n  - tee: sgx\n    measurements: ["%s"]\n' "$digest" > "$work/prod.yaml"
if "$cofre" evidence verify --sim-root "$work/sim/root-cert.pem" --policy "$work/prod.yaml" "$work/evidence.json"; then
  echo "demo: a production policy accepted simulated evidence" >&2; exit 1
fi

say "3. Real evidence, verified offline at its pinned time"
verify_real() { # name, then cofre evidence verify arguments
  local name=$1; shift
  printf '\n-- %s\n' "$name"
  "$cofre" evidence verify "$@"
}
verify_real "Intel SGX DCAP quote v3" --format sgx.quote.v3 --collateral attest/sgx/testdata/collateral \
  --at 2022-12-20T00:50:04Z attest/sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin
verify_real "Intel TDX quote v4" --format tdx.quote.v4 --collateral attest/tdx/testdata/collateral \
  --at 2024-09-02T07:43:52Z attest/tdx/testdata/quote_v4_tdx_ecdsa_p256.bin
verify_real "AMD SEV-SNP attestation report (Milan)" --format sevsnp.report \
  --collateral attest/snp/testdata/milan/collateral --at 2025-06-01T00:00:00Z attest/snp/testdata/milan/report.bin
verify_real "NVIDIA H100 SPDM measurement report" --format nvidia.spdm --collateral attest/nvgpu/testdata/collateral \
  --at 2024-06-01T00:00:00Z attest/nvgpu/testdata/attestationReport.txt
verify_real "Google Compute Engine vTPM (go-tpm-tools)" --format tpm.gotpmtools \
  --at 2021-09-01T00:00:00Z attest/tpm/testdata/gce-cos-85-nonce9009.pb
verify_real "Azure Attestation token (SGX enclave)" --format azure.maa.jwt \
  --maa-issuer https://sharedwus.wus.attest.azure.net --collateral attest/maa/testdata/sharedwus \
  --at 2021-05-05T21:26:40Z attest/maa/testdata/sharedwus_sgx.jwt

say "4. One flipped byte in the SGX quote's MRENCLAVE is refused"
cp attest/sgx/testdata/quote_v3_ecdsa_p256_pck_chain.bin "$work/tampered.bin"
printf '\x69' | dd of="$work/tampered.bin" bs=1 seek=112 conv=notrunc status=none
if "$cofre" evidence verify --format sgx.quote.v3 --collateral attest/sgx/testdata/collateral \
  --at 2022-12-20T00:50:04Z "$work/tampered.bin"; then
  echo "demo: a tampered quote was accepted" >&2; exit 1
fi

say "5. The attestation service issues a token that anyone can verify offline"
"$cofre" attestd --dev --listen 127.0.0.1:0 --state "$work/attestd" --log-level warn > "$work/attestd.log" 2>&1 &
attestd_pid=$!
trap 'kill $attestd_pid 2>/dev/null; wait $attestd_pid 2>/dev/null; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^cofre attestd: listening on \(https:[^ ]*\).*/\1/p' "$work/attestd.log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/attestd.log"; exit 1; }
ca="$work/attestd/dev/tls/cert.pem"
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
echo "attestd (SIMULATION accepted, dev mode) at $url"
nonce_b64=$(curl -sf --cacert "$ca" -X POST "$url/v1/challenge" | json '["nonce"]')
nonce_hex=$(printf %s "$nonce_b64" | base64 -d | od -An -tx1 | tr -d ' \n')
"$cofre" evidence produce --sim-platform "$work/attestd/dev/sim/platform.pem" --nonce "$nonce_hex" \
  --measurement "$digest" -o "$work/evidence2.json"
payload=$(json '["payload"]' < "$work/evidence2.json")
token=$(curl -sf --cacert "$ca" -X POST "$url/v1/attest/sim.v1" -H 'Content-Type: application/json' \
  -d "{\"evidence\":\"$payload\",\"nonce\":\"$nonce_b64\",\"policy\":\"dev\"}" | json '["token"]')
echo "token: ${token:0:60}…"
"$cofre" token show "$token" | sed -n 1,24p
echo "(verified with the service's public keys, the nonce and the measurement pinned:)"
"$cofre" token verify --jwks "$url/certs" --cacert "$ca" --issuer "$url" --nonce "$nonce_hex" \
  --measurement "$digest" --allow-simulation "$token"
echo "(a relying party that does not allow simulation refuses it:)"
if "$cofre" token verify --jwks "$url/certs" --cacert "$ca" "$token"; then
  echo "demo: a simulated token passed as hardware" >&2; exit 1
fi
echo "(replaying the evidence with the spent nonce is refused:)"
curl -s --cacert "$ca" -X POST "$url/v1/attest/sim.v1" -H 'Content-Type: application/json' \
  -d "{\"evidence\":\"$payload\",\"nonce\":\"$nonce_b64\",\"policy\":\"dev\"}"; echo

say "6. The coordinator, the node agent and cofre run: a policy signed by two owners, secrets released only to the attested workload"
stack_people
stack_coordinator
trap 'kill $attestd_pid $coord_pid 2>/dev/null; wait $attestd_pid $coord_pid 2>/dev/null; rm -rf "$work"' EXIT
curl_url=$coord_url
sh_digest=$("$cofre" run --print-digest -- /bin/sh)
shm=$(mktemp -d /dev/shm/cofre-demo-XXXXXX)
cat > "$work/ward.yaml" <<YAML
name: ward
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
  app:
    references:
      - tee: sim
        measurements: ["$sh_digest"]
services:
  api:
    package: app
    command: ["/bin/sh", "-c", 'echo "hello from the confidential workload: a partner token of \${#PARTNER_TOKEN} bytes in its environment, a database password of \$(wc -c < \$COFRE_FILES_ROOT/etc/api/db_password) bytes in memory"']
    workload_digests: ["$sh_digest"]
    env:
      PARTNER_TOKEN: '{{ secret "partner_token" }}'
    files:
      /etc/api/db_password: '{{ secret "db_password" }}'
      /etc/api/cert.pem: '{{ workload "cert-pem" }}'
      /etc/api/key.pem: '{{ workload "key-pem" }}'
    kms_grants: [taxi_master]
secrets:
  db_password: {kind: ascii, size: 24}
  partner_token: {kind: uploaded}
  taxi_master: {kind: parquet-master-key}
users:
  ops:
    certificate: |
$(sed 's/^/      /' "$work/ops.pem")
    roles: [uploader, auditor]
roles:
  uploader: {resource: secrets, names: [partner_token], actions: [read, write]}
  auditor: {resource: audit, actions: [read]}
attestation:
  allow_simulation: true
YAML
"$cofre" manifest sign --key "$work/alice.key" --owner alice -o "$work/ward.alice.sig" "$work/ward.yaml"
"$cofre" manifest sign --key "$work/bob.key" --owner bob -o "$work/ward.bob.sig" "$work/ward.yaml"
"$cofre" manifest set --sim-root "$simroot" "$work/ward.yaml" "$work/ward.alice.sig" "$work/ward.bob.sig"
printf 'partner-api-token-%s' "$nonce" > "$work/token.txt"
"$cofre" secret set --sim-root "$simroot" --cert "$work/ops.pem" --key "$work/ops.key" ward partner_token --from-file "$work/token.txt"
"$cofre" status --sim-root "$simroot"

echo "(the node agent signs SIMULATION evidence for launchers on this node)"
stack_agent
trap 'kill $attestd_pid $coord_pid $agent_pid 2>/dev/null; wait $attestd_pid $coord_pid $agent_pid 2>/dev/null; rm -rf "$work" "$shm"' EXIT
echo "(cofre run: measure /bin/sh, attest through the agent, activate, write the files to memory, run the policy's command)"
export COFRE_RUN_MANIFEST=ward COFRE_RUN_SERVICE=api COFRE_RUN_AGENT="unix://$work/agent.sock" \
  COFRE_RUN_SIM_ROOT="$simroot" COFRE_RUN_FILES_ROOT="$shm/files"
"$cofre" run -- /bin/sh
echo "(the files live in memory only:)"; find "$shm/files" -type f | sed "s|$shm/files||"
echo "(a patched shell is another workload: refused with the reason, nothing runs)"
cp /bin/sh "$work/sh"; printf x >> "$work/sh"
if COFRE_RUN_FILES_ROOT="$shm/refused" "$cofre" run -- "$work/sh"; then
  echo "demo: a patched executable was admitted" >&2; exit 1
fi
echo "(the audit log verifies, line by line, against the coordinator's key:)"
"$cofre" audit verify --coordinator "$curl_url" --sim-root "$simroot" --cert "$work/ops.pem" --cert-key "$work/ops.key"

say "Done: simulated evidence accepted only where simulation is allowed; real evidence verified; tampering and replay refused; tokens verified offline; a policy-governed activation admitted and a patched one refused."
