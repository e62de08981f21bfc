package nvgpu

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cofre-cc/cofre/attest"
)

// NVIDIA's GET_MEASUREMENTS opaque data is a sequence of fields, each
// DataType (2 bytes, little-endian) ‖ DataSize (2 bytes, little-endian) ‖
// Data. NVIDIA documents the types only through its verifier (nvtrust
// local_gpu_verifier, OpaqueData.OPAQUE_DATA_TYPES); the numbers are theirs,
// do not renumber.
const (
	opaqueCertIssuerName      = 1
	opaqueCertAuthorityKeyID  = 2
	opaqueDriverVersion       = 3
	opaqueGPUInfo             = 4
	opaqueSKU                 = 5
	opaqueVBIOSVersion        = 6
	opaqueManufacturerID      = 7
	opaqueTamperDetection     = 8
	opaqueSMC                 = 9
	opaqueVPR                 = 10
	opaqueNVDEC0Status        = 11
	opaqueMsrsCnt             = 12
	opaqueCPRInfo             = 13
	opaqueBoardID             = 14
	opaqueChipSKU             = 15
	opaqueChipSKUMod          = 16
	opaqueProject             = 17
	opaqueProjectSKU          = 18
	opaqueProjectSKUMod       = 19
	opaqueFWID                = 20
	opaqueProtectedPCIeStatus = 21
	opaqueSwitchPDI           = 22
	opaqueFloorsweptPorts     = 23
	opaquePositionID          = 24
	opaqueLockSwitchStatus    = 25
	opaqueGPULinkConn         = 32
	opaqueDataVersion         = 34
	// opaqueInvalid is NVIDIA's "invalid" marker; a report carrying it is
	// refused.
	opaqueInvalid = 255

	opaqueFieldHeaderLen = 4
	// vbiosVersionLen is the size of the VBIOS version field.
	vbiosVersionLen = 8
	// msrsCntEntryLen is one measurement count: a little-endian uint32.
	msrsCntEntryLen = 4
)

// fieldKind says how a field's data is decoded into Claims.Raw.
type fieldKind int

const (
	kindHex    fieldKind = iota // attest.Hex
	kindString                  // printable ASCII, trailing NULs removed
	kindVBIOS                   // "96.00.5e.00.01"
	kindCounts                  // []uint32
)

type fieldInfo struct {
	name string // the Claims.Raw key
	kind fieldKind
}

// opaqueFields names the known field types. Unknown types are kept, as
// "opaque_<type>" in hex, so a new firmware's fields stay visible.
var opaqueFields = map[uint16]fieldInfo{
	opaqueCertIssuerName:      {"cert_issuer_name", kindHex},
	opaqueCertAuthorityKeyID:  {"cert_authority_key_identifier", kindHex},
	opaqueDriverVersion:       {"driver_version", kindString},
	opaqueGPUInfo:             {"gpu_info", kindHex},
	opaqueSKU:                 {"sku", kindHex},
	opaqueVBIOSVersion:        {"vbios_version", kindVBIOS},
	opaqueManufacturerID:      {"manufacturer_id", kindHex},
	opaqueTamperDetection:     {"tamper_detection", kindHex},
	opaqueSMC:                 {"smc", kindHex},
	opaqueVPR:                 {"vpr", kindHex},
	opaqueNVDEC0Status:        {"nvdec0_status", kindHex},
	opaqueMsrsCnt:             {"measurement_counts", kindCounts},
	opaqueCPRInfo:             {"cpr_info", kindHex},
	opaqueBoardID:             {"board_id", kindHex},
	opaqueChipSKU:             {"chip_sku", kindString},
	opaqueChipSKUMod:          {"chip_sku_mod", kindString},
	opaqueProject:             {"project", kindString},
	opaqueProjectSKU:          {"project_sku", kindString},
	opaqueProjectSKUMod:       {"project_sku_mod", kindString},
	opaqueFWID:                {"fwid", kindHex},
	opaqueProtectedPCIeStatus: {"protected_pcie_status", kindHex},
	opaqueSwitchPDI:           {"switch_pdi", kindHex},
	opaqueFloorsweptPorts:     {"floorswept_ports", kindHex},
	opaquePositionID:          {"position_id", kindHex},
	opaqueLockSwitchStatus:    {"lock_switch_status", kindHex},
	opaqueGPULinkConn:         {"gpu_link_conn", kindHex},
	opaqueDataVersion:         {"opaque_data_version", kindHex},
}

// opaqueField is one field of the opaque data.
type opaqueField struct {
	Type uint16
	Data []byte
}

