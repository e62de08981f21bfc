package pcs

import (
	"encoding/asn1"
	"errors"
	"fmt"
)

// OIDSGXExtensions is the PCK certificate extension holding the SGX
// platform values ("Intel SGX PCK Certificate and Certificate Revocation
// List Profile Specification", section 1.5).
var OIDSGXExtensions = asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}

// Sub-extension arcs under OIDSGXExtensions.
const (
	arcPPID               = 1
	arcTCB                = 2
	arcPCEID              = 3
	arcFMSPC              = 4
	arcSGXType            = 5
	arcPlatformInstanceID = 6
	arcConfiguration      = 7

	// Under arcTCB: 1..16 are the SGX TCB components, 17 the PCESVN, 18
	// the CPUSVN.
	arcTCBPCESVN = 17
	arcTCBCPUSVN = 18

	// Under arcConfiguration.
	arcConfigDynamicPlatform = 1
	arcConfigCachedKeys      = 2
	arcConfigSMTEnabled      = 3
)

// SGXType is the platform's SGX type from the PCK certificate.
type SGXType int

// Values of the SGX Type extension.
const (
	SGXTypeStandard              SGXType = 0
	SGXTypeScalable              SGXType = 1
	SGXTypeScalableWithIntegrity SGXType = 2
)

func (t SGXType) String() string {
	switch t {
	case SGXTypeStandard:
		return "Standard"
	case SGXTypeScalable:
		return "Scalable"
	case SGXTypeScalableWithIntegrity:
		return "ScalableWithIntegrity"
	}
	return fmt.Sprintf("SGXType(%d)", int(t))
}

// PCKTCB is the TCB level a PCK certificate was issued for.
type PCKTCB struct {
	// Components are SGX TCB components 1..16 (sgxtcbcompNNsvn).
	Components [16]uint8
	PCESVN     uint16
	CPUSVN     [16]byte
}

// Configuration is the optional platform configuration of a PCK certificate
// issued by the Platform CA. A nil field was absent.
type Configuration struct {
	DynamicPlatform *bool
	CachedKeys      *bool
	SMTEnabled      *bool
}

// PCKExtensions are the SGX values Intel certifies in a PCK certificate.
type PCKExtensions struct {
	// PPID is the platform provisioning ID. It identifies one platform and
	// is privacy-sensitive.
	PPID  [16]byte
	TCB   PCKTCB
	PCEID [2]byte
	FMSPC [6]byte
	// SGXType is the platform's SGX type.
	SGXType SGXType
	// PlatformInstanceID is present only in certificates issued by the
	// Platform CA; it is nil otherwise.
	PlatformInstanceID []byte
	// Configuration is present only in certificates issued by the Platform
	// CA.
	Configuration *Configuration
}

// ErrExtension is wrapped by every error of ParsePCKExtensions.
var ErrExtension = errors.New("malformed sgx extension")

// ParsePCKExtensions parses the value (the contents of the extension's
// OCTET STRING) of the OIDSGXExtensions certificate extension.
//
// PPID, TCB, PCE-ID, FMSPC and SGX type are required; platform instance ID
// and configuration are optional. Each may appear once. Sub-extensions with
// other identifiers are ignored: the certificate is Intel-signed, and newer
// certificates may carry values this version does not know.
func ParsePCKExtensions(der []byte) (*PCKExtensions, error) {
	if len(der) > MaxPCKExtensionSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrExtension, len(der), MaxPCKExtensionSize)
	}
	entries, err := parseEntries(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrExtension, err)
	}
	var ext PCKExtensions
	seen := make(map[int]bool)
	for _, e := range entries {
		arc, ok := subArc(e.id, OIDSGXExtensions)
		if !ok {
			continue
		}
		if seen[arc] {
			return nil, fmt.Errorf("%w: %v appears twice", ErrExtension, e.id)
		}
		seen[arc] = true
		switch arc {
		case arcPPID:
			err = octets(e.value, ext.PPID[:])
		case arcTCB:
			err = parseTCB(e.value, &ext.TCB)
		case arcPCEID:
			err = octets(e.value, ext.PCEID[:])
		case arcFMSPC:
			err = octets(e.value, ext.FMSPC[:])
		case arcSGXType:
			var t asn1.Enumerated
			err = unmarshalAll(e.value.FullBytes, &t)
			if err == nil && (t < 0 || t > asn1.Enumerated(SGXTypeScalableWithIntegrity)) {
				err = fmt.Errorf("value %d out of range", t)
			}
			ext.SGXType = SGXType(t)
		case arcPlatformInstanceID:
			ext.PlatformInstanceID = make([]byte, 16)
			err = octets(e.value, ext.PlatformInstanceID)
		case arcConfiguration:
			ext.Configuration, err = parseConfiguration(e.value)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v: %w", ErrExtension, e.id, err)
		}
	}
	for _, req := range [...]struct {
		arc  int
		name string
	}{{arcPPID, "PPID"}, {arcTCB, "TCB"}, {arcPCEID, "PCE-ID"}, {arcFMSPC, "FMSPC"}, {arcSGXType, "SGX Type"}} {
		if !seen[req.arc] {
			return nil, fmt.Errorf("%w: %s missing", ErrExtension, req.name)
		}
	}
	return &ext, nil
}

