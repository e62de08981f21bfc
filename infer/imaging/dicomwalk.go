package imaging

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// PS3.5 and PS3.10 constants used by the structural walk.
const (
	undefinedLength  = 0xFFFFFFFF // PS3.5 §7.1.1: value length "undefined"
	metaStart        = dicomPreLen + len(dicomMagic)
	itemTag          = 0xFFFEE000 // PS3.5 §7.5: Item
	itemDelimTag     = 0xFFFEE00D // Item Delimitation Item
	seqDelimTag      = 0xFFFEE0DD // Sequence Delimitation Item
	metaGroupLenTag  = 0x00020000 // File Meta Information Group Length
	transferSynTag   = 0x00020010 // Transfer Syntax UID
	pixelDataTag     = 0x7FE00010
	explicitShortHdr = 8  // tag, VR, 16-bit length
	explicitLongHdr  = 12 // tag, VR, reserved, 32-bit length
)

// longVRs take a 32-bit value length in explicit VR encodings. This is the
// exact list of github.com/suyashkumar/dicom v1.1.0 (read.go readVL), not
// PS3.5 Table 7.1-1 (which adds OV, SV, UV): the walk must split the file
// into the same elements as the library, or its length checks would guard
// elements other than the ones the library allocates for.
var longVRs = map[string]bool{
	"NA": true, "OB": true, "OD": true, "OF": true, "OL": true, "OW": true,
	"SQ": true, "UN": true, "UC": true, "UR": true, "UT": true,
}

// nativeSyntaxes are the transfer syntaxes whose pixel data is native
// (uncompressed). Deflated Explicit VR Little Endian is left out on purpose:
// the library inflates it with no size limit, a decompression bomb.
var nativeSyntaxes = map[string]binary.ByteOrder{
	uid.ImplicitVRLittleEndian: binary.LittleEndian,
	uid.ExplicitVRLittleEndian: binary.LittleEndian,
	uid.ExplicitVRBigEndian:    binary.BigEndian,
}

// walkResult is what the structural walk learns about a DICOM file.
type walkResult struct {
	transferSyntax string
	pixelVL        uint32 // value length of the top-level Pixel Data element
	hasPixels      bool
}

type ctxKind int

const (
	ctxDataset ctxKind = iota
	ctxSequence
	ctxItem
)

type walkCtx struct {
	kind    ctxKind
	end     int    // offset where a defined-length context ends; -1 if undefined length
	lastTag uint32 // datasets only: tags must ascend (PS3.5 §7.1)
	any     bool   // a tag has been seen in this dataset
}

