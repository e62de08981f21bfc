// Package client talks to a cofre coordinator over its HTTP API
// (docs/api/coordinator.yaml, wire types in package coordinator/api), after
// checking that the coordinator is what it claims to be.
//
// Trust is established once per Client, lazily, before the first request:
// Verify asks the coordinator for evidence bound to a fresh nonce and to its
// root CA certificate, verifies the evidence with the caller's verifier
// registry, appraises it against the caller's policy, checks the binding,
// and finally checks that the TLS server certificate of the very connection
// the evidence arrived on was issued by that root. Every later request
// trusts exactly one server identity: a certificate issued directly by that
// root. A caller that pinned the root earlier (Options.Root) skips
// attestation and trusts the pinned root the same way.
//
// Simulation: sim.v1 evidence proves nothing (anyone with the sim platform
// key can sign any measurement). The client refuses it unless
// Options.InsecureSimulation is set, and then reports Simulation() true so
// that callers can say SIMULATION loudly.
//
// What it does not do: retry, follow redirects (a redirect could carry a
// secret to another origin; every redirect is an error), check the host
// name in the server certificate (the attested root is the identity: it is
// the coordinator's own, and DNS is untrusted anyway), or interpret the
// coordinator's responses beyond decoding them (manifests, audit logs and
// recovery records are checked by their own packages).
package client
