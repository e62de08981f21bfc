package imaging

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const examplesDir = "../models/chest/examples"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSniff(t *testing.T) {
	dcm := explicitLE(imageElems(2, 2)...)
	pngWithDICM := append([]byte(nil), dcm...)
	copy(pngWithDICM, pngSignature)
	tests := []struct {
		name string
		in   []byte
		want Format
	}{
		{"png", []byte(pngSignature + "rest"), FormatPNG},
		{"jpeg", []byte("\xff\xd8\xff\xe0"), FormatJPEG},
		{"dicom", dcm, FormatDICOM},
		{"dual-format preamble is DICOM", pngWithDICM, FormatDICOM},
		{"empty", nil, FormatInvalid},
		{"text", []byte("hello, world"), FormatInvalid},
		{"DICM at wrong offset", append(make([]byte, 127), "DICM...."...), FormatInvalid},
		{"short png signature", []byte(pngSignature[:7]), FormatInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.in); got != tt.want {
				t.Errorf("Sniff = %v, want %v", got, tt.want)
			}
		})
	}
	if FormatInvalid.String() != "invalid" || Format(99).String() != "invalid" {
		t.Error("invalid formats must print as invalid")
	}
}

func TestShape(t *testing.T) {
	s := Shape()
	if len(s) != 4 || s[0] != 1 || s[1] != 1 || s[2] != Side || s[3] != Side {
		t.Fatalf("Shape = %v", s)
	}
}

// TestExamplePNGs decodes the model's committed example images and checks
// the nodule example against the tensor train.py fed to onnxruntime.
func TestExamplePNGs(t *testing.T) {
	for _, name := range []string{"normal", "nodule", "effusion", "cardiomegaly"} {
		t.Run(name, func(t *testing.T) {
			im, err := Decode(readFile(t, filepath.Join(examplesDir, name+".png")))
			if err != nil {
				t.Fatal(err)
			}
			if im.Meta.Format != FormatPNG || im.Meta.Width != Side || im.Meta.Height != Side || im.Meta.Modality != "" {
				t.Errorf("Meta = %+v", im.Meta)
			}
			checkTensor(t, im.Pixels)
			if name != "nodule" {
				return
			}
			ref := readFile(t, "testdata/nodule.f32")
			if len(ref) != 4*Side*Side {
				t.Fatalf("reference has %d bytes", len(ref))
			}
			var maxDiff float64
			for i, v := range im.Pixels {
				r := math.Float32frombits(binary.LittleEndian.Uint32(ref[4*i:]))
				maxDiff = max(maxDiff, math.Abs(float64(v-r)))
			}
			if maxDiff > 1e-3 {
				t.Errorf("max |imaging - train.py| = %g, want <= 1e-3", maxDiff)
			}
		})
	}
}

func checkTensor(t *testing.T, px []float32) {
	t.Helper()
	if len(px) != Side*Side {
		t.Fatalf("tensor has %d values, want %d", len(px), Side*Side)
	}
	for i, v := range px {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("pixel %d = %v outside [0,1]", i, v)
		}
	}
}

func TestDecodeRaster(t *testing.T) {
	rgba := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 300; x++ {
			rgba.Set(x, y, color.RGBA{R: 200, G: 100, B: 50, A: 255})
		}
	}
	wantRGB := float32((19595*uint32(200*257)+38470*uint32(100*257)+7471*uint32(50*257)+1<<15)>>16) / 65535

	g16 := image.NewGray16(image.Rect(0, 0, 10, 10))
	for i := range 10 {
		for j := range 10 {
			g16.SetGray16(i, j, color.Gray16{Y: 0x8000})
		}
	}
	gray := image.NewGray(image.Rect(0, 0, 64, 32))
	for i := range gray.Pix {
		gray.Pix[i] = 128
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, gray, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	// A sub-image: luma must read from its own bounds, not from (0,0).
	sub := image.NewNRGBA(image.Rect(5, 7, 25, 27))
	for i := range sub.Pix {
		sub.Pix[i] = 255
	}

	tests := []struct {
		name   string
		in     []byte
		format Format
		w, h   int
		want   float32
		tol    float64
	}{
		{"rgba png resized", encodePNG(t, rgba), FormatPNG, 300, 200, wantRGB, 1e-6},
		{"gray16 png upsampled", encodePNG(t, g16), FormatPNG, 10, 10, float32(0x8000) / 65535, 1e-6},
		{"gray jpeg", jb.Bytes(), FormatJPEG, 64, 32, 128.0 / 255, 2.0 / 255},
		{"offset nrgba", encodePNG(t, sub), FormatPNG, 20, 20, 1, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if im.Meta.Format != tt.format || im.Meta.Width != tt.w || im.Meta.Height != tt.h {
				t.Errorf("Meta = %+v", im.Meta)
			}
			checkTensor(t, im.Pixels)
			for i, v := range im.Pixels {
				if math.Abs(float64(v-tt.want)) > tt.tol {
					t.Fatalf("pixel %d = %v, want %v", i, v, tt.want)
				}
			}
		})
	}
}

