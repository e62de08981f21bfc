package cc.cofre.spark;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import javax.net.ssl.SSLParameters;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.ParquetCryptoRuntimeException;
import org.apache.parquet.crypto.keytools.KmsClient;

/**
 * A parquet-java {@link KmsClient} backed by the cofre coordinator's KMS:
 * data keys are wrapped and unwrapped (POST /v1/kms/wrap, /v1/kms/unwrap)
 * under named master keys that never leave the coordinator, over mutual
 * TLS with the workload certificate `cofre run` installed. The coordinator
 * checks, on every call, that the workload's service is granted the master
 * key; its refusals (401, 403) become {@link KeyAccessDeniedException}.
 *
 * <p>Select it with parquet.encryption.kms.client.class=cc.cofre.spark.CofreKmsClient
 * (README.md lists the settings). parquet-java makes one instance per KMS
 * instance and token and calls {@link #initialize} once; the instance is
 * then safe for concurrent use.
 *
 * <p>What it does not do: attest the coordinator. It trusts the root that
 * the launcher, which did attest it, handed over (COFRE_PINNED_ROOT).
 * Neither does it cache: parquet-java caches unwrapped keys itself.
 */
public class CofreKmsClient implements KmsClient {
    /** Hadoop property: the coordinator's base URL, https://HOST:PORT. */
    public static final String PROP_COORDINATOR = "cofre.coordinator";
    /** Hadoop property: a PEM file holding the coordinator root to pin. */
    public static final String PROP_ROOT_FILE = "cofre.coordinator.root.file";
    /** Hadoop property: the PEM client certificate chain (it may also hold the key). */
    public static final String PROP_CERT_FILE = "cofre.cert.file";
    /** Hadoop property: the PEM PKCS #8 EC private key of the client certificate. */
    public static final String PROP_KEY_FILE = "cofre.key.file";

    static final String ENV_COORDINATOR = "COFRE_COORDINATOR";
    static final String ENV_PINNED_ROOT = "COFRE_PINNED_ROOT";
    static final String ENV_CERT = "COFRE_CERT";
    static final String ENV_KEY = "COFRE_KEY";
    static final String ENV_FILES_ROOT = "COFRE_FILES_ROOT";

    static final String PATH_WRAP = "/v1/kms/wrap";
    static final String PATH_UNWRAP = "/v1/kms/unwrap";

    /** Bound on a PEM file (cmd/cofre maxPEMFile): a chain and a key are a few KiB. */
    static final int MAX_PEM_FILE = 1 << 20;
    /**
     * Bound on a response body. A KMS answer is a wrapped key of at most
     * 4 KiB plaintext, an error a code and a message: a coordinator that
     * sends more is broken or hostile, and reading on would only fill memory.
     */
    static final int MAX_RESPONSE = 64 << 10;
    /** Bound on each request: a KMS call is one AES operation on the server. */
    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private final Function<String, String> env;
    private final Clock clock;

    // Set by initialize, read-only afterwards.
    private String base; // https://host[:port][/prefix], no trailing slash
    private X509Certificate root;
    private Path certFile;
    private Path keyFile;

    /** The current connection; replaced when the certificate file changes. Guarded by this. */
    private Session session;

    /** The HTTP client for one version of the certificate files. */
    private record Session(HttpClient http, List<Object> stamp) {}

    /** The instance parquet-java makes by reflection: the process environment, the system clock. */
    public CofreKmsClient() {
        this(System::getenv, Clock.systemUTC());
    }

    /** For tests: env stands in for System.getenv. */
    CofreKmsClient(Function<String, String> env, Clock clock) {
        this.env = Objects.requireNonNull(env);
        this.clock = Objects.requireNonNull(clock);
    }

    /**
     * Reads the settings and the certificate files. kmsInstanceID is only
     * parquet-java's cache key; kmsInstanceURL must be left at its default
     * (the coordinator comes from cofre.coordinator, so that there is one
     * place to set it); accessToken is ignored: mutual TLS authenticates.
     */
    @Override
    public void initialize(Configuration conf, String kmsInstanceID, String kmsInstanceURL, String accessToken)
            throws KeyAccessDeniedException {
        if (kmsInstanceURL != null && !kmsInstanceURL.isEmpty() && !kmsInstanceURL.equals(KMS_INSTANCE_URL_DEFAULT)) {
            throw fail("parquet.encryption.kms.instance.url is set; leave it unset and set "
                    + PROP_COORDINATOR + " (or " + ENV_COORDINATOR + ")", null);
        }
        String url = setting(conf, PROP_COORDINATOR, ENV_COORDINATOR);
        if (url == null) {
            throw fail("no coordinator: set " + PROP_COORDINATOR + " or " + ENV_COORDINATOR, null);
        }
        base = parseBase(url);

        // A property is taken over the environment, like the Go commands'
        // flags over theirs: whoever writes the job's configuration chose it.
        String rootFile = setting(conf, PROP_ROOT_FILE, null);
        String rootPem = env(ENV_PINNED_ROOT);
        try {
            if (rootFile != null) {
                root = Pem.firstCertificate(read(Paths.get(rootFile)));
            } else if (rootPem != null) {
                root = Pem.firstCertificate(rootPem.getBytes(StandardCharsets.US_ASCII));
            } else {
                throw fail("no coordinator root: set " + ENV_PINNED_ROOT + " (cofre run does) or " + PROP_ROOT_FILE,
                        null);
            }
            PinnedTls.checkRootShape(root);
        } catch (Pem.PemException | CertificateException | IOException e) {
            throw fail("coordinator root (" + (rootFile != null ? PROP_ROOT_FILE : ENV_PINNED_ROOT) + "): "
                    + e.getMessage(), e);
        }

        certFile = file(conf, PROP_CERT_FILE, ENV_CERT);
        keyFile = file(conf, PROP_KEY_FILE, ENV_KEY);
        if (certFile == null) {
            throw fail("no client certificate: set " + ENV_CERT + " (cofre run does) or " + PROP_CERT_FILE
                    + "; the coordinator's KMS serves only workloads that present their certificate", null);
        }
        if (keyFile == null) {
            keyFile = certFile; // one PEM file with both, as the Go commands accept
        }
        synchronized (this) {
            session = connect();
        }
    }

