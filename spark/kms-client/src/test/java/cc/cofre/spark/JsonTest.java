package cc.cofre.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class JsonTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void wrapRequestIsKeyAndStdBase64() throws Exception {
        byte[] body = Json.wrapRequest("master\"\n\u0001", new byte[] {(byte) 0xfb, (byte) 0xff, 0x00});
        assertEquals("{\"key\":\"master\\\"\\n\\u0001\",\"plaintext\":\"+/8A\"}",
                new String(body, StandardCharsets.UTF_8));
        assertEquals(Map.of("key", "master\"\n\u0001", "plaintext", "+/8A"), Json.parse(body));
    }

    @Test
    void unwrapRequestIsKeyAndWrapped() throws Exception {
        byte[] body = Json.unwrapRequest("m", "v1:abc\\");
        assertEquals("{\"key\":\"m\",\"wrapped\":\"v1:abc\\\\\"}", new String(body, StandardCharsets.UTF_8));
    }

    @Test
    void kmsResponseAsGoWritesIt() throws Exception {
        // writeJSON in coordinator/server.go: two-space indent, final newline.
        Json.KmsResponse r = Json.kmsResponse(utf8("{\n  \"wrapped\": \"v3:xyz\",\n  \"key_version\": 3\n}\n"));
        assertEquals("v3:xyz", r.wrapped());
        assertEquals(3, r.keyVersion());
        assertNull(r.plaintext());

        r = Json.kmsResponse(utf8("{\"plaintext\":\"AAEC/w==\",\"key_version\":18446744073709551}"));
        assertArrayEquals(new byte[] {0, 1, 2, (byte) 0xff}, r.plaintext());
        assertEquals(18446744073709551L, r.keyVersion());

        r = Json.kmsResponse(utf8("{\"wrapped\":\"\\u0041\\/\",\"key_version\":0}"));
        assertEquals("A/", r.wrapped());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "empty                 | ``                                                | unexpected end",
        "not an object         | `[1]`                                             | not a JSON object",
        "trailing data         | `{\"key_version\":1} {}`                          | trailing data",
        "duplicate name        | `{\"key_version\":1,\"key_version\":2}`           | duplicate name",
        "unknown field         | `{\"key_version\":1,\"key\":\"m\"}`               | unknown field",
        "no key_version        | `{\"wrapped\":\"w\"}`                             | no key_version",
        "fractional version    | `{\"key_version\":1.0}`                           | not an unsigned integer",
        "negative version      | `{\"key_version\":-1}`                            | not an unsigned integer",
        "exponent version      | `{\"key_version\":1e3}`                           | not an unsigned integer",
        "huge version          | `{\"key_version\":18446744073709551616}`          | not an unsigned integer",
        "string version        | `{\"key_version\":\"1\"}`                         | not an unsigned integer",
        "null wrapped          | `{\"wrapped\":null,\"key_version\":1}`            | not a string",
        "url base64            | `{\"plaintext\":\"-_8A\",\"key_version\":1}`      | not standard base64",
        "unpadded base64       | `{\"plaintext\":\"AAE\",\"key_version\":1}`       | not standard base64",
        "control char          | `{\"wrapped\":\"a\tb\",\"key_version\":1}`        | control character",
        "bad escape            | `{\"wrapped\":\"\\x\",\"key_version\":1}`         | bad escape",
        "bad unicode escape    | `{\"wrapped\":\"\\u12\",\"key_version\":1}`       | bad \\u escape",
        "leading zero          | `{\"key_version\":01}`                            | expected '}'",
        "unterminated          | `{\"wrapped\":\"abc`                              | unterminated string",
        "single quotes         | `{'key_version':1}`                               | expected a name",
        "trailing comma        | `{\"key_version\":1,}`                            | expected a name",
        "bare word             | `{\"key_version\":tru}`                           | unexpected character",
    })
    void kmsResponseRefusesMalformed(String name, String body, String want) {
        var e = assertThrows(Json.JsonException.class, () -> Json.kmsResponse(utf8(body.replace("\\t", "\t"))));
        assertTrue(e.getMessage().contains(want), name + ": " + e.getMessage());
    }

    @Test
    void refusesInvalidUtf8AndDeepNesting() {
        var e = assertThrows(Json.JsonException.class,
                () -> Json.kmsResponse(new byte[] {'{', '"', (byte) 0xc3, '"', ':', '1', '}'}));
        assertTrue(e.getMessage().contains("invalid UTF-8"), e.getMessage());
        e = assertThrows(Json.JsonException.class, () -> Json.parse(utf8("[".repeat(100) + "]".repeat(100))));
        assertTrue(e.getMessage().contains("nested too deeply"), e.getMessage());
    }

    @Test
    void apiErrorReadsCodeAndMessage() {
        var e = Json.apiError(utf8("{\n  \"code\": \"forbidden\",\n  \"message\": \"service \\\"etl\\\" has no grant\","
                + "\n  \"reasons\": [{\"check\": \"x\"}]\n}\n"));
        assertEquals("forbidden", e.code());
        assertEquals("service \"etl\" has no grant", e.message());
    }

    @Test
    void apiErrorKeepsSanitizedTextOfOtherBodies() {
        var e = Json.apiError(utf8("404 page not found\n\u001b[31m"));
        assertEquals("", e.code());
        assertEquals("404 page not found??[31m", e.message());
        e = Json.apiError(utf8("x".repeat(2000)));
        assertEquals(Json.MAX_MESSAGE + 3, e.message().length());
        e = Json.apiError(utf8("{\"code\":\"\",\"message\":\"m\"}"));
        assertEquals("", e.code());
    }
}
