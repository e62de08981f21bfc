package redistest

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

func client(s *Server, user, password string) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                     s.Addr,
		Username:                 user,
		Password:                 password,
		TLSConfig:                s.ClientTLS(),
		Protocol:                 3,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		MaxRetries:               -1,
	})
	s.t.Cleanup(func() { c.Close() })
	return c
}

// The server runs over TLS, the app user works inside its prefix and is
// refused outside it, the default user is off, and a wrong password fails.
func TestStart(t *testing.T) {
	s := Start(t, Options{})
	ctx := context.Background()
	app := client(s, s.AppUser, s.AppPassword)
	if err := app.Set(ctx, "cofre:k", []byte{0, 1, 0xff}, 0).Err(); err != nil {
		t.Fatalf("app SET inside its prefix: %v", err)
	}
	if got, err := s.AdminClient().Get(ctx, "cofre:k").Bytes(); err != nil || string(got) != "\x00\x01\xff" {
		t.Fatalf("admin GET = %x, %v", got, err)
	}
	// No persistence, TLS 1.3 only, client certificates required: what
	// the running server reports, not just what the file says.
	for param, want := range map[string]string{"save": "", "appendonly": "no", "port": "0", "tls-protocols": "TLSv1.3", "tls-auth-clients": "yes"} {
		got, err := s.AdminClient().ConfigGet(ctx, param).Result()
		if err != nil || got[param] != want {
			t.Errorf("CONFIG GET %s = %q, %v; want %q", param, got[param], err, want)
		}
	}

	refusals := []struct {
		name  string
		run   func() error
		check func(error) bool
	}{
		{"app outside its prefix", func() error { return app.Get(ctx, "other:k").Err() }, redis.IsPermissionError},
		{"app FLUSHALL", func() error { return app.FlushAll(ctx).Err() }, redis.IsPermissionError},
		{"app KEYS", func() error { return app.Keys(ctx, "*").Err() }, redis.IsPermissionError},
		{"default user", func() error { return client(s, "", "").Get(ctx, "cofre:k").Err() }, redis.IsAuthError},
		{"wrong password", func() error { return client(s, s.AppUser, "wrong").Ping(ctx).Err() }, redis.IsAuthError},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !tc.check(err) {
				t.Fatalf("got %v, want a specific refusal", err)
			}
		})
	}
}

// The generated configuration has no plaintext port, no persistence, and
// TLS 1.3 with client certificates.
func TestConfig(t *testing.T) {
	conf := config("/d", 1234, "app", "pw", DefaultAppRules, "adminpw")
	for _, want := range []string{"\nport 0\n", "tls-port 1234", "tls-auth-clients yes", `tls-protocols "TLSv1.3"`, `save ""`, "appendonly no", "user default off"} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q", want)
		}
	}
	for _, secret := range []string{" >pw", "adminpw"} {
		if strings.Contains(conf, secret) {
			t.Errorf("config holds a password in clear")
		}
	}
}

// Without redis-server on PATH, Start skips, naming the reason.
func TestStartWithoutRedis(t *testing.T) {
	t.Run("absent", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		t.Setenv("COFRE_REQUIRE_REDIS", "")
		t.Cleanup(func() {
			if !t.Skipped() {
				t.Error("Start did not skip without redis-server")
			}
		})
		Start(t, Options{})
		t.Error("Start returned without redis-server")
	})
}
