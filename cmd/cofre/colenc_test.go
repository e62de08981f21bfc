package main

import (
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/colenc/pgcol"
)

func TestCheckDBURL(t *testing.T) {
	t.Setenv("PGPASSWORD", "from-the-environment") // the way to give one: not refused
	for _, tc := range []struct {
		url        string
		allowPlain bool
		ok         bool
	}{
		{"postgres://app@127.0.0.1:5432/db?sslmode=disable", false, true},
		{"postgres://app@localhost/db", false, true},
		{"postgres://app@[::1]/db", false, true},
		{"postgresql://app@db.example.org/db?sslmode=verify-full", false, true},
		{"postgres://app@db.example.org/db?sslmode=verify-ca", false, false}, // no host name check
		{"postgres://app@db.example.org/db?sslmode=require", false, false},
		{"postgres://app@db.example.org/db", false, false},
		{"postgres://app@db.example.org/db?sslmode=prefer", true, true},
		{"postgres://app:secret@127.0.0.1/db", false, false},
		{"postgres://app@127.0.0.1/db?password=secret", false, false},
		{"mysql://app@127.0.0.1/db", false, false},
		// net/url and pgx read these differently: pgx's reading decides.
		{"postgres://app@localhost/db?host=db.example.org", false, false},
		{"postgres://localhost?x=@db.example.org/db", false, false},
		{"postgres://app@db.example.org/db?sslmode=verify-full&sslmode=disable", false, false},
		{"postgres://app@127.0.0.1,db.example.org/db?sslmode=prefer", false, false},
	} {
		err := checkDBURL(tc.url, tc.allowPlain)
		if (err == nil) != tc.ok {
			t.Errorf("%s (allow plaintext %t): %v", tc.url, tc.allowPlain, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}

func TestPostgresOutOptions(t *testing.T) {
	f := pgOutFlags{encrypt: []string{"revenue", "trips:ae-randomized"}, cmk: "k"}
	opts, u, err := f.options("postgres://app@127.0.0.1/db?sslmode=disable&table=zones")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u, "table=") || opts.Table != "zones" || opts.Encrypt["revenue"] != pgcol.SchemeV2 || opts.Encrypt["trips"] != pgcol.SchemeAERandomized {
		t.Fatalf("%s %+v", u, opts)
	}
	for name, tc := range map[string]struct {
		f   pgOutFlags
		out string
	}{
		"no table":       {f, "postgres://app@127.0.0.1/db"},
		"no encryption":  {pgOutFlags{cmk: "k"}, "postgres://app@127.0.0.1/db?table=t"},
		"no cmk":         {pgOutFlags{encrypt: []string{"a"}}, "postgres://app@127.0.0.1/db?table=t"},
		"remote, no TLS": {f, "postgres://app@db.example.org/db?table=t"},
		"password":       {f, "postgres://app:pw@127.0.0.1/db?table=t"},
	} {
		if _, _, err := tc.f.options(tc.out); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
