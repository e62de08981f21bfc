// Package agent is the cofre node agent (SCONE's LAS): one per node, it
// holds the node's SIMULATION platform key and signs sim.v1 evidence for
// launchers on that node, and Client is how a launcher asks it.
//
// Call New with a Config holding a *sim.Platform, then Serve on a listener
// (the unix socket cmd/cofre creates, and optionally TCP). The HTTP API is
// docs/api/agent.yaml: GET /v1/platform describes the platform, POST
// /v1/evidence returns evidence binding the caller's 64 bytes of report
// data and reporting the caller's workload measurement.
//
// What the agent is NOT: it is not trusted and is no security boundary
// (DESIGN trust model). A sim platform key signs whatever measurement it is
// told, so anyone who can reach the agent can get sim evidence for any
// workload: that is what simulation means, which is why sim evidence is
// capped at "warning", accepted only under allow_simulation, and why every
// response here says simulation: true. The agent verifies nothing, keeps no
// state and never sees a workload key or secret: report data is a hash.
//
// On hardware, launchers produce SEV-SNP, TDX and SGX evidence themselves,
// inside the TEE; this agent does not relay those. Client does not verify
// the evidence it returns either: the relying party (the coordinator) does.
package agent
