package imaging

import (
	"bytes"
	"encoding/binary"
)

// Test helpers that write small PS3.10 files, so each negative test can
// change exactly one field of an otherwise valid file.

type elem struct {
	tag uint32
	vr  string
	val []byte
	// undefined writes an undefined length; val then holds the raw contents
	// (items and delimiters included).
	undefined bool
}

func us(v ...uint16) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], x)
	}
	return b
}

// str pads a string value to even length as PS3.5 §7.1 requires.
func str(s string) []byte {
	if len(s)%2 == 1 {
		s += " "
	}
	return []byte(s)
}

func putElem(buf *bytes.Buffer, e elem, implicit bool) {
	var h [12]byte
	binary.LittleEndian.PutUint16(h[0:], uint16(e.tag>>16))
	binary.LittleEndian.PutUint16(h[2:], uint16(e.tag))
	vl := uint32(len(e.val))
	if e.undefined {
		vl = undefinedLength
	}
	switch {
	case implicit:
		binary.LittleEndian.PutUint32(h[4:], vl)
		buf.Write(h[:8])
	case longVRs[e.vr]:
		copy(h[4:], e.vr)
		binary.LittleEndian.PutUint32(h[8:], vl)
		buf.Write(h[:12])
	default:
		copy(h[4:], e.vr)
		binary.LittleEndian.PutUint16(h[6:], uint16(vl))
		buf.Write(h[:8])
	}
	buf.Write(e.val)
}

// buildDICOM writes a file with the given transfer syntax and dataset
// elements (in the order given; little endian).
func buildDICOM(ts string, els ...elem) []byte {
	var meta bytes.Buffer
	tsb := []byte(ts)
	if len(tsb)%2 == 1 {
		tsb = append(tsb, 0)
	}
	putElem(&meta, elem{tag: 0x00020001, vr: "OB", val: []byte{0, 1}}, false)
	putElem(&meta, elem{tag: transferSynTag, vr: "UI", val: tsb}, false)
	var out bytes.Buffer
	out.Write(make([]byte, dicomPreLen))
	out.WriteString(dicomMagic)
	putElem(&out, elem{tag: metaGroupLenTag, vr: "UL", val: binary.LittleEndian.AppendUint32(nil, uint32(meta.Len()))}, false)
	out.Write(meta.Bytes())
	implicit := ts == "1.2.840.10008.1.2"
	for _, e := range els {
		putElem(&out, e, implicit)
	}
	return out.Bytes()
}

// imageElems describes a rows×cols 8-bit MONOCHROME2 image with a gradient;
// override replaces elements by tag, and a nil val in override removes one.
func imageElems(rows, cols int, override ...elem) []elem {
	px := make([]byte, rows*cols)
	for i := range px {
		px[i] = byte(i * 255 / max(len(px)-1, 1))
	}
	base := []elem{
		{tag: 0x00080060, vr: "CS", val: str("OT")},
		{tag: 0x00100010, vr: "PN", val: str("Doe^Jane")},
		{tag: 0x00280002, vr: "US", val: us(1)},
		{tag: 0x00280004, vr: "CS", val: str("MONOCHROME2")},
		{tag: 0x00280010, vr: "US", val: us(uint16(rows))},
		{tag: 0x00280011, vr: "US", val: us(uint16(cols))},
		{tag: 0x00280100, vr: "US", val: us(8)},
		{tag: 0x00280101, vr: "US", val: us(8)},
		{tag: 0x00280102, vr: "US", val: us(7)},
		{tag: 0x00280103, vr: "US", val: us(0)},
		{tag: pixelDataTag, vr: "OB", val: px},
	}
	out := base[:0:0]
	for _, b := range base {
		for _, o := range override {
			if o.tag == b.tag {
				b = o
			}
		}
		if b.val != nil || b.undefined {
			out = append(out, b)
		}
	}
	// Overrides for tags not in base are inserted in ascending order.
	for _, o := range override {
		found := false
		for _, b := range base {
			found = found || b.tag == o.tag
		}
		if !found {
			i := 0
			for i < len(out) && out[i].tag < o.tag {
				i++
			}
			out = append(out[:i], append([]elem{o}, out[i:]...)...)
		}
	}
	return out
}

func explicitLE(els ...elem) []byte { return buildDICOM("1.2.840.10008.1.2.1", els...) }
