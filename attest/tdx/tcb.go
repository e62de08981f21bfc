package tdx

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
	"github.com/google/go-tdx-guest/pcs"
)

// tcbInput is what the TCB evaluation reads from the evidence.
type tcbInput struct {
	// cpuSVN are the 16 SGX TCB component SVNs from the PCK certificate.
	cpuSVN []byte
	// pceSVN is the PCE SVN from the PCK certificate.
	pceSVN uint16
	// teeTCBSVN is TEE_TCB_SVN from the TD quote body: [0] the TDX module's
	// SVN, [1] its major version, [2] the TDX late microcode update.
	teeTCBSVN [16]byte
	// qeSVN is the QE report's ISVSVN.
	qeSVN uint16
}

// tcbVerdict is the outcome of matching the evidence against Intel's TCB
// levels.
type tcbVerdict struct {
	status     attest.TCBStatus
	date       time.Time
	advisories []string

	platform attest.TCBStatus
	// module is TCBStatusInvalid when the TDX module has no identity of its
	// own (major version 0).
	module   attest.TCBStatus
	moduleID string
	qe       attest.TCBStatus
}

// moduleIdentityID names the TDX module identity that covers a module of
// the given major version, as Intel's TCB info spells it ("TDX_01").
func moduleIdentityID(major byte) string { return fmt.Sprintf("TDX_%02X", major) }

func findModuleIdentity(ids []pcs.TdxModuleIdentity, major byte) *pcs.TdxModuleIdentity {
	want := moduleIdentityID(major)
	for i := range ids {
		if strings.EqualFold(ids[i].ID, want) {
			return &ids[i]
		}
	}
	return nil
}

// matchCollateral checks that the verified collateral describes this
// quote's platform, TDX module and quoting enclave. Each mismatch is
// attest.ErrCollateral; all are reported together.
func matchCollateral(col *verifiedCollateral, q *quote.Quote, pck *pckChain) error {
	var errs []error
	t := col.tcbInfo

	// TCB info is per platform family (FMSPC) and PCE.
	if !strings.EqualFold(t.Fmspc, pck.ext.FMSPC) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "tcb info platform", "tcb_info.fmspc", strings.ToLower(pck.ext.FMSPC), strings.ToLower(t.Fmspc)))
	}
	if !strings.EqualFold(t.PceID, pck.ext.PCEID) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "tcb info platform", "tcb_info.pceId", pck.ext.PCEID, t.PceID))
	}

	// The TDX module must be Intel's: MRSIGNERSEAM and the masked
	// SEAMATTRIBUTES must equal what Intel lists for it. A module of major
	// version 0 is described by "tdxModule", later ones by their own
	// identity; a module without an identity is left to the TCB
	// evaluation, which refuses it.
	mrSigner, attrs, mask, field := t.TdxModule.Mrsigner.Bytes, t.TdxModule.Attributes.Bytes, t.TdxModule.AttributesMask.Bytes, "tcb_info.tdxModule"
	if major := q.Body.TEETCBSVN[1]; major > 0 {
		id := findModuleIdentity(t.TdxModuleIdentities, major)
		if id == nil {
			mrSigner = nil
		} else {
			mrSigner, attrs, mask = id.Mrsigner.Bytes, id.Attributes.Bytes, id.AttributesMask.Bytes
			field = "tcb_info.tdxModuleIdentities[" + id.ID + "]"
		}
	}
	if mrSigner != nil {
		if !bytes.Equal(mrSigner, q.Body.MRSignerSEAM[:]) {
			errs = append(errs, attest.Refuse(attest.ErrCollateral, "tdx module identity", field+".mrsigner", attest.Hex(mrSigner).String(), attest.Hex(q.Body.MRSignerSEAM[:]).String()))
		}
		if got, ok := masked(q.Body.SEAMAttributes[:], mask); !ok || !bytes.Equal(got, attrs) {
			errs = append(errs, attest.Refuse(attest.ErrCollateral, "tdx module identity", field+".attributes", attest.Hex(attrs).String()+" under mask "+attest.Hex(mask).String(), attest.Hex(q.Body.SEAMAttributes[:]).String()))
		}
	}

	// The QE must be Intel's TD quoting enclave.
	id := col.qeIdentity
	r := &q.QEReport
	if !bytes.Equal(id.Mrsigner.Bytes, r.MRSigner[:]) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "qe identity", "qe_report.mrsigner", attest.Hex(id.Mrsigner.Bytes).String(), attest.Hex(r.MRSigner[:]).String()))
	}
	if r.ISVProdID != id.IsvProdID {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "qe identity", "qe_report.isvprodid", fmt.Sprint(id.IsvProdID), fmt.Sprint(r.ISVProdID)))
	}
	// MISCSELECT and ATTRIBUTES are compared byte by byte in report order,
	// which is how Intel's hex strings lay them out.
	if got, ok := masked(r.MiscSelect[:], id.MiscselectMask.Bytes); !ok || !bytes.Equal(got, id.Miscselect.Bytes) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "qe identity", "qe_report.miscselect", attest.Hex(id.Miscselect.Bytes).String()+" under mask "+attest.Hex(id.MiscselectMask.Bytes).String(), attest.Hex(r.MiscSelect[:]).String()))
	}
	if got, ok := masked(r.Attributes[:], id.AttributesMask.Bytes); !ok || !bytes.Equal(got, id.Attributes.Bytes) {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "qe identity", "qe_report.attributes", attest.Hex(id.Attributes.Bytes).String()+" under mask "+attest.Hex(id.AttributesMask.Bytes).String(), attest.Hex(r.Attributes[:]).String()))
	}
	return errors.Join(errs...)
}

