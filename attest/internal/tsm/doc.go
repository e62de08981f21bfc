// Package tsm gets attestation reports from inside a TEE guest through the
// Linux configfs-tsm report interface (/sys/kernel/config/tsm/report,
// Documentation/ABI/testing/configfs-tsm-report), and holds the error
// classes every in-guest producer (attest/snp, attest/tdx, attest/sgx)
// shares.
//
// It uses github.com/google/go-configfs-tsm's report package for the
// protocol: make an entry, write inblob (and privlevel), read outblob,
// auxblob and provider, checking the entry's generation counter on every
// read so that a report another writer changed under us is refused
// (ErrGeneration). On top of it, Get checks the provider before asking for a
// report, and that outblob is not empty.
//
// The configfs root is injectable: Dir maps the library's fixed
// /sys/kernel/config/tsm paths onto any directory, and tests use
// go-configfs-tsm's faketsm. The real interface exists only inside an
// SEV-SNP or TDX guest with Linux 6.7 or later; this package's tests run
// against fakes only.
//
// It does not parse or check the report itself: the format's producer does
// that, with the format's own parser.
package tsm
