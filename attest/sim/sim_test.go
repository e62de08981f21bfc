package sim

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
)

var epoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	root     *Root
	platform *Platform
	verifier *Verifier
	producer *Producer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	root, err := NewRoot(epoch, 365*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	plat, err := root.NewPlatform("node-1", epoch, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(root.Cert)
	m := sha256.Sum256([]byte("workload"))
	return &fixture{
		root:     root,
		platform: plat,
		verifier: NewVerifier(pool),
		producer: &Producer{Platform: plat, Measurement: m[:], Signer: []byte{1, 2}, ProductID: "7", SVN: 3, Now: func() time.Time { return epoch }},
	}
}

func (f *fixture) evidence(t testing.TB, rd [64]byte) attest.Evidence {
	t.Helper()
	ev, err := f.producer.Produce(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	nonce := make([]byte, attest.NonceSize)
	rand.Read(nonce)
	rd, err := attest.ReportData(nonce, []byte("key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.verifier.Verify(context.Background(), f.evidence(t, rd), attest.Options{Now: epoch.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if c.TEE != attest.TEESim || c.Format != attest.FormatSim || !c.Debug {
		t.Errorf("claims %v/%s debug=%v: sim must be labelled", c.TEE, c.Format, c.Debug)
	}
	if len(c.Warnings) == 0 || c.Warnings[0] != attest.SimulationWarning {
		t.Errorf("warnings = %q, want the simulation warning", c.Warnings)
	}
	if !bytes.Equal(c.Measurement, f.producer.Measurement) || c.SVN != 3 || c.ProductID != "7" {
		t.Errorf("claims = %+v", c)
	}
	if !bytes.Equal(c.PlatformID, f.platform.ID()) {
		t.Errorf("platform id = %x, want %x", c.PlatformID, f.platform.ID())
	}
	if err := attest.CheckBinding(c, nonce, []byte("key"), nil); err != nil {
		t.Errorf("binding: %v", err)
	}
	other := bytes.Clone(nonce)
	other[0] ^= 1
	if err := attest.CheckBinding(c, other, []byte("key"), nil); !errors.Is(err, attest.ErrBinding) {
		t.Errorf("binding with another nonce: %v, want ErrBinding", err)
	}
}

// mutate decodes the envelope, lets fn change it, and re-encodes it.
func mutate(t *testing.T, ev attest.Evidence, fn func(p *payload)) attest.Evidence {
	t.Helper()
	var p payload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		t.Fatal(err)
	}
	fn(&p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return attest.Evidence{Format: ev.Format, Payload: b}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t)
	good := f.evidence(t, [64]byte{1})
	otherRoot, _ := NewRoot(epoch, time.Hour)
	otherPlat, _ := otherRoot.NewPlatform("evil", epoch, time.Hour)
	forged, _ := (&Producer{Platform: otherPlat, Measurement: []byte{1}}).Produce(context.Background(), [64]byte{})

	tests := []struct {
		name     string
		ev       attest.Evidence
		verifier *Verifier
		now      time.Time
		want     error
	}{
		{"measurement changed", mutate(t, good, func(p *payload) {
			p.Report = bytes.Replace(p.Report, []byte(`"measurement":"`), []byte(`"measurement":"00`), 1)
		}), nil, epoch, attest.ErrSignature},
		{"report data changed", mutate(t, good, func(p *payload) {
			p.Report = bytes.Replace(p.Report, []byte(`"report_data":"01`), []byte(`"report_data":"02`), 1)
		}), nil, epoch, attest.ErrSignature},
		{"signature flipped", mutate(t, good, func(p *payload) { p.Signature[len(p.Signature)-1] ^= 1 }), nil, epoch, attest.ErrSignature},
		{"untrusted root", forged, nil, epoch, attest.ErrCertificate},
		{"no roots configured", good, NewVerifier(nil), epoch, attest.ErrCertificate},
		{"platform expired", good, nil, epoch.Add(31 * 24 * time.Hour), attest.ErrCertificate},
		{"platform not yet valid", good, nil, epoch.Add(-time.Hour), attest.ErrCertificate},
		{"certificate swapped", mutate(t, good, func(p *payload) { p.Certificates[0] = otherPlat.Chain[0].Raw }), nil, epoch, attest.ErrCertificate},
		{"certificate garbage", mutate(t, good, func(p *payload) { p.Certificates[0] = []byte{0x30, 1} }), nil, epoch, attest.ErrMalformed},
		{"no certificates", mutate(t, good, func(p *payload) { p.Certificates = nil }), nil, epoch, attest.ErrMalformed},
		{"version", mutate(t, good, func(p *payload) { p.Version = 2 }), nil, epoch, attest.ErrMalformed},
		{"unknown report field", mutate(t, good, func(p *payload) {
			p.Report = bytes.Replace(p.Report, []byte(`{`), []byte(`{"tee":"sgx",`), 1)
		}), nil, epoch, attest.ErrMalformed},
		{"truncated", attest.Evidence{Format: attest.FormatSim, Payload: good.Payload[:len(good.Payload)/2]}, nil, epoch, attest.ErrMalformed},
		{"trailing data", attest.Evidence{Format: attest.FormatSim, Payload: append(bytes.Clone(good.Payload), "{}"...)}, nil, epoch, attest.ErrMalformed},
		{"wrong format name", attest.Evidence{Format: attest.FormatSGX, Payload: good.Payload}, nil, epoch, attest.ErrMalformed},
		{"empty", attest.Evidence{Format: attest.FormatSim}, nil, epoch, attest.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := f.verifier
			if tt.verifier != nil {
				v = tt.verifier
			}
			_, err := v.Verify(context.Background(), tt.ev, attest.Options{Now: tt.now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestRootKeyCannotSignReports(t *testing.T) {
	f := newFixture(t)
	good := f.evidence(t, [64]byte{1})
	// Whoever holds the root key signs a report directly, presenting the
	// root certificate as the "platform": refused, the root is a CA.
	ev := mutate(t, good, func(p *payload) {
		p.Certificates = [][]byte{f.root.Cert.Raw}
		digest := sha256.Sum256(signedDigestInput(p.Report))
		sig, err := f.root.Key.Sign(rand.Reader, digest[:], nil)
		if err != nil {
			t.Fatal(err)
		}
		p.Signature = sig
	})
	if _, err := f.verifier.Verify(context.Background(), ev, attest.Options{Now: epoch}); !errors.Is(err, attest.ErrCertificate) {
		t.Fatalf("report signed by the root CA key: %v, want ErrCertificate", err)
	}
}

func TestVerifyDoesNotModifyEvidence(t *testing.T) {
	f := newFixture(t)
	ev := f.evidence(t, [64]byte{9})
	before := bytes.Clone(ev.Payload)
	if _, err := f.verifier.Verify(context.Background(), ev, attest.Options{Now: epoch}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, ev.Payload) {
		t.Fatal("Verify modified the payload")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	f := newFixture(t)
	rb, err := MarshalRoot(f.root)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRoot(rb)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Cert.Equal(f.root.Cert) {
		t.Error("root certificate changed")
	}
	pb, err := MarshalPlatform(f.platform)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePlatform(pb)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Key.Equal(f.platform.Key) || len(p.Chain) != 2 {
		t.Error("platform changed")
	}
	pool, err := ParseRootCertificates(rb)
	if err != nil {
		t.Fatal(err)
	}
	// Evidence from the reparsed platform verifies against the reparsed root.
	prod := *f.producer
	prod.Platform = p
	ev, err := prod.Produce(context.Background(), [64]byte{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(pool).Verify(context.Background(), ev, attest.Options{Now: epoch}); err != nil {
		t.Fatal(err)
	}
	// A platform file whose key belongs to another certificate is refused.
	other, _ := f.root.NewPlatform("x", epoch, time.Hour)
	mixed, _ := marshal(f.platform.Key, other.Chain)
	if _, err := ParsePlatform(mixed); err == nil {
		t.Error("ParsePlatform accepted a key that does not match its certificate")
	}
}

func FuzzParsePayload(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.evidence(f, [64]byte{1}).Payload)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, r, err := parsePayload(b)
		if err != nil {
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("parse error %v is not ErrMalformed", err)
			}
			return
		}
		if len(r.ReportData) != attest.ReportDataSize || len(p.Certificates) == 0 {
			t.Fatalf("parser accepted out-of-range fields")
		}
		// Whatever parses must verify or be refused, never panic.
		_, err = fx.verifier.Verify(context.Background(), attest.Evidence{Format: attest.FormatSim, Payload: b}, attest.Options{Now: epoch})
		if err != nil && attest.Class(err) == nil {
			t.Fatalf("refusal without a class: %v", err)
		}
	})
}
