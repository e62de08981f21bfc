package cc.cofre.spark;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Certificates made in the tests with Bouncy Castle (test scope only): a
 * coordinator-like PKI of ECDSA P-256 keys, fresh for every run, so that no
 * private key is committed and validity windows can be chosen per case.
 */
final class TestPki {
    private TestPki() {}

    private static final AtomicLong SERIAL = new AtomicLong(1);

    /** A certificate and its key. */
    record Issued(X509Certificate cert, PrivateKey key) {}

    static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            return g.generateKeyPair();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** What to put in a certificate; with() returns modified copies. */
    record Spec(String cn, boolean ca, Instant notBefore, Instant notAfter, List<KeyPurposeId> eku, String dns) {
        static Spec leaf(String cn) {
            Instant now = Instant.now();
            return new Spec(cn, false, now.minus(Duration.ofMinutes(1)), now.plus(Duration.ofHours(1)),
                    List.of(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth), null);
        }

        static Spec ca(String cn) {
            return leaf(cn).asCa(true).withEku();
        }

        Spec asCa(boolean v) {
            return new Spec(cn, v, notBefore, notAfter, eku, dns);
        }

        Spec valid(Instant from, Instant to) {
            return new Spec(cn, ca, from, to, eku, dns);
        }

        Spec withEku(KeyPurposeId... ids) {
            return new Spec(cn, ca, notBefore, notAfter, List.of(ids), dns);
        }

        Spec withDns(String name) {
            return new Spec(cn, ca, notBefore, notAfter, eku, name);
        }
    }

    /** A self-signed root CA. */
    static Issued root(String cn) {
        KeyPair kp = ecKey();
        return new Issued(issue(Spec.ca(cn), kp, null, kp.getPrivate()), kp.getPrivate());
    }

    /** A certificate for a fresh key, issued by issuer. */
    static Issued issue(Spec spec, Issued issuer) {
        KeyPair kp = ecKey();
        return new Issued(issue(spec, kp, issuer.cert, issuer.key), kp.getPrivate());
    }

    /** A certificate for kp, issued by issuerCert/issuerKey (self-signed if issuerCert is null). */
    static X509Certificate issue(Spec spec, KeyPair kp, X509Certificate issuerCert, PrivateKey issuerKey) {
        try {
            X500Name subject = new X500Name("CN=" + spec.cn);
            X500Name issuer = issuerCert == null ? subject
                    : new X500Name(issuerCert.getSubjectX500Principal().getName());
            var b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.getAndIncrement()),
                    Date.from(spec.notBefore), Date.from(spec.notAfter), subject, kp.getPublic());
            b.addExtension(Extension.basicConstraints, true,
                    spec.ca ? new BasicConstraints(0) : new BasicConstraints(false));
            if (!spec.eku.isEmpty()) {
                b.addExtension(Extension.extendedKeyUsage, false,
                        new ExtendedKeyUsage(spec.eku.toArray(new KeyPurposeId[0])));
            }
            if (spec.dns != null) {
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(new GeneralName(GeneralName.dNSName, spec.dns)));
            }
            return new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKey)));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** PEM of the certificates, in order. */
    static String pem(X509Certificate... certs) {
        List<String> out = new ArrayList<>();
        for (X509Certificate c : certs) {
            try {
                out.add(block("CERTIFICATE", c.getEncoded()));
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
        return String.join("", out);
    }

    /** PKCS #8 PEM of key, as cofre writes it. */
    static String pem(PrivateKey key) {
        return block("PRIVATE KEY", key.getEncoded());
    }

    static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }
}