func masked(v, mask []byte) ([]byte, bool) {
	if len(v) != len(mask) {
		return nil, false
	}
	out := make([]byte, len(v))
	for i := range v {
		out[i] = v[i] & mask[i]
	}
	return out, true
}

// evaluateTCB finds the TCB levels Intel assigns to this platform, TDX
// module and QE, following Intel's DCAP quote verification (TCB info v3):
//
//   - platform: the first level of tcbLevels whose 16 SGX components and
//     PCESVN the PCK certificate meets, and whose TDX components
//     TEE_TCB_SVN meets (from index 2 when the module's major version,
//     TEE_TCB_SVN[1], is not 0: the module is then rated by its identity);
//   - TDX module, when its major version is not 0: the identity
//     "TDX_<major>" and its first level whose isvsvn TEE_TCB_SVN[0] meets;
//   - QE: the first level of the QE identity whose isvsvn the QE's ISVSVN
//     meets.
//
// Levels are taken in Intel's order (highest first). No matching level, or
// a Revoked one, is attest.ErrTCB. The overall status combines the three:
// see combineStatus. The date is the earliest of the matched levels' dates
// and the advisories their union.
func evaluateTCB(t *pcs.TcbInfo, qe *pcs.EnclaveIdentity, in tcbInput) (*tcbVerdict, error) {
	const check = "tcb level"
	major := in.teeTCBSVN[1]
	first := 0
	if major > 0 {
		first = 2
	}
	var platform *pcs.TcbLevel
	for i := range t.TcbLevels {
		l := &t.TcbLevels[i]
		if meets(in.cpuSVN, l.Tcb.SgxTcbcomponents, 0) && in.pceSVN >= l.Tcb.Pcesvn && meets(in.teeTCBSVN[:], l.Tcb.TdxTcbcomponents, first) {
			platform = l
			break
		}
	}
	if platform == nil {
		return nil, attest.Refuse(attest.ErrTCB, check, "tcb_info.tcbLevels",
			"a level the platform meets",
			fmt.Sprintf("none for cpusvn %s, pcesvn %d, tee_tcb_svn %s", attest.Hex(in.cpuSVN), in.pceSVN, attest.Hex(in.teeTCBSVN[:])))
	}
	matched := []*pcs.TcbLevel{platform}

	v := &tcbVerdict{}
	if major > 0 {
		id := findModuleIdentity(t.TdxModuleIdentities, major)
		if id == nil {
			return nil, attest.Refuse(attest.ErrTCB, check, "tcb_info.tdxModuleIdentities", moduleIdentityID(major), "no such identity")
		}
		v.moduleID = id.ID
		var module *pcs.TcbLevel
		for i := range id.TcbLevels {
			if uint32(in.teeTCBSVN[0]) >= id.TcbLevels[i].Tcb.Isvsvn {
				module = &id.TcbLevels[i]
				break
			}
		}
		if module == nil {
			return nil, attest.Refuse(attest.ErrTCB, check, "tcb_info.tdxModuleIdentities["+id.ID+"].tcbLevels", "a level the TDX module meets", fmt.Sprintf("none for isvsvn %d", in.teeTCBSVN[0]))
		}
		matched = append(matched, module)
	}

	var qeLevel *pcs.TcbLevel
	for i := range qe.TcbLevels {
		if uint32(in.qeSVN) >= qe.TcbLevels[i].Tcb.Isvsvn {
			qeLevel = &qe.TcbLevels[i]
			break
		}
	}
	if qeLevel == nil {
		return nil, attest.Refuse(attest.ErrTCB, check, "qe_identity.tcbLevels", "a level the QE meets", fmt.Sprintf("none for isvsvn %d", in.qeSVN))
	}
	matched = append(matched, qeLevel)

	// Statuses and dates were checked to parse when the collateral was
	// verified.
	var statuses []attest.TCBStatus
	for i, l := range matched {
		s, _ := attest.ParseTCBStatus(string(l.TcbStatus))
		statuses = append(statuses, s)
		d, _ := time.Parse(time.RFC3339, l.TcbDate)
		if i == 0 || d.Before(v.date) {
			v.date = d
		}
		for _, a := range l.AdvisoryIDs {
			if !slices.Contains(v.advisories, a) {
				v.advisories = append(v.advisories, a)
			}
		}
	}
	v.platform, v.qe = statuses[0], statuses[len(statuses)-1]
	if major > 0 {
		v.module = statuses[1]
	}
	v.status = combineStatus(statuses...)
	if v.status == attest.TCBRevoked {
		return nil, attest.Refuse(attest.ErrTCB, check, "tcb_status", "a status other than Revoked", fmt.Sprintf("Revoked (platform %v, tdx module %v, qe %v)", v.platform, v.module, v.qe))
	}
	return v, nil
}

// meets reports whether every SVN from index first on is at least the
// level's component.
func meets(svns []byte, comps []pcs.TcbComponent, first int) bool {
	if len(svns) != len(comps) {
		return false
	}
	for i := first; i < len(svns); i++ {
		if svns[i] < comps[i].Svn {
			return false
		}
	}
	return true
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

// combineStatus merges the statuses of the platform, TDX module and QE
// into one: the union of their facets. This is what Intel's quote
// verification library does when it converges the TDX module's and the
// QE's status with the platform's (an out-of-date module or QE makes an
// up-to-date platform OutOfDate, and a ConfigurationNeeded one
// OutOfDateConfigurationNeeded), generalized so that no facet of any part
// is dropped. OutOfDate subsumes SWHardeningNeeded, as in Intel's set of
// statuses.
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
