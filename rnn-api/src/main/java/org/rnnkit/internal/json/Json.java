package org.rnnkit.internal.json;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A small, strict JSON (RFC 8259) parser and writer: rnnkit's own, for safetensors headers, golden-case
 * descriptions and reports. Not API (its package is not exported); rnnkit's CLI and benchmarks, which run
 * on the class path, use it too.
 *
 * <p>{@link #parse} maps JSON values to Java as follows:
 * <ul>
 *   <li>object: {@code Map<String, Object>}, a {@link LinkedHashMap} in document order; duplicate keys are rejected;
 *   <li>array: {@code List<Object>}, an {@link ArrayList};
 *   <li>string: {@link String};
 *   <li>{@code true}/{@code false}: {@link Boolean};
 *   <li>{@code null}: Java {@code null} (so use {@code containsKey} to tell a null member from a missing one);
 *   <li>number: {@link Long} when written without fraction and exponent and within the {@code long} range,
 *       otherwise {@link Double} (finite; a literal beyond the double range is rejected).
 * </ul>
 * The returned maps and lists are fresh and mutable; the caller owns them.
 *
 * <p>Strictness: no comments, no trailing commas, no single quotes, no leading zeros, no {@code NaN}/{@code Infinity},
 * no control characters or lone surrogates in strings, no garbage after the value, and nesting of arrays and
 * objects at most {@link #MAX_DEPTH} deep, so hostile input cannot overflow the stack.
 *
 * <p>Thread safety: stateless; all methods are safe to call from any thread.
 */
public final class Json {
    /** Maximum nesting depth of arrays and objects, in parsing and in writing. */
    public static final int MAX_DEPTH = 64;

    private Json() {}

    // ------------------------------------------------------------------------------------------------ parsing

    /**
     * Parses one JSON value, optionally surrounded by whitespace.
     *
     * @throws JsonException if {@code text} is not exactly one valid JSON value or nests deeper than {@link #MAX_DEPTH}
     */
    public static Object parse(String text) {
        Objects.requireNonNull(text, "text");
        Parser p = new Parser(text);
        p.skipWhitespace();
        if (p.pos == text.length()) {
            throw p.error("empty input, expected a JSON value");
        }
        Object value = p.value(0);
        p.skipWhitespace();
        if (p.pos != text.length()) {
            throw p.error("unexpected " + p.describeHere() + " after the JSON value");
        }
        return value;
    }

    /**
     * Parses a JSON text whose value must be an object.
     *
     * @throws JsonException if the text is invalid or holds another kind of value
     */
    public static Map<String, Object> parseObject(String text) {
        return asObject(parse(text), "JSON text");
    }

    // ------------------------------------------------------------------------------------------------ typed access

    /** {@code value} as an object; {@code what} names it in the error message. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> asObject(Object value, String what) {
        if (value instanceof Map<?, ?> m) {
            return (Map<String, Object>) m;
        }
        throw typeError(value, what, "an object");
    }

    /** {@code value} as an array. */
    @SuppressWarnings("unchecked")
    public static List<Object> asList(Object value, String what) {
        if (value instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw typeError(value, what, "an array");
    }

    /** {@code value} as a string. */
    public static String asString(Object value, String what) {
        if (value instanceof String s) {
            return s;
        }
        throw typeError(value, what, "a string");
    }

    /** {@code value} as a boolean. */
    public static boolean asBoolean(Object value, String what) {
        if (value instanceof Boolean b) {
            return b;
        }
        throw typeError(value, what, "true or false");
    }

    /** {@code value} as an integer in the {@code long} range (written without fraction or exponent). */
    public static long asLong(Object value, String what) {
        if (value instanceof Long l) {
            return l;
        }
        throw typeError(value, what, "an integer");
    }

    /** {@code value} as an integer in the {@code int} range. */
    public static int asInt(Object value, String what) {
        long l = asLong(value, what);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) {
            throw new JsonException(what + ": expected an integer in the int range, got " + l);
        }
        return (int) l;
    }

    /** {@code value} as a number (integer or not). */
    public static double asDouble(Object value, String what) {
        if (value instanceof Long l) {
            return l;
        }
        if (value instanceof Double d) {
            return d;
        }
        throw typeError(value, what, "a number");
    }

    /** The JSON kind of a parsed value, for error messages: "object", "array", "string", "number", "boolean", "null". */
    public static String typeName(Object value) {
        if (value == null) {
            return "null";
        } else if (value instanceof Map<?, ?>) {
            return "object";
        } else if (value instanceof List<?>) {
            return "array";
        } else if (value instanceof String) {
            return "string";
        } else if (value instanceof Number) {
            return "number";
        } else if (value instanceof Boolean) {
            return "boolean";
        }
        return value.getClass().getName();
    }

    private static JsonException typeError(Object value, String what, String expected) {
        String got = switch (typeName(value)) {
            case "object", "array" -> "an " + typeName(value);
            case "null" -> "null";
            case "string", "number", "boolean" -> typeName(value) + " " + abbreviate(write(value), 60);
            default -> typeName(value);
        };
        return new JsonException(what + ": expected " + expected + ", got " + got);
    }

    private static String abbreviate(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max) + "...";
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        Object value(int depth) {
            if (pos >= s.length()) {
                throw error("unexpected end of input, expected a JSON value");
            }
            char c = s.charAt(pos);
            switch (c) {
                case '{':
                    return object(depth + 1);
                case '[':
                    return array(depth + 1);
                case '"':
                    return string();
                case 't':
                    literal("true");
                    return Boolean.TRUE;
                case 'f':
                    literal("false");
                    return Boolean.FALSE;
                case 'n':
                    literal("null");
                    return null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw error("unexpected " + describeHere() + ", expected a JSON value");
            }
        }

        private Map<String, Object> object(int depth) {
            checkDepth(depth);
            pos++; // '{'
            Map<String, Object> map = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                pos++;
                return map;
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw error("unexpected " + describeHere() + ", expected a string key");
                }
                int keyPos = pos;
                String key = string();
                skipWhitespace();
                expect(':', "after an object key");
                skipWhitespace();
                Object value = value(depth);
                if (map.containsKey(key)) {
                    throw new JsonException(
                            "duplicate key " + abbreviate(write(key), 80) + " " + where(keyPos), keyPos);
                }
                map.put(key, value);
                skipWhitespace();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == '}') {
                    pos++;
                    return map;
                } else {
                    throw error("unexpected " + describeHere() + ", expected ',' or '}' in an object");
                }
            }
        }

        private List<Object> array(int depth) {
            checkDepth(depth);
            pos++; // '['
            List<Object> list = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                pos++;
                return list;
            }
            while (true) {
                skipWhitespace();
                list.add(value(depth));
                skipWhitespace();
                char c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == ']') {
                    pos++;
                    return list;
                } else {
                    throw error("unexpected " + describeHere() + ", expected ',' or ']' in an array");
                }
            }
        }

        private void checkDepth(int depth) {
            if (depth > MAX_DEPTH) {
                throw error("arrays and objects nested deeper than " + MAX_DEPTH);
            }
        }

        private String string() {
            int start = ++pos; // after '"'
            StringBuilder sb = null;
            while (true) {
                if (pos >= s.length()) {
                    throw new JsonException("unterminated string starting " + where(start - 1), start - 1);
                }
                char c = s.charAt(pos);
                if (c == '"') {
                    String result = sb == null ? s.substring(start, pos) : sb.append(s, start, pos).toString();
                    pos++;
                    return result;
                } else if (c == '\\') {
                    if (sb == null) {
                        sb = new StringBuilder();
                    }
                    sb.append(s, start, pos);
                    escape(sb);
                    start = pos;
                } else if (c < 0x20) {
                    throw error(String.format("control character U+%04X in a string (must be escaped)", (int) c));
                } else if (Character.isHighSurrogate(c)) {
                    if (pos + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(pos + 1))) {
                        throw error(String.format("lone surrogate U+%04X in a string", (int) c));
                    }
                    pos += 2;
                } else if (Character.isLowSurrogate(c)) {
                    throw error(String.format("lone surrogate U+%04X in a string", (int) c));
                } else {
                    pos++;
                }
            }
        }

        /** Decodes the escape at {@code pos} (a backslash) into {@code sb} and moves past it. */
        private void escape(StringBuilder sb) {
            int escPos = pos;
            pos++;
            if (pos >= s.length()) {
                throw error("unterminated escape sequence");
            }
            char c = s.charAt(pos++);
            switch (c) {
                case '"' -> sb.append('"');
                case '\\' -> sb.append('\\');
                case '/' -> sb.append('/');
                case 'b' -> sb.append('\b');
                case 'f' -> sb.append('\f');
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case 'u' -> {
                    char u = hex4();
                    if (Character.isHighSurrogate(u)) {
                        // A surrogate pair must be written as two consecutive \\u escapes.
                        if (pos + 1 < s.length() && s.charAt(pos) == '\\' && s.charAt(pos + 1) == 'u') {
                            pos += 2;
                            char low = hex4();
                            if (!Character.isLowSurrogate(low)) {
                                throw new JsonException(String.format(
                                        "escaped high surrogate U+%04X not followed by a low surrogate %s",
                                        (int) u, where(escPos)), escPos);
                            }
                            sb.append(u).append(low);
                        } else {
                            throw new JsonException(String.format(
                                    "lone escaped surrogate U+%04X %s", (int) u, where(escPos)), escPos);
                        }
                    } else if (Character.isLowSurrogate(u)) {
                        throw new JsonException(String.format(
                                "lone escaped surrogate U+%04X %s", (int) u, where(escPos)), escPos);
                    } else {
                        sb.append(u);
                    }
                }
                default -> {
                    pos--;
                    throw error("invalid escape sequence '\\" + printable(c) + "'");
                }
            }
        }

        private char hex4() {
            if (pos + 4 > s.length()) {
                throw error("truncated \\u escape");
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(s.charAt(pos), 16);
                // Character.digit also accepts non-ASCII digits; JSON allows only [0-9a-fA-F].
                if (d < 0 || s.charAt(pos) > 'f') {
                    throw error("invalid hex digit in \\u escape: " + describeHere());
                }
                v = (v << 4) | d;
                pos++;
            }
            return (char) v;
        }

        private Object number() {
            int start = pos;
            if (peek() == '-') {
                pos++;
            }
            char c = peek();
            if (c == '0') {
                pos++;
                if (isDigit(peek())) {
                    throw error("leading zero in a number");
                }
            } else if (c >= '1' && c <= '9') {
                skipDigits();
            } else {
                throw error("unexpected " + describeHere() + ", expected a digit");
            }
            boolean integral = true;
            if (peek() == '.') {
                integral = false;
                pos++;
                if (!isDigit(peek())) {
                    throw error("unexpected " + describeHere() + ", expected a digit after '.'");
                }
                skipDigits();
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                pos++;
                if (peek() == '+' || peek() == '-') {
                    pos++;
                }
                if (!isDigit(peek())) {
                    throw error("unexpected " + describeHere() + ", expected a digit in the exponent");
                }
                skipDigits();
            }
            String literal = s.substring(start, pos);
            if (integral && pos - start <= 20) {
                try {
                    return Long.parseLong(literal);
                } catch (NumberFormatException e) {
                    // outside the long range: fall through to double
                }
            }
            double d = Double.parseDouble(literal); // the JSON number grammar is a subset of Java's
            if (Double.isInfinite(d)) {
                throw new JsonException("number " + abbreviate(literal, 40) + " is outside the double range "
                        + where(start), start);
            }
            return d;
        }

        private void skipDigits() {
            while (isDigit(peek())) {
                pos++;
            }
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private void literal(String word) {
            if (!s.startsWith(word, pos)) {
                throw error("unexpected " + describeHere() + ", expected a JSON value");
            }
            pos += word.length();
        }

        private void expect(char c, String context) {
            if (peek() != c) {
                throw error("unexpected " + describeHere() + ", expected '" + c + "' " + context);
            }
            pos++;
        }

        /** The character at {@code pos}, or NUL at the end (NUL never matches anything valid outside strings). */
        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        void skipWhitespace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        String describeHere() {
            if (pos >= s.length()) {
                return "end of input";
            }
            return "character '" + printable(s.charAt(pos)) + "'";
        }

        private static String printable(char c) {
            return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c);
        }

        JsonException error(String message) {
            return new JsonException(message + " " + where(pos), pos);
        }

        private String where(int offset) {
            int line = 1;
            int lineStart = 0;
            for (int i = 0; i < offset && i < s.length(); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    lineStart = i + 1;
                }
            }
            return "at line " + line + ", column " + (offset - lineStart + 1) + " (offset " + offset + ")";
        }
    }

    // ------------------------------------------------------------------------------------------------ writing

    /**
     * Compact JSON for {@code value}: {@code Map} (String keys, in iteration order), {@code Collection},
     * {@code Object[]}, {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, {@code String},
     * {@code Boolean}, {@code null}, and the {@code Number}s {@code Integer}, {@code Long}, {@code Short},
     * {@code Byte}, {@code BigInteger}, {@code BigDecimal}, {@code Float}, {@code Double}.
     *
     * @throws IllegalArgumentException for other types, non-String keys, NaN or infinite numbers, strings with lone
     *     surrogates, or nesting deeper than {@link #MAX_DEPTH} (so that everything written parses back)
     */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, -1).value(value, 0, 0);
        return sb.toString();
    }

    /**
     * Like {@link #write} but indented by two spaces per level, one member per line; arrays that hold no array or
     * object stay on one line ({@code [21, 6, 9]}). No trailing newline.
     */
    public static String writePretty(Object value) {
        StringBuilder sb = new StringBuilder();
        new Writer(sb, 2).value(value, 0, 0);
        return sb.toString();
    }

    private record Writer(StringBuilder sb, int indent) {
        void value(Object v, int depth, int level) {
            if (v == null) {
                sb.append("null");
            } else if (v instanceof String str) {
                string(str);
            } else if (v instanceof Boolean b) {
                sb.append(b.booleanValue());
            } else if (v instanceof Number n) {
                number(n);
            } else if (v instanceof Map<?, ?> m) {
                object(m, depth + 1, level);
            } else if (v instanceof Collection<?> c) {
                array(new ArrayList<>(c), depth + 1, level);
            } else if (v instanceof Object[] a) {
                array(Arrays.asList(a), depth + 1, level);
            } else if (v instanceof int[] a) {
                array(Arrays.stream(a).boxed().toList(), depth + 1, level);
            } else if (v instanceof long[] a) {
                array(Arrays.stream(a).boxed().toList(), depth + 1, level);
            } else if (v instanceof double[] a) {
                array(Arrays.stream(a).boxed().toList(), depth + 1, level);
            } else if (v instanceof float[] a) {
                List<Object> l = new ArrayList<>(a.length);
                for (float f : a) {
                    l.add(f);
                }
                array(l, depth + 1, level);
            } else {
                throw new IllegalArgumentException("cannot write a " + v.getClass().getName() + " as JSON");
            }
        }

        private void number(Number n) {
            if (n instanceof Integer || n instanceof Long || n instanceof Short || n instanceof Byte
                    || n instanceof BigInteger) {
                sb.append(n);
            } else if (n instanceof Double || n instanceof Float) {
                double d = n.doubleValue();
                if (!Double.isFinite(d)) {
                    throw new IllegalArgumentException("JSON has no " + n + " (NaN and infinities cannot be written)");
                }
                // Double/Float.toString give e.g. 1.0E-5: valid JSON, and the shortest text that reads back exactly.
                sb.append(n);
            } else if (n instanceof BigDecimal b) {
                sb.append(b.toString());
            } else {
                throw new IllegalArgumentException("cannot write a " + n.getClass().getName() + " as JSON");
            }
        }

        private void checkDepth(int depth) {
            if (depth > MAX_DEPTH) {
                throw new IllegalArgumentException(
                        "arrays and objects nested deeper than " + MAX_DEPTH + " (or a cycle)");
            }
        }

        private void object(Map<?, ?> m, int depth, int level) {
            checkDepth(depth);
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (!(e.getKey() instanceof String key)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got "
                            + (e.getKey() == null ? "null" : e.getKey().getClass().getName()));
                }
                if (!first) {
                    sb.append(',');
                }
                first = false;
                newline(level + 1);
                string(key);
                sb.append(indent >= 0 ? ": " : ":");
                value(e.getValue(), depth, level + 1);
            }
            if (!first) {
                newline(level);
            }
            sb.append('}');
        }

        private void array(List<?> list, int depth, int level) {
            checkDepth(depth);
            boolean flat = list.stream().noneMatch(Writer::isContainer);
            sb.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                    if (flat && indent >= 0) {
                        sb.append(' ');
                    }
                }
                if (!flat) {
                    newline(level + 1);
                }
                value(list.get(i), depth, level + 1);
            }
            if (!flat && !list.isEmpty()) {
                newline(level);
            }
            sb.append(']');
        }

        private static boolean isContainer(Object v) {
            return v instanceof Map<?, ?> || v instanceof Collection<?> || (v != null && v.getClass().isArray());
        }

        private void newline(int level) {
            if (indent >= 0) {
                sb.append('\n').append(" ".repeat(indent * level));
            }
        }

        private void string(String str) {
            sb.append('"');
            for (int i = 0; i < str.length(); i++) {
                char c = str.charAt(i);
                switch (c) {
                    case '"' -> sb.append("\\\"");
                    case '\\' -> sb.append("\\\\");
                    case '\n' -> sb.append("\\n");
                    case '\r' -> sb.append("\\r");
                    case '\t' -> sb.append("\\t");
                    case '\b' -> sb.append("\\b");
                    case '\f' -> sb.append("\\f");
                    default -> {
                        if (c < 0x20) {
                            sb.append(String.format("\\u%04x", (int) c));
                        } else if (Character.isHighSurrogate(c) && i + 1 < str.length()
                                && Character.isLowSurrogate(str.charAt(i + 1))) {
                            sb.append(c).append(str.charAt(++i));
                        } else if (Character.isSurrogate(c)) {
                            // Not representable in UTF-8, and the parser rejects it: refuse rather than corrupt.
                            throw new IllegalArgumentException(String.format(
                                    "string has a lone surrogate U+%04X at index %d", (int) c, i));
                        } else {
                            sb.append(c);
                        }
                    }
                }
            }
            sb.append('"');
        }
    }
}
