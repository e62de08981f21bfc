package tpm

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cofre-cc/cofre/attest"
	"github.com/cofre-cc/cofre/attest/collateral"
	"github.com/google/go-eventlog/tcg"
	"github.com/google/go-sev-guest/proto/sevsnp"
	pb "github.com/google/go-tpm-tools/proto/attest"
	tpmpb "github.com/google/go-tpm-tools/proto/tpm"
	"github.com/google/go-tpm/legacy/tpm2"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// pinned is when the vectors' AK certificate (valid 2021-08-31T23:11:05Z to
// 2051-08-24T23:16:05Z) and its chain are valid; see testdata/README.md.
var pinned = time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)

const (
	vectorNoNonce  = "gce-cos-85-no-nonce.pb"
	vectorNonce    = "gce-cos-85-nonce9009.pb"
	vectorPCRs     = "048937cbaaf28af85a5b0c0997e725097a0d94e05fcda104a82ee3fb6b2e1808"
	vectorAKKeyID  = "6a114d75ad6e7b75f7da33dead50f2e29bf509108646ced2e588bebc35f0d5b6"
	vectorInstance = "6797026933021542085"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readPEMCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(readTestdata(t, name))
	if blk == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func unmarshalVector(t testing.TB, name string) *pb.Attestation {
	t.Helper()
	a := &pb.Attestation{}
	if err := proto.Unmarshal(readTestdata(t, name), a); err != nil {
		t.Fatal(err)
	}
	return a
}

func marshal(t testing.TB, a *pb.Attestation) []byte {
	t.Helper()
	b, err := proto.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func verify(payload []byte, now time.Time, opts ...Option) (*attest.Claims, error) {
	return NewVerifier(opts...).Verify(context.Background(),
		attest.Evidence{Format: attest.FormatTPM, Payload: payload},
		attest.Options{Now: now}) // Collateral deliberately nil: not needed.
}

func hasWarning(c *attest.Claims, substr string) bool {
	return slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, substr) })
}

func TestVerifyRealVectors(t *testing.T) {
	tests := []struct {
		vector     string
		reportData string
	}{
		{vectorNoNonce, ""},
		{vectorNonce, "9009"},
	}
	for _, tc := range tests {
		t.Run(tc.vector, func(t *testing.T) {
			payload := readTestdata(t, tc.vector)
			orig := slices.Clone(payload)
			c, err := verify(payload, pinned)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !slices.Equal(payload, orig) {
				t.Error("Verify modified the payload")
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"format", c.Format, attest.FormatTPM},
				{"tee", c.TEE, attest.TEETPM},
				{"measurement", c.Measurement.String(), vectorPCRs},
				{"report data", c.ReportData.String(), tc.reportData},
				{"platform id", c.PlatformID.String(), vectorAKKeyID},
				{"tcb status", c.TCBStatus, attest.TCBUnevaluated},
				{"debug", c.Debug, false},
				{"tcb", c.TCB["gce_firmware"], uint64(1)},
				{"pcr bank", c.Raw["pcr_bank"], "sha256"},
				{"pcr 0", c.Raw["pcrs"].(map[string]attest.Hex)["0"].String(), "0f35c214608d93c7a6e68ae7359b4a8be5a0e99eea9107ece427c4dea4e439cf"},
				{"instance id", c.Raw["gce_instance"].(map[string]string)["instance_id"], vectorInstance},
				{"zone", c.Raw["gce_instance"].(map[string]string)["zone"], "us-central1-a"},
				{"technology", c.Raw["gce_technology"], "AMD_SEV"},
				{"secure boot", c.Raw["secure_boot"].(map[string]any)["enabled"], true},
				{"kernel", strings.HasPrefix(c.Raw["linux_kernel_cmdline"].(string), "/syslinux/vmlinuz.A "), true},
				{"extraData warning", hasWarning(c, "binds no cofre report data"), true},
				{"revocation warning", hasWarning(c, "revocation not checked"), true},
				{"no secure boot warning", hasWarning(c, "Secure Boot"), false},
				{"no grub warning", hasWarning(c, "GRUB"), false},
			}
			for _, ck := range checks {
				if ck.got != ck.want {
					t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
				}
			}
			if c.Raw["tee_attestation_unverified"] != nil {
				t.Error("tee_attestation_unverified set for an attestation without TEE evidence")
			}
		})
	}
}

