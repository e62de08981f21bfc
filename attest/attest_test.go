package attest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReportDataLayout(t *testing.T) {
	nonce := bytes.Repeat([]byte{1}, NonceSize)
	key := []byte("public key DER")
	digest := bytes.Repeat([]byte{2}, sha256.Size)
	got, err := ReportData(nonce, key, digest)
	if err != nil {
		t.Fatal(err)
	}
	kh := sha256.Sum256(key)
	want := sha512.Sum512(bytes.Join([][]byte{[]byte("cofre-v1"), nonce, kh[:], digest}, nil))
	if got != want {
		t.Fatalf("ReportData = %x, want %x", got, want)
	}
	noDigest, _ := ReportData(nonce, key, nil)
	if noDigest == got {
		t.Fatal("digest does not change the report data")
	}
}

func TestReportDataRejectsAmbiguousSizes(t *testing.T) {
	for _, tt := range []struct {
		name          string
		nonce, digest []byte
	}{
		{"short nonce", make([]byte, 16), nil},
		{"long nonce", make([]byte, 33), nil},
		{"odd digest", make([]byte, NonceSize), make([]byte, 20)},
	} {
		if _, err := ReportData(tt.nonce, nil, tt.digest); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestCheckBinding(t *testing.T) {
	nonce := bytes.Repeat([]byte{7}, NonceSize)
	rd, _ := ReportData(nonce, []byte("k"), nil)
	tests := []struct {
		name       string
		reportData []byte
		nonce, key []byte
		want       error
	}{
		{"match", rd[:], nonce, []byte("k"), nil},
		{"nvgpu short match", rd[:ShortReportDataSize], nonce, []byte("k"), nil},
		{"short report data from a 64-byte format", rd[:ShortReportDataSize], nonce, []byte("k"), ErrBinding},
		{"other key", rd[:], nonce, []byte("j"), ErrBinding},
		{"other nonce", rd[:], bytes.Repeat([]byte{8}, NonceSize), []byte("k"), ErrBinding},
		{"short format other key", rd[:ShortReportDataSize], nonce, []byte("j"), ErrBinding},
		{"truncated report data", rd[:40], nonce, []byte("k"), ErrBinding},
		{"empty report data", nil, nonce, []byte("k"), ErrBinding},
		{"bad nonce size", rd[:], []byte{1}, []byte("k"), ErrBinding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := FormatSGX
			if strings.HasPrefix(tt.name, "nvgpu") || strings.HasPrefix(tt.name, "short format") {
				format = FormatNVGPU
			}
			err := CheckBinding(&Claims{Format: format, ReportData: tt.reportData}, tt.nonce, tt.key, nil)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("CheckBinding() = %v, want %v", err, tt.want)
			}
		})
	}
}

type fakeVerifier struct {
	format string
	claims *Claims
}

func (f fakeVerifier) Format() string { return f.format }
func (f fakeVerifier) Verify(context.Context, Evidence, Options) (*Claims, error) {
	c := *f.claims
	return &c, nil
}

type nilVerifier struct{}

func (nilVerifier) Format() string { return FormatNVGPU }
func (nilVerifier) Verify(context.Context, Evidence, Options) (*Claims, error) {
	return nil, nil
}

func TestRegistry(t *testing.T) {
	good := fakeVerifier{FormatSGX, &Claims{Format: FormatSGX, TEE: TEESGX}}
	// Buggy verifiers that label claims as another format or TEE, or
	// return none, must not get them past the registry.
	lying := fakeVerifier{FormatSim, &Claims{Format: FormatSGX, TEE: TEESGX}}
	simAsHardware := fakeVerifier{FormatTPM, &Claims{Format: FormatTPM, TEE: TEESEVSNP}}
	r := NewRegistry(good, lying, simAsHardware, nilVerifier{})
	ctx := context.Background()
	if _, err := r.Verify(ctx, Evidence{Format: FormatSGX}, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{FormatSim, FormatTPM, FormatNVGPU} {
		if _, err := r.Verify(ctx, Evidence{Format: f}, Options{}); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: registry passed mislabelled or missing claims: %v", f, err)
		}
	}
	if _, err := r.Verify(ctx, Evidence{Format: "nope"}, Options{}); !errors.Is(err, ErrUnsupportedFormat) {
		t.Fatalf("unknown format: %v", err)
	}
	if got := strings.Join(r.Formats(), ","); got != "nvidia.spdm,sgx.quote.v3,sim.v1,tpm.gotpmtools" {
		t.Fatalf("Formats() = %s", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate registration did not panic")
		}
	}()
	NewRegistry(good, good)
}

func TestEnumsText(t *testing.T) {
	for tee := TEESim; tee <= TEENVGPU; tee++ {
		b, _ := tee.MarshalText()
		var back TEE
		if err := back.UnmarshalText(b); err != nil || back != tee {
			t.Errorf("TEE %v round trip: %v %v", tee, back, err)
		}
	}
	if _, err := ParseTEE("invalid"); err == nil {
		t.Error("ParseTEE accepted the invalid value's name")
	}
	for s := TCBUnevaluated; s <= TCBRevoked; s++ {
		b, _ := s.MarshalText()
		var back TCBStatus
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("TCBStatus %v round trip: %v %v", s, back, err)
		}
	}
	b, _ := json.Marshal(Claims{Measurement: Hex{0xab}, TEE: TEETDX, TCBStatus: TCBOutOfDate})
	if !bytes.Contains(b, []byte(`"measurement":"ab"`)) || !bytes.Contains(b, []byte(`"tee":"tdx"`)) || !bytes.Contains(b, []byte(`"tcb_status":"OutOfDate"`)) {
		t.Errorf("claims JSON = %s", b)
	}
}

func TestCheckErrorNamesEverything(t *testing.T) {
	err := error(Refuse(ErrTCB, "tcb level", "pcesvn", ">= 13", "11"))
	err = errors.Join(err, Malformed("header: %w", errors.New("short")))
	msg := err.Error()
	for _, want := range []string{"tcb level: pcesvn: expected >= 13, got 11", "tcb not recognized", "malformed evidence: header: short"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if Class(Refuse(ErrSignature, "x", "", "", "")) != ErrSignature {
		t.Error("Class did not find the class")
	}
}

func TestFailures(t *testing.T) {
	sig := Refuse(ErrSignature, "quote signature", "signature", "valid", "invalid")
	col := Refuse(ErrCollateral, "tcb info", "nextUpdate", "after now", "2023")
	plain := Malformed("trailing %d bytes", 3)
	err := fmt.Errorf("sgx: %w", errors.Join(col, fmt.Errorf("wrapped: %w", sig), plain))
	got := Failures(err)
	if len(got) != 3 || got[0] != error(col) || got[1] != error(sig) || got[2] != plain {
		t.Fatalf("Failures() = %v", got)
	}
	if Failures(nil) != nil {
		t.Fatal("Failures(nil) is not empty")
	}
}
