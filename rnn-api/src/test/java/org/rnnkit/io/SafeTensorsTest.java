package org.rnnkit.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.tensor.Tensor;

class SafeTensorsTest {

    /** Values whose bits a careless codec would change. */
    static final float[] AWKWARD = {
        0.0f, -0.0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL * 0.5f, Float.MAX_VALUE,
        Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
        Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffc12345), Float.intBitsToFloat(0x7f800001),
        Float.intBitsToFloat(0x7fbfffff), 1.0f, -1.5e-38f, 3.4028235e38f
    };

    static Map<String, Tensor> sample() {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("weight_ih_l0", Tensor.of(AWKWARD, 4, 4));
        t.put("bias", Tensor.of(new float[] {1, 2, 3}, 3));
        t.put("empty", Tensor.zeros(0, 5));
        t.put("scalar", Tensor.of(new float[] {7}));
        t.put("a_name_with_é_and_\"quotes\"", Tensor.of(new float[] {-0.0f, 2}, 1, 2, 1));
        return t;
    }

    static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), "names and order");
        expected.forEach((k, v) -> assertTrue(v.bitEquals(actual.get(k)), () -> "tensor " + k + " differs"));
    }

    @Test
    void roundTripIsBitIdentical() throws Exception {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("mode", "LSTM");
        meta.put("hidden_size", "8");
        byte[] bytes = SafeTensors.toBytes(sample(), meta);
        SafeTensorsFile f = SafeTensors.read(bytes, "x.safetensors");
        assertSameTensors(sample(), f.tensors());
        assertEquals(meta, f.metadata());
        assertEquals(List.of("mode", "hidden_size"), new ArrayList<>(f.metadata().keySet()));
        assertArrayEquals(bytes, SafeTensors.toBytes(f.tensors(), f.metadata()));
    }

    @Test
    void headerLayout() throws Exception {
        byte[] bytes = SafeTensors.toBytes(Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of("k", "v"));
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8);
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"__metadata__\":{\"k\":\"v\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                header.stripTrailing());
        assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
        assertEquals(8 + n + 8, bytes.length);
        assertEquals(1.0f, ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getFloat(8 + (int) n));

        byte[] noMeta = SafeTensors.toBytes(Map.of("w", Tensor.of(new float[] {1, 2}, 2)), Map.of());
        assertEquals("{\"w\":", new String(noMeta, 8, 5, StandardCharsets.UTF_8), "metadata omitted when empty");
    }

    @Test
    void emptyFile() throws Exception {
        SafeTensorsFile f = SafeTensors.read(SafeTensors.toBytes(Map.of(), null), "e");
        assertTrue(f.tensors().isEmpty());
        assertTrue(f.metadata().isEmpty());
    }

    @Test
    void pathRoundTripAndAccessors(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("model.safetensors");
        SafeTensors.write(p, sample(), Map.of("cell", "false"));
        SafeTensorsFile f = SafeTensors.read(p);
        assertSameTensors(sample(), f.tensors());
        assertEquals(p.toString(), f.sourceName());
        assertTrue(f.contains("bias"));
        assertEquals(3, f.get("bias").size());
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> f.require("nope"));
        assertTrue(e.getMessage().startsWith(p + ": no tensor 'nope'"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> f.tensors().clear());
        assertThrows(UnsupportedOperationException.class, () -> f.metadata().put("a", "b"));

        Files.write(p, new byte[] {1, 2, 3});
        e = assertThrows(ModelFormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.getMessage().startsWith(p + ": file is 3 bytes"), e.getMessage());
        assertThrows(IOException.class, () -> SafeTensors.read(dir.resolve("missing.safetensors")));
    }

    @Test
    void writerRejectsReservedName() {
        assertThrows(IllegalArgumentException.class,
                () -> SafeTensors.toBytes(Map.of("__metadata__", Tensor.zeros(1)), null));
    }

    // ------------------------------------------------------------------------------------------------ rejections

    /** A file with the given header text (unpadded) and {@code dataBytes} zero bytes of data. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return withHeaderBytes(h, dataBytes);
    }

    static byte[] withHeaderBytes(byte[] h, int dataBytes) {
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return b.array();
    }

    static String reject(byte[] bytes) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafeTensors.read(bytes, "m.st"));
        assertTrue(e.getMessage().startsWith("m.st: "), e.getMessage());
        return e.getMessage();
    }

    static void rejects(String expectedPart, byte[] bytes) {
        String msg = reject(bytes);
        assertTrue(msg.contains(expectedPart), () -> "message \"" + msg + "\" lacks \"" + expectedPart + "\"");
    }

    static String entry(String name, String dtype, String shape, String offsets) {
        return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}";
    }

    @Test
    void rejectsShortFileAndBadLength() {
        rejects("file is 0 bytes, shorter than the 8-byte header length field", new byte[0]);
        rejects("file is 7 bytes", new byte[7]);
        byte[] b = file("{}", 0);
        b[0] = 3; // header length 3 > the 2 bytes that follow
        rejects("header length 3 exceeds the 2 bytes that follow the length field", b);
        byte[] huge = file("{}", 0);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
        rejects("header length 18446744073709551615 exceeds the 2 bytes", huge);
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MIN_VALUE);
        rejects("header length 9223372036854775808 exceeds", huge);
    }

    @Test
    void rejectsHeaderOverLimit() {
        byte[] big = new byte[8 + 100_000_001];
        ByteBuffer.wrap(big).order(ByteOrder.LITTLE_ENDIAN).putLong(100_000_001L);
        rejects("header length 100000001 exceeds the limit of 100000000 bytes", big);
    }

    @Test
    void rejectsBadHeaderText() {
        rejects("header is not valid UTF-8 (bad byte sequence at header byte 2)",
                withHeaderBytes(new byte[] {'{', '"', (byte) 0xc3, 0x28, '"', ':', '1', '}'}, 0));
        rejects("header is not valid UTF-8", withHeaderBytes(new byte[] {'{', '}', ' ', (byte) 0xe2, (byte) 0x82}, 0));
        rejects("header is not valid JSON: empty input", file("", 0));
        rejects("header is not valid JSON: unexpected character 'x' after the JSON value", file("{} x", 0));
        rejects("header is a JSON array, expected an object", file("[]", 0));
        rejects("header is not valid JSON: duplicate key \"w\"", file("{" + entry("w", "F32", "[1]", "[0,4]") + ","
                + entry("w", "F32", "[1]", "[4,8]") + "}", 8));
        rejects("header is not valid JSON: arrays and objects nested deeper than 64",
                file("{\"a\":" + "[".repeat(100) + "]".repeat(100) + "}", 0));
    }

    @Test
    void rejectsBadEntries() {
        rejects("tensor 'w' is a JSON array, expected an object with dtype, shape and data_offsets",
                file("{\"w\":[1]}", 0));
        rejects("tensor 'w' has no 'shape'", file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,0]}}", 0));
        rejects("tensor 'w' has unexpected key 'extra'",
                file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"extra\":1}}", 0));
        rejects("tensor 'w' has dtype 'F16'; only F32 is supported", file("{" + entry("w", "F16", "[2]", "[0,4]") + "}", 4));
        rejects("tensor 'w' has dtype 'BF16'", file("{" + entry("w", "BF16", "[2]", "[0,4]") + "}", 4));
        rejects("tensor 'w' dtype is a JSON number", file("{\"w\":{\"dtype\":32,\"shape\":[0],\"data_offsets\":[0,0]}}", 0));
    }

    @Test
    void rejectsBadShapes() {
        rejects("tensor 'w' shape [2,-1]: dimension 1 is -1, expected an integer in [0, 2147483647]",
                file("{" + entry("w", "F32", "[2,-1]", "[0,0]") + "}", 0));
        rejects("dimension 0 is 1.5", file("{" + entry("w", "F32", "[1.5]", "[0,4]") + "}", 4));
        rejects("dimension 0 is \"3\"", file("{" + entry("w", "F32", "[\"3\"]", "[0,12]") + "}", 12));
        rejects("dimension 0 is 2147483648", file("{" + entry("w", "F32", "[2147483648]", "[0,0]") + "}", 0));
        rejects("tensor 'w' shape is a JSON number, expected a list of integers",
                file("{" + entry("w", "F32", "3", "[0,12]") + "}", 12));
        rejects("holds more than 2^31-9 elements",
                file("{" + entry("w", "F32", "[65536,65536]", "[0,0]") + "}", 0));
    }

    @Test
    void rejectsBadOffsets() {
        rejects("tensor 'w' data_offsets must be [begin, end] with two integers, got [0]",
                file("{" + entry("w", "F32", "[0]", "[0]") + "}", 0));
        rejects("got [0,4,8]", file("{" + entry("w", "F32", "[1]", "[0,4,8]") + "}", 8));
        rejects("got [0,4.0]", file("{" + entry("w", "F32", "[1]", "[0,4.0]") + "}", 4));
        rejects("got {}", file("{" + entry("w", "F32", "[1]", "{}") + "}", 4));
        rejects("tensor 'w' data_offsets [-4, 0] are not 0 <= begin <= end",
                file("{" + entry("w", "F32", "[1]", "[-4,0]") + "}", 4));
        rejects("data_offsets [8, 4] are not 0 <= begin <= end", file("{" + entry("w", "F32", "[1]", "[8,4]") + "}", 8));
        rejects("tensor 'w' data_offsets [0, 8] end beyond the data buffer of 4 bytes",
                file("{" + entry("w", "F32", "[2]", "[0,8]") + "}", 4));
        rejects("got [0,1.0E20]" /* beyond long: parsed as a double */, file("{" + entry("w", "F32", "[1]", "[0,99999999999999999999]") + "}", 4));
    }

    @Test
    void rejectsSizeMismatch() {
        rejects("m.st: tensor 'weight_ih_l0' data_offsets [0, 40] hold 10 floats, but shape (3, 4) needs 12",
                file("{" + entry("weight_ih_l0", "F32", "[3,4]", "[0,40]") + "}", 40));
        rejects("tensor 'w' data_offsets [0, 6] hold 6 bytes (not a whole number of floats), but shape (2,) needs 8 bytes",
                file("{" + entry("w", "F32", "[2]", "[0,6]") + "}", 6));
    }

    @Test
    void rejectsOverlapsGapsAndTrailingBytes() {
        rejects("tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]",
                file("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[4,12]") + "}", 12));
        rejects("overlap", // the same range twice
                file("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[2]", "[0,8]") + "}", 8));
        rejects("bytes [8, 12) of the data buffer belong to no tensor (gap before tensor 'b')",
                file("{" + entry("a", "F32", "[2]", "[0,8]") + "," + entry("b", "F32", "[1]", "[12,16]") + "}", 16));
        rejects("bytes [0, 4) of the data buffer belong to no tensor",
                file("{" + entry("a", "F32", "[1]", "[4,8]") + "}", 8));
        rejects("the data buffer has 12 bytes, but the tensors cover only the first 8",
                file("{" + entry("a", "F32", "[2]", "[0,8]") + "}", 12));
        rejects("the data buffer has 4 bytes, but the tensors cover only the first 0", file("{}", 4));
    }

    @Test
    void acceptsOffsetsOutOfHeaderOrderAndZeroSizeTensors() throws Exception {
        byte[] b = file("{" + entry("late", "F32", "[1]", "[4,8]") + "," + entry("z", "F32", "[0,3]", "[4,4]") + ","
                + entry("early", "F32", "[1]", "[0,4]") + "}", 8);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putFloat(b.length - 4, 2.5f);
        SafeTensorsFile f = SafeTensors.read(b, "x");
        assertEquals(List.of("late", "z", "early"), new ArrayList<>(f.tensors().keySet()));
        assertEquals(2.5f, f.get("late").data()[0]);
        assertArrayEquals(new int[] {0, 3}, f.get("z").shape());
    }

    @Test
    void rejectsBadMetadata() {
        rejects("metadata 'k' is a JSON number, expected a string", file("{\"__metadata__\":{\"k\":1}}", 0));
        rejects("metadata 'k' is a JSON null", file("{\"__metadata__\":{\"k\":null}}", 0));
        rejects("'__metadata__' is a JSON array, expected an object of strings", file("{\"__metadata__\":[]}", 0));
    }

    @Test
    void messagesEscapeHostileNames() {
        String msg = reject(file("{\"a\\u0000\\n'b" + "x".repeat(300) + "\":{\"dtype\":\"I8\",\"shape\":[],\"data_offsets\":[0,1]}}", 1));
        assertTrue(msg.contains("tensor 'a\\u0000\\u000a\\u0027b"), msg);
        assertTrue(msg.contains("...' has dtype 'I8'"), msg);
    }
}