// TestVerifyRefusals tampers with each security-relevant part of a real
// attestation and expects the specific refusal class.
func TestVerifyRefusals(t *testing.T) {
	sha256Quote := func(a *pb.Attestation) *tpmpb.Quote {
		for _, q := range a.Quotes {
			if q.GetPcrs().GetHash() == tpmpb.HashAlgo_SHA256 {
				return q
			}
		}
		t.Fatal("vector has no SHA-256 quote")
		return nil
	}
	setExtraData := func(a *pb.Attestation, extra []byte) {
		for _, q := range a.Quotes {
			ad, err := tpm2.DecodeAttestationData(q.Quote)
			if err != nil {
				t.Fatal(err)
			}
			ad.ExtraData = extra
			if q.Quote, err = ad.Encode(); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		mutate func(a *pb.Attestation)
		now    time.Time
		opts   []Option
		want   error
	}{
		{"quote signature", func(a *pb.Attestation) { s := sha256Quote(a).RawSig; s[len(s)-1] ^= 1 }, pinned, nil, attest.ErrSignature},
		{"quote body", func(a *pb.Attestation) { q := sha256Quote(a).Quote; q[len(q)-1] ^= 1 }, pinned, nil, attest.ErrSignature},
		{"pcr value", func(a *pb.Attestation) { sha256Quote(a).Pcrs.Pcrs[0][0] ^= 1 }, pinned, nil, attest.ErrSignature},
		{"report data", func(a *pb.Attestation) { setExtraData(a, []byte{0x90, 0x0a}) }, pinned, nil, attest.ErrSignature},
		{"report data of one quote", func(a *pb.Attestation) {
			q := sha256Quote(a)
			ad, _ := tpm2.DecodeAttestationData(q.Quote)
			ad.ExtraData = []byte{1}
			q.Quote, _ = ad.Encode()
		}, pinned, nil, attest.ErrMalformed},
		{"event log replay", func(a *pb.Attestation) {
			// Every event twice: parses, but extends the PCRs again.
			l, err := tcg.AppendEvents(a.EventLog, a.EventLog)
			if err != nil {
				t.Fatal(err)
			}
			a.EventLog = l
		}, pinned, nil, attest.ErrSignature},
		{"event log truncated", func(a *pb.Attestation) { a.EventLog = a.EventLog[:len(a.EventLog)-7] }, pinned, nil, attest.ErrMalformed},
		{"event type unnamed", func(a *pb.Attestation) {
			// No digest covers an event's type, so the edited log still
			// replays to the genuine quote. go-eventlog panicked on it
			// (see verifyAttestation).
			const off = 23657 + 4 // type of event 43: EV_EFI_ACTION in PCR 5
			if typ := binary.LittleEndian.Uint32(a.EventLog[off:]); typ != uint32(tcg.EFIAction) {
				t.Fatalf("vector's event type at %d is %#x, want EV_EFI_ACTION", off, typ)
			}
			binary.LittleEndian.PutUint32(a.EventLog[off:], 0x00040404)
		}, pinned, nil, attest.ErrMalformed},
		{"ak cert signature", func(a *pb.Attestation) { a.AkCert[len(a.AkCert)-1] ^= 1 }, pinned, nil, attest.ErrCertificate},
		{"ak cert missing", func(a *pb.Attestation) { a.AkCert = nil }, pinned, nil, attest.ErrCertificate},
		{"ak cert garbage", func(a *pb.Attestation) { a.AkCert = []byte{0x30, 0x03, 0x02, 0x01, 0x01} }, pinned, nil, attest.ErrMalformed},
		{"ak cert is an EK cert", func(a *pb.Attestation) {
			a.AkCert = readPEMCert(t, "pca_tpm_rsa_enc_cert.pem").Raw
		}, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), nil, attest.ErrCertificate},
		{"ak pub not certified", func(a *pb.Attestation) { a.AkPub[len(a.AkPub)-1] ^= 1 }, pinned, nil, attest.ErrCertificate},
		{"ak pub garbage", func(a *pb.Attestation) { a.AkPub = []byte{0, 1} }, pinned, nil, attest.ErrMalformed},
		{"before ak cert validity", nil, time.Date(2021, 8, 31, 0, 0, 0, 0, time.UTC), nil, attest.ErrCertificate},
		{"after ak cert validity", nil, time.Date(2052, 1, 1, 0, 0, 0, 0, time.UTC), nil, attest.ErrCertificate},
		{"no roots", nil, pinned, []Option{WithRoots()}, attest.ErrCertificate},
		{"other root", nil, pinned, []Option{WithRoots(DefaultRoots()[1])}, attest.ErrCertificate},
		{"no intermediates", nil, pinned, []Option{WithIntermediates()}, attest.ErrCertificate},
		{"no sha256 quote", func(a *pb.Attestation) {
			a.Quotes = slices.DeleteFunc(a.Quotes, func(q *tpmpb.Quote) bool { return q.GetPcrs().GetHash() == tpmpb.HashAlgo_SHA256 })
		}, pinned, nil, attest.ErrMalformed},
		{"no quotes", func(a *pb.Attestation) { a.Quotes = nil }, pinned, nil, attest.ErrMalformed},
		{"duplicate bank", func(a *pb.Attestation) { a.Quotes = append(a.Quotes, sha256Quote(a)) }, pinned, nil, attest.ErrMalformed},
		{"pcr missing", func(a *pb.Attestation) { delete(sha256Quote(a).Pcrs.Pcrs, 23) }, pinned, nil, attest.ErrMalformed},
		{"pcr out of range", func(a *pb.Attestation) { sha256Quote(a).Pcrs.Pcrs[24] = make([]byte, 32) }, pinned, nil, attest.ErrMalformed},
		{"pcr wrong size", func(a *pb.Attestation) { q := sha256Quote(a); q.Pcrs.Pcrs[1] = q.Pcrs.Pcrs[1][:20] }, pinned, nil, attest.ErrMalformed},
		{"bank mismatch", func(a *pb.Attestation) { sha256Quote(a).Pcrs.Hash = tpmpb.HashAlgo_SHA512 }, pinned, nil, attest.ErrMalformed},
		{"signature trailing bytes", func(a *pb.Attestation) { q := sha256Quote(a); q.RawSig = append(q.RawSig, 0) }, pinned, nil, attest.ErrMalformed},
		{"too many intermediates", func(a *pb.Attestation) {
			for range maxIntermediates + 1 {
				a.IntermediateCerts = append(a.IntermediateCerts, a.AkCert)
			}
		}, pinned, nil, attest.ErrMalformed},
		{"unknown field", func(a *pb.Attestation) {
			a.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 1))
		}, pinned, nil, attest.ErrMalformed},
		{"nested unknown field", func(a *pb.Attestation) {
			sha256Quote(a).Pcrs.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 9, protowire.VarintType), 1))
		}, pinned, nil, attest.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := unmarshalVector(t, vectorNonce)
			if tc.mutate != nil {
				tc.mutate(a)
			}
			c, err := verify(marshal(t, a), tc.now, tc.opts...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, %v; want %v", c, err, tc.want)
			}
			if cls := attest.Class(err); cls != tc.want {
				t.Errorf("class = %v, want %v", cls, tc.want)
			}
			t.Log(err)
		})
	}
}

