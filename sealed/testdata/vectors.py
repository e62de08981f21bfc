#!/usr/bin/env python3
"""Known-answer vectors for cofre sealed messages (docs/sealed.md).

An implementation independent of Go's crypto/hpke: RFC 9180 base mode written
here from the RFC with the primitives of PyPI `cryptography` (X25519, ECDH
P-256, HMAC-SHA256 HKDF, AES-256-GCM), checked first against OpenSSL's own
HPKE (cryptography's hpke.Suite) so this file is not merely self-consistent.

Run: python3 sealed/testdata/vectors.py > sealed/testdata/vectors.json
Needs: pip install cryptography>=46 (hpke.Suite). Output is deterministic.
"""
import hashlib
import hmac
import json
import struct
import sys

from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KDF_ID, AEAD_ID = 0x0001, 0x0002
NK, NN, NH = 32, 12, 32
REQUEST_LABEL = b"cofre sealed request v1"
RESPONSE_LABEL = b"cofre sealed response v1"


def extract(salt, ikm):
    return hmac.new(salt or b"\0" * NH, ikm, hashlib.sha256).digest()


def expand(prk, info, n):
    out, t, i = b"", b"", 1
    while len(out) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
        i += 1
    return out[:n]


def labeled_extract(suite, salt, label, ikm):
    return extract(salt, b"HPKE-v1" + suite + label + ikm)


def labeled_expand(suite, prk, label, info, n):
    return expand(prk, struct.pack(">H", n) + b"HPKE-v1" + suite + label + info, n)


def b64u(b):
    import base64
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class X25519KEM:
    id, nenc, name = 0x0020, 32, "X25519"

    def priv(self, raw):
        return x25519.X25519PrivateKey.from_private_bytes(raw)

    def pub_bytes(self, k):
        return k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def dh(self, k, pub_raw):
        return k.exchange(x25519.X25519PublicKey.from_public_bytes(pub_raw))

    def thumbprint_input(self, pub_raw):
        return '{"crv":"X25519","kty":"OKP","x":"%s"}' % b64u(pub_raw)


class P256KEM:
    id, nenc, name = 0x0010, 65, "P256"

    def priv(self, raw):
        return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())

    def pub_bytes(self, k):
        return k.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    def dh(self, k, pub_raw):
        return k.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), pub_raw))

    def thumbprint_input(self, pub_raw):
        return '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (b64u(pub_raw[1:33]), b64u(pub_raw[33:65]))


def encap_with(kem, skE, pkR):
    """RFC 9180 §4.1 Encap with a fixed ephemeral key."""
    enc = kem.pub_bytes(skE)
    dh = kem.dh(skE, pkR)
    suite = b"KEM" + struct.pack(">H", kem.id)
    eae_prk = labeled_extract(suite, b"", b"eae_prk", dh)
    shared = labeled_expand(suite, eae_prk, b"shared_secret", enc + pkR, NH)
    return shared, enc


def key_schedule(kem, shared, info):
    """RFC 9180 §5.1, mode_base (0x00), empty psk and psk_id."""
    suite = b"HPKE" + struct.pack(">HHH", kem.id, KDF_ID, AEAD_ID)
    psk_id_hash = labeled_extract(suite, b"", b"psk_id_hash", b"")
    info_hash = labeled_extract(suite, b"", b"info_hash", info)
    ctx = b"\x00" + psk_id_hash + info_hash
    secret = labeled_extract(suite, shared, b"secret", b"")
    key = labeled_expand(suite, secret, b"key", ctx, NK)
    base_nonce = labeled_expand(suite, secret, b"base_nonce", ctx, NN)
    exporter = labeled_expand(suite, secret, b"exp", ctx, NH)
    return key, base_nonce, lambda label, n: labeled_expand(suite, exporter, b"sec", label, n)


def seal_request(kem, skE, pkR, context, plaintext):
    hdr = struct.pack(">HHH", kem.id, KDF_ID, AEAD_ID)
    key_id = hashlib.sha256(kem.thumbprint_input(pkR).encode()).digest()
    info = REQUEST_LABEL + b"\x00" + hdr + key_id
    shared, enc = encap_with(kem, skE, pkR)
    key, base_nonce, export = key_schedule(kem, shared, info)
    ct = AESGCM(key).encrypt(base_nonce, plaintext, context)  # sequence 0
    return hdr + enc + ct, enc, export(RESPONSE_LABEL, NK), info


def seal_response(secret, enc, response_nonce, context, response):
    prk = extract(enc + response_nonce, secret)
    key = expand(prk, b"key", NK)
    nonce = expand(prk, b"nonce", NN)
    return response_nonce + AESGCM(key).encrypt(nonce, response, context)


def self_check(kem, skR, skE):
    """Our HPKE with empty aad must open under OpenSSL's HPKE (hpke.Suite)."""
    pkR = kem.pub_bytes(kem.priv(skR))
    info = b"cofre vectors self-check"
    shared, enc = encap_with(kem, kem.priv(skE), pkR)
    key, base_nonce, _ = key_schedule(kem, shared, info)
    ct = AESGCM(key).encrypt(base_nonce, b"self-check", b"")
    suite = hpke.Suite(getattr(hpke.KEM, kem.name), hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    got = suite.decrypt(enc + ct, kem.priv(skR), info=info)
    assert got == b"self-check", "HPKE self-check against OpenSSL failed"


def main():
    cases = []
    for kem, skR, skE in [
        (X25519KEM(), bytes(range(1, 33)), bytes(range(33, 65))),
        (P256KEM(), bytes(range(1, 33)), bytes(range(33, 65))),
    ]:
        self_check(kem, skR, skE)
        pkR = kem.pub_bytes(kem.priv(skR))
        context = b"POST /v2/models/chest/infer"
        plaintext = b'{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1,2]}]}'
        response = b'{"model_name":"chest","outputs":[{"name":"y","shape":[1],"datatype":"FP32","data":[3]}]}'
        response_nonce = bytes(range(0xa0, 0xa0 + NK))
        body, enc, secret, info = seal_request(kem, kem.priv(skE), pkR, context, plaintext)
        resp = seal_response(secret, enc, response_nonce, context, response)
        cases.append({
            "kem_id": kem.id,
            "skR": skR.hex(),
            "pkR": pkR.hex(),
            "thumbprint_input": kem.thumbprint_input(pkR),
            "key_id": b64u(hashlib.sha256(kem.thumbprint_input(pkR).encode()).digest()),
            "skE": skE.hex(),
            "info": info.hex(),
            "context": context.decode(),
            "plaintext": plaintext.decode(),
            "request": body.hex(),
            "response_secret": secret.hex(),
            "response_nonce": response_nonce.hex(),
            "response": response.decode(),
            "sealed_response": resp.hex(),
        })
    json.dump({
        "source": "sealed/testdata/vectors.py, independent RFC 9180 base mode on PyPI cryptography, self-checked against OpenSSL HPKE",
        "outcome": "accept",
        "cases": cases,
    }, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
