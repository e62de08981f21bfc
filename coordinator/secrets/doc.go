// Package secrets makes the values of a manifest's secrets
// (manifest.Secret) and gives templates their parts.
//
// Generate makes a Value for one secret declaration: random bytes
// (symmetric, parquet-master-key), a random password (ascii), a private
// key, a self-signed CA (x509-ca), a certificate issued by one of the
// manifest's x509-ca secrets or by the coordinator's intermediate for the
// manifest (x509), or the manifest's own text (explicit). Value.Part
// returns what a template asks for ("cert-pem", "key-pem", "hex"…).
// Value.Marshal and UnmarshalValue encode a Value for storage; the output
// holds the secret in plaintext and the caller seals it.
//
// Security rules that hold for every call: randomness comes from
// crypto/rand; an ascii secret is drawn without modulo bias (rejection
// sampling); a certificate never outlives its issuer; errors and panics
// name the secret, the part or a length, never a value; a
// parquet-master-key is never released through Part (only the KMS uses
// it, through Bytes).
//
// What this package does not do: validate a whole manifest or resolve
// references between secrets (the manifest package does; Generate gets
// the issuer through a callback), decide when a secret is shared or per
// instance, take uploaded or imported values (they are stored, not
// generated), store or seal anything, or render templates.
package secrets
