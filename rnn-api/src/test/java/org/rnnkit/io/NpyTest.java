package org.rnnkit.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.tensor.Tensor;

class NpyTest {

    @Test
    void roundTripIsBitIdentical() throws Exception {
        for (int[] shape : new int[][] {{16}, {2, 8}, {4, 2, 2}, {1, 1, 1, 16}}) {
            Tensor t = Tensor.of(SafeTensorsTest.AWKWARD, shape);
            byte[] bytes = Npy.toBytes(t);
            assertEquals(0, (bytes.length - 16 * 4) % 64, "data starts at a multiple of 64");
            assertEquals('\n', bytes[bytes.length - 16 * 4 - 1]);
            assertTrue(Npy.readFloat32(bytes, "x.npy").bitEquals(t));
        }
        Tensor scalar = Tensor.of(new float[] {Float.intBitsToFloat(0x7f800001)});
        assertTrue(Npy.readFloat32(Npy.toBytes(scalar), "s").bitEquals(scalar));
        Tensor empty = Tensor.zeros(0, 3);
        assertTrue(Npy.readFloat32(Npy.toBytes(empty), "e").bitEquals(empty));
    }

    @Test
    void headerMatchesNumpy() {
        byte[] b = Npy.toBytes(Tensor.zeros(21, 6, 9));
        String header = new String(b, 10, 118, StandardCharsets.US_ASCII);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (21, 6, 9), }" + " ".repeat(19 + 35) + "\n",
                header);
        assertEquals(118, ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getShort(8));
        assertEquals(1, b[6]);
        assertEquals(0, b[7]);
        assertTrue(new String(Npy.toBytes(Tensor.zeros()), StandardCharsets.US_ASCII).contains("'shape': (), }"));
        assertTrue(new String(Npy.toBytes(Tensor.zeros(5)), StandardCharsets.US_ASCII).contains("'shape': (5,), }"));
    }

    @Test
    void int64Vectors(@TempDir Path dir) throws Exception {
        long[] v = {23, 23, 25, 1, Long.MIN_VALUE, Long.MAX_VALUE};
        Path p = dir.resolve("lengths.npy");
        Npy.writeInt64Vector(p, v);
        assertArrayEquals(v, Npy.readInt64Vector(p));
        assertTrue(new String(Files.readAllBytes(p), StandardCharsets.US_ASCII).contains("{'descr': '<i8'"));
        assertArrayEquals(new long[0], Npy.readInt64Vector(Npy.toBytes(new long[0]), "z"));
    }

    @Test
    void pathRoundTrip(@TempDir Path dir) throws Exception {
        Path p = dir.resolve("input.npy");
        Tensor t = Tensor.of(new float[] {1, -0.0f, 3, 4, 5, 6}, 3, 2);
        Npy.writeFloat32(p, t);
        assertTrue(Npy.readFloat32(p).bitEquals(t));
        Files.write(p, new byte[] {(byte) 0x93, 'N'});
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Npy.readFloat32(p));
        assertTrue(e.getMessage().startsWith(p + ": file is 2 bytes"), e.getMessage());
    }

    // ------------------------------------------------------------------------------------------------ header variants

    /** An npy file with version {@code major}.0, the given header text (used as is) and {@code dataBytes} bytes. */
    static byte[] npy(int major, String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        int prefix = major == 1 ? 10 : 12;
        ByteBuffer b = ByteBuffer.allocate(prefix + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) h.length);
        } else {
            b.putInt(h.length);
        }
        return b.put(h).array();
    }

    static byte[] npy(String header, int dataBytes) {
        return npy(1, header, dataBytes);
    }

    @Test
    void acceptsHeaderVariants() throws Exception {
        assertArrayEquals(new int[] {2, 3}, Npy.readFloat32(
                npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24), "v2").shape());
        assertArrayEquals(new int[] {2, 3}, Npy.readFloat32(
                npy(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24), "v3").shape());
        // other key order, double quotes, no trailing comma, Python 2 long suffix, line breaks, no padding
        assertArrayEquals(new int[] {2, 3}, Npy.readFloat32(
                npy("{\"shape\": (2L, 3L,),\n \"fortran_order\": False, \"descr\": \"<f4\"}   \n", 24), "x").shape());
        assertArrayEquals(new int[] {}, Npy.readFloat32(
                npy("{'descr':'<f4','fortran_order':False,'shape':()}\n", 4), "x").shape());
    }

    // ------------------------------------------------------------------------------------------------ rejections

    static final String F4_23 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";

    static void rejects(String expectedPart, byte[] bytes) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Npy.readFloat32(bytes, "a.npy"));
        assertTrue(e.getMessage().startsWith("a.npy: "), e.getMessage());
        assertTrue(e.getMessage().contains(expectedPart),
                () -> "message \"" + e.getMessage() + "\" lacks \"" + expectedPart + "\"");
    }

    static void rejectsHeader(String expectedPart, String header, int dataBytes) {
        rejects(expectedPart, npy(header, dataBytes));
    }

    @Test
    void rejectsBadPreamble() {
        rejects("file is 9 bytes, too short for an NPY header", new byte[9]);
        byte[] b = npy(F4_23, 24);
        b[0] = 'x';
        rejects("not an NPY file: the first 6 bytes are not \\x93NUMPY", b);
        b = npy(F4_23, 24);
        b[6] = 4;
        rejects("unsupported NPY format version 4.0 (expected 1.0, 2.0 or 3.0)", b);
        b = npy(F4_23, 24);
        b[7] = 1;
        rejects("unsupported NPY format version 1.1", b);
        rejects("file is 10 bytes, too short for an NPY 2.0 header",
                new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0});
        b = npy(F4_23, 24);
        b[8] = (byte) 0xff;
        b[9] = (byte) 0xff;
        rejects("header length 65535 exceeds the " + (b.length - 10) + " bytes that follow it", b);
        b = npy(2, F4_23, 24);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -1);
        rejects("header length 4294967295 exceeds", b);
    }

    @Test
    void rejectsBadDict() {
        rejectsHeader("dtype '>f4' is not supported; expected '<f4' (little-endian float32)",
                "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("dtype '<f8' is not supported", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }\n", 48);
        rejectsHeader("fortran_order is True (column-major); only C order is supported",
                "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", 24);
        rejectsHeader("'(3)' is a parenthesized integer, not a tuple",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }\n", 12);
        rejectsHeader("negative dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }\n", 0);
        rejectsHeader("leading zero", "{'descr': '<f4', 'fortran_order': False, 'shape': (02, 3), }\n", 24);
        rejectsHeader("dimension 2147483648 exceeds 2147483647",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2147483648,), }\n", 0);
        rejectsHeader("holds more than 2^31-9 elements",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 65536), }\n", 0);
        rejectsHeader("header has no 'shape'", "{'descr': '<f4', 'fortran_order': False, }\n", 0);
        rejectsHeader("header has unexpected key 'x'",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': True}\n", 24);
        rejectsHeader("duplicate key 'descr'",
                "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("header 'shape' is not a tuple of integers",
                "{'descr': '<f4', 'fortran_order': False, 'shape': 'x', }\n", 24);
        rejectsHeader("header 'descr' is not a string", "{'descr': (1,), 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("unsupported value", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("followed only by spaces and one final newline",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 24);
        rejectsHeader("followed only by spaces and one final newline",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n\n", 24);
        rejectsHeader("followed only by spaces and one final newline",
                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x\n", 24);
        rejectsHeader("escape or line break in a string",
                "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("unterminated string", "{'descr", 24);
        rejectsHeader("expected '{'", " {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
        rejectsHeader("header has non-ASCII byte 0xc3", "{'descr': '<f4é', 'fortran_order': False, 'shape': (2, 3), }\n", 24);
    }

    @Test
    void rejectsWrongDataLength() {
        rejects("data is 20 bytes, but shape (2, 3) needs 24 (truncated)", npy(F4_23, 20));
        rejects("data is 28 bytes, but shape (2, 3) needs 24 (trailing bytes)", npy(F4_23, 28));
        rejects("data is 0 bytes, but shape () needs 4 (truncated)",
                npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", 0));
    }

    @Test
    void int64ReaderRules() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> Npy.readInt64Vector(npy(F4_23, 24), "lengths.npy"));
        assertEquals("lengths.npy: dtype '<f4' is not supported; expected '<i8' (little-endian int64)", e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> Npy.readInt64Vector(
                npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }\n", 48), "l.npy"));
        assertEquals("l.npy: shape (2, 3) is not 1-D; expected a vector", e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> Npy.readInt64Vector(
                npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }\n", 20), "l.npy"));
        assertEquals("l.npy: data is 20 bytes, but shape (3,) needs 24 (truncated)", e.getMessage());
        e = assertThrows(ModelFormatException.class, () -> Npy.readFloat32(Npy.toBytes(new long[] {1}), "f.npy"));
        assertTrue(e.getMessage().contains("dtype '<i8' is not supported; expected '<f4'"), e.getMessage());
    }
}
