// Package manifest parses, validates and authorizes cofre's policy
// documents (manifests): which code may run on which TEEs, with which
// secrets and configuration, and who may change it.
//
// Call Parse on the exact bytes an owner wrote (YAML or JSON). It decodes
// strictly — unknown fields, duplicate keys, keys that match a field only
// case-insensitively, anchors, aliases, explicit tags and trailing
// documents are refused — and then runs every check of Validate. A refusal
// is an *Error listing every problem with its file, line and field.
//
// Manifests form a hash chain: Hash is the SHA-256 of the document bytes,
// each update names its predecessor's hash and carries the next version.
// Sign and VerifySignatures implement k-of-n owner signatures over that
// hash; VerifyInitial and VerifyUpdate apply the rules (a first manifest is
// signed by its own owners, an update by its predecessor's owners).
//
// Render fills a service's command, environment and files from their
// templates, a small subset of text/template syntax with three functions:
// secret, workload and host.
//
// The package does not store manifests, generate secrets, issue
// certificates, talk to the network, or check that a toleration has not
// expired (that needs a clock; package appraise does it at appraisal).
package manifest
