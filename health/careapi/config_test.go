package careapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cofre-cc/cofre/health/cache"
	"github.com/cofre-cc/cofre/sealed"
)

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	p, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.matches("s3cret") || p.matches("s3cret ") || p.matches("") {
		t.Fatal("matches is wrong")
	}
	h2, _ := HashPassword("s3cret")
	if h == h2 {
		t.Fatal("salt is not random")
	}
}

func TestParseHashRefusals(t *testing.T) {
	salt, key := "AAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name string
		in   string
	}{
		{"bcrypt", "$2b$12$abcdefghijklmnopqrstuuJ7nqRzQ1Fjvz1rEYlHxHHzgm3Zzh1MO"},
		{"argon2i", "$argon2i$v=19$m=65536,t=3,p=2$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=65536,t=3,p=2$" + salt + "$" + key},
		{"weak memory", "$argon2id$v=19$m=1024,t=3,p=2$" + salt + "$" + key},
		{"one pass", "$argon2id$v=19$m=65536,t=1,p=2$" + salt + "$" + key},
		{"huge memory", "$argon2id$v=19$m=4194304,t=3,p=2$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + key},
		{"many threads", "$argon2id$v=19$m=65536,t=3,p=255$" + salt + "$" + key},
		{"missing parameter", "$argon2id$v=19$m=65536,t=3$" + salt + "$" + key},
		{"repeated parameter", "$argon2id$v=19$m=65536,m=65536,t=3$" + salt + "$" + key},
		{"unknown parameter", "$argon2id$v=19$m=65536,t=3,p=2,x=1$" + salt + "$" + key},
		{"short salt", "$argon2id$v=19$m=65536,t=3,p=2$AAAA$" + key},
		{"padded salt", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "==$" + key},
		{"short hash", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$AAAA"},
		{"extra field", "$argon2id$v=19$m=65536,t=3,p=2$" + salt + "$" + key + "$"},
		{"empty", ""},
	}
	for _, tc := range tests {
		_, err := parseHash(tc.in)
		if !errors.Is(err, ErrPasswordHash) {
			t.Errorf("%s: err %v, want ErrPasswordHash", tc.name, err)
		}
		if err != nil && len(tc.in) > 20 && strings.Contains(err.Error(), tc.in[len(tc.in)-20:]) {
			t.Errorf("%s: the error quotes the hash", tc.name)
		}
	}
}

func TestParseAccounts(t *testing.T) {
	h, err := hashWith("pw", testParams)
	if err != nil {
		t.Fatal(err)
	}
	good := `{"accounts":[{"username":"alice","role":"clinician","password_hash":"` + h + `"},{"username":"bob","role":"admin","password_hash":"` + h + `"}]}`
	accts, err := ParseAccounts([]byte(good))
	if err != nil || len(accts) != 2 || accts[0].Role != RoleClinician || accts[1].Role != RoleAdmin {
		t.Fatalf("ParseAccounts = %+v, %v", accts, err)
	}
	bad := []struct{ name, in string }{
		{"unknown member", `{"accounts":[{"username":"a","role":"admin","password_hash":"` + h + `","mfa":true}]}`},
		{"unknown role", `{"accounts":[{"username":"a","role":"root","password_hash":"` + h + `"}]}`},
		{"no role", `{"accounts":[{"username":"a","password_hash":"` + h + `"}]}`},
		{"bad username", `{"accounts":[{"username":"a b","role":"admin","password_hash":"` + h + `"}]}`},
		{"duplicate", `{"accounts":[{"username":"a","role":"admin","password_hash":"` + h + `"},{"username":"a","role":"clinician","password_hash":"` + h + `"}]}`},
		{"bad hash", `{"accounts":[{"username":"a","role":"admin","password_hash":"plaintext-password"}]}`},
		{"none", `{"accounts":[]}`},
		{"trailing", good + `{}`},
		{"not json", `accounts: []`},
	}
	for _, tc := range bad {
		_, err := ParseAccounts([]byte(tc.in))
		if !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "plaintext-password") {
			t.Errorf("%s: the error quotes the hash", tc.name)
		}
	}
	var r Role
	if _, err := r.MarshalText(); !errors.Is(err, ErrConfig) || r.String() != "invalid" {
		t.Errorf("zero Role: %v %q", err, r.String())
	}
}

func TestNewRefusals(t *testing.T) {
	base := func() Config {
		return Config{
			Accounts:   testAccounts(t),
			Store:      &cache.Cache{},
			AllowPlain: true,
			HPKEToken:  func() string { return "" },
			TLSToken:   func() string { return "" },
			Diagnoser:  &fakeDiagnoser{},
			AuditPath:  filepath.Join(t.TempDir(), "audit.log"),
		}
	}
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"no accounts", func(c *Config) { c.Accounts = nil }},
		{"bad account", func(c *Config) { c.Accounts[0].Role = RoleInvalid }},
		{"no store", func(c *Config) { c.Store = nil }},
		{"no seal key and no plain", func(c *Config) { c.AllowPlain = false }},
		{"no tokens", func(c *Config) { c.HPKEToken = nil }},
		{"no diagnoser", func(c *Config) { c.Diagnoser = nil }},
		{"negative timeout", func(c *Config) { c.DiagnoseTimeout = -1 }},
		{"no audit path", func(c *Config) { c.AuditPath = "" }},
	}
	for _, tc := range tests {
		cfg := base()
		tc.mod(&cfg)
		if _, err := New(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: err %v, want ErrConfig", tc.name, err)
		}
	}
	s, err := New(base())
	if err != nil {
		t.Fatalf("base config: %v", err)
	}
	defer s.Close()
	// Without a SealKey there is no gateway.
	req := httptest.NewRequest("POST", "/api/sealed", strings.NewReader("x"))
	req.Header.Set("Content-Type", sealed.MediaType)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("gateway without key: %d", rec.Code)
	}
}
