package sgx

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/sgx/internal/pcs"
	"github.com/cofre-cc/cofre/attest/sgx/internal/quote"
)

// checkQEIdentity checks that the quoting enclave is the one Intel's QE
// identity describes: same MRSIGNER and ISVPRODID, and MISCSELECT and
// ATTRIBUTES equal to the expected values under their masks. Every
// mismatch is reported (errors.Join), all of class ErrCollateral: the
// collateral does not describe this evidence's QE.
func checkQEIdentity(qi *pcs.QEIdentity, r *quote.ReportBody) error {
	const check = "qe identity"
	var errs []error
	if r.MRSigner != qi.MRSigner {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.mr_signer", hex.EncodeToString(qi.MRSigner[:]), hex.EncodeToString(r.MRSigner[:])))
	}
	if r.ISVProdID != qi.ISVProdID {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.isv_prod_id", strconv.Itoa(int(qi.ISVProdID)), strconv.Itoa(int(r.ISVProdID))))
	}
	if got := r.MiscSelect & qi.MiscSelectMask; got != qi.MiscSelect {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.miscselect&mask",
			fmt.Sprintf("%08x", qi.MiscSelect), fmt.Sprintf("%08x", got)))
	}
	var attrs [16]byte
	for i := range attrs {
		attrs[i] = r.Attributes[i] & qi.AttributesMask[i]
	}
	if attrs != qi.Attributes {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, check, "qe_report.attributes&mask",
			hex.EncodeToString(qi.Attributes[:]), hex.EncodeToString(attrs[:])))
	}
	return errors.Join(errs...)
}

// qeLevel returns the QE identity's first TCB level whose ISVSVN the QE
// report's ISVSVN meets. None, or a Revoked level, is a refusal of class
// ErrTCB.
func qeLevel(qi *pcs.QEIdentity, isvsvn uint16) (*pcs.QELevel, error) {
	for i := range qi.Levels {
		l := &qi.Levels[i]
		if isvsvn < l.ISVSVN {
			continue
		}
		if l.Status == attest.TCBRevoked {
			return nil, attest.Refuse(attest.ErrTCB, "qe tcb level", "qe_report.isv_svn",
				"a level that is not Revoked", fmt.Sprintf("%d (level isvsvn %d, Revoked)", isvsvn, l.ISVSVN))
		}
		return l, nil
	}
	return nil, attest.Refuse(attest.ErrTCB, "qe tcb level", "qe_report.isv_svn",
		fmt.Sprintf("at least %d (lowest level in qe identity)", qi.Levels[len(qi.Levels)-1].ISVSVN), strconv.Itoa(int(isvsvn)))
}

// platformLevel returns TCB info's first TCB level that the PCK
// certificate's TCB meets: every SGX TCB component and the PCESVN at least
// the level's. Intel's QVL compares the PCK certificate's values, not the
// quote's CPUSVN, because they are what Intel certified. None, or a Revoked
// level, is a refusal of class ErrTCB.
func platformLevel(ti *pcs.TCBInfo, tcb *pcs.PCKTCB) (*pcs.TCBLevel, error) {
	for i := range ti.Levels {
		l := &ti.Levels[i]
		if !meets(tcb, l) {
			continue
		}
		if l.Status == attest.TCBRevoked {
			return nil, attest.Refuse(attest.ErrTCB, "platform tcb level", "pck.tcb",
				"a level that is not Revoked", fmt.Sprintf("%s (tcbDate %s, Revoked)", formatTCB(tcb.Components, tcb.PCESVN), rfc3339(l.Date)))
		}
		return l, nil
	}
	return nil, attest.Refuse(attest.ErrTCB, "platform tcb level", "pck.tcb",
		"a level listed in tcb info", formatTCB(tcb.Components, tcb.PCESVN))
}

func meets(tcb *pcs.PCKTCB, l *pcs.TCBLevel) bool {
	for i, c := range tcb.Components {
		if c < l.Components[i] {
			return false
		}
	}
	return tcb.PCESVN >= l.PCESVN
}

func formatTCB(comps [16]uint8, pcesvn uint16) string {
	return fmt.Sprintf("sgxtcbcomponents %v pcesvn %d", comps, pcesvn)
}

// convergeStatus combines the platform's TCB status with the quoting
// enclave's, as Intel's Quote Verification Library does
// (convergeTcbStatusWithQeTcbStatus): an out-of-date QE makes an up-to-date
// or SW-hardening-needed platform OutOfDate, and a configuration-needed one
// OutOfDateConfigurationNeeded; a Revoked QE makes the result Revoked;
// otherwise (QE UpToDate) the platform's status stands.
func convergeStatus(platform, qe attest.TCBStatus) attest.TCBStatus {
	switch qe {
	case attest.TCBRevoked:
		return attest.TCBRevoked
	case attest.TCBOutOfDate:
		switch platform {
		case attest.TCBUpToDate, attest.TCBSWHardeningNeeded:
			return attest.TCBOutOfDate
		case attest.TCBConfigurationNeeded, attest.TCBConfigurationAndSWHardeningNeeded:
			return attest.TCBOutOfDateConfigurationNeeded
		}
	}
	return platform
}

// mergeAdvisories returns a's IDs then b's, without duplicates.
func mergeAdvisories(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
