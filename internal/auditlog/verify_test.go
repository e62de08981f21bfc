package auditlog

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// relink recomputes prev (and seq) of every line from start on, as an
// attacker who edits an unsigned log and repairs its chain would. Signed
// lines keep their (now wrong) signatures.
func relink(t *testing.T, lines [][]byte) []byte {
	t.Helper()
	var prev [32]byte
	var out []byte
	for i, ln := range lines {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ln, &m); err != nil {
			t.Fatal(err)
		}
		ln = bytes.Replace(ln, m["prev"], []byte(`"`+hex.EncodeToString(prev[:])+`"`), 1)
		ln = bytes.Replace(ln, []byte(fmt.Sprintf(`"seq":%s`, m["seq"])), []byte(fmt.Sprintf(`"seq":%d`, i+1)), 1)
		prev = sha256.Sum256(bytes.TrimSuffix(ln, []byte("\n")))
		out = append(out, ln...)
	}
	return out
}

// TestTampering: each way of changing a log is detected, with the kind of
// break and the line it shows at, unsigned and signed alike.
func TestTampering(t *testing.T) {
	for _, sg := range signers {
		t.Run(sg.name, func(t *testing.T) {
			log, head := buildLog(t, sg.signer, 4)
			lines := bytes.SplitAfter(log, []byte("\n"))[:4]
			join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
			edited := bytes.Replace(lines[1], []byte(`"subject":"b"`), []byte(`"subject":"x"`), 1)
			signed := sg.signer != nil
			opts := VerifyOptions{PublicKeys: keysOf(sg.signer), RequireSignatures: signed}
			withHead := opts
			withHead.Head = &head

			sum, err := Verify(bytes.NewReader(log), withHead)
			if err != nil || sum.Lines != 4 || sum.Head != head {
				t.Fatalf("intact log: %+v, %v", sum, err)
			}
			if want := map[bool]uint64{false: 0, true: 4}[signed]; sum.Signed != want {
				t.Fatalf("%d signatures checked, want %d", sum.Signed, want)
			}

			// The edit shows at the edited line when it is signed, at the
			// next line's prev otherwise.
			editKind, editLine := ErrLink, 3
			if signed {
				editKind, editLine = ErrSignature, 2
			}
			relinkKind, relinkLine := ErrHeadMismatch, 4
			if signed {
				relinkKind, relinkLine = ErrSignature, 2
			}
			lastEdited := bytes.Replace(lines[3], []byte(`"subject":"d"`), []byte(`"subject":"x"`), 1)
			lastKind, lastLine := ErrHeadMismatch, 4
			if signed {
				lastKind = ErrSignature
			}
			tests := []struct {
				name string
				log  []byte
				opts VerifyOptions
				kind error
				line int
			}{
				{"line edited", join(lines[0], edited, lines[2], lines[3]), opts, editKind, editLine},
				{"line removed", join(lines[0], lines[2], lines[3]), opts, ErrSequence, 2},
				{"first line removed", join(lines[1], lines[2], lines[3]), opts, ErrSequence, 1},
				{"line inserted", join(lines[0], lines[0], lines[1], lines[2], lines[3]), opts, ErrSequence, 2},
				{"lines swapped", join(lines[0], lines[2], lines[1], lines[3]), opts, ErrSequence, 2},
				{"last line removed, head known", join(lines[0], lines[1], lines[2]), withHead, ErrTruncated, 4},
				{"all lines removed, head known", nil, withHead, ErrTruncated, 1},
				{"last line edited, head known", join(lines[0], lines[1], lines[2], lastEdited), withHead, lastKind, lastLine},
				{"edited and relinked, head known", relink(t, [][]byte{lines[0], edited, lines[2], lines[3]}), withHead, relinkKind, relinkLine},
				{"not JSON", join(lines[0], []byte("garbage\n"), lines[2], lines[3]), opts, ErrMalformed, 2},
				{"partial last line", join(lines[0], lines[1], lines[2], lines[3][:len(lines[3])/2]), opts, ErrMalformed, 4},
				{"newline lost", join(lines[0], lines[1], lines[2], bytes.TrimSuffix(lines[3], []byte("\n"))), opts, ErrMalformed, 4},
				{"empty line", join(lines[0], []byte("\n"), lines[1]), opts, ErrMalformed, 2},
			}
			if signed {
				sigAt := bytes.LastIndex(lines[3], []byte(`,"sig":`))
				stripped := append(bytes.Clone(lines[3][:sigAt]), "}\n"...)
				kidAt := bytes.Index(stripped, []byte(`,"sig_kid":`))
				kidEnd := kidAt + bytes.IndexByte(stripped[kidAt+len(`,"sig_kid":"`):], '"') + len(`,"sig_kid":"`) + 1
				unsigned := append(bytes.Clone(stripped[:kidAt]), stripped[kidEnd:]...)
				// Line 3's signature moved onto line 2.
				sig2 := lines[1][bytes.LastIndex(lines[1], []byte(`,"sig":`)):]
				sig3 := lines[2][bytes.LastIndex(lines[2], []byte(`,"sig":`)):]
				swapped := append(bytes.Clone(lines[1][:len(lines[1])-len(sig2)]), sig3...)
				tests = append(tests, []struct {
					name string
					log  []byte
					opts VerifyOptions
					kind error
					line int
				}{
					{"signature removed", join(lines[0], lines[1], lines[2], stripped), opts, ErrMalformed, 4},
					{"signature and key id removed", join(lines[0], lines[1], lines[2], unsigned), opts, ErrUnsigned, 4},
					{"signature of another line", join(lines[0], swapped, lines[2], lines[3]), opts, ErrSignature, 2},
					{"signature not last", join(lines[0], bytes.Replace(lines[1], []byte(`{"seq":2,`), append([]byte(`{"seq":2,`), sig2[1:len(sig2)-2]...), 1)), opts, ErrMalformed, 2},
				}...)
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					_, err := Verify(bytes.NewReader(tt.log), tt.opts)
					wantBreak(t, err, tt.kind, tt.line)
				})
			}
		})
	}
}