func TestVerifyRefusesBadPayloads(t *testing.T) {
	good := readTestdata(t, vectorNonce)
	tests := []struct {
		name    string
		format  string
		payload []byte
	}{
		{"empty", attest.FormatTPM, nil},
		{"garbage", attest.FormatTPM, []byte("not a protobuf")},
		{"truncated mid-field", attest.FormatTPM, good[:10]},
		{"oversized", attest.FormatTPM, make([]byte, maxPayloadSize+1)},
		{"wrong format", attest.FormatSim, good},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewVerifier().Verify(context.Background(), attest.Evidence{Format: tc.format, Payload: tc.payload}, attest.Options{Now: pinned})
			if !errors.Is(err, attest.ErrMalformed) {
				t.Fatalf("Verify = %v, want ErrMalformed", err)
			}
		})
	}
}

// TestVerifyTruncated cuts the real vector at many lengths: every prefix is
// refused with some refusal class, and none panics. (A cut at a field
// boundary is valid protobuf missing later fields, so the class varies.)
func TestVerifyTruncated(t *testing.T) {
	good := readTestdata(t, vectorNonce)
	for n := 0; n < len(good); n += 1 + n/8 {
		_, err := verify(good[:n], pinned)
		if attest.Class(err) == nil {
			t.Fatalf("prefix of %d bytes: Verify = %v, want a refusal", n, err)
		}
	}
}

