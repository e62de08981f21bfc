package cache

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/cofre-cc/cofre/internal/redistest"
)

func key(b byte) (k [32]byte) {
	for i := range k {
		k[i] = b
	}
	return k
}

// testConfig is a valid Config for s, with the cache's own ACL.
func testConfig(s *redistest.Server) Config {
	return Config{
		Addr:       s.Addr,
		TLS:        s.ClientTLS(),
		Username:   s.AppUser,
		Password:   s.AppPassword,
		SealingKey: key(1),
		NamingKey:  key(2),
		Namespace:  "careapi/patient",
	}
}

func newCache(t *testing.T, cfg Config) *Cache {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func start(t *testing.T) *redistest.Server {
	return redistest.Start(t, redistest.Options{AppRules: ACLRules})
}

// rawClient is a go-redis client that bypasses the cache's checks, to show
// what the server itself refuses.
func rawClient(t *testing.T, s *redistest.Server, user, password string, tc *tls.Config) *redis.Client {
	c := redis.NewClient(&redis.Options{
		Addr:                     s.Addr,
		Username:                 user,
		Password:                 password,
		TLSConfig:                tc,
		Protocol:                 3,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		MaxRetries:               -1,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRoundTrip(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c := newCache(t, testConfig(s))
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	values := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"json", []byte(`{"resourceType":"Patient","id":"123"}`)},
		{"binary", []byte{0, 0xff, '\r', '\n', '$'}},
		{"largest", bytes.Repeat([]byte{0xa5}, MaxValueSize)},
	}
	for _, tc := range values {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Set(ctx, "Patient/"+tc.name, tc.value, time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := c.Get(ctx, "Patient/"+tc.name)
			if err != nil || !bytes.Equal(got, tc.value) {
				t.Fatalf("Get = %d bytes, %v; want %d bytes", len(got), err, len(tc.value))
			}
		})
	}
	// Overwrite, then delete.
	if err := c.Set(ctx, "Patient/json", []byte("v2"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Get(ctx, "Patient/json"); err != nil || string(got) != "v2" {
		t.Fatalf("after overwrite: %q, %v", got, err)
	}
	if err := c.Delete(ctx, "Patient/json"); err != nil {
		t.Fatal(err)
	}
	misses := []struct {
		name string
		c    *Cache
		key  string
	}{
		{"deleted", c, "Patient/json"},
		{"never set", c, "Patient/none"},
		{"other namespace", newCache(t, func() Config { cfg := testConfig(s); cfg.Namespace = "careapi/report"; return cfg }()), "Patient/binary"},
		{"other naming key", newCache(t, func() Config { cfg := testConfig(s); cfg.NamingKey = key(3); return cfg }()), "Patient/binary"},
	}
	for _, tc := range misses {
		t.Run("miss/"+tc.name, func(t *testing.T) {
			if _, err := tc.c.Get(ctx, tc.key); !errors.Is(err, ErrMiss) {
				t.Fatalf("got %v, want ErrMiss", err)
			}
		})
	}
	if err := c.Delete(ctx, "Patient/none"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	// ACLRules is enough: the server refused nothing on the way.
	if denied, err := s.AdminClient().Do(ctx, "ACL", "LOG").Slice(); err != nil || len(denied) != 0 {
		t.Fatalf("ACL LOG = %v, %v; want no denials", denied, err)
	}
}

// Redis holds each entry with the TTL it was given, and Get refuses an
// entry past its sealed expiry even when the host keeps it longer.
func TestTTL(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	admin := s.AdminClient()
	now := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	cfg := testConfig(s)
	cfg.Now = func() time.Time { return now }
	c := newCache(t, cfg)
	for _, ttl := range []time.Duration{1500 * time.Millisecond, 90 * time.Second, MaxTTL} {
		t.Run(ttl.String(), func(t *testing.T) {
			k := "Patient/ttl-" + ttl.String()
			if err := c.Set(ctx, k, []byte("v"), ttl); err != nil {
				t.Fatal(err)
			}
			got, err := admin.PTTL(ctx, keyName(&cfg.NamingKey, cfg.Namespace, k)).Result()
			if err != nil || got <= 0 || got > ttl {
				t.Fatalf("PTTL = %v, %v; want in (0, %v]", got, err, ttl)
			}
		})
	}
	// The host "forgets" to expire: PERSIST the entry, move the clock on.
	k := "Patient/ttl-1.5s"
	name := keyName(&cfg.NamingKey, cfg.Namespace, k)
	if err := admin.Persist(ctx, name).Err(); err != nil {
		t.Fatal(err)
	}
	now = now.Add(1500 * time.Millisecond)
	if _, err := c.Get(ctx, k); !errors.Is(err, ErrMiss) {
		t.Fatalf("Get past the sealed expiry: %v, want ErrMiss", err)
	}
	if n, err := admin.Exists(ctx, name).Result(); err != nil || n != 1 {
		t.Fatalf("the entry should still be in Redis: %d, %v", n, err)
	}
}

// Values changed by the Redis host fail authentication.
func TestTampered(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	admin := s.AdminClient()
	cfg := testConfig(s)
	c := newCache(t, cfg)
	name := func(k string) string { return keyName(&cfg.NamingKey, cfg.Namespace, k) }
	if err := c.Set(ctx, "Patient/alice", []byte(`{"name":"Alice"}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	sealed, err := admin.Get(ctx, name("Patient/alice")).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[(i+len(b))%len(b)] ^= 0x80
		return b
	}
	otherSealing := cfg
	otherSealing.SealingKey = key(9)
	cases := []struct {
		name  string
		write []byte // what the admin writes under Patient/target
		c     *Cache
	}{
		{"copied from another key", sealed, c},
		{"version flipped", flip(0), c},
		{"nonce flipped", flip(1), c},
		{"ciphertext flipped", flip(headerSize + 2), c},
		{"tag flipped", flip(-1), c},
		{"truncated", sealed[:len(sealed)-1], c},
		{"extended", append(bytes.Clone(sealed), 0), c},
		{"plaintext", []byte(`{"name":"Mallory"}`), c},
		{"empty", []byte{}, c},
		{"other sealing key", nil, newCache(t, otherSealing)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := "Patient/target"
			if tc.write == nil {
				// Written properly, by a cache with the right sealing key.
				if err := c.Set(ctx, k, []byte("v"), time.Minute); err != nil {
					t.Fatal(err)
				}
			} else if err := admin.Set(ctx, name(k), tc.write, time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			if got, err := tc.c.Get(ctx, k); !errors.Is(err, ErrTampered) {
				t.Fatalf("Get = %q, %v; want ErrTampered", got, err)
			}
		})
	}
	if got, err := c.Get(ctx, "Patient/alice"); err != nil || string(got) != `{"name":"Alice"}` {
		t.Fatalf("the original is unaffected: %q, %v", got, err)
	}
}

// remoteAlert reports whether err is a TLS alert the server sent with the
// given description ("tls: certificate required").
func remoteAlert(err error, desc string) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && op.Err.Error() == desc
}

// The server accepts only TLS 1.3 with a client certificate from its CA.
func TestTransport(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	noCert := s.ClientTLS()
	noCert.Certificates = nil
	tls12 := s.ClientTLS()
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	untrusted := s.ClientTLS()
	untrusted.RootCAs = x509.NewCertPool()
	cases := []struct {
		name  string
		tc    *tls.Config
		check func(error) bool
	}{
		{"ok", s.ClientTLS(), func(err error) bool { return err == nil }},
		// Plaintext RESP sent to the TLS port: the server drops the
		// connection (there is no plaintext port: redis.conf "port 0").
		{"plaintext", nil, func(err error) bool {
			return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
		}},
		{"no client certificate", noCert, func(err error) bool { return remoteAlert(err, "tls: certificate required") }},
		{"TLS 1.2", tls12, func(err error) bool { return remoteAlert(err, "tls: protocol version not supported") }},
		{"server not trusted", untrusted, func(err error) bool {
			var ua x509.UnknownAuthorityError
			return errors.As(err, &ua)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := rawClient(t, s, s.AppUser, s.AppPassword, tc.tc).Ping(ctx).Err()
			if !tc.check(err) {
				t.Fatalf("Ping: %v (%T)", err, err)
			}
			if testing.Verbose() {
				t.Logf("Ping: %v (%T)", err, err)
			}
		})
	}
}

// The application user can run nothing but the cache's commands, and only
// on its own keys.
func TestACL(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	app := rawClient(t, s, s.AppUser, s.AppPassword, s.ClientTLS())
	if err := app.Set(ctx, KeyPrefix+"x", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET inside the prefix: %v", err)
	}
	cases := []struct {
		name string
		run  func() error
	}{
		{"KEYS", func() error { return app.Keys(ctx, "*").Err() }},
		{"SCAN", func() error { return app.Scan(ctx, 0, "*", 10).Err() }},
		{"FLUSHALL", func() error { return app.FlushAll(ctx).Err() }},
		{"FLUSHDB", func() error { return app.FlushDB(ctx).Err() }},
		{"CONFIG GET", func() error { return app.ConfigGet(ctx, "*").Err() }},
		{"CONFIG SET", func() error { return app.ConfigSet(ctx, "save", "60 1").Err() }},
		{"ACL LIST", func() error { return app.Do(ctx, "ACL", "LIST").Err() }},
		{"CLIENT LIST", func() error { return app.ClientList(ctx).Err() }},
		{"MONITOR", func() error { return app.Do(ctx, "MONITOR").Err() }},
		{"EVAL", func() error { return app.Eval(ctx, "return 1", nil).Err() }},
		{"PERSIST own key", func() error { return app.Persist(ctx, KeyPrefix+"x").Err() }},
		{"GET outside prefix", func() error { return app.Get(ctx, "other:x").Err() }},
		{"SET outside prefix", func() error { return app.Set(ctx, "other:x", "v", time.Minute).Err() }},
		{"DEL outside prefix", func() error { return app.Del(ctx, "other:x").Err() }},
		{"PUBLISH", func() error { return app.Publish(ctx, "ch", "m").Err() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); !redis.IsPermissionError(err) {
				t.Fatalf("got %v, want NOPERM", err)
			}
		})
	}
}

// record is a synthetic patient: every field is PHI.
type record struct {
	Name      string `json:"name"`
	MRN       string `json:"mrn"`
	BirthDate string `json:"birthDate"`
}

// The Redis host sees no PHI: after 100 patient records are cached, the
// administrator scans every key and reads every value, and finds none of
// their names, record numbers or birth dates.
func TestNoPHIInRedis(t *testing.T) {
	s := start(t)
	ctx := context.Background()
	c := newCache(t, testConfig(s))
	var records []record
	for i := range 100 {
		r := record{
			Name:      fmt.Sprintf("Testpatient%03d Example", i),
			MRN:       fmt.Sprintf("MRN%07d", 4200000+i),
			BirthDate: fmt.Sprintf("19%02d-%02d-%02d", 40+i%60, 1+i%12, 1+i%28),
		}
		records = append(records, r)
		v, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Set(ctx, "Patient/"+r.MRN, v, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	admin := s.AdminClient()
	var dump [][]byte
	iter := admin.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		if !strings.HasPrefix(k, KeyPrefix) {
			t.Errorf("key outside the prefix: %q", k)
		}
		v, err := admin.Get(ctx, k).Bytes()
		if err != nil {
			t.Fatal(err)
		}
		dump = append(dump, []byte(k), v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(dump) != 2*len(records) {
		t.Fatalf("scanned %d keys, want %d", len(dump)/2, len(records))
	}
	for _, r := range records {
		for _, phi := range []string{r.Name, "Testpatient", r.MRN, r.BirthDate} {
			for _, b := range dump {
				if bytes.Contains(b, []byte(phi)) {
					t.Fatalf("Redis holds PHI (a %d-byte field of record %s)", len(phi), r.MRN[len(r.MRN)-3:])
				}
			}
		}
	}
	// And the cache still reads them all back.
	for _, r := range records {
		v, err := c.Get(ctx, "Patient/"+r.MRN)
		var got record
		if err != nil || json.Unmarshal(v, &got) != nil || got != r {
			t.Fatalf("record %s: %v", r.MRN, err)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	valid := Config{
		Addr:       "127.0.0.1:1",
		TLS:        &tls.Config{Certificates: []tls.Certificate{{}}},
		Username:   "u",
		Password:   "p",
		SealingKey: key(1),
		NamingKey:  key(2),
		Namespace:  "ns",
	}
	c, err := New(valid)
	if err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if c.aead == nil || c.now == nil {
		t.Fatal("defaults not set")
	}
	c.Close()
	cases := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"no address", func(c *Config) { c.Addr = "" }, "Addr"},
		{"plaintext", func(c *Config) { c.TLS = nil }, "plaintext"},
		{"no verification", func(c *Config) { c.TLS.InsecureSkipVerify = true }, "InsecureSkipVerify"},
		{"TLS 1.2", func(c *Config) { c.TLS.MaxVersion = tls.VersionTLS12 }, "MaxVersion"},
		{"no client certificate", func(c *Config) { c.TLS.Certificates = nil }, "client certificate"},
		{"no user", func(c *Config) { c.Username = "" }, "Username"},
		{"no password", func(c *Config) { c.Password = "" }, "Password"},
		{"zero sealing key", func(c *Config) { c.SealingKey = SealingKey{} }, "SealingKey is zero"},
		{"zero naming key", func(c *Config) { c.NamingKey = NamingKey{} }, "NamingKey is zero"},
		{"same keys", func(c *Config) { c.NamingKey = NamingKey(c.SealingKey) }, "SealingKey equals NamingKey"},
		{"no namespace", func(c *Config) { c.Namespace = "" }, "Namespace is empty"},
		{"long namespace", func(c *Config) { c.Namespace = strings.Repeat("n", MaxNamespaceSize+1) }, "Namespace is 65 bytes"},
		{"zero byte in namespace", func(c *Config) { c.Namespace = "a\x00b" }, "zero byte"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			cfg.TLS = valid.TLS.Clone()
			tc.mutate(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want ErrConfig naming %q", err, tc.want)
			}
		})
	}
	// Every failure is reported, not just the first.
	_, err = New(Config{})
	if n := strings.Count(err.Error(), "invalid config"); n < 6 {
		t.Fatalf("New(Config{}) reported %d failures: %v", n, err)
	}
}

// Arguments outside the limits are refused before anything is sent, and
// the error does not repeat the key.
func TestArguments(t *testing.T) {
	c, err := New(Config{
		Addr: "127.0.0.1:1", TLS: &tls.Config{Certificates: []tls.Certificate{{}}},
		Username: "u", Password: "p", SealingKey: key(1), NamingKey: key(2), Namespace: "ns",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	long := "MRN1234567" + strings.Repeat("x", MaxKeySize)
	cases := []struct {
		name string
		run  func() error
	}{
		{"empty key", func() error { return c.Set(ctx, "", nil, time.Minute) }},
		{"long key", func() error { return c.Set(ctx, long, nil, time.Minute) }},
		{"long key get", func() error { _, err := c.Get(ctx, long); return err }},
		{"long key delete", func() error { return c.Delete(ctx, long) }},
		{"zero ttl", func() error { return c.Set(ctx, "k", nil, 0) }},
		{"negative ttl", func() error { return c.Set(ctx, "k", nil, -time.Second) }},
		{"sub-millisecond ttl", func() error { return c.Set(ctx, "k", nil, time.Microsecond) }},
		{"ttl over the cap", func() error { return c.Set(ctx, "k", nil, MaxTTL+time.Millisecond) }},
		{"large value", func() error { return c.Set(ctx, "k", make([]byte, MaxValueSize+1), time.Minute) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, ErrArgument) || strings.Contains(err.Error(), "MRN") {
				t.Fatalf("got %v, want ErrArgument without the key", err)
			}
		})
	}
}
