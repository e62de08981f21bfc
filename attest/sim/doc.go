// Package sim implements the simulated TEE, evidence format sim.v1.
//
// Simulation exists so that every cofre flow runs on machines without TEE
// hardware. It gives NO confidentiality and NO integrity against the host:
// the "platform key" is an ordinary software key, and whoever holds it can
// sign any measurement. Verified sim claims therefore always carry TEE
// attest.TEESim, Debug true and attest.SimulationWarning, and package
// appraise never rates them above "warning" and accepts them only under a
// policy with allow_simulation.
//
// A sim deployment has one Root (a self-signed CA, what a dev coordinator
// trusts) and one Platform per node (a P-256 key certified by the root, what
// the node agent holds). A Producer signs reports with the platform key; a
// Verifier checks the platform certificate against its roots and the report
// signature.
//
// Payload layout (JSON, unknown fields refused):
//
//	{"version":1, "report":<base64 report JSON>, "signature":<base64 ASN.1 ECDSA>,
//	 "certificates":[<base64 DER platform cert>, <intermediates>…]}
//
// The signature covers SHA-256("cofre-sim-v1\x00" ‖ report bytes), so the
// verifier checks exactly the bytes it parses.
//
// The verifier does not check freshness: the report data binds the
// relying party's nonce, which appraisal checks (attest.CheckBinding).
package sim
