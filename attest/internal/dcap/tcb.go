package dcap

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
)

// PlatformTCB is a platform's TCB as TCB info levels rate it.
type PlatformTCB struct {
	// SGX are the 16 SGX TCB component SVNs and PCESVN certified in the
	// PCK certificate. Intel's QVL matches these, not the quote's CPUSVN,
	// because they are what Intel certified.
	SGX    [16]uint8
	PCESVN uint16
	// TDX is TEE_TCB_SVN for TDX TCB info, and nil for SGX TCB info. Its
	// components before TDXFrom are not compared: the TDX module's own
	// SVNs, which a TDX module identity rates instead.
	TDX     *[16]uint8
	TDXFrom int
}

func (p PlatformTCB) String() string {
	s := fmt.Sprintf("sgxtcbcomponents %v, pcesvn %d", p.SGX, p.PCESVN)
	if p.TDX != nil {
		s += fmt.Sprintf(", tdxtcbcomponents %v from index %d", *p.TDX, p.TDXFrom)
	}
	return s
}

// MatchPlatform returns the first level of ti (Intel lists them highest
// first) that the platform meets: every SGX component and the PCESVN, and
// for TDX TCB info every TDX component from p.TDXFrom on, at least the
// level's. No such level is a refusal of class ErrTCB. A Revoked level is
// returned: Combine refuses it. p.TDX must be set exactly for TDX TCB info.
func MatchPlatform(ti *pcs.TCBInfo, p PlatformTCB) (*pcs.TCBLevel, error) {
	if (ti.ID == pcs.TCBInfoIDTDX) != (p.TDX != nil) {
		panic("dcap: TDX components for TCB info " + ti.ID)
	}
	for i := range ti.Levels {
		l := &ti.Levels[i]
		if meets(p.SGX[:], l.SGXComponents[:], 0) && p.PCESVN >= l.PCESVN && (p.TDX == nil || meets(p.TDX[:], l.TDXComponents[:], p.TDXFrom)) {
			return l, nil
		}
	}
	return nil, attest.Refuse(attest.ErrTCB, "tcb level", "tcb_info.tcbLevels", "a level the platform meets", "none for "+p.String())
}

// meets reports whether every SVN from index first on is at least the
// level's.
func meets(svns, level []uint8, first int) bool {
	for i := first; i < len(svns); i++ {
		if svns[i] < level[i] {
			return false
		}
	}
	return true
}

// MatchISVSVN returns the first of levels (an enclave identity's, highest
// first) whose ISVSVN isvsvn meets. No such level is a refusal of class
// ErrTCB on field, the levels' name. A Revoked level is returned: Combine
// refuses it.
func MatchISVSVN(field string, levels []pcs.EnclaveLevel, isvsvn uint16) (*pcs.EnclaveLevel, error) {
	for i := range levels {
		if isvsvn >= levels[i].ISVSVN {
			return &levels[i], nil
		}
	}
	return nil, attest.Refuse(attest.ErrTCB, "tcb level", field, "a level the ISVSVN meets", fmt.Sprintf("none for isvsvn %d", isvsvn))
}

// Part is one part of the platform that Intel rates separately, and the
// level it matched: the platform (TCB info), a TDX module (its identity in
// TCB info) or the quoting enclave (QE identity).
type Part struct {
	// Name names the part in refusals: "platform", "tdx module", "qe".
	Name  string
	Level *pcs.Level
}

// Verdict is the combined rating of all parts.
type Verdict struct {
	Status attest.TCBStatus
	// Date is the earliest of the parts' level dates: the whole is as old
	// as its oldest part.
	Date time.Time
	// Advisories are the parts' advisories, in part order, without
	// duplicates.
	Advisories []string
}

// Combine rates the platform as a whole from its parts' levels. A combined
// status of Revoked (any part Revoked) is a refusal of class ErrTCB: Intel
// says that TCB must not be trusted. Any other status is the caller's to
// report as a warning.
func Combine(parts ...Part) (*Verdict, error) {
	v := &Verdict{}
	statuses := make([]attest.TCBStatus, len(parts))
	for i, p := range parts {
		statuses[i] = p.Level.Status
		if i == 0 || p.Level.Date.Before(v.Date) {
			v.Date = p.Level.Date
		}
		for _, a := range p.Level.Advisories {
			if !slices.Contains(v.Advisories, a) {
				v.Advisories = append(v.Advisories, a)
			}
		}
	}
	v.Status = combineStatus(statuses...)
	if v.Status == attest.TCBRevoked {
		var each []string
		for _, p := range parts {
			each = append(each, fmt.Sprintf("%s %v", p.Name, p.Level.Status))
		}
		return nil, attest.Refuse(attest.ErrTCB, "tcb level", "tcb_status", "a status other than Revoked",
			"Revoked ("+strings.Join(each, ", ")+")")
	}
	return v, nil
}

// Facets of a TCB status. Intel's statuses are combinations of them.
const (
	facetSWHardening = 1 << iota
	facetConfiguration
	facetOutOfDate
	facetRevoked
)

var statusFacets = map[attest.TCBStatus]int{
	attest.TCBUpToDate:                          0,
	attest.TCBSWHardeningNeeded:                 facetSWHardening,
	attest.TCBConfigurationNeeded:               facetConfiguration,
	attest.TCBConfigurationAndSWHardeningNeeded: facetConfiguration | facetSWHardening,
	attest.TCBOutOfDate:                         facetOutOfDate,
	attest.TCBOutOfDateConfigurationNeeded:      facetOutOfDate | facetConfiguration,
	attest.TCBRevoked:                           facetRevoked,
}

// combineStatus merges the statuses of the platform's parts into one: the
// union of their facets. This is what Intel's Quote Verification Library
// does when it converges the QE's (and, for TDX, the TDX module's) status
// with the platform's (convergeTcbStatusWithQeTcbStatus: an out-of-date QE
// makes an up-to-date or SW-hardening-needed platform OutOfDate and a
// configuration-needed one OutOfDateConfigurationNeeded; a Revoked QE makes
// it Revoked), generalized so that no facet of any part is dropped: where
// Intel's rule ignores a QE that is, say, ConfigurationNeeded, this one
// reports it, so it is never less strict. OutOfDate subsumes
// SWHardeningNeeded, as in Intel's set of statuses.
func combineStatus(statuses ...attest.TCBStatus) attest.TCBStatus {
	f := 0
	for _, s := range statuses {
		f |= statusFacets[s]
	}
	switch {
	case f&facetRevoked != 0:
		return attest.TCBRevoked
	case f&facetOutOfDate != 0 && f&facetConfiguration != 0:
		return attest.TCBOutOfDateConfigurationNeeded
	case f&facetOutOfDate != 0:
		return attest.TCBOutOfDate
	case f&facetConfiguration != 0 && f&facetSWHardening != 0:
		return attest.TCBConfigurationAndSWHardeningNeeded
	case f&facetConfiguration != 0:
		return attest.TCBConfigurationNeeded
	case f&facetSWHardening != 0:
		return attest.TCBSWHardeningNeeded
	default:
		return attest.TCBUpToDate
	}
}
