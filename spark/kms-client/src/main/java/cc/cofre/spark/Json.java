package cc.cofre.spark;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The coordinator's KMS messages (coordinator/api: KMSRequest, KMSResponse,
 * Error) in JSON, by hand: the jar carries no JSON library, and Spark's own
 * (Jackson, shaded differently per version) is not ours to rely on.
 *
 * <p>Responses are parsed strictly: valid UTF-8, one value, no trailing
 * data, no duplicate names, and for a KMS response only the fields
 * plaintext, wrapped and key_version with their types. A coordinator that
 * answers anything else is broken or not the coordinator; guessing would
 * only hide it. Error bodies are the exception: they are read leniently
 * (like the Go client's decodeAPIError), since they only feed a message.
 */
final class Json {
    private Json() {}

    /** Nesting bound: a KMS answer is one flat object; an error, two levels. */
    private static final int MAX_DEPTH = 16;

    /** Bound on each string of an error message, in characters (Go: maxErrorString). */
    static final int MAX_MESSAGE = 512;

    /** A decoded KMS response. plaintext is null when absent. */
    record KmsResponse(byte[] plaintext, String wrapped, long keyVersion) {}

    /** A decoded error body: code is empty when the body was not an api.Error. */
    record ApiError(String code, String message) {}

    /** Thrown for a malformed or unexpected document; the message never quotes values. */
    static final class JsonException extends Exception {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    /** {"key": name, "plaintext": base64(plaintext)}: the body of POST /v1/kms/wrap. */
    static byte[] wrapRequest(String key, byte[] plaintext) {
        // Built as bytes, never as a String, so that the caller can clear
        // the key's encoding once it is sent.
        byte[] head = ("{\"key\":" + quote(key) + ",\"plaintext\":\"").getBytes(StandardCharsets.UTF_8);
        byte[] b64 = Base64.getEncoder().encode(plaintext);
        byte[] out = new byte[head.length + b64.length + 2];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(b64, 0, out, head.length, b64.length);
        out[out.length - 2] = '"';
        out[out.length - 1] = '}';
        java.util.Arrays.fill(b64, (byte) 0);
        return out;
    }

    /** {"key": name, "wrapped": wrapped}: the body of POST /v1/kms/unwrap. */
    static byte[] unwrapRequest(String key, String wrapped) {
        return ("{\"key\":" + quote(key) + ",\"wrapped\":" + quote(wrapped) + "}").getBytes(StandardCharsets.UTF_8);
    }

    /** Returns s as a JSON string literal. */
    static String quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    // Control characters must be escaped; U+2028/9 too, as Go
                    // does, so the text is also safe inside JavaScript.
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }

    /** Decodes a KMS response strictly (see the class comment). */
    static KmsResponse kmsResponse(byte[] body) throws JsonException {
        if (!(parse(body) instanceof Map<?, ?> m)) {
            throw new JsonException("kms response: not a JSON object");
        }
        byte[] plaintext = null;
        String wrapped = null;
        Long version = null;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            Object v = e.getValue();
            switch ((String) e.getKey()) {
                case "plaintext" -> plaintext = base64(string(v, "plaintext"), "plaintext");
                case "wrapped" -> wrapped = string(v, "wrapped");
                case "key_version" -> version = uint(v, "key_version");
                default -> throw new JsonException("kms response: unknown field " + quote(clip((String) e.getKey())));
            }
        }
        if (version == null) {
            throw new JsonException("kms response: no key_version");
        }
        return new KmsResponse(plaintext, wrapped, version);
    }

    /**
     * Decodes an error body. It never fails: a body that is not an api.Error
     * leaves code empty and keeps a sanitized prefix of the body as the
     * message.
     */
    static ApiError apiError(byte[] body) {
        try {
            if (parse(body) instanceof Map<?, ?> m
                    && m.get("code") instanceof String code && !code.isEmpty()) {
                Object msg = m.get("message");
                return new ApiError(sanitize(code), msg instanceof String s ? sanitize(s) : "");
            }
        } catch (JsonException ignored) {
            // Fall through: keep the text.
        }
        return new ApiError("", sanitize(new String(body, StandardCharsets.UTF_8)));
    }

    /** Makes text from the peer safe to print: printable characters only, at most MAX_MESSAGE. */
    static String sanitize(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().limit(MAX_MESSAGE).forEach(cp -> {
            int type = Character.getType(cp);
            boolean unsafe = Character.isISOControl(cp) || type == Character.FORMAT
                    || type == Character.SURROGATE || type == Character.UNASSIGNED
                    || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR;
            b.appendCodePoint(unsafe ? '?' : cp);
        });
        if (s.codePointCount(0, s.length()) > MAX_MESSAGE) {
            b.append("...");
        }
        return b.toString();
    }

    static String clip(String s) {
        return sanitize(s.length() > 64 ? s.substring(0, 64) : s);
    }

    private static String string(Object v, String field) throws JsonException {
        if (v instanceof String s) {
            return s;
        }
        throw new JsonException("kms response: " + field + " is not a string");
    }

    private static long uint(Object v, String field) throws JsonException {
        // Integer syntax only: key_version is a Go uint64, which never
        // encodes as 1.0, 1e3 or -1.
        if (v instanceof Num n && n.text.matches("0|[1-9][0-9]*")) {
            BigInteger i = new BigInteger(n.text);
            if (i.bitLength() < 64) {
                return i.longValue();
            }
        }
        throw new JsonException("kms response: " + field + " is not an unsigned integer below 2^63");
    }

    /** Standard base64 with padding, as Go encodes []byte; nothing else. */
    private static byte[] base64(String s, String field) throws JsonException {
        try {
            if (s.length() % 4 == 0) {
                return Base64.getDecoder().decode(s);
            }
        } catch (IllegalArgumentException e) {
            // Fall through.
        }
        throw new JsonException("kms response: " + field + " is not standard base64");
    }

    /** A JSON number, kept as its text so that callers choose the type. */
    private record Num(String text) {}

    /** The JSON null. */
    private static final Object NULL = new Object();

    /** Parses one JSON document: objects become maps, arrays lists, numbers Num. */
    static Object parse(byte[] body) throws JsonException {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(body)).toString();
        } catch (CharacterCodingException e) {
            throw new JsonException("json: invalid UTF-8");
        }
        Parser p = new Parser(text);
        p.space();
        Object v = p.value(0);
        p.space();
        if (p.i != text.length()) {
            throw new JsonException("json: trailing data at offset " + p.i);
        }
        return v;
    }

    private static final class Parser {
        final String s;
        int i;

        Parser(String s) {
            this.s = s;
        }

        JsonException error(String what) {
            return new JsonException("json: " + what + " at offset " + i);
        }

        void space() {
            while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
                i++;
            }
        }

        void expect(char c) throws JsonException {
            if (i >= s.length() || s.charAt(i) != c) {
                throw error("expected '" + c + "'");
            }
            i++;
        }

        Object value(int depth) throws JsonException {
            if (depth > MAX_DEPTH) {
                throw error("nested too deeply");
            }
            if (i >= s.length()) {
                throw error("unexpected end");
            }
            char c = s.charAt(i);
            if (c == '{') {
                return object(depth);
            } else if (c == '[') {
                return array(depth);
            } else if (c == '"') {
                return string();
            } else if (c == '-' || (c >= '0' && c <= '9')) {
                return number();
            } else if (s.startsWith("true", i)) {
                i += 4;
                return Boolean.TRUE;
            } else if (s.startsWith("false", i)) {
                i += 5;
                return Boolean.FALSE;
            } else if (s.startsWith("null", i)) {
                i += 4;
                return NULL;
            }
            throw error("unexpected character");
        }

        Map<String, Object> object(int depth) throws JsonException {
            Map<String, Object> m = new LinkedHashMap<>();
            expect('{');
            space();
            if (i < s.length() && s.charAt(i) == '}') {
                i++;
                return m;
            }
            while (true) {
                space();
                if (i >= s.length() || s.charAt(i) != '"') {
                    throw error("expected a name");
                }
                String name = string();
                space();
                expect(':');
                space();
                // A duplicate name is ambiguous: parsers disagree on which wins.
                if (m.put(name, value(depth + 1)) != null) {
                    throw error("duplicate name");
                }
                space();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    continue;
                }
                expect('}');
                return m;
            }
        }

        List<Object> array(int depth) throws JsonException {
            List<Object> l = new ArrayList<>();
            expect('[');
            space();
            if (i < s.length() && s.charAt(i) == ']') {
                i++;
                return l;
            }
            while (true) {
                space();
                l.add(value(depth + 1));
                space();
                if (i < s.length() && s.charAt(i) == ',') {
                    i++;
                    continue;
                }
                expect(']');
                return l;
            }
        }

        String string() throws JsonException {
            expect('"');
            StringBuilder b = new StringBuilder();
            while (true) {
                if (i >= s.length()) {
                    throw error("unterminated string");
                }
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                } else if (c < 0x20) {
                    throw error("control character in string");
                } else if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (i >= s.length()) {
                    throw error("unterminated escape");
                }
                char e = s.charAt(i++);
                switch (e) {
                    case '"', '\\', '/' -> b.append(e);
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        if (i + 4 > s.length() || !s.substring(i, i + 4).matches("[0-9a-fA-F]{4}")) {
                            throw error("bad \\u escape");
                        }
                        b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                        i += 4;
                    }
                    default -> throw error("bad escape");
                }
            }
        }

        Num number() throws JsonException {
            int start = i;
            if (s.charAt(i) == '-') {
                i++;
            }
            if (i < s.length() && s.charAt(i) == '0') {
                i++;
            } else if (!digits()) {
                throw error("bad number");
            }
            if (i < s.length() && s.charAt(i) == '.') {
                i++;
                if (!digits()) {
                    throw error("bad number");
                }
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                    i++;
                }
                if (!digits()) {
                    throw error("bad number");
                }
            }
            return new Num(s.substring(start, i));
        }

        /** Consumes one or more digits; false if there were none. */
        boolean digits() {
            int start = i;
            while (i < s.length() && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
            }
            return i > start;
        }
    }
}
