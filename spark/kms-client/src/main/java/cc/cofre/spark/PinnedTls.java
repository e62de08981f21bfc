package cc.cofre.spark;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Set;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS to the coordinator the way coordinator/client does it with a pinned
 * root (client.go: pinned, checkRootShape, checkServer): trust only server
 * certificates that the pinned coordinator root issued directly, and
 * present the workload certificate whatever CAs the server names.
 *
 * <p>No system CA is trusted, and the host name is not checked: the
 * identity is the root. The coordinator's server certificate names the
 * hosts it was configured with, while workloads often reach it under
 * another (a service name, an IP); what makes it the coordinator is that
 * its root, which `cofre run` verified by attestation and handed over in
 * COFRE_PINNED_ROOT, signed it. The trust manager below extends
 * X509ExtendedTrustManager so that the JDK calls it as is and does not add
 * its own host name check (it wraps plain X509TrustManagers to do that).
 */
final class PinnedTls {
    private PinnedTls() {}

    /** TLS 1.2 or later, as the Go client (the coordinator itself speaks 1.3 only). */
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
    private static final String ANY_EKU = "2.5.29.37.0";

    /**
     * Returns an SSLContext that trusts only certificates root issued
     * directly and presents chain (leaf first) with key.
     */
    static SSLContext context(X509Certificate root, List<X509Certificate> chain, PrivateKey key, Clock clock)
            throws GeneralSecurityException {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new ClientKey(chain.toArray(new X509Certificate[0]), key)},
                new TrustManager[] {new PinnedTrust(root, clock)}, null);
        return ctx;
    }

    /** Checks that root can be a root CA at all (client.go checkRootShape). */
    static void checkRootShape(X509Certificate root) throws CertificateException {
        if (root.getBasicConstraints() < 0) {
            throw new CertificateException("the root certificate is not a CA");
        }
        try {
            root.verify(root.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the root certificate is not self-signed", e);
        }
    }

    /**
     * Accepts a TLS server certificate only if root issued it directly, for
     * server authentication, and both are valid at now (client.go
     * checkServer).
     *
     * <p>Directly: the root also certifies the per-manifest intermediates,
     * and those issue workload certificates whose names the manifests'
     * authors choose. Any of those, presented as a server certificate,
     * would impersonate the coordinator if intermediates were allowed; so
     * the certificates the server sends after its leaf are ignored, and the
     * only path validated is leaf → root.
     */
    static void checkServer(X509Certificate[] certs, X509Certificate root, Date now) throws CertificateException {
        if (certs == null || certs.length == 0) {
            throw new CertificateException("no server certificate");
        }
        X509Certificate leaf = certs[0];
        if (leaf.getBasicConstraints() >= 0) {
            throw new CertificateException("the server certificate is a CA");
        }
        // PKIX does not check a trust anchor's validity; Go does.
        try {
            root.checkValidity(now);
        } catch (CertificateException e) {
            throw new CertificateException("the root certificate is not valid at " + now.toInstant(), e);
        }
        try {
            // Unlike Go, Java's PKIX cannot apply the anchor's own name
            // constraints (it refuses an anchor that has them). They add
            // nothing here: the coordinator's root constrains the SPIFFE URIs
            // of workload certificates, and the server certificate must be
            // issued by the root itself, i.e. by the coordinator.
            TrustAnchor anchor = new TrustAnchor(root, null);
            PKIXParameters params = new PKIXParameters(Set.of(anchor));
            params.setRevocationEnabled(false); // Go checks no revocation either
            params.setDate(now);
            CertPathValidator.getInstance("PKIX").validate(
                    CertificateFactory.getInstance("X.509").generateCertPath(List.of(leaf)), params);
        } catch (GeneralSecurityException e) {
            throw new CertificateException("the server certificate was not issued by the pinned coordinator root: "
                    + e.getMessage(), e);
        }
        // Go's KeyUsages: [ServerAuth]: every certificate of the chain that
        // restricts its extended key usage must allow server authentication.
        for (X509Certificate c : new X509Certificate[] {leaf, root}) {
            List<String> eku = c.getExtendedKeyUsage();
            if (eku != null && !eku.contains(SERVER_AUTH) && !eku.contains(ANY_EKU)) {
                throw new CertificateException((c == leaf ? "the server" : "the root")
                        + " certificate does not allow server authentication");
            }
        }
    }

    /** Trusts what checkServer accepts; never used to authenticate clients. */
    private static final class PinnedTrust extends X509ExtendedTrustManager {
        private final X509Certificate root;
        private final Clock clock;

        PinnedTrust(X509Certificate root, Clock clock) {
            this.root = root;
            this.clock = clock;
        }

        private void check(X509Certificate[] chain) throws CertificateException {
            // The clock is read at each full handshake (the JDK does not call the
            // trust manager when it resumes a session).
            checkServer(chain, root, Date.from(clock.instant()));
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e)
                throws CertificateException {
            check(chain);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            throw new CertificateException("cofre kms: not a server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket s)
                throws CertificateException {
            throw new CertificateException("cofre kms: not a server");
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine e)
                throws CertificateException {
            throw new CertificateException("cofre kms: not a server");
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }

    /**
     * Presents the workload certificate whatever CAs the server names
     * (client.go pinned: GetClientCertificate), for any signature scheme
     * that suits its key type.
     */
    private static final class ClientKey extends X509ExtendedKeyManager {
        private static final String ALIAS = "cofre-workload";
        private final X509Certificate[] chain;
        private final PrivateKey key;

        ClientKey(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        private String pick(String[] keyTypes) {
            return keyTypes != null && Arrays.asList(keyTypes).contains(key.getAlgorithm()) ? ALIAS : null;
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket s) {
            return pick(keyTypes);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine e) {
            return pick(keyTypes);
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return key.getAlgorithm().equals(keyType) ? new String[] {ALIAS} : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket s) {
            return null;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine e) {
            return null;
        }
    }
}
