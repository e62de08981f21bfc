package pcs

// MaxCollateralSize bounds a TCB info or QE identity document. Intel's SGX
// TCB info is under 20 KiB, its TDX TCB info (16 SGX and 16 TDX components
// per level, plus TDX module identities) 5–10 KiB, and its QE identities
// under 2 KiB; 256 KiB leaves room for many more TCB levels while keeping a
// hostile collateral source from making the verifier decode megabytes of
// JSON.
const MaxCollateralSize = 256 << 10

// maxTCBLevels bounds the TCB levels of one list (platform levels, QE
// levels, the levels of one TDX module identity) and the number of TDX
// module identities. Intel publishes a few dozen at most; matching is linear
// in the count, so the bound caps the work.
const maxTCBLevels = 1024

// maxAdvisories and maxAdvisoryIDLen bound what one TCB level copies into
// claims (IDs look like "INTEL-SA-00615"). maxAdvisoryIDLen also bounds a
// TDX module identity's id ("TDX_01").
const (
	maxAdvisories    = 256
	maxAdvisoryIDLen = 64
)

// MaxPCKExtensionSize bounds the SGX extension of a PCK certificate. A real
// one is about 600 bytes (the whole certificate is about 1.3 KiB).
const MaxPCKExtensionSize = 4 << 10

// maxEntries bounds the entries of one SEQUENCE in the SGX extension; the
// TCB sequence, the largest, has 18.
const maxEntries = 64