func parseTCB(v asn1.RawValue, tcb *PCKTCB) error {
	if !isSequence(v) {
		return errors.New("tcb: not a SEQUENCE")
	}
	entries, err := parseEntries(v.FullBytes)
	if err != nil {
		return fmt.Errorf("tcb: %w", err)
	}
	tcbOID := append(append(asn1.ObjectIdentifier{}, OIDSGXExtensions...), arcTCB)
	seen := make(map[int]bool)
	for _, e := range entries {
		arc, ok := subArc(e.id, tcbOID)
		if !ok {
			continue
		}
		if seen[arc] {
			return fmt.Errorf("tcb: %v appears twice", e.id)
		}
		seen[arc] = true
		switch {
		case arc >= 1 && arc <= 16:
			n, err := integer(e.value, 0xff)
			if err != nil {
				return fmt.Errorf("tcb component %d: %w", arc, err)
			}
			tcb.Components[arc-1] = uint8(n)
		case arc == arcTCBPCESVN:
			n, err := integer(e.value, 0xffff)
			if err != nil {
				return fmt.Errorf("tcb pcesvn: %w", err)
			}
			tcb.PCESVN = uint16(n)
		case arc == arcTCBCPUSVN:
			if err := octets(e.value, tcb.CPUSVN[:]); err != nil {
				return fmt.Errorf("tcb cpusvn: %w", err)
			}
		}
	}
	for arc := 1; arc <= arcTCBCPUSVN; arc++ {
		if !seen[arc] {
			return fmt.Errorf("tcb: %v.%d missing", tcbOID, arc)
		}
	}
	return nil
}

func parseConfiguration(v asn1.RawValue) (*Configuration, error) {
	if !isSequence(v) {
		return nil, errors.New("configuration: not a SEQUENCE")
	}
	entries, err := parseEntries(v.FullBytes)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfgOID := append(append(asn1.ObjectIdentifier{}, OIDSGXExtensions...), arcConfiguration)
	var c Configuration
	for _, e := range entries {
		arc, ok := subArc(e.id, cfgOID)
		if !ok {
			continue
		}
		var dst **bool
		switch arc {
		case arcConfigDynamicPlatform:
			dst = &c.DynamicPlatform
		case arcConfigCachedKeys:
			dst = &c.CachedKeys
		case arcConfigSMTEnabled:
			dst = &c.SMTEnabled
		default:
			continue
		}
		if *dst != nil {
			return nil, fmt.Errorf("configuration: %v appears twice", e.id)
		}
		var b bool
		if err := unmarshalAll(e.value.FullBytes, &b); err != nil {
			return nil, fmt.Errorf("configuration %v: %w", e.id, err)
		}
		*dst = &b
	}
	return &c, nil
}

// entry is one SEQUENCE { OBJECT IDENTIFIER, value } of the extension.
type entry struct {
	id    asn1.ObjectIdentifier
	value asn1.RawValue
}

// parseEntries parses der, which must be exactly one SEQUENCE OF SEQUENCE {
// OBJECT IDENTIFIER, ANY }, with no bytes after any element.
func parseEntries(der []byte) ([]entry, error) {
	var seq []asn1.RawValue
	if err := unmarshalAll(der, &seq); err != nil {
		return nil, err
	}
	if len(seq) > maxEntries {
		return nil, fmt.Errorf("%d entries, limit %d", len(seq), maxEntries)
	}
	out := make([]entry, 0, len(seq))
	for i, raw := range seq {
		if !isSequence(raw) {
			return nil, fmt.Errorf("entry %d: not a SEQUENCE", i)
		}
		var e entry
		rest, err := asn1.Unmarshal(raw.Bytes, &e.id)
		if err != nil {
			return nil, fmt.Errorf("entry %d: identifier: %w", i, err)
		}
		rest, err = asn1.Unmarshal(rest, &e.value)
		if err != nil {
			return nil, fmt.Errorf("entry %d: value: %w", i, err)
		}
		if len(rest) != 0 {
			return nil, fmt.Errorf("entry %d: %d trailing bytes", i, len(rest))
		}
		out = append(out, e)
	}
	return out, nil
}

// subArc reports whether id is parent.N and returns N.
func subArc(id, parent asn1.ObjectIdentifier) (int, bool) {
	if len(id) != len(parent)+1 {
		return 0, false
	}
	for i := range parent {
		if id[i] != parent[i] {
			return 0, false
		}
	}
	return id[len(parent)], true
}

func isSequence(v asn1.RawValue) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence && v.IsCompound
}

// octets copies an OCTET STRING of exactly len(dst) bytes into dst.
func octets(v asn1.RawValue, dst []byte) error {
	if v.Class != asn1.ClassUniversal || v.Tag != asn1.TagOctetString || v.IsCompound {
		return errors.New("not an OCTET STRING")
	}
	if len(v.Bytes) != len(dst) {
		return fmt.Errorf("%d bytes, want %d", len(v.Bytes), len(dst))
	}
	copy(dst, v.Bytes)
	return nil
}

// integer parses an INTEGER in 0..max.
func integer(v asn1.RawValue, max int64) (int64, error) {
	var n int64
	if err := unmarshalAll(v.FullBytes, &n); err != nil {
		return 0, err
	}
	if n < 0 || n > max {
		return 0, fmt.Errorf("value %d out of range 0..%d", n, max)
	}
	return n, nil
}

func unmarshalAll(der []byte, v any) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes", len(rest))
	}
	return nil
}