// walkDICOM checks the element structure of a PS3.10 file before the DICOM
// library parses it.
//
// Why: github.com/suyashkumar/dicom allocates each value's declared length
// before reading it (make([]byte, vl)), so a 40-byte file can declare a 4 GiB
// string, and its native pixel reader allocates rows×columns×frames samples
// from header values whose product is compared with the pixel data length
// only modulo 2^32. The walk proves that every element fits inside the bytes
// (and the enclosing sequence or item) that contain it, that sequences nest
// at most MaxDICOMDepth deep, that there are at most MaxDICOMElements, that
// tags ascend in each dataset (so no duplicate Rows can differ between what
// is checked here and what the library uses), and that the only pixel data
// is one top-level native element. The walk is strict: anything the library
// might read differently is refused rather than guessed.
func walkDICOM(data []byte) (*walkResult, error) {
	if len(data) < metaStart+explicitLongHdr {
		return nil, fmt.Errorf("%w: dicom: %d bytes is shorter than a file meta header", ErrMalformed, len(data))
	}
	res := &walkResult{}

	// File meta information: always Explicit VR Little Endian (PS3.10 §7.1),
	// starting with its group length, which the library uses as a read limit.
	le := binary.LittleEndian
	off := metaStart
	if t := tagAt(data, off, le); t != metaGroupLenTag || string(data[off+4:off+6]) != "UL" || le.Uint16(data[off+6:]) != 4 {
		return nil, fmt.Errorf("%w: dicom: file meta header must start with (0002,0000) UL, got %s", ErrMalformed, tagString(t))
	}
	metaLen := int64(le.Uint32(data[off+8:]))
	off += 12
	metaEnd := int64(off) + metaLen
	if metaEnd > int64(len(data)) {
		return nil, fmt.Errorf("%w: dicom: file meta group length %d exceeds the %d bytes left", ErrMalformed, metaLen, len(data)-off)
	}
	var last uint32 = metaGroupLenTag
	for off < int(metaEnd) {
		if off+explicitShortHdr > int(metaEnd) {
			return nil, fmt.Errorf("%w: dicom: file meta element at offset %d truncated", ErrMalformed, off)
		}
		t := tagAt(data, off, le)
		if t>>16 != 0x0002 {
			return nil, fmt.Errorf("%w: dicom: element %s inside the file meta group", ErrMalformed, tagString(t))
		}
		if t <= last {
			return nil, fmt.Errorf("%w: dicom: file meta element %s out of order", ErrMalformed, tagString(t))
		}
		last = t
		vr, vl, hdr, err := explicitHeader(data, off, int(metaEnd), le)
		if err != nil {
			return nil, err
		}
		if vl == undefinedLength || vr == "SQ" {
			return nil, fmt.Errorf("%w: dicom: file meta element %s has a sequence or undefined length", ErrMalformed, tagString(t))
		}
		start := off + hdr
		if int64(start)+int64(vl) > metaEnd {
			return nil, fmt.Errorf("%w: dicom: file meta element %s length %d exceeds the meta group", ErrMalformed, tagString(t), vl)
		}
		if t == transferSynTag {
			res.transferSyntax = strings.TrimRight(string(data[start:start+int(vl)]), " \x00")
		}
		off = start + int(vl)
	}
	if res.transferSyntax == "" {
		return nil, fmt.Errorf("%w: dicom: file meta header has no Transfer Syntax UID (0002,0010)", ErrMalformed)
	}
	bo, ok := nativeSyntaxes[res.transferSyntax]
	if !ok {
		e := &TransferSyntaxError{UID: printableUID(res.transferSyntax)}
		if info, err := uid.Lookup(res.transferSyntax); err == nil {
			e.Name = info.Name
		}
		return nil, e
	}
	implicit := res.transferSyntax == uid.ImplicitVRLittleEndian
	return res, walkDataset(data, off, bo, implicit, res)
}

func walkDataset(data []byte, off int, bo binary.ByteOrder, implicit bool, res *walkResult) error {
	stack := []walkCtx{{kind: ctxDataset, end: len(data)}}
	limit := func() int { // innermost defined end; every pushed context fits in its parent
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].end >= 0 {
				return stack[i].end
			}
		}
		return len(data)
	}
	push := func(c walkCtx) error {
		if len(stack) > MaxDICOMDepth {
			return &LimitError{What: "dicom nesting depth", Limit: MaxDICOMDepth, Actual: int64(len(stack))}
		}
		stack = append(stack, c)
		return nil
	}
	elements := 0
	for {
		for len(stack) > 1 && stack[len(stack)-1].end == off {
			stack = stack[:len(stack)-1]
		}
		if off == len(data) {
			break
		}
		end := limit()
		if off+8 > end {
			return fmt.Errorf("%w: dicom: element at offset %d truncated", ErrMalformed, off)
		}
		if elements++; elements > MaxDICOMElements {
			return &LimitError{What: "dicom elements", Limit: MaxDICOMElements, Actual: int64(elements)}
		}
		t := tagAt(data, off, bo)
		cur := &stack[len(stack)-1]
		if t>>16 == 0xFFFE {
			// Items and delimiters: tag and 32-bit length in every encoding.
			vl := bo.Uint32(data[off+4:])
			off += 8
			switch t {
			case itemTag:
				if cur.kind != ctxSequence {
					return fmt.Errorf("%w: dicom: item at offset %d outside a sequence", ErrMalformed, off-8)
				}
				c := walkCtx{kind: ctxItem, end: -1}
				if vl != undefinedLength {
					if int64(off)+int64(vl) > int64(end) {
						return fmt.Errorf("%w: dicom: item at offset %d length %d exceeds its container", ErrMalformed, off-8, vl)
					}
					c.end = off + int(vl)
				}
				if err := push(c); err != nil {
					return err
				}
			case itemDelimTag, seqDelimTag:
				want := ctxItem
				if t == seqDelimTag {
					want = ctxSequence
				}
				if cur.kind != want || cur.end != -1 || vl != 0 {
					return fmt.Errorf("%w: dicom: unexpected delimiter %s at offset %d", ErrMalformed, tagString(t), off-8)
				}
				stack = stack[:len(stack)-1]
			default:
				return fmt.Errorf("%w: dicom: unknown item tag %s at offset %d", ErrMalformed, tagString(t), off-8)
			}
			continue
		}
		if cur.kind == ctxSequence {
			return fmt.Errorf("%w: dicom: element %s directly inside a sequence", ErrMalformed, tagString(t))
		}
		if cur.any && t <= cur.lastTag {
			return fmt.Errorf("%w: dicom: element %s at offset %d out of ascending order", ErrMalformed, tagString(t), off)
		}
		cur.any, cur.lastTag = true, t

		var vr string
		var vl uint32
		var hdr int
		if implicit {
			vr, vl, hdr = implicitVR(t), bo.Uint32(data[off+4:]), 8
		} else {
			var err error
			if vr, vl, hdr, err = explicitHeader(data, off, end, bo); err != nil {
				return err
			}
		}
		start := off + hdr
		if t == pixelDataTag {
			if len(stack) > 1 {
				return fmt.Errorf("%w: dicom: nested pixel data (icon image sequence) at offset %d", ErrUnsupported, off)
			}
			if vl == undefinedLength {
				return fmt.Errorf("%w: dicom: encapsulated pixel data in a native transfer syntax", ErrMalformed)
			}
			res.pixelVL, res.hasPixels = vl, true
		}
		// The library reads SQ, and UN of undefined length, as sequences.
		isSeq := t != pixelDataTag && (vr == "SQ" || (vr == "UN" && vl == undefinedLength))
		switch {
		case vl == undefinedLength && isSeq:
			if err := push(walkCtx{kind: ctxSequence, end: -1}); err != nil {
				return err
			}
			off = start
		case vl == undefinedLength:
			return fmt.Errorf("%w: dicom: element %s (%s) has undefined length", ErrMalformed, tagString(t), vr)
		case int64(start)+int64(vl) > int64(end):
			return fmt.Errorf("%w: dicom: element %s length %d exceeds the %d bytes left", ErrMalformed, tagString(t), vl, max(end-start, 0))
		case isSeq:
			if err := push(walkCtx{kind: ctxSequence, end: start + int(vl)}); err != nil {
				return err
			}
			off = start
		default:
			off = start + int(vl)
		}
	}
	if len(stack) != 1 {
		return fmt.Errorf("%w: dicom: file ends inside a sequence or item", ErrMalformed)
	}
	return nil
}

