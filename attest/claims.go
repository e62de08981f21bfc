package attest

import (
	"fmt"
	"time"
)

// Claims are what a verifier vouches for once evidence is genuine,
// normalized across formats so that one policy can appraise them all.
// Fields a format does not have stay at their zero value; format-specific
// values go in Raw.
type Claims struct {
	Format string `json:"format"`
	TEE    TEE    `json:"tee"`

	// Measurement is the launch measurement of the attested code: MRENCLAVE
	// (SGX), MRTD (TDX), MEASUREMENT (SEV-SNP), PCR digest (TPM), the
	// workload digest (sim).
	Measurement Hex `json:"measurement"`
	// Signer identifies who vouches for the code: MRSIGNER (SGX), the ID or
	// author key digest (SEV-SNP), the sim producer's signer value.
	Signer Hex `json:"signer,omitempty"`
	// ProductID is the vendor- or author-assigned product: ISVPRODID (SGX),
	// the processor family (SEV-SNP: "Milan", "Genoa"), the GPU model.
	ProductID string `json:"product_id,omitempty"`
	// SVN is the security version of the attested code: ISVSVN (SGX), the
	// guest SVN (SEV-SNP).
	SVN uint64 `json:"svn"`
	// TCB holds the named TCB component versions of the platform, such as
	// "pcesvn", "cpusvn", "snp", "microcode", "tee_tcb_svn".
	TCB map[string]uint64 `json:"tcb,omitempty"`
	// Debug reports whether the TEE runs in a debuggable (and therefore not
	// confidential) mode. Simulation always reports true.
	Debug bool `json:"debug"`
	// ReportData is the 64 bytes the producer bound into the evidence.
	ReportData Hex `json:"report_data"`
	// PlatformID identifies the physical platform: CHIP_ID (SEV-SNP), the
	// FMSPC (SGX, TDX), the sim platform key hash.
	PlatformID Hex `json:"platform_id,omitempty"`
	// TCBStatus is the vendor's verdict on the platform's TCB level.
	TCBStatus TCBStatus `json:"tcb_status"`
	// TCBDate is the date of the matched TCB level, if the vendor gives one.
	TCBDate time.Time `json:"tcb_date,omitzero"`
	// Advisories lists the vendor security advisories that apply to the
	// matched TCB level (Intel-SA-…).
	Advisories []string `json:"advisories,omitempty"`
	// Warnings are facts a relying party should know that did not refuse the
	// evidence: debug mode, an out-of-date TCB, a CRL that was not available,
	// simulation.
	Warnings []string `json:"warnings,omitempty"`
	// Raw holds format-specific claims (RTMRs, host data, GPU measurement
	// blocks…), with byte strings as Hex.
	Raw map[string]any `json:"raw,omitempty"`
}

// Warn appends a warning.
func (c *Claims) Warn(format string, args ...any) {
	c.Warnings = append(c.Warnings, fmt.Sprintf(format, args...))
}

// SimulationWarning is the warning every simulated claim set carries, so no
// consumer can mistake it for hardware evidence.
const SimulationWarning = "SIMULATION: software TEE, no confidentiality or integrity protection"

// TCBStatus is the vendor's statement about a platform's TCB level.
type TCBStatus int

// Do not reorder: the zero value must stay invalid.
const (
	TCBStatusInvalid TCBStatus = iota
	// TCBUnevaluated: the format carries no vendor TCB level (sim, TPM,
	// SEV-SNP without a policy minimum).
	TCBUnevaluated
	TCBUpToDate
	TCBSWHardeningNeeded
	TCBConfigurationNeeded
	TCBConfigurationAndSWHardeningNeeded
	TCBOutOfDate
	TCBOutOfDateConfigurationNeeded
	TCBRevoked
)

// The text forms are Intel PCS's, so collateral values parse directly.
var tcbStatusNames = [...]string{
	TCBStatusInvalid:                     "Invalid",
	TCBUnevaluated:                       "Unevaluated",
	TCBUpToDate:                          "UpToDate",
	TCBSWHardeningNeeded:                 "SWHardeningNeeded",
	TCBConfigurationNeeded:               "ConfigurationNeeded",
	TCBConfigurationAndSWHardeningNeeded: "ConfigurationAndSWHardeningNeeded",
	TCBOutOfDate:                         "OutOfDate",
	TCBOutOfDateConfigurationNeeded:      "OutOfDateConfigurationNeeded",
	TCBRevoked:                           "Revoked",
}

func (s TCBStatus) String() string {
	if s < 0 || int(s) >= len(tcbStatusNames) {
		return fmt.Sprintf("TCBStatus(%d)", int(s))
	}
	return tcbStatusNames[s]
}

// ParseTCBStatus parses Intel PCS's spelling of a TCB status.
func ParseTCBStatus(s string) (TCBStatus, error) {
	for i, n := range tcbStatusNames {
		if i != 0 && n == s {
			return TCBStatus(i), nil
		}
	}
	return TCBStatusInvalid, fmt.Errorf("attest: unknown TCB status %q", s)
}

func (s TCBStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *TCBStatus) UnmarshalText(b []byte) error {
	v, err := ParseTCBStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
