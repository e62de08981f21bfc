package sealed

import "testing"

// BenchmarkRoundTrip seals and opens a 1 MiB request and a small response,
// about what one sealed 224×224 inference costs.
func BenchmarkRoundTrip(b *testing.B) {
	for _, kem := range kems {
		b.Run(kem.String(), func(b *testing.B) {
			priv := mustKey(b, kem)
			msg := make([]byte, 1<<20)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				body, opener, err := SealRequest(priv.PublicKey(), ctxInfer, msg)
				if err != nil {
					b.Fatal(err)
				}
				_, sealer, err := OpenRequest(priv, ctxInfer, body)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := sealer.Seal([]byte(`{"outputs":[]}`))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := opener.Open(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
