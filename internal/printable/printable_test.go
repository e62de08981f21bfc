package printable

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain message":            "plain message",
		"red \x1b[31malert\x1b[0m": "red [31malert[0m",
		"bell\a and\r\nnewline":    "bell andnewline",
		"  spaced  ":               "spaced",
		"bad \xff utf8":            "bad  utf8",
		strings.Repeat("é", 40):    strings.Repeat("é", 32) + "…",
	} {
		if got := Text(in, 64); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}