// TestVerifyKeys: signatures under a key the verifier does not hold are
// refused, whether the line names that key or claims a known one.
func TestVerifyKeys(t *testing.T) {
	log, _ := buildLog(t, ed25519Key(), 2)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)

	// An attacker re-signs the log with its own key.
	forged, _ := buildLog(t, other, 2)
	// …and then claims the real key's id.
	realKID, _ := KeyID(ed25519Key().Public())
	otherKID, _ := KeyID(other.Public())
	claimed := bytes.ReplaceAll(forged, []byte(otherKID), []byte(realKID))

	tests := []struct {
		name string
		log  []byte
		opts VerifyOptions
		kind error
		line int
	}{
		{"another key", log, VerifyOptions{PublicKeys: []crypto.PublicKey{other.Public()}}, ErrUnknownKey, 1},
		{"forged with an unknown key", forged, VerifyOptions{PublicKeys: []crypto.PublicKey{ed25519Key().Public()}}, ErrUnknownKey, 1},
		{"forged, claiming the known key", claimed, VerifyOptions{PublicKeys: []crypto.PublicKey{ed25519Key().Public()}}, ErrSignature, 1},
		{"unsigned log, signatures required", mustLog(t, nil, 2), VerifyOptions{PublicKeys: []crypto.PublicKey{ed25519Key().Public()}, RequireSignatures: true}, ErrUnsigned, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Verify(bytes.NewReader(tt.log), tt.opts)
			wantBreak(t, err, tt.kind, tt.line)
		})
	}

	// Either of two keys (a rotation): lines under both verify.
	sum, err := Verify(bytes.NewReader(log), VerifyOptions{PublicKeys: []crypto.PublicKey{other.Public(), ed25519Key().Public()}, RequireSignatures: true})
	if err != nil || sum.Signed != 2 {
		t.Fatalf("two keys: %+v %v", sum, err)
	}
	// Without keys the chain is still checked, the signatures are not.
	if sum, err := Verify(bytes.NewReader(forged), VerifyOptions{}); err != nil || sum.Signed != 0 || sum.Lines != 2 {
		t.Fatalf("no keys: %+v %v", sum, err)
	}

	// Bad options are not chain breaks.
	for _, opts := range []VerifyOptions{
		{RequireSignatures: true},
		{PublicKeys: []crypto.PublicKey{p384.Public()}},
		{PublicKeys: []crypto.PublicKey{"not a key"}},
	} {
		if _, err := Verify(bytes.NewReader(log), opts); err == nil || errors.Is(err, ErrChain) {
			t.Errorf("options %+v: %v, want a configuration error", opts, err)
		}
	}
}

func mustLog(t *testing.T, s crypto.Signer, n int) []byte {
	b, _ := buildLog(t, s, n)
	return b
}

