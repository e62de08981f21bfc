package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestAttestdFlagsFromEnv(t *testing.T) {
	fl := pflag.NewFlagSet("attestd", pflag.ContinueOnError)
	listen := fl.String("listen", ":8443", "")
	life := fl.Duration("token-lifetime", 5*time.Minute, "")
	roots := fl.StringArray("sim-root", nil, "")
	dev := fl.Bool("dev", false, "")
	if err := fl.Parse([]string{"--listen", "127.0.0.1:9"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COFRE_ATTESTD_LISTEN", "0.0.0.0:1") // the command line wins
	t.Setenv("COFRE_ATTESTD_TOKEN_LIFETIME", "90s")
	t.Setenv("COFRE_ATTESTD_SIM_ROOT", "a.pem, b.pem")
	t.Setenv("COFRE_ATTESTD_DEV", "true")
	if err := flagsFromEnv(fl, attestdEnvPrefix); err != nil {
		t.Fatal(err)
	}
	if *listen != "127.0.0.1:9" || *life != 90*time.Second || len(*roots) != 2 || (*roots)[1] != "b.pem" || !*dev {
		t.Fatalf("listen %s lifetime %v roots %q dev %v", *listen, *life, *roots, *dev)
	}
	t.Setenv("COFRE_ATTESTD_TOKEN_LIFETIME", "soon")
	fl2 := pflag.NewFlagSet("attestd", pflag.ContinueOnError)
	fl2.Duration("token-lifetime", 0, "")
	if err := flagsFromEnv(fl2, attestdEnvPrefix); err == nil {
		t.Fatal("bad duration in the environment accepted")
	}
}

func TestAttestdUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"attestd", "--state", dir},                                 // no --dev: TLS and KEK required
		{"attestd", "--dev", "--state", dir, "--alg", "HS256"},      // not a signing algorithm
		{"attestd", "--dev", "--state", dir, "--listen", "nope"},    // not host:port
		{"attestd", "--dev", "--state", dir, "--log-level", "loud"}, // unknown level
		{"attestd", "extra-arg"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errb.String())
		}
	}
}
