// Package imaging turns an uploaded medical or ordinary image into the input
// tensor of cofre's diagnostic models: one grayscale plane of Side×Side
// float32 values in [0,1], row-major.
//
// Call Decode with the uploaded bytes. The format is sniffed from the bytes
// (the DICM magic at offset 128, the PNG signature, the JPEG SOI marker),
// never from a file name or a Content-Type header, which the uploader
// controls independently of the content.
//
//   - PNG and JPEG (standard library decoders only): any size and colour model
//     is converted to luma, resized to Side×Side with bilinear interpolation
//     and scaled to [0,1].
//   - DICOM (PS3.10 files with a file meta header): the first frame of native,
//     uncompressed pixel data, MONOCHROME1 or MONOCHROME2, 8 or 16 bits
//     allocated, signed or unsigned. Rescale Slope/Intercept and the first
//     Window Center/Width are applied when present (else the frame's min–max
//     range is used), MONOCHROME1 is inverted, then the frame is resized like a
//     PNG.
//
// What it does not do: it does not decode compressed DICOM transfer syntaxes
// (JPEG, JPEG-LS, JPEG 2000, RLE, deflate, video); they are refused with a
// TransferSyntaxError naming the syntax. It does not handle colour DICOM,
// nested pixel data (icon image sequences), DICOM files without the PS3.10
// meta header, or any format other than the three above. It does not
// de-identify files: it only never reads patient attributes into its result.
//
// Untrusted input. Every upload is hostile until parsed. Sizes are capped
// (limits.go) before any decoder allocates: PNG and JPEG headers are read with
// DecodeConfig first, and DICOM files are walked structurally by this package
// (every value length checked against the bytes that remain, nesting and
// element count bounded, pixel geometry checked against the pixel data length)
// before github.com/suyashkumar/dicom parses them, because that library
// allocates a buffer of the declared value length before reading it.
//
// Patient data. DICOM files carry patient names, identifiers and dates.
// Metadata returns only modality, geometry, photometric interpretation and
// transfer syntax; errors name tags, offsets and lengths, never values, and
// the DICOM library's own error text (which can quote element values) is not
// passed on. The package logs nothing.
package imaging
