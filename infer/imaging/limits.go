package imaging

// Limits on untrusted uploads. Each bounds the memory or time one request can
// cost before the model runs; they are fixed because the model's input is.
const (
	// MaxInputBytes caps the upload. A 3000×3000 16-bit radiograph is about
	// 18 MB; 64 MiB leaves room for multi-frame files and metadata while
	// keeping one request's buffers far below the service's memory.
	MaxInputBytes = 64 << 20

	// MaxSide caps the width and height (DICOM Rows/Columns) of an image.
	// Digital radiography detectors are at most about 4300 pixels a side.
	MaxSide = 8192

	// MaxPixels caps width×height. A decoded 40 Mpixel RGBA PNG costs 160 MB;
	// this bound, not the compressed size, is what stops a decompression bomb.
	MaxPixels = 40_000_000

	// MaxFrames caps DICOM Number of Frames. Only the first frame is used, but
	// the DICOM library decodes all of them.
	MaxFrames = 64

	// MaxDICOMElements caps the data elements walked in one DICOM file, so a
	// file of millions of empty elements cannot cost millions of allocations.
	MaxDICOMElements = 100_000

	// MaxDICOMDepth caps sequence nesting. The DICOM library recurses once per
	// sequence and per item, so nesting bounds its stack.
	MaxDICOMDepth = 16
)
