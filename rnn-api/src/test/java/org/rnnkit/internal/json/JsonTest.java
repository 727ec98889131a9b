package org.rnnkit.internal.json;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class JsonTest {

    @Test
    void parsesAllValueKinds() {
        Map<String, Object> m = Json.parseObject(
                " {\"a\": 1, \"b\": -2.5e1, \"c\": \"x\\ty\\u00e9\\ud83d\\ude00\", \"d\": [true, false, null], \"e\": {}}\n");
        assertEquals(List.of("a", "b", "c", "d", "e"), new ArrayList<>(m.keySet()));
        assertEquals(1L, m.get("a"));
        assertEquals(-25.0, m.get("b"));
        assertEquals("x\ty\u00e9\ud83d\ude00", m.get("c"));
        assertEquals(Arrays.asList(true, false, null), m.get("d"));
        assertEquals(Map.of(), m.get("e"));
        assertInstanceOf(LinkedHashMap.class, m);
    }

    @Test
    void keepsInsertionOrder() {
        Map<String, Object> m = Json.parseObject("{\"z\":0,\"a\":1,\"m\":2}");
        assertEquals(List.of("z", "a", "m"), new ArrayList<>(m.keySet()));
    }

    @Test
    void numbers() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9223372036854775808.0, Json.parse("9223372036854775808"));
        assertEquals(0L, Json.parse("-0"));
        assertEquals(1000.0, Json.parse("1e3"));
        assertEquals(1000.0, Json.parse("1E+3"));
        assertEquals(0.001, Json.parse("1e-3"));
        assertEquals(0.5, Json.parse("0.5"));
        assertEquals(0.0, Json.parse("1e-400"));
        assertEquals(1e308, Json.parse("1e308"));
        assertInstanceOf(Double.class, Json.parse("123456789012345678901234567890"));
    }

    @Test
    void scalarsAtTopLevel() {
        assertEquals("s", Json.parse("\"s\""));
        assertEquals(Boolean.TRUE, Json.parse("true"));
        assertNull(Json.parse(" null "));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "[1 2]", "01", "-01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10",
        "NaN", "Infinity", "-Infinity", "1e400", "'a'", "{a:1}", "\"a\" \"b\"", "[1] x", "tru", "nul", "True",
        "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"", "\"unterminated", "\"a\nb\"", "\"a\u0000b\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\ud800\"", "\"\udc00x\"", "/* c */ 1", "[1]//", "\u00a01",
        "{\"a\" 1}", "{\"a\":}", "[,1]", "\ufeff{}"
    })
    void rejectsInvalid(String text) {
        assertThrows(JsonException.class, () -> Json.parse(text), () -> "accepted: " + text);
    }

    @Test
    void rejectsDuplicateKeys() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\"a\":1,\"b\":2,\"a\":3}"));
        assertTrue(e.getMessage().contains("duplicate key \"a\""), e.getMessage());
        assertTrue(e.getMessage().contains("column 14"), e.getMessage());
        assertEquals(13, e.offset());
    }

    @Test
    void errorNamesLineAndColumn() {
        JsonException e = assertThrows(JsonException.class, () -> Json.parse("{\n  \"a\": 01\n}"));
        assertTrue(e.getMessage().contains("leading zero"), e.getMessage());
        assertTrue(e.getMessage().contains("line 2, column 9"), e.getMessage());
    }

    @Test
    void nestingDepthIsBounded() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertInstanceOf(List.class, Json.parse(ok));
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        JsonException e = assertThrows(JsonException.class, () -> Json.parse(deep));
        assertTrue(e.getMessage().contains("nested deeper than 64"), e.getMessage());
        // hostile depth: no StackOverflowError
        assertThrows(JsonException.class, () -> Json.parse("{\"a\":".repeat(1_000_000)));
        assertThrows(JsonException.class, () -> Json.parse("[".repeat(1_000_000)));
    }

    @Test
    void writeRoundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "quote\" backslash\\ nl\n tab\t ctl\u0001 \u00e9 \ud83d\ude00 /");
        m.put("l", Long.MIN_VALUE);
        m.put("d", -1.5e-7);
        m.put("big", 1e300);
        m.put("b", false);
        m.put("n", null);
        m.put("list", Arrays.asList(1L, "x", null, List.of(), Map.of()));
        m.put("nested", Map.of("k", List.of(List.of(1L, 2L))));
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        assertEquals(m, Json.parse(Json.writePretty(m)));
    }

    @Test
    void writeFormats() {
        assertEquals("{\"a\":[1,2]}", Json.write(Map.of("a", new int[] {1, 2})));
        assertEquals("\"\\u0001\\\"\"", Json.write("\u0001\""));
        assertEquals("[1.0,0.5,3]", Json.write(List.of(1.0, 0.5f, 3)));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", List.of(21, 6, 9));
        m.put("o", Map.of("x", List.of()));
        assertEquals("{\n  \"shape\": [21, 6, 9],\n  \"o\": {\n    \"x\": []\n  }\n}", Json.writePretty(m));
    }

    @Test
    void writeRejectsUnrepresentable() {
        assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(Float.POSITIVE_INFINITY)));
        assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, "x")));
        assertThrows(IllegalArgumentException.class, () -> Json.write("\ud800"));
        assertThrows(IllegalArgumentException.class, () -> Json.write(new Object()));
        List<Object> cycle = new ArrayList<>();
        cycle.add(cycle);
        assertThrows(IllegalArgumentException.class, () -> Json.write(cycle));
    }

    @Test
    void typedHelpers() {
        Map<String, Object> m = Json.parseObject("{\"i\": 3, \"s\": \"x\", \"big\": 4294967296, \"f\": 1.5}");
        assertEquals(3, Json.asInt(m.get("i"), "i"));
        assertEquals(1.5, Json.asDouble(m.get("f"), "f"));
        assertEquals(3.0, Json.asDouble(m.get("i"), "i"));
        JsonException e = assertThrows(JsonException.class, () -> Json.asInt(m.get("s"), "case.json seq_len"));
        assertEquals("case.json seq_len: expected an integer, got string \"x\"", e.getMessage());
        assertThrows(JsonException.class, () -> Json.asInt(m.get("big"), "big"));
        assertThrows(JsonException.class, () -> Json.asLong(m.get("f"), "f"));
        assertThrows(JsonException.class, () -> Json.parseObject("[1]"));
    }
}
