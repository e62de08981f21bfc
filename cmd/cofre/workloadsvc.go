package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	coordclient "github.com/cofre-cc/cofre/coordinator/client"
	"github.com/cofre-cc/cofre/infer/service"
	"github.com/cofre-cc/cofre/sealed"
	"github.com/cofre-cc/cofre/token"
)

// workloadService is what a cofre service running as an attested workload
// (cofre infer serve, cofre health careapi) starts from: its certificate,
// the coordinator it verified, its activation token (bound to the
// certificate's key), and a log.
type workloadService struct {
	opts     coordclient.Options
	coord    *coordclient.Client
	tlsToken func() string
	log      *slog.Logger
}

// startWorkloadService reads the workload's token file and certificate and
// connects to the coordinator. name is the command, for errors.
func startWorkloadService(ctx context.Context, stderr io.Writer, f *coordFlags, tokenFile, name string) (*workloadService, error) {
	tlsToken, err := tokenFileFunc(tokenFile)
	if err != nil {
		return nil, err
	}
	if f.url == "" {
		return nil, usagef("%s is a workload: run it under cofre run, or give --coordinator and --cert", name)
	}
	opts, err := f.options()
	if err != nil {
		return nil, err
	}
	if opts.Certificate == nil {
		return nil, usagef("the workload certificate (--cert, COFRE_CERT) is required: it is %s's TLS certificate", name)
	}
	c, err := f.connect(ctx, stderr)
	if err != nil {
		return nil, err
	}
	return &workloadService{opts: opts, coord: c, tlsToken: tlsToken, log: slog.New(slog.NewTextHandler(stderr, nil))}, nil
}

// hpke generates the service's HPKE key and keeps a coordinator workload
// token for it (with the given runtime claims) fresh until ctx ends.
func (w *workloadService) hpke(ctx context.Context, stderr io.Writer, kem sealed.KEM, claims map[string]string) (*sealed.PrivateKey, *service.Refresher, error) {
	key, err := sealed.GenerateKey(kem)
	if err != nil {
		return nil, nil, err
	}
	cnf, err := token.ParseConfirmationJWK(key.PublicJWK())
	if err != nil {
		return nil, nil, err
	}
	pub, err := cnf.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	ref, err := service.NewRefresher(ctx, w.log, func(ctx context.Context) (string, time.Time, error) {
		tok, err := w.coord.WorkloadToken(ctx, pub, claims, nil)
		if err != nil {
			return "", time.Time{}, err
		}
		// The coordinator's own answer over the verified connection: its
		// expiry only schedules the next refresh.
		u, err := token.ParseUnverified(tok)
		if err != nil {
			return "", time.Time{}, fmt.Errorf("the coordinator's workload token does not parse: %w", err)
		}
		if u.Claims == nil {
			return "", time.Time{}, fmt.Errorf("the coordinator's workload token does not parse: %w", u.ClaimsErr)
		}
		return tok, u.Claims.Expiry, nil
	})
	if err != nil {
		return nil, nil, coordError(stderr, err)
	}
	go ref.Run(ctx)
	return key, ref, nil
}

// serve serves h over TLS 1.3 with the workload's current certificate on
// ln until ctx ends, then shuts down gracefully. clientAuth is what the
// server asks of clients' certificates.
func (w *workloadService) serve(ctx context.Context, ln net.Listener, h http.Handler, clientAuth tls.ClientAuthType) error {
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(h, 32<<20),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS13, GetCertificate: serverCertificate(w.opts), ClientAuth: clientAuth},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}