    /** Wraps keyBytes under the master key masterKeyIdentifier. */
    @Override
    public String wrapKey(byte[] keyBytes, String masterKeyIdentifier) throws KeyAccessDeniedException {
        String what = "wrap under master key " + Json.quote(Json.clip(masterKeyIdentifier));
        byte[] body = Json.wrapRequest(masterKeyIdentifier, keyBytes);
        Json.KmsResponse r;
        try {
            r = post(PATH_WRAP, body, what);
        } finally {
            Arrays.fill(body, (byte) 0);
        }
        if (r.wrapped() == null || r.wrapped().isEmpty()) {
            throw fail(what + ": the coordinator's answer has no wrapped key", null);
        }
        return r.wrapped();
    }

    /** Unwraps a key that wrapKey wrapped under masterKeyIdentifier. */
    @Override
    public byte[] unwrapKey(String wrappedKey, String masterKeyIdentifier) throws KeyAccessDeniedException {
        String what = "unwrap under master key " + Json.quote(Json.clip(masterKeyIdentifier));
        Json.KmsResponse r = post(PATH_UNWRAP, Json.unwrapRequest(masterKeyIdentifier, wrappedKey), what);
        if (r.plaintext() == null || r.plaintext().length == 0) {
            throw fail(what + ": the coordinator's answer has no key", null);
        }
        return r.plaintext();
    }

