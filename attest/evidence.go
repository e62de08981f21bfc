package attest

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest/collateral"
)

// Evidence format identifiers. A format names both the bytes' layout and the
// verification procedure.
const (
	FormatSim    = "sim.v1"
	FormatSEVSNP = "sevsnp.report"
	FormatTDX    = "tdx.quote.v4"
	FormatSGX    = "sgx.quote.v3"
	FormatTPM    = "tpm.gotpmtools"
	FormatNVGPU  = "nvidia.spdm"
	FormatMAA    = "azure.maa.jwt"
)

// Evidence is attestation evidence as it travels: a format name and the
// format's bytes. The payload is untrusted until a Verifier accepts it.
type Evidence struct {
	Format  string `json:"format"`
	Payload []byte `json:"payload"`
}

// Producer makes evidence binding reportData, on the platform it runs on.
type Producer interface {
	Format() string
	Produce(ctx context.Context, reportData [ReportDataSize]byte) (Evidence, error)
}

// Verifier checks that evidence of one format is genuine and returns its
// normalized claims. It never modifies ev. On refusal the error wraps one of
// the Err* classes below, usually through a *CheckError.
type Verifier interface {
	Format() string
	Verify(ctx context.Context, ev Evidence, opts Options) (*Claims, error)
}

// Options are the per-call inputs of Verify.
type Options struct {
	// Now is the time at which certificates, collateral and tokens must be
	// valid. The zero value means the clock at call time. Real evidence
	// expires, so tests pin it.
	Now time.Time

	// Collateral is where vendor collateral (TCB info, VCEKs, CRLs, JWKS…)
	// comes from: an offline directory, an on-disk cache, or online fetching.
	// Formats that need collateral refuse a nil Collateral with
	// ErrCollateral; none falls back to the network.
	Collateral collateral.Source
}

// Time returns o.Now, or the current time if it is zero.
func (o Options) Time() time.Time {
	if o.Now.IsZero() {
		return time.Now()
	}
	return o.Now
}

// TEE is the kind of trusted execution environment evidence comes from.
type TEE int

// Do not reorder: the numbers are not persisted, but tests and tables
// rely on TEEInvalid being zero.
const (
	TEEInvalid TEE = iota
	TEESim
	TEESEVSNP
	TEETDX
	TEESGX
	TEETPM
	TEENVGPU
)

var teeNames = [...]string{
	TEEInvalid: "invalid",
	TEESim:     "sim",
	TEESEVSNP:  "sevsnp",
	TEETDX:     "tdx",
	TEESGX:     "sgx",
	TEETPM:     "tpm",
	TEENVGPU:   "nvgpu",
}

func (t TEE) String() string {
	if t < 0 || int(t) >= len(teeNames) {
		return fmt.Sprintf("TEE(%d)", int(t))
	}
	return teeNames[t]
}

// ParseTEE parses the text form of a TEE.
func ParseTEE(s string) (TEE, error) {
	for i, n := range teeNames {
		if i != 0 && n == strings.ToLower(s) {
			return TEE(i), nil
		}
	}
	return TEEInvalid, fmt.Errorf("attest: unknown TEE %q", s)
}

func (t TEE) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *TEE) UnmarshalText(b []byte) error {
	v, err := ParseTEE(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Hex is a byte string whose text form is lowercase hex.
type Hex []byte

func (h Hex) String() string { return hex.EncodeToString(h) }

func (h Hex) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

func (h *Hex) UnmarshalText(b []byte) error {
	v, err := hex.DecodeString(string(b))
	if err != nil {
		return fmt.Errorf("attest: hex: %w", err)
	}
	*h = v
	return nil
}
