package tdx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/internal/dcap"
	"github.com/cofre-cc/cofre/attest/tdx/internal/quote"
)

// tdAttributeNames names the TD_ATTRIBUTES bits that the TDX module ABI
// defines (Intel TDX Module ABI, "TD_ATTRIBUTES"); others show as BIT<n>.
var tdAttributeNames = map[int]string{
	0:  "DEBUG",
	28: "SEPT_VE_DISABLE",
	29: "MIGRATABLE",
	30: "PKS",
	31: "KL",
	63: "PERFMON",
}

// tdAttrDebug is TD_ATTRIBUTES.DEBUG: the host can read and write the TD's
// state, so the TD has no confidentiality.
const tdAttrDebug = 1 << 0

func fillClaims(c *attest.Claims, q *quote.Quote, res *dcap.Result, v *tcbVerdict) {
	b := &q.Body
	ext := res.PCK.Ext
	hex := func(p []byte) attest.Hex { return bytes.Clone(p) }

	c.Measurement = hex(b.MRTD[:])
	c.ReportData = hex(b.ReportData[:])
	c.PlatformID = hex(ext.FMSPC[:])
	tdAttrs := binary.LittleEndian.Uint64(b.TDAttributes[:])
	c.Debug = tdAttrs&tdAttrDebug != 0
	c.TCB = map[string]uint64{
		"tdx_module_svn":     uint64(b.TEETCBSVN[0]),
		"tdx_module_major":   uint64(b.TEETCBSVN[1]),
		"tdx_late_microcode": uint64(b.TEETCBSVN[2]),
		"pcesvn":             uint64(ext.TCB.PCESVN),
		"qesvn":              uint64(q.QEReport.ISVSVN),
	}
	c.TCBStatus = v.Status
	c.TCBDate = v.Date
	c.Advisories = v.Advisories

	raw := map[string]any{
		"mr_seam":         hex(b.MRSEAM[:]),
		"mr_signer_seam":  hex(b.MRSignerSEAM[:]),
		"seam_attributes": hex(b.SEAMAttributes[:]),
		"td_attributes":   hex(b.TDAttributes[:]),
		"xfam":            hex(b.XFAM[:]),
		"mr_config_id":    hex(b.MRConfigID[:]),
		"mr_owner":        hex(b.MROwner[:]),
		"mr_owner_config": hex(b.MROwnerConfig[:]),
		"tee_tcb_svn":     hex(b.TEETCBSVN[:]),
		"cpusvn":          hex(ext.TCB.Components[:]),
		"pce_id":          attest.Hex(ext.PCEID[:]).String(),
		"pck_ca":          res.PCK.CAName,
		"qe_mrenclave":    hex(q.QEReport.MREnclave[:]),

		"tcb_status_platform":                    v.platform.String(),
		"tcb_status_qe":                          v.qe.String(),
		"tcb_evaluation_data_number":             res.TCBInfo.TCBEvaluationDataNumber,
		"qe_identity_tcb_evaluation_data_number": res.QEIdentity.TCBEvaluationDataNumber,
	}
	if flags := tdAttributeFlags(tdAttrs); len(flags) > 0 {
		raw["td_attributes_flags"] = flags
	}
	for i := range b.RTMR {
		raw[fmt.Sprintf("rtmr%d", i)] = hex(b.RTMR[i][:])
	}
	if v.moduleID != "" {
		raw["tdx_module_identity"] = v.moduleID
		raw["tcb_status_tdx_module"] = v.module.String()
	}
	if q.Trailing > 0 {
		raw["trailing_bytes"] = q.Trailing
	}
	c.Raw = raw

	if c.Debug {
		c.Warn("debug TD: TD_ATTRIBUTES.DEBUG is set, the host can read and modify the TD")
	}
	if v.Status != attest.TCBUpToDate {
		adv := "none"
		if len(v.Advisories) > 0 {
			adv = strings.Join(v.Advisories, ", ")
		}
		parts := "platform " + v.platform.String()
		if v.moduleID != "" {
			parts += ", TDX module " + v.module.String()
		}
		c.Warn("TCB status %v (%s, QE %v; advisories: %s)", v.Status, parts, v.qe, adv)
	}
}

func tdAttributeFlags(a uint64) []string {
	var out []string
	for bit := range 64 {
		if a&(1<<bit) == 0 {
			continue
		}
		if n, ok := tdAttributeNames[bit]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("BIT%d", bit))
		}
	}
	return out
}
