// Package dnsname holds the one rule for the DNS names cofre puts in
// certificates (manifests' x509 secrets, workload and server
// certificates): names TLS stacks will match, nothing else.
package dnsname

import "strings"

// Valid accepts host names of labels of 1 to 63 letters, digits and '-'
// (not at either end), at most 253 characters, with an optional leading
// "*" wildcard label. It refuses what TLS stacks would never match
// (spaces, '_', empty labels, trailing garbage).
func Valid(n string) bool {
	if n == "" || len(n) > 253 {
		return false
	}
	for i, label := range strings.Split(n, ".") {
		if i == 0 && label == "*" && len(n) > 1 {
			continue
		}
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, ch := range label {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	return true
}
