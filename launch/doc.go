// Package launch is the launcher: what makes an unmodified program a
// confidential workload. It measures the program (Measure), proves to the
// coordinator that it runs in an attested TEE with a fresh key (Activate),
// sets up what the coordinator released — files in memory-backed storage,
// the environment, the policy's command line — and runs the program
// (Exec, or Supervise to stay as its parent and renew its certificate).
//
// The workload digest covers the program's executable and any further
// files named with --measure (an interpreter's script, a JVM's jars), by
// content; the arguments come from the policy, rendered by the
// coordinator, so the host supplies none except the placeholders a
// manifest declares.
//
// What it does not do: protect anything on the sim TEE (its evidence is
// whatever the node agent signs), mount encrypted volumes (sealfs, a later
// issue: a service that declares volumes is refused rather than run
// unencrypted), or close the window between measuring the executable and
// executing it (inside SEV-SNP, TDX and SGX the TEE's own measurement
// covers the image; the digest is defence in depth).
package launch
