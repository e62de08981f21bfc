package careapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrPasswordHash means a password hash is not an argon2id PHC string this
// package accepts. The error never contains the hash.
var ErrPasswordHash = errors.New("careapi: invalid password hash")

// argonParams are the cost parameters of an argon2id hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8
}

// defaultParams are HashPassword's parameters, RFC 9106 §7.4's second
// recommendation scaled to a service: 64 MiB, 3 passes, 2 lanes.
var defaultParams = argonParams{memory: 64 << 10, time: 3, threads: 2}

// Bounds on the parameters of a configured hash. The floor is OWASP's
// minimum for argon2id (19 MiB, 2 passes): a weaker hash in the policy is
// a mistake, refused rather than silently accepted. The ceilings keep a
// wrong policy from making every login allocate gigabytes.
const (
	minMemory   = 19 << 10
	maxMemory   = 1 << 20
	minTime     = 2
	maxTime     = 10
	maxThreads  = 16
	saltSize    = 16
	keySize     = 32
	minSaltSize = 16
	maxSaltSize = 64
	minKeySize  = 16
	maxKeySize  = 64
)

// HashPassword returns password's argon2id hash as a PHC string,
//
//	$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>
//
// with a random 16-byte salt and a 32-byte hash, both unpadded standard
// base64. The CLI uses it to put staff accounts into a policy.
func HashPassword(password string) (string, error) {
	return hashWith(password, defaultParams)
}

func hashWith(password string, p argonParams) (string, error) {
	salt := make([]byte, saltSize)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, keySize)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// passwordHash is a parsed PHC string.
type passwordHash struct {
	params argonParams
	salt   []byte
	key    []byte
}

// parseHash parses an argon2id PHC string within the bounds above.
func parseHash(s string) (*passwordHash, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return nil, fmt.Errorf("%w: not an argon2id PHC string", ErrPasswordHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return nil, fmt.Errorf("%w: version is not %d", ErrPasswordHash, argon2.Version)
	}
	var h passwordHash
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return nil, fmt.Errorf("%w: malformed parameters", ErrPasswordHash)
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %s is not a number", ErrPasswordHash, k)
		}
		switch k {
		case "m":
			h.params.memory = uint32(n)
		case "t":
			h.params.time = uint32(n)
		case "p":
			if n > maxThreads {
				return nil, fmt.Errorf("%w: p=%d above %d", ErrPasswordHash, n, maxThreads)
			}
			h.params.threads = uint8(n)
		default:
			return nil, fmt.Errorf("%w: unknown parameter", ErrPasswordHash)
		}
	}
	if len(seen) != 3 {
		return nil, fmt.Errorf("%w: want parameters m, t and p", ErrPasswordHash)
	}
	var errs []error
	if h.params.memory < minMemory || h.params.memory > maxMemory {
		errs = append(errs, fmt.Errorf("%w: m=%d outside [%d, %d] KiB", ErrPasswordHash, h.params.memory, minMemory, maxMemory))
	}
	if h.params.time < minTime || h.params.time > maxTime {
		errs = append(errs, fmt.Errorf("%w: t=%d outside [%d, %d]", ErrPasswordHash, h.params.time, minTime, maxTime))
	}
	if h.params.threads < 1 {
		errs = append(errs, fmt.Errorf("%w: p=0", ErrPasswordHash))
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(h.salt) < minSaltSize || len(h.salt) > maxSaltSize {
		errs = append(errs, fmt.Errorf("%w: salt is not %d to %d bytes of unpadded base64", ErrPasswordHash, minSaltSize, maxSaltSize))
	}
	if h.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(h.key) < minKeySize || len(h.key) > maxKeySize {
		errs = append(errs, fmt.Errorf("%w: hash is not %d to %d bytes of unpadded base64", ErrPasswordHash, minKeySize, maxKeySize))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &h, nil
}

// matches reports whether password hashes to h, comparing in constant
// time so the comparison leaks nothing about where the hashes differ.
func (h *passwordHash) matches(password string) bool {
	k := argon2.IDKey([]byte(password), h.salt, h.params.time, h.params.memory, h.params.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(k, h.key) == 1
}
