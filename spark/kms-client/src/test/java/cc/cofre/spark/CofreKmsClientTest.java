package cc.cofre.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.crypto.KeyAccessDeniedException;
import org.apache.parquet.crypto.ParquetCryptoRuntimeException;
import org.apache.parquet.crypto.keytools.KmsClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP exchange against an in-process HTTPS server that stands in for
 * the coordinator's KMS endpoints: protocol shape only (the real
 * coordinator is exercised end to end with Spark).
 */
class CofreKmsClientTest {
    private static final TestPki.Issued ROOT = TestPki.root("cofre coordinator root");
    // The server certificate names a host the client never dials (it dials
    // 127.0.0.1): the Go client does not check host names, nor does this one.
    private static final TestPki.Issued SERVER =
            TestPki.issue(TestPki.Spec.leaf("coordinator").withDns("coordinator.invalid"), ROOT);
    private static final TestPki.Issued MANIFEST_CA = TestPki.issue(TestPki.Spec.ca("cofre hospital v1"), ROOT);
    private static final TestPki.Issued WORKLOAD = TestPki.issue(TestPki.Spec.leaf("etl"), MANIFEST_CA);

    @TempDir
    Path dir;

    private HttpsServer server;
    private String url;
    private final Map<String, String> env = new HashMap<>();
    /** The serial of the last client certificate the server saw. */
    private final AtomicReference<X509Certificate> lastPeer = new AtomicReference<>();

    @BeforeEach
    void start() throws Exception {
        server = startServer(SERVER, MANIFEST_CA);
        url = "https://127.0.0.1:" + server.getAddress().getPort() + "/";
        // As `cofre run --files-root` leaves it: absolute paths in the
        // policy, files below the files root.
        Files.createDirectories(dir.resolve("run/cofre"));
        Files.writeString(dir.resolve("run/cofre/workload.pem"), TestPki.pem(WORKLOAD.cert(), MANIFEST_CA.cert()));
        Files.writeString(dir.resolve("run/cofre/workload.key"), TestPki.pem(WORKLOAD.key()));
        env.put("COFRE_COORDINATOR", url);
        env.put("COFRE_PINNED_ROOT", TestPki.pem(ROOT.cert()));
        env.put("COFRE_CERT", "/run/cofre/workload.pem");
        env.put("COFRE_KEY", "/run/cofre/workload.key");
        env.put("COFRE_FILES_ROOT", dir.toString());
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private CofreKmsClient client(Configuration conf) {
        CofreKmsClient c = new CofreKmsClient(env::get, Clock.systemUTC());
        c.initialize(conf, KmsClient.KMS_INSTANCE_ID_DEFAULT, KmsClient.KMS_INSTANCE_URL_DEFAULT,
                KmsClient.KEY_ACCESS_TOKEN_DEFAULT);
        return c;
    }

    private CofreKmsClient client() {
        return client(new Configuration(false));
    }

    @Test
    void wrapUnwrapRoundTrip() {
        CofreKmsClient c = client();
        byte[] key = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, (byte) 0xff};
        String wrapped = c.wrapKey(key, "master");
        assertTrue(wrapped.startsWith("v1:"), wrapped);
        assertArrayEquals(key, c.unwrapKey(wrapped, "master"));
        assertEquals(WORKLOAD.cert(), lastPeer.get());
    }

    @Test
    void forbiddenIsKeyAccessDenied() {
        CofreKmsClient c = client();
        byte[] key = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
        var e = assertThrows(KeyAccessDeniedException.class, () -> c.wrapKey(key, "other_master"));
        assertTrue(e.getMessage().contains("403 forbidden: service \"etl\" has no grant for master key"),
                e.getMessage());
        assertFalse(e.getMessage().contains(Base64.getEncoder().encodeToString(key)), e.getMessage());
        assertFalse(e.getMessage().contains("0123456789abcdef"), e.getMessage());
    }

    @Test
    void unknownCertificateIsKeyAccessDenied() throws Exception {
        // Issued by the manifest CA, but not a workload the server knows.
        TestPki.Issued stranger = TestPki.issue(TestPki.Spec.leaf("stranger"), MANIFEST_CA);
        Files.writeString(dir.resolve("stranger.pem"), TestPki.pem(stranger.cert()) + TestPki.pem(stranger.key()));
        Configuration conf = new Configuration(false);
        conf.set(CofreKmsClient.PROP_CERT_FILE, dir.resolve("stranger.pem").toString()); // over COFRE_CERT
        env.remove("COFRE_KEY"); // the key is in the same file
        var e = assertThrows(KeyAccessDeniedException.class, () -> client(conf).unwrapKey("v1:AAAA", "master"));
        assertTrue(e.getMessage().contains("401 unauthorized"), e.getMessage());
    }

