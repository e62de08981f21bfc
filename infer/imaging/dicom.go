package imaging

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// decodeDICOM decodes the first frame of a native-pixel DICOM file.
func decodeDICOM(data []byte) (*Image, error) {
	plane, g, w, err := dicomPlane(data)
	if err != nil {
		return nil, err
	}
	return &Image{
		Pixels: resizeBilinear(plane, g.cols, g.rows, Side, Side),
		Meta: Metadata{
			Format:                    FormatDICOM,
			Width:                     g.cols,
			Height:                    g.rows,
			Modality:                  g.modality,
			PhotometricInterpretation: g.photometric,
			TransferSyntaxUID:         w.transferSyntax,
			BitsStored:                g.bitsStored,
			Frames:                    g.frames,
		},
	}, nil
}

// dicomPlane decodes the first frame at its own size, normalized to [0,1].
//
// Order matters: walkDICOM first (structure, lengths, transfer syntax), then a
// library parse without pixel data to read and check the image attributes,
// and only then the full parse that allocates pixel buffers from them.
func dicomPlane(data []byte) ([]float32, *geometry, *walkResult, error) {
	w, err := walkDICOM(data)
	if err != nil {
		return nil, nil, nil, err
	}
	if !w.hasPixels {
		return nil, nil, nil, fmt.Errorf("%w: dicom: no Pixel Data (7FE0,0010)", ErrMalformed)
	}
	head, err := parseDICOM(data, dicom.SkipPixelData())
	if err != nil {
		return nil, nil, nil, err
	}
	g, err := readGeometry(&head, w)
	if err != nil {
		return nil, nil, nil, err
	}
	full, err := parseDICOM(data)
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := firstFrame(&full, g)
	if err != nil {
		return nil, nil, nil, err
	}
	return g.normalize(raw), g, w, nil
}

// parseDICOM runs the library parser on a walked file.
//
// Its error text is dropped: the library formats whole elements into some
// errors ("got: %v"), and an element can be a patient's name.
//
// The recover is defence in depth, not control flow. The walk and
// readGeometry are meant to make the library's unchecked indexing
// (MustGetInts(...)[0], type assertions on sequence items) unreachable, but a
// panic on one hostile upload must not take down the service holding other
// patients' requests.
func parseDICOM(data []byte, opts ...dicom.ParseOption) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			ds, err = dicom.Dataset{}, fmt.Errorf("%w: dicom: parser rejected the file", ErrMalformed)
		}
	}()
	// An unknown Specific Character Set only affects text this package never reads.
	opts = append(opts, dicom.AllowUnknownSpecificCharacterSet())
	ds, err = dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, opts...)
	if err != nil {
		return dicom.Dataset{}, fmt.Errorf("%w: dicom: parser rejected the file", ErrMalformed)
	}
	return ds, nil
}

// geometry holds the checked image attributes of a DICOM file.
type geometry struct {
	rows, cols, frames        int
	bitsAllocated             int
	bitsStored                int
	signed                    bool
	slope, intercept          float64
	hasWindow                 bool
	windowCenter, windowWidth float64
	photometric               string
	modality                  string
}

