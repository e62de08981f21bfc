package cc.cofre.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.util.List;
import org.junit.jupiter.api.Test;

class PemTest {
    private static final TestPki.Issued ROOT = TestPki.root("cofre root");
    private static final TestPki.Issued LEAF = TestPki.issue(TestPki.Spec.leaf("workload"), ROOT);

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void refused(String want, org.junit.jupiter.api.function.Executable call) {
        var e = assertThrows(Pem.PemException.class, call);
        assertTrue(e.getMessage().contains(want), "want \"" + want + "\", got: " + e.getMessage());
    }

    @Test
    void chainLeafFirstSkippingOtherBlocksAndText() throws Exception {
        // One file with chain and key, and text around the blocks, as
        // openssl writes ("Bag Attributes") and Go's pem.Decode skips.
        String pem = "subject=CN=workload\n" + TestPki.pem(LEAF.cert()) + "\nnote\n" + TestPki.pem(LEAF.key())
                + TestPki.pem(ROOT.cert());
        var certs = Pem.certificates(b(pem));
        assertEquals(List.of(LEAF.cert(), ROOT.cert()), certs);
        PrivateKey k = Pem.ecPrivateKey(b(pem));
        assertEquals(LEAF.key(), k);
        Pem.checkPair(certs.get(0), k);
    }

    @Test
    void firstCertificateMustLeadTheFile() throws Exception {
        assertEquals(ROOT.cert(), Pem.firstCertificate(b(TestPki.pem(ROOT.cert(), LEAF.cert()))));
        refused("no CERTIFICATE block",
                () -> Pem.firstCertificate(b(TestPki.pem(LEAF.key()) + TestPki.pem(ROOT.cert()))));
    }

    @Test
    void refusesGarbage() {
        refused("no CERTIFICATE block", () -> Pem.certificates(b("hello, world\n")));
        refused("no CERTIFICATE block", () -> Pem.certificates(new byte[0]));
        refused("no PRIVATE KEY block", () -> Pem.ecPrivateKey(b(TestPki.pem(ROOT.cert()))));
        refused("bad base64", () -> Pem.certificates(b("-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n")));
        refused("not an X.509 certificate",
                () -> Pem.certificates(b(TestPki.block("CERTIFICATE", new byte[] {0x30, 0x03, 1, 2, 3}))));
        refused("no END line", () -> Pem.certificates(b(TestPki.pem(ROOT.cert()).replace("-----END", "-----FIN"))));
        refused("malformed BEGIN line", () -> Pem.certificates(b("-----BEGIN CERTIFICATE\nAAAA\n")));
        String withHeaders = TestPki.pem(LEAF.key()).replace("-----\n", "-----\nProc-Type: 4,ENCRYPTED\n\n");
        refused("has headers", () -> Pem.ecPrivateKey(b(withHeaders)));
    }

    @Test
    void refusesOtherKeyFormats() throws Exception {
        // SEC 1 ("EC PRIVATE KEY") and encrypted PKCS #8: cofre writes neither.
        refused("want an unencrypted PKCS #8", () -> Pem.ecPrivateKey(b(TestPki.block("EC PRIVATE KEY", new byte[8]))));
        refused("want an unencrypted PKCS #8",
                () -> Pem.ecPrivateKey(b(TestPki.block("ENCRYPTED PRIVATE KEY", new byte[8]))));
        refused("not a PKCS #8 EC key", () -> Pem.ecPrivateKey(b(TestPki.block("PRIVATE KEY", new byte[] {0x30, 0}))));
        var g = KeyPairGenerator.getInstance("RSA");
        g.initialize(2048);
        String rsa = TestPki.pem(g.generateKeyPair().getPrivate());
        refused("not a PKCS #8 EC key", () -> Pem.ecPrivateKey(b(rsa)));
    }

    @Test
    void refusesMismatchedPair() {
        refused("does not match", () -> Pem.checkPair(LEAF.cert(), ROOT.key()));
    }

    @Test
    void errorsNeverQuoteTheKey() {
        String key = TestPki.pem(LEAF.key());
        String body = key.substring(key.indexOf('\n') + 1, key.indexOf("-----END"));
        String damaged = key.replace(body, body.substring(0, 40) + "!" + body.substring(41));
        var e = assertThrows(Pem.PemException.class, () -> Pem.ecPrivateKey(b(damaged)));
        assertTrue(!e.getMessage().contains(body.substring(0, 16)), e.getMessage());
    }
}
