package imaging

import (
	"bytes"
	"fmt"
)

// Side is the width and height of the tensor Decode returns, the input size
// of cofre's chest demonstration model.
const Side = 224

// Shape returns the ONNX input shape of one decoded image: [1, 1, Side, Side]
// (batch, channel, height, width).
func Shape() []int64 { return []int64{1, 1, Side, Side} }

// Format is an input image format. The zero value is FormatInvalid.
type Format int

const (
	FormatInvalid Format = iota // not a recognised format
	FormatPNG
	FormatJPEG
	FormatDICOM
)

func (f Format) String() string {
	switch f {
	case FormatPNG:
		return "png"
	case FormatJPEG:
		return "jpeg"
	case FormatDICOM:
		return "dicom"
	default:
		return "invalid"
	}
}

// Signatures (offsets and magic bytes).
const (
	pngSignature = "\x89PNG\r\n\x1a\n" // PNG spec §5.2
	jpegSOI      = "\xff\xd8\xff"      // ITU T.81 B.1.1.3: SOI marker then the next marker's 0xFF
	dicomMagic   = "DICM"              // PS3.10 §7.1: after the 128-byte preamble
	dicomPreLen  = 128
)

// Sniff returns the format of data from its leading bytes.
//
// DICOM is tested first: PS3.10 §7.1 lets the 128-byte preamble hold another
// format's header (dual-format files, e.g. TIFF), so a file with the DICM
// magic is a DICOM file whatever its first bytes say.
func Sniff(data []byte) Format {
	switch {
	case len(data) >= dicomPreLen+len(dicomMagic) && string(data[dicomPreLen:dicomPreLen+len(dicomMagic)]) == dicomMagic:
		return FormatDICOM
	case bytes.HasPrefix(data, []byte(pngSignature)):
		return FormatPNG
	case bytes.HasPrefix(data, []byte(jpegSOI)):
		return FormatJPEG
	default:
		return FormatInvalid
	}
}

// Metadata describes a decoded image. It never holds patient attributes.
type Metadata struct {
	Format Format
	Width  int // of the source image (DICOM Columns)
	Height int // of the source image (DICOM Rows)
	// DICOM only; empty for PNG and JPEG.
	Modality                  string // (0008,0060), e.g. "CT", "MR", "CR", "DX"
	PhotometricInterpretation string // (0028,0004): MONOCHROME1 or MONOCHROME2
	TransferSyntaxUID         string // (0002,0010)
	BitsStored                int    // (0028,0101)
	Frames                    int    // (0028,0008), 1 when absent
}

// Image is a decoded image ready for the model.
type Image struct {
	// Pixels holds Side×Side luma values in [0,1], row-major, top row first:
	// the [1,1,Side,Side] float32 tensor of Shape.
	Pixels []float32
	Meta   Metadata
}

// Decode sniffs data's format and decodes it into the model's input tensor.
// data is not modified or retained. Errors unwrap to ErrUnknownFormat,
// ErrMalformed, ErrUnsupported or ErrLimit.
func Decode(data []byte) (*Image, error) {
	if len(data) > MaxInputBytes {
		return nil, &LimitError{What: "input bytes", Limit: MaxInputBytes, Actual: int64(len(data))}
	}
	switch f := Sniff(data); f {
	case FormatPNG, FormatJPEG:
		return decodeRaster(data, f)
	case FormatDICOM:
		return decodeDICOM(data)
	default:
		return nil, fmt.Errorf("%w (%d bytes, no PNG, JPEG or DICOM signature)", ErrUnknownFormat, len(data))
	}
}

// checkGeometry applies MaxSide and MaxPixels to a declared size.
func checkGeometry(width, height int) error {
	if width <= 0 || height <= 0 {
		return fmt.Errorf("%w: empty image %dx%d", ErrMalformed, width, height)
	}
	if width > MaxSide {
		return &LimitError{What: "width", Limit: MaxSide, Actual: int64(width)}
	}
	if height > MaxSide {
		return &LimitError{What: "height", Limit: MaxSide, Actual: int64(height)}
	}
	if p := int64(width) * int64(height); p > MaxPixels {
		return &LimitError{What: "pixels", Limit: MaxPixels, Actual: p}
	}
	return nil
}