// readGeometry reads and checks the attributes that size the pixel buffers.
// Each is checked here because the library trusts them: rows×columns×frames
// is compared with the pixel data length before anything is allocated.
func readGeometry(ds *dicom.Dataset, w *walkResult) (*geometry, error) {
	g := &geometry{slope: 1}
	var err error
	if g.rows, err = intAttr(ds, tag.Rows, true, 0); err != nil {
		return nil, err
	}
	if g.cols, err = intAttr(ds, tag.Columns, true, 0); err != nil {
		return nil, err
	}
	if err := checkGeometry(g.cols, g.rows); err != nil {
		return nil, err
	}
	spp, err := intAttr(ds, tag.SamplesPerPixel, true, 0)
	if err != nil {
		return nil, err
	}
	if spp != 1 {
		return nil, fmt.Errorf("%w: dicom: Samples per Pixel %d (only single-sample grayscale is decoded)", ErrUnsupported, spp)
	}
	if g.bitsAllocated, err = intAttr(ds, tag.BitsAllocated, true, 0); err != nil {
		return nil, err
	}
	if g.bitsAllocated != 8 && g.bitsAllocated != 16 {
		return nil, fmt.Errorf("%w: dicom: Bits Allocated %d (only 8 and 16 are decoded)", ErrUnsupported, g.bitsAllocated)
	}
	if g.bitsStored, err = intAttr(ds, tag.BitsStored, false, g.bitsAllocated); err != nil {
		return nil, err
	}
	if g.bitsStored < 1 || g.bitsStored > g.bitsAllocated {
		return nil, fmt.Errorf("%w: dicom: Bits Stored %d with Bits Allocated %d", ErrMalformed, g.bitsStored, g.bitsAllocated)
	}
	highBit, err := intAttr(ds, tag.HighBit, false, g.bitsStored-1)
	if err != nil {
		return nil, err
	}
	if highBit != g.bitsStored-1 {
		return nil, fmt.Errorf("%w: dicom: High Bit %d with Bits Stored %d (only low-aligned samples are decoded)", ErrUnsupported, highBit, g.bitsStored)
	}
	rep, err := intAttr(ds, tag.PixelRepresentation, false, 0)
	if err != nil {
		return nil, err
	}
	if rep != 0 && rep != 1 {
		return nil, fmt.Errorf("%w: dicom: Pixel Representation %d", ErrMalformed, rep)
	}
	g.signed = rep == 1

	g.frames = 1
	if e, err := ds.FindElementByTag(tag.NumberOfFrames); err == nil && (e.Value == nil || e.Value.ValueType() != dicom.Strings) {
		// The library reads this value as a string, whatever its VR says.
		return nil, fmt.Errorf("%w: dicom: Number of Frames is not an integer string", ErrMalformed)
	}
	if s, ok := strAttr(ds, tag.NumberOfFrames); ok {
		// The library converts this value with strconv.Atoi; so do we, so
		// that both agree on the count the pixel length is checked against.
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("%w: dicom: Number of Frames is not an integer", ErrMalformed)
		}
		if n < 1 {
			return nil, fmt.Errorf("%w: dicom: Number of Frames %d", ErrMalformed, n)
		}
		if n > MaxFrames {
			return nil, &LimitError{What: "dicom frames", Limit: MaxFrames, Actual: int64(n)}
		}
		g.frames = n
	}
	want := int64(g.rows) * int64(g.cols) * int64(g.bitsAllocated/8) * int64(g.frames)
	// The library accepts one trailing padding byte when the length is even.
	if vl := int64(w.pixelVL); vl != want && (vl != want+1 || vl%2 != 0) {
		return nil, fmt.Errorf("%w: dicom: Pixel Data length %d, want %d for %dx%dx%d at %d bits", ErrMalformed, vl, want, g.cols, g.rows, g.frames, g.bitsAllocated)
	}

	g.photometric, _ = strAttr(ds, tag.PhotometricInterpretation)
	if g.photometric != "MONOCHROME1" && g.photometric != "MONOCHROME2" {
		return nil, fmt.Errorf("%w: dicom: Photometric Interpretation %q (only MONOCHROME1 and MONOCHROME2 are decoded)", ErrUnsupported, codeString(g.photometric))
	}
	if m, ok := strAttr(ds, tag.Modality); ok {
		g.modality = codeString(m)
	}
	if g.slope, err = dsAttr(ds, tag.RescaleSlope, 1); err != nil {
		return nil, err
	}
	if g.intercept, err = dsAttr(ds, tag.RescaleIntercept, 0); err != nil {
		return nil, err
	}
	_, hasC := strAttr(ds, tag.WindowCenter)
	_, hasW := strAttr(ds, tag.WindowWidth)
	if hasC && hasW {
		g.hasWindow = true
		if g.windowCenter, err = dsAttr(ds, tag.WindowCenter, 0); err != nil {
			return nil, err
		}
		if g.windowWidth, err = dsAttr(ds, tag.WindowWidth, 0); err != nil {
			return nil, err
		}
		if g.windowWidth < 1 { // PS3.3 C.11.2.1.2.1: Window Width shall be >= 1
			return nil, fmt.Errorf("%w: dicom: Window Width %g is below 1", ErrMalformed, g.windowWidth)
		}
	}
	return g, nil
}

