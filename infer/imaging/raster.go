package imaging

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
)

// decodeRaster decodes a PNG or JPEG. The header is read first so that the
// pixel buffer is never allocated for an image over the limits: the
// compressed size says nothing about the decoded size.
//
// Only image/png and image/jpeg are called, never image.Decode, so formats
// registered by other imports in the binary cannot be reached from uploads.
func decodeRaster(data []byte, f Format) (*Image, error) {
	decodeConfig, decode := png.DecodeConfig, png.Decode
	if f == FormatJPEG {
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrMalformed, f, err)
	}
	if err := checkGeometry(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, f, err)
	}
	b := img.Bounds()
	gray := luma(img)
	return &Image{
		Pixels: resizeBilinear(gray, b.Dx(), b.Dy(), Side, Side),
		Meta:   Metadata{Format: f, Width: b.Dx(), Height: b.Dy()},
	}, nil
}

// luma converts img to row-major luma in [0,1].
//
// Grayscale images keep their exact values (v/255, v/65535), so an 8-bit
// grayscale PNG gives the same tensor as numpy's asarray(img)/255. JPEG's Y
// plane is luma already. Other models use the ITU-R BT.601 weights of
// color.GrayModel on 16-bit channels; alpha is premultiplied, so transparent
// pixels count as black.
func luma(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]float32, w*h)
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				out[y*w+x] = float32(v) / 255
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := 0; x < w; x++ {
				out[y*w+x] = float32(uint16(row[2*x])<<8|uint16(row[2*x+1])) / 65535
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			row := m.Y[y*m.YStride : y*m.YStride+w]
			for x, v := range row {
				out[y*w+x] = float32(v) / 255
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				l := (19595*r + 38470*g + 7471*bl + 1<<15) >> 16
				out[y*w+x] = float32(l) / 65535
			}
		}
	}
	return out
}

// resizeBilinear resamples a row-major w×h plane to dw×dh with bilinear
// interpolation on pixel centres (the half-pixel convention of ONNX Resize
// and OpenCV), clamping at the edges. When the sizes match it is the
// identity, sample for sample.
func resizeBilinear(src []float32, w, h, dw, dh int) []float32 {
	dst := make([]float32, dw*dh)
	sx := float64(w) / float64(dw)
	sy := float64(h) / float64(dh)
	for y := 0; y < dh; y++ {
		fy := (float64(y)+0.5)*sy - 0.5
		y0, wy := split(fy, h)
		y1 := min(y0+1, h-1)
		for x := 0; x < dw; x++ {
			fx := (float64(x)+0.5)*sx - 0.5
			x0, wx := split(fx, w)
			x1 := min(x0+1, w-1)
			top := float64(src[y0*w+x0])*(1-wx) + float64(src[y0*w+x1])*wx
			bot := float64(src[y1*w+x0])*(1-wx) + float64(src[y1*w+x1])*wx
			dst[y*dw+x] = float32(top*(1-wy) + bot*wy)
		}
	}
	return dst
}

// split returns the integer sample at or below f, clamped to [0,n-1], and the
// weight of the next sample.
func split(f float64, n int) (int, float64) {
	if f <= 0 {
		return 0, 0
	}
	i := int(f)
	if i >= n-1 {
		return n - 1, 0
	}
	return i, f - float64(i)
}