// opaqueData is the parsed opaque data: its fields in the order sent, and
// their decoded values by Claims.Raw key.
type opaqueData struct {
	Fields []opaqueField
	Values map[string]any
}

// parseOpaque parses NVIDIA's opaque data. Each type may appear once (two
// driver versions would leave a consumer to pick one), the fields must fill
// the data exactly, strings must be printable ASCII (they reach logs and
// policy messages) and sized fields must have their size.
func parseOpaque(b []byte) (*opaqueData, error) {
	o := &opaqueData{Values: make(map[string]any)}
	seen := make(map[uint16]bool)
	for off := 0; off < len(b); {
		field := fmt.Sprintf("opaque_data[%d]", len(o.Fields))
		if len(b)-off < opaqueFieldHeaderLen {
			return nil, malformed(field, fmt.Sprintf("at least %d bytes", opaqueFieldHeaderLen), fmt.Sprintf("%d bytes", len(b)-off))
		}
		typ := binary.LittleEndian.Uint16(b[off:])
		size := int(binary.LittleEndian.Uint16(b[off+2:]))
		off += opaqueFieldHeaderLen
		if size > len(b)-off {
			return nil, malformed(field+".size", fmt.Sprintf("at most %d", len(b)-off), fmt.Sprint(size))
		}
		data := b[off : off+size]
		off += size
		if typ == opaqueInvalid {
			return nil, malformed(field+".type", "a valid field type", fmt.Sprintf("%d (invalid)", typ))
		}
		if seen[typ] {
			return nil, malformed(field+".type", "each type once", fmt.Sprintf("%d repeated", typ))
		}
		seen[typ] = true
		o.Fields = append(o.Fields, opaqueField{Type: typ, Data: data})
		info, ok := opaqueFields[typ]
		if !ok {
			info = fieldInfo{name: fmt.Sprintf("opaque_%d", typ), kind: kindHex}
		}
		v, err := decodeField(info, data)
		if err != nil {
			return nil, err
		}
		o.Values[info.name] = v
	}
	return o, nil
}

func decodeField(info fieldInfo, data []byte) (any, error) {
	field := "opaque_data." + info.name
	switch info.kind {
	case kindString:
		s := strings.TrimRight(string(data), "\x00")
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] > 0x7e {
				return nil, malformed(field, "printable ASCII", fmt.Sprintf("byte 0x%02x at %d", s[i], i))
			}
		}
		return s, nil
	case kindVBIOS:
		if len(data) != vbiosVersionLen {
			return nil, malformed(field, fmt.Sprintf("%d bytes", vbiosVersionLen), fmt.Sprintf("%d bytes", len(data)))
		}
		if data[5]|data[6]|data[7] != 0 {
			// NVIDIA's tools print five components and ignore the
			// top three bytes; refuse them set rather than let two
			// encodings print the same version.
			return nil, malformed(field, "bytes 5..7 zero", attest.Hex(data).String())
		}
		return formatVBIOS(data), nil
	case kindCounts:
		if len(data)%msrsCntEntryLen != 0 {
			return nil, malformed(field, fmt.Sprintf("a multiple of %d bytes", msrsCntEntryLen), fmt.Sprintf("%d bytes", len(data)))
		}
		counts := make([]uint32, 0, len(data)/msrsCntEntryLen)
		for i := 0; i < len(data); i += msrsCntEntryLen {
			counts = append(counts, binary.LittleEndian.Uint32(data[i:]))
		}
		return counts, nil
	default:
		return attest.Hex(data), nil
	}
}

// vbiosParts returns the five components of a VBIOS version in the order
// NVIDIA prints them. The field is a little-endian 64-bit value whose low
// 32 bits hold the first four components (most significant first) and
// whose next byte holds the fifth: 00 5e 00 96 01 00 00 00 is 96.00.5e.00.01.
func vbiosParts(data []byte) [5]byte {
	return [5]byte{data[3], data[2], data[1], data[0], data[4]}
}

func formatVBIOS(data []byte) string {
	p := vbiosParts(data)
	return fmt.Sprintf("%02x.%02x.%02x.%02x.%02x", p[0], p[1], p[2], p[3], p[4])
}

// marshal encodes the fields in order; for parsed data it returns the
// parsed bytes.
func (o *opaqueData) marshal() []byte {
	var out []byte
	for _, f := range o.Fields {
		out = binary.LittleEndian.AppendUint16(out, f.Type)
		out = binary.LittleEndian.AppendUint16(out, uint16(len(f.Data)))
		out = append(out, f.Data...)
	}
	return out
}