    @Test
    void otherErrorsAreNotAccessDenied() {
        CofreKmsClient c = client();
        var e = assertThrows(ParquetCryptoRuntimeException.class, () -> c.unwrapKey("v1:AAAA", "missing"));
        assertFalse(e instanceof KeyAccessDeniedException);
        assertTrue(e.getMessage().contains("404 not_found"), e.getMessage());
        e = assertThrows(ParquetCryptoRuntimeException.class, () -> c.unwrapKey("garbage", "master"));
        assertFalse(e instanceof KeyAccessDeniedException);
        assertTrue(e.getMessage().contains("400 bad_request"), e.getMessage());
        e = assertThrows(ParquetCryptoRuntimeException.class, () -> c.unwrapKey("v1:AAAA", "sloppy"));
        assertTrue(e.getMessage().contains("unknown field"), e.getMessage());
    }

    @Test
    void serverNotUnderThePinnedRootIsRefused() throws Exception {
        TestPki.Issued other = TestPki.root("another root");
        server.stop(0);
        server = startServer(TestPki.issue(TestPki.Spec.leaf("impostor").withDns("coordinator.invalid"), other),
                MANIFEST_CA);
        env.put("COFRE_COORDINATOR", "https://127.0.0.1:" + server.getAddress().getPort());
        var e = assertThrows(ParquetCryptoRuntimeException.class, () -> client().wrapKey(new byte[16], "master"));
        assertFalse(e instanceof KeyAccessDeniedException);
        assertTrue(e.getMessage().contains("not issued by the pinned coordinator root"), e.getMessage());
        assertEquals(null, lastPeer.get(), "the request reached the impostor");
    }

    @Test
    void workloadCertificateAsServerIsRefused() throws Exception {
        // A leaf under the root, but through a manifest CA: only the
        // coordinator's own certificate is issued by the root directly.
        server.stop(0);
        TestPki.Issued fake = TestPki.issue(TestPki.Spec.leaf("impostor"), MANIFEST_CA);
        server = startServer(fake, MANIFEST_CA, MANIFEST_CA.cert());
        env.put("COFRE_COORDINATOR", "https://127.0.0.1:" + server.getAddress().getPort());
        var e = assertThrows(ParquetCryptoRuntimeException.class, () -> client().wrapKey(new byte[16], "master"));
        assertTrue(e.getMessage().contains("not issued by the pinned coordinator root"), e.getMessage());
    }

    @Test
    void renewedCertificateIsPresented() throws Exception {
        CofreKmsClient c = client();
        c.wrapKey(new byte[16], "master");
        assertEquals(WORKLOAD.cert(), lastPeer.get());
        // `cofre run --supervise` rewrites the file with a new certificate
        // for the same key.
        X509Certificate renewed = TestPki.issue(TestPki.Spec.leaf("etl"),
                new java.security.KeyPair(WORKLOAD.cert().getPublicKey(), WORKLOAD.key()), MANIFEST_CA.cert(),
                MANIFEST_CA.key());
        Path cert = dir.resolve("run/cofre/workload.pem");
        Files.writeString(cert, TestPki.pem(renewed, MANIFEST_CA.cert()));
        Files.setLastModifiedTime(cert, FileTime.from(Instant.now().plusSeconds(5)));
        c.wrapKey(new byte[16], "master");
        assertEquals(renewed, lastPeer.get());
    }

    @Test
    void missingConfigurationIsNamed() {
        env.remove("COFRE_CERT");
        var e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("no client certificate: set COFRE_CERT"), e.getMessage());

