package cc.cofre.spark;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * PEM files as cofre writes them: certificates ("CERTIFICATE") and PKCS #8
 * EC private keys ("PRIVATE KEY", launch/install.go). Text outside blocks is
 * skipped, as Go's encoding/pem does; a block that is cut short, carries
 * headers (encryption) or holds bad base64 is refused, never skipped, so a
 * damaged file fails here rather than as a handshake failure later.
 *
 * <p>Error messages name the block type and what is wrong, never content:
 * the key file's bytes are the workload's secret.
 */
final class Pem {
    private Pem() {}

    /** Thrown for a file that is not what it should be. */
    static final class PemException extends Exception {
        private static final long serialVersionUID = 1L;

        PemException(String message) {
            super(message);
        }
    }

    /** One decoded block. */
    record Block(String type, byte[] der) {}

    private static final String BEGIN = "-----BEGIN ";
    private static final String END = "-----END ";
    private static final String DASHES = "-----";

    /** Returns every block of pem, in order. */
    static List<Block> blocks(byte[] pem) throws PemException {
        // ISO-8859-1 maps each byte to one char: offsets stay byte offsets,
        // and no decoding error can hide a block.
        String s = new String(pem, StandardCharsets.ISO_8859_1);
        List<Block> out = new ArrayList<>();
        int at = 0;
        while (true) {
            int begin = s.indexOf(BEGIN, at);
            while (begin > 0 && s.charAt(begin - 1) != '\n') {
                begin = s.indexOf(BEGIN, begin + 1); // BEGIN only counts at a line start
            }
            if (begin < 0) {
                return out;
            }
            int typeEnd = s.indexOf(DASHES, begin + BEGIN.length());
            int lineEnd = s.indexOf('\n', begin);
            if (typeEnd < 0 || (lineEnd >= 0 && typeEnd > lineEnd)) {
                throw new PemException("pem: malformed BEGIN line");
            }
            String type = s.substring(begin + BEGIN.length(), typeEnd);
            String endLine = END + type + DASHES;
            int bodyStart = typeEnd + DASHES.length();
            int end = s.indexOf(endLine, bodyStart);
            if (end < 0) {
                throw new PemException("pem: " + type + " block has no END line");
            }
            String body = s.substring(bodyStart, end);
            if (body.indexOf(':') >= 0) {
                throw new PemException("pem: " + type + " block has headers (encrypted?); want a plain block");
            }
            String b64 = body.replaceAll("[ \\t\\r\\n]", "");
            try {
                out.add(new Block(type, Base64.getDecoder().decode(b64)));
            } catch (IllegalArgumentException e) {
                throw new PemException("pem: " + type + " block: bad base64");
            }
            at = end + endLine.length();
        }
    }

    /**
     * Returns the certificates of pem, leaf first, skipping blocks of other
     * types (as Go's tls.X509KeyPair does, so one file may hold the chain and
     * the key). At least one is required.
     */
    static List<X509Certificate> certificates(byte[] pem) throws PemException {
        List<X509Certificate> certs = new ArrayList<>();
        for (Block b : blocks(pem)) {
            if (b.type.equals("CERTIFICATE")) {
                certs.add(certificate(b.der));
            }
        }
        if (certs.isEmpty()) {
            throw new PemException("pem: no CERTIFICATE block");
        }
        return certs;
    }

    /** Returns the certificate in the first block of pem, which must be a CERTIFICATE. */
    static X509Certificate firstCertificate(byte[] pem) throws PemException {
        List<Block> bs = blocks(pem);
        if (bs.isEmpty() || !bs.get(0).type.equals("CERTIFICATE")) {
            throw new PemException("pem: no CERTIFICATE block");
        }
        return certificate(bs.get(0).der);
    }

    private static X509Certificate certificate(byte[] der) throws PemException {
        try {
            var in = new ByteArrayInputStream(der);
            X509Certificate c = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
            if (in.available() != 0) {
                throw new PemException("pem: CERTIFICATE block: trailing data after the certificate");
            }
            return c;
        } catch (CertificateException | ClassCastException e) {
            throw new PemException("pem: CERTIFICATE block: not an X.509 certificate");
        }
    }

    /**
     * Returns the EC private key of the first private key block of pem,
     * which must be PKCS #8 ("PRIVATE KEY"), as cofre installs it.
     */
    static PrivateKey ecPrivateKey(byte[] pem) throws PemException {
        for (Block b : blocks(pem)) {
            if (!b.type.equals("PRIVATE KEY") && !b.type.endsWith(" PRIVATE KEY")) {
                continue;
            }
            try {
                if (!b.type.equals("PRIVATE KEY")) {
                    throw new PemException("pem: " + b.type + " block: want an unencrypted PKCS #8 \"PRIVATE KEY\"");
                }
                return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(b.der));
            } catch (GeneralSecurityException e) {
                // The cause's message is dropped: providers may quote input.
                throw new PemException("pem: PRIVATE KEY block: not a PKCS #8 EC key");
            } finally {
                Arrays.fill(b.der, (byte) 0);
            }
        }
        throw new PemException("pem: no PRIVATE KEY block");
    }

    /**
     * Checks that key is the private key of leaf's public key, by signing
     * and verifying a fixed message: a mismatched pair would fail only in
     * the handshake, with a less useful error.
     */
    static void checkPair(X509Certificate leaf, PrivateKey key) throws PemException {
        byte[] msg = "cofre-spark-kms key pair check".getBytes(StandardCharsets.US_ASCII);
        try {
            Signature sig = Signature.getInstance("SHA256withECDSA");
            sig.initSign(key);
            sig.update(msg);
            byte[] s = sig.sign();
            sig.initVerify(leaf.getPublicKey());
            sig.update(msg);
            if (sig.verify(s)) {
                return;
            }
        } catch (GeneralSecurityException e) {
            // Fall through: an RSA leaf, say.
        }
        throw new PemException("the private key does not match the certificate");
    }
}