// firstFrame returns the first frame's stored samples, widened to uint32.
func firstFrame(ds *dicom.Dataset, g *geometry) ([]uint32, error) {
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil || e.Value == nil || e.Value.ValueType() != dicom.PixelData {
		return nil, fmt.Errorf("%w: dicom: no Pixel Data (7FE0,0010)", ErrMalformed)
	}
	info, ok := e.Value.GetValue().(dicom.PixelDataInfo)
	if !ok || info.IsEncapsulated || info.ParseErr != nil || len(info.Frames) == 0 {
		return nil, fmt.Errorf("%w: dicom: pixel data did not decode as native frames", ErrMalformed)
	}
	nf, err := info.Frames[0].GetNativeFrame()
	if err != nil || nf.Rows() != g.rows || nf.Cols() != g.cols || nf.SamplesPerPixel() != 1 {
		return nil, fmt.Errorf("%w: dicom: first frame does not match Rows and Columns", ErrMalformed)
	}
	n := g.rows * g.cols
	out := make([]uint32, n)
	switch s := nf.RawDataSlice().(type) {
	case []uint8:
		if len(s) < n {
			return nil, fmt.Errorf("%w: dicom: first frame holds %d of %d samples", ErrMalformed, len(s), n)
		}
		for i := range out {
			out[i] = uint32(s[i])
		}
	case []uint16:
		if len(s) < n {
			return nil, fmt.Errorf("%w: dicom: first frame holds %d of %d samples", ErrMalformed, len(s), n)
		}
		for i := range out {
			out[i] = uint32(s[i])
		}
	default:
		return nil, fmt.Errorf("%w: dicom: sample type %T", ErrUnsupported, s)
	}
	return out, nil
}

// normalize maps stored samples to display values in [0,1]: mask to Bits
// Stored, sign-extend, apply the modality rescale, then the VOI window (or the
// frame's own range), then invert MONOCHROME1 so that 1 is always bright.
func (g *geometry) normalize(raw []uint32) []float32 {
	mask := uint32(1)<<g.bitsStored - 1
	sign := uint32(1) << (g.bitsStored - 1)
	vals := make([]float64, len(raw))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range raw {
		r &= mask
		v := float64(r)
		if g.signed && r&sign != 0 {
			v -= float64(uint64(1) << g.bitsStored)
		}
		v = v*g.slope + g.intercept
		vals[i] = v
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]float32, len(raw))
	for i, v := range vals {
		var y float64
		switch {
		case g.hasWindow:
			// PS3.3 C.11.2.1.2.1, linear VOI LUT function, output range [0,1].
			c, w := g.windowCenter, g.windowWidth
			switch {
			case v <= c-0.5-(w-1)/2:
				y = 0
			case v > c-0.5+(w-1)/2:
				y = 1
			case w == 1:
				y = 1
			default:
				y = (v-(c-0.5))/(w-1) + 0.5
			}
		case hi > lo:
			y = (v - lo) / (hi - lo)
		}
		if g.photometric == "MONOCHROME1" {
			y = 1 - y
		}
		out[i] = float32(y)
	}
	return out
}

// intAttr reads the first value of an integer (US/SS/UL/SL) attribute. A
// missing optional attribute gives def.
func intAttr(ds *dicom.Dataset, t tag.Tag, required bool, def int) (int, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil {
		if required {
			return 0, fmt.Errorf("%w: dicom: missing %s", ErrMalformed, tagName(t))
		}
		return def, nil
	}
	v, ok := e.Value.GetValue().([]int)
	if e.Value.ValueType() != dicom.Ints || !ok || len(v) == 0 {
		return 0, fmt.Errorf("%w: dicom: %s is not an integer", ErrMalformed, tagName(t))
	}
	return v[0], nil
}

// strAttr reads the first value of a string attribute, trimmed.
func strAttr(ds *dicom.Dataset, t tag.Tag) (string, bool) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil || e.Value.ValueType() != dicom.Strings {
		return "", false
	}
	v, ok := e.Value.GetValue().([]string)
	if !ok || len(v) == 0 {
		return "", false
	}
	return strings.TrimSpace(v[0]), true
}

// dsAttr reads the first value of a Decimal String attribute.
func dsAttr(ds *dicom.Dataset, t tag.Tag, def float64) (float64, error) {
	s, ok := strAttr(ds, t)
	if !ok || s == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: dicom: %s is not a finite decimal", ErrMalformed, tagName(t))
	}
	return f, nil
}

func tagName(t tag.Tag) string {
	if info, err := tag.Find(t); err == nil {
		return info.Keyword + " " + tagString(t.Uint32())
	}
	return tagString(t.Uint32())
}

// codeString keeps a Code String value (PS3.5 §6.2: upper-case letters,
// digits, space, underscore; at most 16 characters) and drops anything else,
// so a free-text value cannot ride out in Metadata or an error.
func codeString(s string) string {
	if len(s) > 16 {
		return ""
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == ' ' || r == '_') {
			return ""
		}
	}
	return s
}