        env.put("COFRE_CERT", "/run/cofre/workload.pem");
        env.remove("COFRE_FILES_ROOT"); // the absolute path is now taken as is
        e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("client certificate /run/cofre/workload.pem"), e.getMessage());

        env.remove("COFRE_PINNED_ROOT");
        e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("no coordinator root: set COFRE_PINNED_ROOT"), e.getMessage());

        env.remove("COFRE_COORDINATOR");
        e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("no coordinator: set cofre.coordinator"), e.getMessage());
    }

    @Test
    void badSettingsAreRefused() throws Exception {
        env.put("COFRE_PINNED_ROOT", TestPki.pem(SERVER.cert())); // not a CA
        var e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("the root certificate is not a CA"), e.getMessage());

        env.put("COFRE_PINNED_ROOT", TestPki.pem(ROOT.cert()));
        for (String bad : List.of("http://127.0.0.1:1", "https://u@127.0.0.1:1", "https://127.0.0.1:1/?q", "https:///x")) {
            Configuration conf = new Configuration(false);
            conf.set(CofreKmsClient.PROP_COORDINATOR, bad); // over COFRE_COORDINATOR
            e = assertThrows(ParquetCryptoRuntimeException.class, () -> client(conf), bad);
            assertTrue(e.getMessage().contains("want https://host[:port][/prefix]")
                    || e.getMessage().contains("coordinator URL"), e.getMessage());
        }

        CofreKmsClient c = new CofreKmsClient(env::get, Clock.systemUTC());
        e = assertThrows(ParquetCryptoRuntimeException.class,
                () -> c.initialize(new Configuration(false), "DEFAULT", "https://kms.example", "DEFAULT"));
        assertTrue(e.getMessage().contains("parquet.encryption.kms.instance.url is set"), e.getMessage());

        Files.writeString(dir.resolve("run/cofre/workload.key"), TestPki.pem(ROOT.key()));
        e = assertThrows(ParquetCryptoRuntimeException.class, this::client);
        assertTrue(e.getMessage().contains("does not match the certificate"), e.getMessage());
    }

    @Test
    void baseUrlKeepsItsPrefix() {
        assertEquals("https://h:1/api", CofreKmsClient.parseBase("https://h:1/api//"));
        assertEquals("https://h:1", CofreKmsClient.parseBase("HTTPS://h:1/"));
    }

    // The stand-in coordinator.

    private HttpsServer startServer(TestPki.Issued cert, TestPki.Issued clientCa, X509Certificate... extra)
            throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        X509Certificate[] chain = new X509Certificate[1 + extra.length];
        chain[0] = cert.cert();
        System.arraycopy(extra, 0, chain, 1, extra.length);
        ks.setKeyEntry("server", cert.key(), new char[0], chain);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, new char[0]);
        SSLContext ctx = SSLContext.getInstance("TLS");
        // Like the coordinator (tls.RequestClientCert): any client
        // certificate is taken in the handshake; the handler decides.
        ctx.init(kmf.getKeyManagers(), new TrustManager[] {new AnyClient()}, null);
        HttpsServer s = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        s.setHttpsConfigurator(new HttpsConfigurator(ctx) {
            @Override
            public void configure(HttpsParameters p) {
                var params = ctx.getDefaultSSLParameters();
                params.setWantClientAuth(true);
                params.setProtocols(new String[] {"TLSv1.3"});
                p.setSSLParameters(params);
            }
        });
        s.createContext("/v1/kms/", ex -> {
            try {
                kms(ex);
            } catch (Exception e) {
                reply(ex, 500, "{\"code\":\"internal\",\"message\":\"" + e + "\"}");
            }
        });
        s.start();
        return s;
    }

    private void kms(HttpExchange ex) throws Exception {
        X509Certificate peer;
        try {
            peer = (X509Certificate) ((HttpsExchange) ex).getSSLSession().getPeerCertificates()[0];
        } catch (SSLPeerUnverifiedException e) {
            peer = null;
        }
        if (peer == null || !(peer.getSubjectX500Principal().getName().equals("CN=etl"))) {
            reply(ex, 401, "{\"code\":\"unauthorized\",\"message\":\"no workload certificate\"}");
            return;
        }
        lastPeer.set(peer);
        // The request must be exactly the api.KMSRequest fields.
        Map<?, ?> req = (Map<?, ?>) Json.parse(ex.getRequestBody().readAllBytes());
        String op = ex.getRequestURI().getPath();
        assertEquals("application/json", ex.getRequestHeaders().getFirst("Content-Type"));
        String key = (String) req.get("key");
        switch (key) {
            case "master" -> {}
            case "other_master" -> {
                reply(ex, 403, "{\n  \"code\": \"forbidden\",\n  \"message\": \"service \\\"etl\\\" has no grant"
                        + " for master key \\\"other_master\\\"\"\n}\n");
                return;
            }
            case "sloppy" -> {
                reply(ex, 200, "{\"plaintext\":\"AAAA\",\"key_version\":1,\"debug\":true}");
                return;
            }
            default -> {
                reply(ex, 404, "{\"code\":\"not_found\",\"message\":\"no master key\"}");
                return;
            }
        }
        if (op.equals("/v1/kms/wrap") && req.keySet().equals(Set.of("key", "plaintext"))) {
            // Not encryption: the stand-in only checks the shape.
            reply(ex, 200, "{\n  \"wrapped\": \"v1:" + req.get("plaintext") + "\",\n  \"key_version\": 1\n}\n");
        } else if (op.equals("/v1/kms/unwrap") && req.keySet().equals(Set.of("key", "wrapped"))
                && ((String) req.get("wrapped")).startsWith("v1:")) {
            reply(ex, 200, "{\n  \"plaintext\": \"" + ((String) req.get("wrapped")).substring(3)
                    + "\",\n  \"key_version\": 1\n}\n");
        } else {
            reply(ex, 400, "{\"code\":\"bad_request\",\"message\":\"not a wrapped key\"}");
        }
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    /** Takes any client certificate: the handler checks it, as the coordinator's do. */
    private static final class AnyClient extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] c, String a) {}

        @Override
        public void checkClientTrusted(X509Certificate[] c, String a, Socket s) {}

        @Override
        public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) {}

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a) {}

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a, Socket s) {}

        @Override
        public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /** A peer that sends headers and then stalls the body does not hang the task. */
    @Test
    void stalledBodyTimesOut() throws Exception {
        java.io.PipedOutputStream out = new java.io.PipedOutputStream();
        java.io.PipedInputStream in = new java.io.PipedInputStream(out);
        java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> CofreKmsClient.readWithDeadline(in, java.time.Duration.ofMillis(200), "unwrap"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("did not arrive"), e.getMessage());
        out.close();
    }

    /** A body that arrives is read whole. */
    @Test
    void bodyReadWithinDeadline() throws Exception {
        byte[] got = CofreKmsClient.readWithDeadline(new java.io.ByteArrayInputStream("{}".getBytes()), java.time.Duration.ofSeconds(5), "wrap");
        org.junit.jupiter.api.Assertions.assertEquals("{}", new String(got));
    }
}