func TestResizeBilinear(t *testing.T) {
	tests := []struct {
		name         string
		src          []float32
		w, h, dw, dh int
		want         []float32
	}{
		{"identity", []float32{0, 0.25, 0.5, 1}, 2, 2, 2, 2, []float32{0, 0.25, 0.5, 1}},
		// Half-pixel centres: outputs at source positions -0.25, 0.25, 0.75, 1.25.
		{"upsample row", []float32{0, 1}, 2, 1, 4, 1, []float32{0, 0.25, 0.75, 1}},
		{"downsample averages pairs", []float32{0, 1, 0, 1}, 4, 1, 2, 1, []float32{0.5, 0.5}},
		{"single pixel", []float32{0.5}, 1, 1, 3, 2, []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resizeBilinear(tt.src, tt.w, tt.h, tt.dw, tt.dh)
			for i := range tt.want {
				if math.Abs(float64(got[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

// Values computed with pydicom 2.3.1 and numpy from the same files:
// CT: modality rescale then min-max; MR: linear VOI window 600/1600.
func TestDecodeDICOM(t *testing.T) {
	type probe struct {
		row, col int
		want     float64
	}
	tests := []struct {
		file     string
		syntax   string
		modality string
		w, h     int
		probes   []probe
	}{
		{"CT_small.dcm", "1.2.840.10008.1.2.1", "CT", 128, 128,
			[]probe{{0, 0, 0.022782355792535142}, {64, 64, 0.872515753756665}, {10, 100, 0.5327193407658749}}},
		{"MR_small.dcm", "1.2.840.10008.1.2.1", "MR", 64, 64,
			[]probe{{0, 0, 0.6910569105691057}, {32, 32, 0.23889931207004378}, {10, 50, 0.815509693558474}}},
		{"MR_small_implicit.dcm", "1.2.840.10008.1.2", "MR", 64, 64,
			[]probe{{0, 0, 0.6910569105691057}, {32, 32, 0.23889931207004378}, {10, 50, 0.815509693558474}}},
		{"MR_small_bigendian.dcm", "1.2.840.10008.1.2.2", "MR", 64, 64,
			[]probe{{0, 0, 0.6910569105691057}, {32, 32, 0.23889931207004378}, {10, 50, 0.815509693558474}}},
	}
	var mrTensor []float32
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readFile(t, filepath.Join("testdata", tt.file))
			plane, g, _, err := dicomPlane(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range tt.probes {
				if got := float64(plane[p.row*g.cols+p.col]); math.Abs(got-p.want) > 1e-6 {
					t.Errorf("pixel (%d,%d) = %v, want %v", p.row, p.col, got, p.want)
				}
			}
			im, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			want := Metadata{Format: FormatDICOM, Width: tt.w, Height: tt.h, Modality: tt.modality,
				PhotometricInterpretation: "MONOCHROME2", TransferSyntaxUID: tt.syntax, BitsStored: 16, Frames: 1}
			if im.Meta != want {
				t.Errorf("Meta = %+v, want %+v", im.Meta, want)
			}
			checkTensor(t, im.Pixels)
			if tt.modality == "MR" {
				if mrTensor == nil {
					mrTensor = im.Pixels
				} else if !equalF32(mrTensor, im.Pixels) {
					t.Error("same image in another transfer syntax gives a different tensor")
				}
			}
		})
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDICOMPixelTransforms covers signed samples, Bits Stored masking,
// MONOCHROME1 inversion, rescale and windowing on a 1×4 synthetic image.
func TestDICOMPixelTransforms(t *testing.T) {
	px16 := func(v ...uint16) elem { return elem{tag: pixelDataTag, vr: "OW", val: us(v...)} }
	bits := func(alloc, stored uint16) []elem {
		return []elem{
			{tag: 0x00280100, vr: "US", val: us(alloc)},
			{tag: 0x00280101, vr: "US", val: us(stored)},
			{tag: 0x00280102, vr: "US", val: us(stored - 1)},
		}
	}
	tests := []struct {
		name string
		els  []elem
		want []float32
	}{
		{"8-bit min-max", imageElems(1, 4, elem{tag: pixelDataTag, vr: "OB", val: []byte{0, 50, 100, 200}}),
			[]float32{0, 0.25, 0.5, 1}},
		{"MONOCHROME1 inverts", imageElems(1, 4, elem{tag: 0x00280004, vr: "CS", val: str("MONOCHROME1")},
			elem{tag: pixelDataTag, vr: "OB", val: []byte{0, 50, 100, 200}}),
			[]float32{1, 0.75, 0.5, 0}},
		{"signed 16-bit", imageElems(1, 4, append(bits(16, 16), elem{tag: 0x00280103, vr: "US", val: us(1)},
			px16(0xFFFF, 0, 1, 0xFFFE))...), // -1, 0, 1, -2
			[]float32{1.0 / 3, 2.0 / 3, 1, 0}},
		{"12 of 16 bits stored, high bits masked", imageElems(1, 4, append(bits(16, 12),
			px16(0xF000, 0x0800, 0x0FFF, 0xF400))...), // 0, 2048, 4095, 1024
			[]float32{0, 2048.0 / 4095, 1, 1024.0 / 4095}},
		{"signed 12-bit sign-extends", imageElems(1, 4, append(bits(16, 12), elem{tag: 0x00280103, vr: "US", val: us(1)},
			px16(0x0FFF, 0x0000, 0x07FF, 0x0800))...), // -1, 0, 2047, -2048
			[]float32{2047.0 / 4095, 2048.0 / 4095, 1, 0}},
		{"window 100/101 with rescale", imageElems(1, 4,
			elem{tag: 0x00281050, vr: "DS", val: str("100")},
			elem{tag: 0x00281051, vr: "DS", val: str("101\\7")},
			elem{tag: 0x00281052, vr: "DS", val: str("-10")},
			elem{tag: 0x00281053, vr: "DS", val: str("2")},
			elem{tag: pixelDataTag, vr: "OB", val: []byte{0, 30, 55, 80}}), // -10, 50, 100, 150
			[]float32{0, 0.005, 0.505, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plane, _, _, err := dicomPlane(explicitLE(tt.els...))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				if math.Abs(float64(plane[i]-tt.want[i])) > 1e-6 {
					t.Fatalf("plane = %v, want %v", plane, tt.want)
				}
			}
		})
	}
}

// pngWithSize rewrites a PNG's IHDR width and height (and its CRC).
func pngWithSize(t *testing.T, w, h uint32) []byte {
	b := encodePNG(t, image.NewGray(image.Rect(0, 0, 1, 1)))
	const ihdr = 8 + 4 // signature, chunk length
	binary.BigEndian.PutUint32(b[ihdr+4:], w)
	binary.BigEndian.PutUint32(b[ihdr+8:], h)
	binary.BigEndian.PutUint32(b[ihdr+4+13:], crc32.ChecksumIEEE(b[ihdr:ihdr+4+13]))
	return b
}

func TestDecodeErrors(t *testing.T) {
	mr := readFile(t, "testdata/MR_small.dcm")
	valid := explicitLE(imageElems(4, 4)...)
	if _, err := Decode(valid); err != nil {
		t.Fatalf("synthetic baseline must decode: %v", err)
	}
	icon := elem{tag: 0x00880200, vr: "SQ", undefined: true, val: func() []byte {
		var b bytes.Buffer
		var item bytes.Buffer
		for _, e := range imageElems(2, 2) {
			if e.tag > 0x00280000 {
				putElem(&item, e, false)
			}
		}
		putElem(&b, elem{tag: itemTag, val: item.Bytes()}, true)
		putElem(&b, elem{tag: seqDelimTag}, true)
		return b.Bytes()
	}()}
	deep := func(n int) elem {
		// n nested undefined-length sequences, each with one undefined item.
		var inner []byte
		for range n {
			var b bytes.Buffer
			putElem(&b, elem{tag: itemTag, undefined: true, val: func() []byte {
				var ib bytes.Buffer
				if inner != nil {
					putElem(&ib, elem{tag: 0x00081115, vr: "SQ", undefined: true, val: inner}, false)
				}
				putElem(&ib, elem{tag: itemDelimTag}, true)
				return ib.Bytes()
			}()}, true)
			putElem(&b, elem{tag: seqDelimTag}, true)
			inner = b.Bytes()
		}
		return elem{tag: 0x00081115, vr: "SQ", undefined: true, val: inner}
	}
	withLen := func(b []byte, off int, vl uint32) []byte {
		b = append([]byte(nil), b...)
		binary.LittleEndian.PutUint32(b[off:], vl)
		return b
	}
	// Offset of the first dataset element's value length (a CS, 16-bit).
	metaEnd := metaStart + 12 + int(binary.LittleEndian.Uint32(valid[metaStart+8:]))
	longStr := explicitLE(imageElems(4, 4, elem{tag: 0x00081030, vr: "UT", val: str("x")})...)

	tests := []struct {
		name  string
		in    []byte
		want  error
		check func(t *testing.T, err error)
	}{
		{name: "empty", in: nil, want: ErrUnknownFormat},
		{name: "text", in: []byte("this is not an image at all, just words"), want: ErrUnknownFormat},
		{name: "too large", in: make([]byte, MaxInputBytes+1), want: ErrLimit, check: func(t *testing.T, err error) {
			var le *LimitError
			if !errors.As(err, &le) || le.What != "input bytes" || le.Actual != MaxInputBytes+1 {
				t.Errorf("err = %#v", err)
			}
		}},
		{name: "truncated png", in: encodePNG(t, image.NewGray(image.Rect(0, 0, 50, 50)))[:40], want: ErrMalformed},
		{name: "png huge header", in: pngWithSize(t, 100000, 100000), want: ErrLimit},
		{name: "png too many pixels", in: pngWithSize(t, 8000, 8000), want: ErrLimit, check: func(t *testing.T, err error) {
			var le *LimitError
			if !errors.As(err, &le) || le.What != "pixels" {
				t.Errorf("err = %v", err)
			}
		}},
		{name: "png zero width", in: pngWithSize(t, 0, 10), want: ErrMalformed},
		{name: "jpeg garbage", in: []byte("\xff\xd8\xff\xe0garbage"), want: ErrMalformed},
		{name: "compressed syntax RLE", in: readFile(t, "testdata/MR_small_RLE.dcm"), want: ErrUnsupported, check: func(t *testing.T, err error) {
			var te *TransferSyntaxError
			if !errors.As(err, &te) || te.UID != "1.2.840.10008.1.2.5" || te.Name != "RLE Lossless" {
				t.Errorf("err = %#v", err)
			}
			if !strings.Contains(err.Error(), "RLE Lossless") {
				t.Errorf("error %q does not name the syntax", err)
			}
		}},
		{name: "deflate refused", in: buildDICOM("1.2.840.10008.1.2.1.99", imageElems(2, 2)...), want: ErrUnsupported},
		{name: "jpeg baseline syntax", in: buildDICOM("1.2.840.10008.1.2.4.50", imageElems(2, 2)...), want: ErrUnsupported},
		{name: "unknown syntax", in: buildDICOM("1.2.3.4", imageElems(2, 2)...), want: ErrUnsupported},
		{name: "missing syntax", in: buildDICOM("", imageElems(2, 2)...), want: ErrMalformed},
		{name: "truncated dicom (header)", in: mr[:200], want: ErrMalformed},
		{name: "truncated dicom (mid pixels)", in: mr[:len(mr)-1000], want: ErrMalformed},
		{name: "truncated dicom (one byte)", in: mr[:len(mr)-1], want: ErrMalformed},
		{name: "preamble only", in: append(make([]byte, 128), "DICM"...), want: ErrMalformed},
		{name: "no meta group length", in: func() []byte {
			b := append([]byte(nil), valid...)
			binary.LittleEndian.PutUint16(b[metaStart+2:], 1)
			return b
		}(), want: ErrMalformed},
		{name: "meta group length too long", in: withLen(valid, metaStart+8, 1<<30), want: ErrMalformed},
		{name: "element length 4 GiB", in: withLen(longStr, bytes.Index(longStr, []byte("UT\x00\x00"))+4, 0xFFFFFFF0), want: ErrMalformed},
		{name: "short length past end", in: func() []byte {
			b := append([]byte(nil), valid...)
			binary.LittleEndian.PutUint16(b[metaEnd+6:], 0xFFF0)
			return b
		}(), want: ErrMalformed},
		{name: "huge dimensions", in: explicitLE(imageElems(4, 4,
			elem{tag: 0x00280010, vr: "US", val: us(65535)}, elem{tag: 0x00280011, vr: "US", val: us(65535)})...), want: ErrLimit},
		{name: "pixel count overflows 32 bits", in: explicitLE(imageElems(4, 4,
			elem{tag: 0x00280008, vr: "IS", val: str("64")},
			elem{tag: 0x00280010, vr: "US", val: us(4096)}, elem{tag: 0x00280011, vr: "US", val: us(8192)},
			elem{tag: 0x00280100, vr: "US", val: us(16)}, elem{tag: 0x00280101, vr: "US", val: us(16)},
			elem{tag: 0x00280102, vr: "US", val: us(15)}, elem{tag: pixelDataTag, vr: "OW", val: []byte{}})...), want: ErrMalformed},
		{name: "pixel length mismatch", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280010, vr: "US", val: us(5)})...), want: ErrMalformed},
		{name: "too many frames", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280008, vr: "IS", val: str("1000")})...), want: ErrLimit},
		{name: "frames not a number", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280008, vr: "IS", val: str("x")})...), want: ErrMalformed},
		{name: "frames as binary integer", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280008, vr: "US", val: us(1)})...), want: ErrMalformed},
		{name: "zero frames", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280008, vr: "IS", val: str("0")})...), want: ErrMalformed},
		{name: "rows missing", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280010})...), want: ErrMalformed},
		{name: "rows empty", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280010, vr: "US", val: []byte{}})...), want: ErrMalformed},
		{name: "rows as text", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280010, vr: "CS", val: str("4")})...), want: ErrMalformed},
		{name: "rows zero", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280010, vr: "US", val: us(0)})...), want: ErrMalformed},
		{name: "rgb", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280004, vr: "CS", val: str("RGB")})...), want: ErrUnsupported},
		{name: "three samples", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280002, vr: "US", val: us(3)})...), want: ErrUnsupported},
		{name: "32 bits allocated", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280100, vr: "US", val: us(32)})...), want: ErrUnsupported},
		{name: "1 bit allocated", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280100, vr: "US", val: us(1)})...), want: ErrUnsupported},
		{name: "bits stored above allocated", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280101, vr: "US", val: us(9)})...), want: ErrMalformed},
		{name: "high bit not low-aligned", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280102, vr: "US", val: us(3)})...), want: ErrUnsupported},
		{name: "pixel representation 2", in: explicitLE(imageElems(4, 4, elem{tag: 0x00280103, vr: "US", val: us(2)})...), want: ErrMalformed},
		{name: "window width zero", in: explicitLE(imageElems(4, 4, elem{tag: 0x00281050, vr: "DS", val: str("10")}, elem{tag: 0x00281051, vr: "DS", val: str("0")})...), want: ErrMalformed},
		{name: "rescale slope not a number", in: explicitLE(imageElems(4, 4, elem{tag: 0x00281053, vr: "DS", val: str("abc")})...), want: ErrMalformed},
		{name: "rescale intercept infinite", in: explicitLE(imageElems(4, 4, elem{tag: 0x00281052, vr: "DS", val: str("1e999")})...), want: ErrMalformed},
		{name: "no pixel data", in: explicitLE(imageElems(4, 4, elem{tag: pixelDataTag})...), want: ErrMalformed},
		{name: "encapsulated pixels in native syntax", in: explicitLE(imageElems(4, 4, elem{tag: pixelDataTag, vr: "OB", undefined: true, val: us(0xFFFE, 0xE0DD, 0, 0)})...), want: ErrMalformed},
		{name: "nested pixel data", in: explicitLE(imageElems(4, 4, icon)...), want: ErrUnsupported},
		{name: "nesting too deep", in: explicitLE(imageElems(4, 4, deep(MaxDICOMDepth+1))...), want: ErrLimit},
		{name: "unterminated sequence", in: explicitLE(elem{tag: 0x00081115, vr: "SQ", undefined: true, val: us(0xFFFE, 0xE000, 0, 0)}), want: ErrMalformed},
		{name: "element inside sequence", in: explicitLE(elem{tag: 0x00081115, vr: "SQ", val: explicitLE(elem{tag: 0x00080060, vr: "CS", val: str("CT")})[metaEnd:]}), want: ErrMalformed},
		{name: "item at top level", in: explicitLE(elem{tag: itemTag, vr: "", val: nil, undefined: false}), want: ErrMalformed},
		{name: "stray delimiter", in: explicitLE(append(imageElems(4, 4)[:1], elem{tag: seqDelimTag})...), want: ErrMalformed},
		{name: "tags out of order", in: explicitLE(append(imageElems(4, 4), elem{tag: 0x00080060, vr: "CS", val: str("CT")})...), want: ErrMalformed},
		{name: "undefined length string", in: explicitLE(elem{tag: 0x00081030, vr: "UT", undefined: true}), want: ErrMalformed},
		{name: "invalid VR", in: explicitLE(elem{tag: 0x00080060, vr: "c\x01", val: str("CT")}), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Decode(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode error = %v, want %v", err, tt.want)
			}
			if im != nil {
				t.Error("an image was returned with an error")
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// TestNoPatientDataInErrors corrupts real files at many offsets and checks
// that no error quotes patient attributes.
func TestNoPatientDataInErrors(t *testing.T) {
	secrets := map[string][]string{
		"CT_small.dcm": {"CompressedSamples", "1CT1"},
		"MR_small.dcm": {"CompressedSamples", "4MR1"},
	}
	for file, words := range secrets {
		data := readFile(t, filepath.Join("testdata", file))
		for cut := 132; cut < len(data); cut += 97 {
			for _, mutate := range []func([]byte) []byte{
				func(b []byte) []byte { return b[:cut] },
				func(b []byte) []byte { b = append([]byte(nil), b...); b[cut] ^= 0xFF; return b },
			} {
				_, err := Decode(mutate(data))
				if err == nil {
					continue
				}
				for _, w := range words {
					if strings.Contains(err.Error(), w) {
						t.Fatalf("%s cut %d: error %q contains patient data", file, cut, err)
					}
				}
			}
		}
	}
}

// TestDICOMSequencesAccepted checks that the structural walk accepts the
// sequence encodings PS3.5 §7.5 allows, in both VR encodings, so its
// strictness does not refuse ordinary files.
func TestDICOMSequencesAccepted(t *testing.T) {
	item := func(implicit bool) []byte {
		var b bytes.Buffer
		putElem(&b, elem{tag: 0x00080100, vr: "SH", val: str("CODE")}, implicit)
		putElem(&b, elem{tag: 0x00080102, vr: "SH", val: str("DCM")}, implicit)
		return b.Bytes()
	}
	seq := func(implicit bool) []byte {
		var b bytes.Buffer
		putElem(&b, elem{tag: itemTag, val: item(implicit)}, true)                                                       // defined-length item
		putElem(&b, elem{tag: itemTag, undefined: true, val: append(item(implicit), us(0xFFFE, 0xE00D, 0, 0)...)}, true) // undefined-length item
		return b.Bytes()
	}
	withDelim := func(b []byte) []byte { return append(b, us(0xFFFE, 0xE0DD, 0, 0)...) }
	const implicitLE = "1.2.840.10008.1.2"
	tests := []struct {
		name string
		in   []byte
	}{
		{"explicit undefined-length SQ", explicitLE(imageElems(2, 2, elem{tag: 0x00081115, vr: "SQ", undefined: true, val: withDelim(seq(false))})...)},
		{"explicit defined-length SQ", explicitLE(imageElems(2, 2, elem{tag: 0x00081115, vr: "SQ", val: seq(false)})...)},
		{"explicit empty SQ", explicitLE(imageElems(2, 2, elem{tag: 0x00081115, vr: "SQ", val: []byte{}})...)},
		{"explicit UN of undefined length", explicitLE(imageElems(2, 2, elem{tag: 0x00091010, vr: "UN", undefined: true, val: withDelim(seq(false))})...)},
		{"implicit undefined-length SQ", buildDICOM(implicitLE, imageElems(2, 2, elem{tag: 0x00081115, undefined: true, val: withDelim(seq(true))})...)},
		{"implicit defined-length SQ", buildDICOM(implicitLE, imageElems(2, 2, elem{tag: 0x00081115, val: seq(true)})...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := Decode(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			checkTensor(t, im.Pixels)
		})
	}
}
