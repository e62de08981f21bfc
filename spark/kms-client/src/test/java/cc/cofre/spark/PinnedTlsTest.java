package cc.cofre.spark;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.junit.jupiter.api.Test;

/** checkServer and checkRootShape, case by case, as client.go's checkServer decides them. */
class PinnedTlsTest {
    private static final Instant NOW = Instant.now();
    private static final TestPki.Issued ROOT = TestPki.root("cofre root");
    private static final TestPki.Issued MANIFEST_CA = TestPki.issue(TestPki.Spec.ca("cofre m v1"), ROOT);

    private static void accepted(X509Certificate... chain) throws CertificateException {
        PinnedTls.checkServer(chain, ROOT.cert(), Date.from(NOW));
    }

    private static void refused(String want, X509Certificate root, X509Certificate... chain) {
        var e = assertThrows(CertificateException.class, () -> PinnedTls.checkServer(chain, root, Date.from(NOW)));
        assertTrue(e.getMessage().contains(want), "want \"" + want + "\", got: " + e.getMessage());
    }

    private static X509Certificate leaf(TestPki.Spec spec, TestPki.Issued issuer) {
        return TestPki.issue(spec, issuer).cert();
    }

    @Test
    void acceptsLeavesTheRootIssued() throws Exception {
        accepted(leaf(TestPki.Spec.leaf("coordinator"), ROOT));
        accepted(leaf(TestPki.Spec.leaf("coordinator").withEku(KeyPurposeId.anyExtendedKeyUsage), ROOT));
        accepted(leaf(TestPki.Spec.leaf("coordinator").withEku(), ROOT)); // no EKU: any use, as in Go
        // What the server sends after its leaf is ignored.
        accepted(leaf(TestPki.Spec.leaf("coordinator"), ROOT), TestPki.root("junk").cert());
    }

    @Test
    void refusesEverythingElse() {
        X509Certificate r = ROOT.cert();
        refused("no server certificate", r);
        refused("not issued by the pinned coordinator root", r, leaf(TestPki.Spec.leaf("x"), TestPki.root("other")));
        refused("not issued by the pinned coordinator root", r, leaf(TestPki.Spec.leaf("x"), MANIFEST_CA),
                MANIFEST_CA.cert());
        refused("the server certificate is a CA", r, MANIFEST_CA.cert());
        refused("not issued by the pinned coordinator root", r,
                leaf(TestPki.Spec.leaf("x").valid(NOW.minus(Duration.ofDays(2)), NOW.minus(Duration.ofDays(1))), ROOT));
        refused("does not allow server authentication", r,
                leaf(TestPki.Spec.leaf("x").withEku(KeyPurposeId.id_kp_clientAuth), ROOT));

        TestPki.Issued expiredRoot = new TestPki.Issued(TestPki.issue(TestPki.Spec.ca("old")
                .valid(NOW.minus(Duration.ofDays(2)), NOW.minus(Duration.ofDays(1))),
                new java.security.KeyPair(ROOT.cert().getPublicKey(), ROOT.key()), null, ROOT.key()), ROOT.key());
        refused("the root certificate is not valid at", expiredRoot.cert(), leaf(TestPki.Spec.leaf("x"), ROOT));

        TestPki.Issued clientOnlyRoot = new TestPki.Issued(TestPki.issue(
                TestPki.Spec.ca("cofre root").withEku(KeyPurposeId.id_kp_clientAuth),
                new java.security.KeyPair(ROOT.cert().getPublicKey(), ROOT.key()), null, ROOT.key()), ROOT.key());
        refused("the root certificate does not allow server authentication", clientOnlyRoot.cert(),
                leaf(TestPki.Spec.leaf("x"), ROOT));
    }

    @Test
    void rootShape() throws Exception {
        PinnedTls.checkRootShape(ROOT.cert());
        var e = assertThrows(CertificateException.class,
                () -> PinnedTls.checkRootShape(leaf(TestPki.Spec.leaf("x"), ROOT)));
        assertTrue(e.getMessage().contains("not a CA"), e.getMessage());
        e = assertThrows(CertificateException.class, () -> PinnedTls.checkRootShape(MANIFEST_CA.cert()));
        assertTrue(e.getMessage().contains("not self-signed"), e.getMessage());
    }
}
