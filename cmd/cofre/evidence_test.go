package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/attest"
)

func TestDecodeInput(t *testing.T) {
	bin := []byte{0x03, 0x00, 0x02, 0x00, 0xff}
	tests := []struct {
		name, encoding string
		in             []byte
		want           []byte
		wantErr        bool
	}{
		{"raw binary stays", "auto", bin, bin, false},
		{"hex text decoded", "auto", []byte("0300 0200\nff\n"), bin, false},
		{"odd hex stays raw", "auto", []byte("abc"), []byte("abc"), false},
		{"jwt stays raw", "auto", []byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), []byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"), false},
		{"forced base64", "base64", []byte(base64.StdEncoding.EncodeToString(bin)), bin, false},
		{"bad base64", "base64", []byte("!!"), nil, true},
		{"bad hex", "hex", []byte("zz"), nil, true},
		{"unknown encoding", "rot13", bin, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeInput(tt.in, tt.encoding)
			if (err != nil) != tt.wantErr || !bytes.Equal(got, tt.want) {
				t.Fatalf("decodeInput = %x, %v; want %x, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseEnvelope(t *testing.T) {
	if ev, ok := parseEnvelope([]byte(` {"format":"sim.v1","payload":"AQI="}`)); !ok || ev.Format != "sim.v1" || !bytes.Equal(ev.Payload, []byte{1, 2}) {
		t.Fatalf("envelope not recognized: %+v %v", ev, ok)
	}
	for _, in := range []string{`{"format":"sim.v1"}`, `{"format":"sim.v1","payload":"AQI=","extra":1}`, `{"alg":"RS256"}`, `[]`, ``} {
		if _, ok := parseEnvelope([]byte(in)); ok {
			t.Errorf("%q taken for an envelope", in)
		}
	}
}

func TestRefusalReasonsFlattensEveryCheck(t *testing.T) {
	err := fmt.Errorf("sgx: %w", errors.Join(
		attest.Refuse(attest.ErrCollateral, "tcb info", "nextUpdate", "after 2024", "2023"),
		fmt.Errorf("wrapped: %w", attest.Refuse(attest.ErrSignature, "quote signature", "signature", "valid", "invalid")),
		attest.Malformed("trailing %d bytes", 3),
	))
	got := refusalReasons(err)
	if len(got) != 3 {
		t.Fatalf("reasons = %+v, want 3", got)
	}
	if got[0].Field != "nextUpdate" || got[0].Class != attest.ErrCollateral.Error() {
		t.Errorf("first reason = %+v", got[0])
	}
	if got[1].Check != "quote signature" || got[1].Class != attest.ErrSignature.Error() {
		t.Errorf("second reason = %+v", got[1])
	}
	if !strings.Contains(got[2].Message, "trailing 3 bytes") || got[2].Class != attest.ErrMalformed.Error() {
		t.Errorf("third reason = %+v", got[2])
	}
}

func TestExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "cofre ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	for _, args := range [][]string{{"nope"}, {"evidence", "verify"}, {"sim", "init"}, {"evidence", "produce", "--format", "sgx.quote.v3"}} {
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// FuzzReadInput: evidence files come from anywhere. Envelope detection and
// decoding must never panic, and an envelope they accept names a format.
func FuzzReadInput(f *testing.F) {
	f.Add([]byte(` {"format":"sim.v1","payload":"AQI="}`))
	f.Add([]byte("0300 0200\nff\n"))
	f.Add([]byte("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if ev, ok := parseEnvelope(b); ok && (ev.Format == "" || len(ev.Payload) == 0) {
			t.Fatalf("envelope without format or payload accepted: %+v", ev)
		}
		for _, enc := range []string{"auto", "raw", "hex", "base64"} {
			decodeInput(b, enc)
		}
	})
}
