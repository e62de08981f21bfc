package tdx

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/internal/dcap/pcs"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// TEE_TCB_SVN indices ("TD Quote Body", TDX 1.0) that the TCB evaluation
// reads.
const (
	svnModule      = 0 // the TDX module's SVN
	svnModuleMajor = 1 // the TDX module's major version
	// svnPlatformFrom is where the platform's TDX components start when the
	// module has an identity of its own (major version > 0): the module's
	// SVN and major version are then rated by that identity.
	svnPlatformFrom = 2
)

// tcbVerdict is the outcome of matching the evidence against Intel's TCB
// levels.
type tcbVerdict struct {
	*dcap.Verdict

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

func findModuleIdentity(ids []pcs.TDXModuleIdentity, major byte) *pcs.TDXModuleIdentity {
	want := moduleIdentityID(major)
	for i := range ids {
		if strings.EqualFold(ids[i].ID, want) {
			return &ids[i]
		}
	}
	return nil
}

// checkModule checks that the TDX module is Intel's: MRSIGNERSEAM and the
// masked SEAMATTRIBUTES must equal what Intel lists for it. A module of
// major version 0 is described by "tdxModule", later ones by their own
// identity; a module without an identity is left to the TCB evaluation,
// which refuses it. Each mismatch is attest.ErrCollateral; all are reported
// together.
func checkModule(t *pcs.TCBInfo, b *quote.Body) error {
	m, field := t.TDXModule, "tcb_info.tdxModule"
	if major := b.TEETCBSVN[svnModuleMajor]; major > 0 {
		id := findModuleIdentity(t.TDXModuleIdentities, major)
		if id == nil {
			return nil
		}
		m, field = &id.TDXModule, "tcb_info.tdxModuleIdentities["+id.ID+"]"
	}
	var errs []error
	if m.MRSigner != b.MRSignerSEAM {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "tdx module identity", field+".mrsigner", attest.Hex(m.MRSigner[:]).String(), attest.Hex(b.MRSignerSEAM[:]).String()))
	}
	var attrs [8]byte
	for i := range attrs {
		attrs[i] = b.SEAMAttributes[i] & m.AttributesMask[i]
	}
	if attrs != m.Attributes {
		errs = append(errs, attest.Refuse(attest.ErrCollateral, "tdx module identity", field+".attributes",
			attest.Hex(m.Attributes[:]).String()+" under mask "+attest.Hex(m.AttributesMask[:]).String(), attest.Hex(b.SEAMAttributes[:]).String()))
	}
	return errors.Join(errs...)
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
//     meets (matched by dcap.Verify).
//
// No matching level, or a combined status of Revoked, is attest.ErrTCB;
// dcap.Combine says how the statuses, dates and advisories combine.
func evaluateTCB(res *dcap.Result, b *quote.Body) (*tcbVerdict, error) {
	ext := res.PCK.Ext
	major := b.TEETCBSVN[svnModuleMajor]
	p := dcap.PlatformTCB{SGX: ext.TCB.Components, PCESVN: ext.TCB.PCESVN, TDX: &b.TEETCBSVN}
	if major > 0 {
		p.TDXFrom = svnPlatformFrom
	}
	pl, err := dcap.MatchPlatform(res.TCBInfo, p)
	if err != nil {
		return nil, err
	}
	v := &tcbVerdict{platform: pl.Status, qe: res.QELevel.Status}
	parts := []dcap.Part{{Name: "platform", Level: &pl.Level}}
	if major > 0 {
		id := findModuleIdentity(res.TCBInfo.TDXModuleIdentities, major)
		if id == nil {
			return nil, attest.Refuse(attest.ErrTCB, "tcb level", "tcb_info.tdxModuleIdentities", moduleIdentityID(major), "no such identity")
		}
		ml, err := dcap.MatchISVSVN("tcb_info.tdxModuleIdentities["+id.ID+"].tcbLevels", id.Levels, uint16(b.TEETCBSVN[svnModule]))
		if err != nil {
			return nil, err
		}
		v.module, v.moduleID = ml.Status, id.ID
		parts = append(parts, dcap.Part{Name: "tdx module", Level: &ml.Level})
	}
	parts = append(parts, dcap.Part{Name: "qe", Level: &res.QELevel.Level})
	if v.Verdict, err = dcap.Combine(parts...); err != nil {
		return nil, err
	}
	return v, nil
}
