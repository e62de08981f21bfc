package dnsname

import "testing"

func TestValid(t *testing.T) {
	for n, want := range map[string]bool{
		"example.org": true, "a": true, "*.api.example.org": true, "xn--nxasmq6b.example": true,
		"": false, "*": false, "a..b": false, ".a": false, "a.": false, "-a.b": false, "a-.b": false,
		"a_b.c": false, "a b": false, "a.*.b": false, "**.a": false, "*.": false, ".": false, "A-1.example.org": true,
		string(make([]byte, 254)): false,
	} {
		if got := Valid(n); got != want {
			t.Errorf("Valid(%q) = %v, want %v", n, got, want)
		}
	}
}
