package snp

import (
	"github.com/cofre-cc/cofre/attest"
	"github.com/google/go-sev-guest/abi"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/uuid"
)

// The certificate table GUIDs of AMD's GHCB specification (56421, section
// "SNP Extended Guest Request"), as go-sev-guest spells them.
var (
	guidVCEK = uuid.MustParse(abi.VcekGUID)
	guidVLEK = uuid.MustParse(abi.VlekGUID)
	// guidASK also names the ASVK in tables that carry a VLEK.
	guidASK = uuid.MustParse(abi.AskGUID)
	guidARK = uuid.MustParse(abi.ArkGUID)
	// guidExtraPlatformInfo is go-sev-guest's entry carrying CPUID(1).EAX,
	// which version 2 reports lack.
	guidExtraPlatformInfo = uuid.MustParse(abi.ExtraPlatformInfoGUID)
)

// payload is a parsed sevsnp.report payload. Nothing in it is verified yet.
type payload struct {
	// raw is the report exactly as signed: abi.ReportSize bytes.
	raw    []byte
	report *spb.Report
	signer abi.SignerInfo
	certs  certTable
}

// certTable holds the entries of an extended report's certificate table that
// the verifier uses. Each is nil when absent. The bytes are copies.
type certTable struct {
	vcek, vlek, ask, ark []byte
	extraPlatformInfo    []byte
}

// parsePayload splits a payload into the report and its certificate table
// and checks the report's structure: size, version, signature algorithm and
// must-be-zero fields (through abi.ReportToProto). It does no cryptography.
func parsePayload(b []byte) (*payload, error) {
	if len(b) < abi.ReportSize {
		return nil, attest.Malformed("snp: payload is %d bytes, a report is %d", len(b), abi.ReportSize)
	}
	if len(b) > maxPayloadSize {
		return nil, attest.Malformed("snp: payload is %d bytes, limit %d", len(b), maxPayloadSize)
	}
	raw := b[:abi.ReportSize:abi.ReportSize]
	if err := abi.ValidateReportFormat(raw); err != nil {
		return nil, attest.Malformed("snp: report: %w", err)
	}
	if algo := abi.SignatureAlgo(raw); algo != abi.SignEcdsaP384Sha384 {
		return nil, attest.Malformed("snp: report: signature_algo is %d, want %d (ECDSA P-384 with SHA-384)", algo, abi.SignEcdsaP384Sha384)
	}
	report, err := abi.ReportToProto(raw)
	if err != nil {
		return nil, attest.Malformed("snp: report: %w", err)
	}
	signer, err := abi.ParseSignerInfo(report.GetSignerInfo())
	if err != nil {
		return nil, attest.Malformed("snp: report: signer_info: %w", err)
	}
	certs, err := parseCertTable(b[abi.ReportSize:])
	if err != nil {
		return nil, err
	}
	return &payload{
		raw:    append([]byte(nil), raw...),
		report: report,
		signer: signer,
		certs:  certs,
	}, nil
}

// parseCertTable reads the GUID table of an extended report. It checks every
// entry's range with 64-bit arithmetic before slicing: abi.CertTable's
// Unmarshal adds offset and length as uint32 and panics when they wrap, so
// it is not used on untrusted bytes.
func parseCertTable(b []byte) (certTable, error) {
	var t certTable
	if len(b) > maxCertTableSize {
		return t, attest.Malformed("snp: certificate table is %d bytes, limit %d", len(b), maxCertTableSize)
	}
	headers, err := abi.ParseSnpCertTableHeader(b)
	if err != nil {
		return t, attest.Malformed("snp: certificate table: %w", err)
	}
	if len(headers) > maxCertEntries {
		return t, attest.Malformed("snp: certificate table has %d entries, limit %d", len(headers), maxCertEntries)
	}
	seen := make(map[uuid.UUID]bool, len(headers))
	for i, h := range headers {
		end := uint64(h.Offset) + uint64(h.Length)
		if end > uint64(len(b)) {
			return t, attest.Malformed("snp: certificate table entry %d (%s): bytes [%d, %d) outside the %d-byte table", i, h.GUID, h.Offset, end, len(b))
		}
		if h.Length > maxCertSize {
			return t, attest.Malformed("snp: certificate table entry %d (%s) is %d bytes, limit %d", i, h.GUID, h.Length, maxCertSize)
		}
		var dst *[]byte
		switch h.GUID {
		case guidVCEK:
			dst = &t.vcek
		case guidVLEK:
			dst = &t.vlek
		case guidASK:
			dst = &t.ask
		case guidARK:
			dst = &t.ark
		case guidExtraPlatformInfo:
			dst = &t.extraPlatformInfo
		default:
			// Hosts may add entries of their own; they are not
			// evidence and are not read.
			continue
		}
		if seen[h.GUID] {
			// Two VCEKs (or ASKs…) would make the choice between
			// them the attacker's.
			return t, attest.Malformed("snp: certificate table entry %d: duplicate GUID %s", i, h.GUID)
		}
		seen[h.GUID] = true
		if h.Length == 0 {
			return t, attest.Malformed("snp: certificate table entry %d (%s) is empty", i, h.GUID)
		}
		*dst = append([]byte(nil), b[h.Offset:end]...)
	}
	return t, nil
}
