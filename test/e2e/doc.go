// Package e2e holds end-to-end tests that run the real cofre binary (and,
// as the platform grows, PostgreSQL, Redis, Spark and Chromium) as separate
// processes. They build only with the e2e tag: `make e2e` sets COFRE_BIN to
// a freshly built binary.
package e2e