// explicitHeader reads an Explicit VR element header at off (PS3.5 §7.1.2).
func explicitHeader(data []byte, off, end int, bo binary.ByteOrder) (vr string, vl uint32, hdr int, err error) {
	if off+explicitShortHdr > end {
		return "", 0, 0, fmt.Errorf("%w: dicom: element header at offset %d truncated", ErrMalformed, off)
	}
	b := data[off+4 : off+6]
	if b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z' {
		return "", 0, 0, fmt.Errorf("%w: dicom: element %s has an invalid VR % x", ErrMalformed, tagString(tagAt(data, off, bo)), b)
	}
	vr = string(b)
	if longVRs[vr] {
		if off+explicitLongHdr > end {
			return "", 0, 0, fmt.Errorf("%w: dicom: element header at offset %d truncated", ErrMalformed, off)
		}
		return vr, bo.Uint32(data[off+8:]), explicitLongHdr, nil
	}
	vl = uint32(bo.Uint16(data[off+6:]))
	if vl == 0xFFFF { // the library reads this as undefined length
		vl = undefinedLength
	}
	return vr, vl, explicitShortHdr, nil
}

// implicitVR mirrors the library's dictionary look-up for Implicit VR files.
func implicitVR(t uint32) string {
	tg := tag.Tag{Group: uint16(t >> 16), Element: uint16(t)}
	info, err := tag.Find(tg)
	if err != nil {
		return "UN"
	}
	if tg == tag.PixelData || tg == tag.OverlayData {
		return "OW"
	}
	return info.VRs[0]
}

func tagAt(data []byte, off int, bo binary.ByteOrder) uint32 {
	return uint32(bo.Uint16(data[off:]))<<16 | uint32(bo.Uint16(data[off+2:]))
}

func tagString(t uint32) string { return fmt.Sprintf("(%04X,%04X)", t>>16, t&0xFFFF) }

// printableUID bounds what of an unknown UID goes into an error: UIDs are
// digits and dots (PS3.5 §9.1), at most 64 characters.
func printableUID(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r == '.' || (r >= '0' && r <= '9') {
			return r
		}
		return '?'
	}, s)
}