    /**
     * Reads at most MAX_RESPONSE + 1 bytes of a response body within limit:
     * the request timeout covers only the headers, and a peer that stalls
     * the body would otherwise hang the Spark task for good.
     */
    static byte[] readWithDeadline(InputStream in, Duration limit, String what) throws IOException {
        java.util.concurrent.CompletableFuture<byte[]> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return in.readNBytes(MAX_RESPONSE + 1);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            return read.get(limit.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new IOException(what + ": the response body did not arrive within " + limit.toMillis() + " ms");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause() instanceof java.io.UncheckedIOException u ? u.getCause() : e.getCause();
            throw c instanceof IOException io ? io : new IOException(c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted");
        } finally {
            in.close(); // aborts a read still waiting
        }
    }

    /** Sends one KMS request and decodes the answer; what names the call in errors. */
    private Json.KmsResponse post(String path, byte[] body, String what) {
        HttpClient http = current().http();
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + path))
                .timeout(TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        int status;
        byte[] answer;
        try {
            HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
            status = resp.statusCode();
            answer = readWithDeadline(resp.body(), TIMEOUT, what);
        } catch (IOException e) {
            // A refused server certificate lands here, as an SSLHandshakeException
            // whose cause says which check failed.
            throw fail(what + ": " + req.uri() + ": " + describe(e), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw fail(what + ": interrupted", e);
        }
        if (answer.length > MAX_RESPONSE) {
            throw fail(what + ": response larger than " + MAX_RESPONSE + " bytes", null);
        }
        if (status < 200 || status > 299) {
            Json.ApiError ae = Json.apiError(answer);
            String msg = what + ": coordinator answered " + status
                    + (ae.code().isEmpty() ? "" : " " + ae.code()) + ": " + ae.message();
            if (status == 401 || status == 403) {
                // No or an unknown certificate, or a service without a grant
                // for this master key: parquet-java's "access denied".
                throw new KeyAccessDeniedException("cofre kms: " + msg);
            }
            throw fail(msg, null);
        }
        try {
            return Json.kmsResponse(answer);
        } catch (Json.JsonException e) {
            throw fail(what + ": " + e.getMessage(), null);
        } finally {
            Arrays.fill(answer, (byte) 0);
        }
    }

    private static ParquetCryptoRuntimeException fail(String msg, Throwable cause) {
        return new ParquetCryptoRuntimeException("cofre kms: " + msg, cause);
    }

    /** The exception's own message and its causes', which say what the TLS layer refused. */
    private static String describe(Throwable e) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null && b.length() < 1024; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && (b.length() == 0 || b.indexOf(m) < 0)) {
                b.append(b.length() == 0 ? "" : ": ").append(m);
            }
        }
        return b.length() == 0 ? e.getClass().getSimpleName() : Json.sanitize(b.toString());
    }

    /**
     * Returns the session for the certificate files as they are now. `cofre
     * run --supervise` renews the workload certificate before it expires and
     * rewrites the file (atomically): a changed file gets a new client, so
     * that no connection keeps presenting the old certificate.
     */
    private synchronized Session current() {
        if (session == null) {
            throw new IllegalStateException("cofre kms: initialize was not called");
        }
        if (!session.stamp().equals(stamp())) {
            session = connect();
        }
        return session;
    }

    /** What identifies a version of the certificate and key files. */
    private List<Object> stamp() {
        return List.of(stamp(certFile, "client certificate "), stamp(keyFile, "client key "));
    }

    private static List<Object> stamp(Path p, String what) {
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            return Arrays.asList(a.lastModifiedTime(), a.fileKey(), a.size());
        } catch (IOException e) {
            throw fail(what + p + ": " + describe(e), e);
        }
    }

    /** Reads the certificate files and builds a client that presents them. */
    private Session connect() {
        List<Object> stamp = stamp();
        List<X509Certificate> chain;
        PrivateKey key;
        try {
            chain = Pem.certificates(read(certFile));
        } catch (Pem.PemException | IOException e) {
            throw fail("client certificate " + certFile + ": " + describe(e), e);
        }
        byte[] keyPem = null;
        try {
            keyPem = read(keyFile);
            key = Pem.ecPrivateKey(keyPem);
            Pem.checkPair(chain.get(0), key);
        } catch (Pem.PemException | IOException e) {
            throw fail("client key " + keyFile + ": " + describe(e), null);
        } finally {
            if (keyPem != null) {
                Arrays.fill(keyPem, (byte) 0);
            }
        }
        SSLParameters params = new SSLParameters();
        params.setProtocols(PinnedTls.PROTOCOLS);
        try {
            HttpClient http = HttpClient.newBuilder()
                    .sslContext(PinnedTls.context(root, chain, key, clock))
                    .sslParameters(params)
                    .connectTimeout(TIMEOUT)
                    .followRedirects(HttpClient.Redirect.NEVER) // a redirect is not the coordinator's answer
                    .build();
            return new Session(http, stamp);
        } catch (GeneralSecurityException e) {
            throw fail("tls: " + e.getMessage(), e);
        }
    }

    /** Checks the base URL as client.New does: https://host[:port][/prefix], nothing else. */
    static String parseBase(String url) {
        URI u;
        try {
            u = new URI(url);
        } catch (URISyntaxException e) {
            throw fail("coordinator URL: " + e.getMessage(), e);
        }
        // TLS is the channel the attestation vouches for; plain http would
        // leave nothing to vouch for.
        if (!"https".equalsIgnoreCase(u.getScheme()) || u.getHost() == null || u.getRawUserInfo() != null
                || u.getRawQuery() != null || u.getRawFragment() != null) {
            throw fail("coordinator URL " + Json.quote(Json.sanitize(url)) + ": want https://host[:port][/prefix]",
                    null);
        }
        String path = u.getRawPath() == null ? "" : u.getRawPath();
        while (path.endsWith("/")) {
            path = path.substring(0, path.length() - 1);
        }
        return "https://" + u.getRawAuthority() + path;
    }

    /** A property, else an environment variable (if env is non-null); null if neither is set. */
    private String setting(Configuration conf, String prop, String envName) {
        String v = conf == null ? null : conf.getTrimmed(prop);
        if (v != null && !v.isEmpty()) {
            return v;
        }
        return envName == null ? null : env(envName);
    }

    /**
     * A file named by a property, else by an environment variable. A
     * launcher given --files-root (simulation only) wrote the policy's
     * files below COFRE_FILES_ROOT: absolute paths from the environment
     * are found there. Properties are taken as given, as the Go commands
     * take flags.
     */
    private Path file(Configuration conf, String prop, String envName) {
        String v = conf == null ? null : conf.getTrimmed(prop);
        if (v != null && !v.isEmpty()) {
            return Paths.get(v);
        }
        v = env(envName);
        if (v == null) {
            return null;
        }
        Path p = Paths.get(v);
        String filesRoot = env(ENV_FILES_ROOT);
        if (filesRoot != null && p.isAbsolute()) {
            return Paths.get(filesRoot, v).normalize();
        }
        return p;
    }

    private String env(String name) {
        String v = env.apply(name);
        return v == null || v.isEmpty() ? null : v;
    }

    /** Reads a PEM file of at most MAX_PEM_FILE bytes. */
    private static byte[] read(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            byte[] b = in.readNBytes(MAX_PEM_FILE + 1);
            if (b.length > MAX_PEM_FILE) {
                Arrays.fill(b, (byte) 0);
                throw new IOException(p + ": larger than " + MAX_PEM_FILE + " bytes");
            }
            return b;
        }
    }
}
