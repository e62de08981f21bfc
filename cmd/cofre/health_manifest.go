package main

import (
	"fmt"
	"strings"
)

// manifestParams are what the healthcare policy is made from.
type manifestParams struct {
	ownerPub, opsCert string
	digest, self      string
	models, onnx      string
	ports             map[string]int
	accounts          string // JSON array of careapi accounts (password hashes)
	audit             string
}

// healthManifest is the healthcare platform's policy: which code may run
// each service (the measured cofre binary), what each is given after
// attestation (certificates, the Redis password and client certificate,
// the cache keys, its configuration), and the operator who may read what
// Redis itself needs.
func healthManifest(p manifestParams) string {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	workload := `    env:
      COFRE_CERT: /etc/cofre/workload.pem
      COFRE_KEY: /etc/cofre/workload.key
%s    files:
      /etc/cofre/workload.pem: '{{ workload "chain-pem" }}'
      /etc/cofre/workload.key: '{{ workload "key-pem" }}'
`
	careConfig := fmt.Sprintf(`{
  "listen": "127.0.0.1:%d",
  "accounts": %s,
  "redis": {"addr": "127.0.0.1:%d", "username": "careapi", "password": "{{ secret "redis_password" }}",
            "ca_file": "/etc/cofre/redis-ca.pem", "cert_file": "/etc/cofre/redis-client.pem", "key_file": "/etc/cofre/redis-client.key"},
  "cache": {"seal_key_hex": "{{ secret "cache_seal_key" "hex" }}", "name_key_hex": "{{ secret "cache_name_key" "hex" }}", "namespace": "careapi"},
  "diagnostics": {"url": "https://127.0.0.1:%d", "model": "chest", "measurements": [%s], "allow_simulation": true},
  "audit_dir": %s
}`, p.ports["careapi"], p.accounts, p.ports["redis"], p.ports["diagnostics"], q(p.digest), q(p.audit))

	var b strings.Builder
	fmt.Fprintf(&b, `name: health
version: 1
owners:
  owner:
    public_key: |
%s
update_threshold: 1
packages:
  cofre:
    references:
      - tee: sim
        measurements: [%s]
services:
  diagnostics:
    package: cofre
    command: [%s, "infer", "serve", "--models", %s, "--listen", "127.0.0.1:%d", "--caller-measurement", %s, "--allow-simulation-callers"]
    workload_digests: [%s]
`, indent(p.ownerPub, 6), q(p.digest), q(p.self), q(p.models), p.ports["diagnostics"], q(p.digest), q(p.digest))
	fmt.Fprintf(&b, workload, "      COFRE_ONNXRUNTIME_LIB: "+q(p.onnx)+"\n")
	fmt.Fprintf(&b, `  careapi:
    package: cofre
    command: [%s, "health", "careapi", "--config", "/etc/cofre/careapi.json"]
    workload_digests: [%s]
`, q(p.self), q(p.digest))
	fmt.Fprintf(&b, workload, "")
	fmt.Fprintf(&b, `      /etc/cofre/redis-client.pem: '{{ secret "careapi_redis" "chain-pem" }}'
      /etc/cofre/redis-client.key: '{{ secret "careapi_redis" "key-pem" }}'
      /etc/cofre/redis-ca.pem: '{{ secret "redis_ca" }}'
      /etc/cofre/careapi.json: |
%s
secrets:
  redis_ca: {kind: x509-ca, common_name: "cofre health Redis CA"}
  redis_server: {kind: x509, issuer: redis_ca, common_name: redis, ip_addresses: ["127.0.0.1"], dns_names: [localhost]}
  careapi_redis: {kind: x509, issuer: redis_ca, common_name: careapi}
  redis_password: {kind: ascii, size: 32}
  cache_seal_key: {kind: symmetric, size: 32}
  cache_name_key: {kind: symmetric, size: 32}
users:
  ops:
    certificate: |
%s
    roles: [redis-provisioner]
roles:
  redis-provisioner: {resource: secrets, actions: [read], names: [redis_ca, redis_server, redis_password]}
attestation:
  allow_simulation: true
`, indent(careConfig, 8), indent(p.opsCert, 6))
	return b.String()
}