func TestVerifyUnusedParts(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(a *pb.Attestation)
		warning string
		raw     string
	}{
		{"sev-snp evidence", func(a *pb.Attestation) {
			a.TeeAttestation = &pb.Attestation_SevSnpAttestation{SevSnpAttestation: &sevsnp.Attestation{}}
		}, "sevsnp evidence that this verifier does not check", "sevsnp"},
		{"canonical event log", func(a *pb.Attestation) { a.CanonicalEventLog = []byte{1, 2, 3} }, "canonical (COS) event log", ""},
		{"unverified instance info", func(a *pb.Attestation) {
			a.InstanceInfo = &pb.GCEInstanceInfo{Zone: "attacker-zone", InstanceId: 1}
		}, "", ""},
		{"sha1 quote tampered", func(a *pb.Attestation) {
			for _, q := range a.Quotes {
				if q.GetPcrs().GetHash() == tpmpb.HashAlgo_SHA1 {
					q.RawSig[len(q.RawSig)-1] ^= 1
				}
			}
		}, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := unmarshalVector(t, vectorNonce)
			tc.mutate(a)
			c, err := verify(marshal(t, a), pinned)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tc.warning != "" && !hasWarning(c, tc.warning) {
				t.Errorf("warnings %q lack %q", c.Warnings, tc.warning)
			}
			if got, _ := c.Raw["tee_attestation_unverified"].(string); got != tc.raw {
				t.Errorf("tee_attestation_unverified = %q, want %q", got, tc.raw)
			}
			if zone := c.Raw["gce_instance"].(map[string]string)["zone"]; zone != "us-central1-a" {
				t.Errorf("zone = %q: taken from the unsigned instance_info", zone)
			}
		})
	}
}

// TestDefaultRoots checks that both of Google's AK hierarchies verify with
// the default trust anchors: the vectors' chain and real AK certificates from
// go-tpm-tools' test data.
func TestDefaultRoots(t *testing.T) {
	at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, name := range []string{"pca_tpm_ecc_sign_cert.pem", "pca_tpm_rsa_sign_cert.pem", "uca_tpm_ecc_sign_cert.pem", "uca_tpm_rsa_sign_cert.pem"} {
		t.Run(name, func(t *testing.T) {
			cert := readPEMCert(t, name)
			p := &payload{akCert: cert, akPub: cert.PublicKey}
			if err := NewVerifier().verifyAK(p, at); err != nil {
				t.Fatalf("verifyAK: %v", err)
			}
			p = &payload{akCert: readPEMCert(t, name), akPub: cert.PublicKey}
			if err := NewVerifier(WithRoots()).verifyAK(p, at); !errors.Is(err, attest.ErrCertificate) {
				t.Fatalf("verifyAK without roots = %v, want ErrCertificate", err)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	if got := NewVerifier().Format(); got != attest.FormatTPM {
		t.Errorf("Format() = %q, want %q", got, attest.FormatTPM)
	}
}

// TestVerifyIgnoresCollateral: the format needs no collateral, so a nil
// source (used everywhere above) and an empty offline bundle both work.
func TestVerifyIgnoresCollateral(t *testing.T) {
	_, err := NewVerifier().Verify(context.Background(),
		attest.Evidence{Format: attest.FormatTPM, Payload: readTestdata(t, vectorNonce)},
		attest.Options{Now: pinned, Collateral: collateral.Dir(t.TempDir())})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

// TestVerifyConcurrent shares one Verifier between goroutines (run with
// -race): Verify keeps no state between calls.
func TestVerifyConcurrent(t *testing.T) {
	v := NewVerifier()
	payload := readTestdata(t, vectorNonce)
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() {
			_, err := v.Verify(context.Background(), attest.Evidence{Format: attest.FormatTPM, Payload: payload}, attest.Options{Now: pinned})
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := NewVerifier()
	ev := attest.Evidence{Format: attest.FormatTPM, Payload: readTestdata(b, vectorNonce)}
	opts := attest.Options{Now: pinned}
	for b.Loop() {
		if _, err := v.Verify(context.Background(), ev, opts); err != nil {
			b.Fatal(err)
		}
	}
}
