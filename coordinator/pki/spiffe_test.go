package pki

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSPIFFEID(t *testing.T) {
	valid := []struct {
		in   string
		want SPIFFEID
	}{
		{"spiffe://example.org/m/s/i", SPIFFEID{"example.org", "m", "s", "i"}},
		{"spiffe://a_b-c.d9/Man.ifest/Svc_1/0-A", SPIFFEID{"a_b-c.d9", "Man.ifest", "Svc_1", "0-A"}},
		{"spiffe://td/..a/b../.c.", SPIFFEID{"td", "..a", "b..", ".c."}},
	}
	for _, tc := range valid {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSPIFFEID(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if got.String() != tc.in {
				t.Fatalf("String() = %q, want %q", got.String(), tc.in)
			}
			if got.URL().String() != tc.in {
				t.Fatalf("URL() = %q, want %q", got.URL(), tc.in)
			}
		})
	}

	invalid := []struct {
		in, reason string
	}{
		{"", "scheme"},
		{"SPIFFE://td/m/s/i", "scheme"},
		{"spiffe:td/m/s/i", "scheme"},
		{"https://td/m/s/i", "scheme"},
		{"spiffe://td", "no path"},
		{"spiffe:///m/s/i", "empty trust domain"},
		{"spiffe://TD/m/s/i", "trust domain character"},
		{"spiffe://td:443/m/s/i", "trust domain character"},
		{"spiffe://user@td/m/s/i", "trust domain character"},
		{"spiffe://.td/m/s/i", "empty label"},
		{"spiffe://td./m/s/i", "empty label"},
		{"spiffe://t..d/m/s/i", "empty label"},
		{"spiffe://" + strings.Repeat("a", 256) + "/m/s/i", "longer than 255"},
		{"spiffe://td/m/s", "three segments"},
		{"spiffe://td/m/s/i/x", "three segments"},
		{"spiffe://td/m/s/i/", "three segments"},
		{"spiffe://td/m//i", "empty path segment"},
		{"spiffe://td//s/i", "empty path segment"},
		{"spiffe://td/./s/i", `"." or ".."`},
		{"spiffe://td/m/../i", `"." or ".."`},
		{"spiffe://td/m/s/%41", "path segment character"},
		{"spiffe://td/m/s/i?q", "path segment character"},
		{"spiffe://td/m/s/i#f", "path segment character"},
		{"spiffe://td/m/s/i j", "path segment character"},
		{"spiffe://td/m/s/\u00e9", "path segment character"},
		{"spiffe://td/m/s/" + strings.Repeat("a", 2040), "longer than 2048"},
	}
	for _, tc := range invalid {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseSPIFFEID(tc.in)
			var se *SPIFFEIDError
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalidSPIFFEID) {
				t.Fatalf("err = %v, want *SPIFFEIDError", err)
			}
			if !strings.Contains(se.Reason, tc.reason) {
				t.Fatalf("reason %q, want it to contain %q", se.Reason, tc.reason)
			}
			if len(se.ID) > 200 {
				t.Fatalf("error ID not clipped: %d bytes", len(se.ID))
			}
		})
	}
}

func TestSPIFFEIDValidate(t *testing.T) {
	for _, id := range []SPIFFEID{
		{"td", "m/s", "i", "x"},
		{"td", "m", "s/i", ""},
		{"td", "m", "s", ""},
		{"td/m", "s", "i", "x"},
	} {
		if err := id.validate(); !errors.Is(err, ErrInvalidSPIFFEID) {
			t.Errorf("%+v: err = %v, want ErrInvalidSPIFFEID", id, err)
		}
	}
}
