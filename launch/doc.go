// Package launch is the launcher: what makes an unmodified program a
// confidential workload. It measures the program (Measure), proves to the
// coordinator that it runs in an attested TEE with a fresh key (Activate),
// sets up what the coordinator released — files in memory-backed storage,
// the environment, the policy's command line — and runs the program
// (Exec, or Supervise to stay as its parent and renew its certificate).
//
// The workload digest covers the program's executable and any further
// files named with --measure (an interpreter's script, a JVM's jars), by
// absolute path and content; the arguments come from the policy, rendered
// by the coordinator, so the host supplies none except the placeholders a
// manifest declares. The program gets the policy's environment only and
// starts in /.
//
// What it does not do: protect anything on the sim TEE (its evidence is
// whatever the node agent signs); mount encrypted volumes (sealfs, a later
// issue: a service that declares volumes is refused rather than run
// unencrypted); close the window between the last measurement and exec
// (the files are measured again just before; a host that can write the
// file system inside that window wins — in confidential VMs the image must
// itself be measured, e.g. by dm-verity under the TEE's launch
// measurement); or protect its own flags: the coordinator address and the
// trust anchor it is verified against come from the pod spec, which the
// host writes — pin them where the TEE measures them (Kata's agent policy
// or initdata, a Gramine manifest), and a hardware launcher refuses a
// simulated coordinator. Files are checked to be on tmpfs/ramfs, which the
// kernel may swap out: run without swap, or use encrypted swap.
package launch