// TestParseLineStrict: the header is read exactly, so that what the
// chain covers is what every reader sees.
func TestParseLineStrict(t *testing.T) {
	const zeros = `"0000000000000000000000000000000000000000000000000000000000000000"`
	const hdr = `"seq":1,"time":"2026-11-23T12:00:00Z","prev":` + zeros
	tests := []struct {
		name, line, want string
	}{
		{"ok", `{` + hdr + `,"event":"x"}`, ""},
		{"whitespace around", ` {` + hdr + `} ` + "\r", ""},
		{"array", `[1]`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"duplicate seq", `{` + hdr + `,"seq":2}`, "duplicate"},
		{"seq in other case", `{"SEQ":1,"time":"2026-11-23T12:00:00Z","prev":` + zeros + `}`, "missing"},
		{"seq negative", `{"seq":-1,"time":"2026-11-23T12:00:00Z","prev":` + zeros + `}`, "seq"},
		{"seq float", `{"seq":1.0,"time":"2026-11-23T12:00:00Z","prev":` + zeros + `}`, "seq"},
		{"seq string", `{"seq":"1","time":"2026-11-23T12:00:00Z","prev":` + zeros + `}`, "seq"},
		{"seq null", `{"seq":null,"time":"2026-11-23T12:00:00Z","prev":` + zeros + `}`, "seq"},
		{"time not a time", `{"seq":1,"time":"yesterday","prev":` + zeros + `}`, "time"},
		{"time null", `{"seq":1,"time":null,"prev":` + zeros + `}`, "time"},
		{"prev number", `{"seq":1,"time":"2026-11-23T12:00:00Z","prev":0}`, "prev"},
		{"missing prev", `{"seq":1,"time":"2026-11-23T12:00:00Z"}`, "missing"},
		{"trailing data", `{` + hdr + `}{}`, "trailing"},
		{"unterminated", `{` + hdr, ""},
		{"sig not last", `{` + hdr + `,"sig_kid":"k","sig":"AAAA","event":"x"}`, "not the last"},
		{"sig escaped", `{` + hdr + `,"sig_kid":"k","sig":"\u0041AAA"}`, "canonical"},
		{"sig key escaped", `{` + hdr + `,"sig_kid":"k","s\u0069g":"AAAA"}`, "canonical"},
		{"sig with whitespace", `{` + hdr + `,"sig_kid":"k", "sig":"AAAA"}`, "canonical"},
		{"sig not base64url", `{` + hdr + `,"sig_kid":"k","sig":"AA+/"}`, "base64url"},
		{"sig empty", `{` + hdr + `,"sig_kid":"k","sig":""}`, "base64url"},
		{"sig without kid", `{` + hdr + `,"sig":"AAAA"}`, "without sig_kid"},
		{"kid without sig", `{` + hdr + `,"sig_kid":"k"}`, "without sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseLine([]byte(tt.line))
			switch {
			case tt.want == "" && tt.name == "unterminated":
				if err == nil {
					t.Fatal("accepted")
				}
			case tt.want == "":
				if err != nil {
					t.Fatal(err)
				}
			case err == nil || !strings.Contains(err.Error(), tt.want):
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMaxLine: the reader takes a line of exactly MaxLine bytes (newline
// included), and no longer.
func TestMaxLine(t *testing.T) {
	mk := func(size int) []byte {
		head := `{"seq":1,"time":"2026-11-23T12:00:00Z","prev":"` + strings.Repeat("0", 64) + `","pad":"`
		pad := size - len(head) - len(`"}`) - 1
		return []byte(head + strings.Repeat("a", pad) + "\"}\n")
	}
	if _, err := Verify(bytes.NewReader(mk(MaxLine)), VerifyOptions{}); err != nil {
		t.Fatalf("line of MaxLine bytes: %v", err)
	}
	_, err := Verify(bytes.NewReader(mk(MaxLine+1)), VerifyOptions{})
	wantBreak(t, err, ErrMalformed, 1)
}

// TestVerifyNewEntry: with NewEntry, a member the entry type does not
// know is refused.
func TestVerifyNewEntry(t *testing.T) {
	log, _ := buildLog(t, p256Key(), 2)
	opts := VerifyOptions{NewEntry: func() Entry { return new(event) }}
	if _, err := Verify(bytes.NewReader(log), opts); err != nil {
		t.Fatal(err)
	}
	type narrow struct {
		Header
		Event string `json:"event"`
	}
	_, err := Verify(bytes.NewReader(log), VerifyOptions{NewEntry: func() Entry { return new(narrow) }})
	wantBreak(t, err, ErrMalformed, 1)
}

// TestVerifyReadError: an I/O error is reported as such, not as a break.
func TestVerifyReadError(t *testing.T) {
	_, err := Verify(errReader{}, VerifyOptions{})
	if !errors.Is(err, errIO) || errors.Is(err, ErrChain) {
		t.Fatalf("got %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errIO }
