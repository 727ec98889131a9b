package org.rnnkit.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * Reads and writes NumPy {@code .npy} files: little-endian float32 ({@code <f4}) tensors of any rank, and
 * little-endian int64 ({@code <i8}) vectors such as {@code lengths.npy}.
 *
 * <p>Reading accepts format versions 1.0, 2.0 and 3.0, C order only. The header dictionary is parsed by a small
 * dedicated parser for the Python literal numpy writes ({@code {'descr': '<f4', 'fortran_order': False,
 * 'shape': (21, 6, 9), }}), never evaluated. The data must be exactly as long as the shape says: truncated files
 * and trailing bytes are both rejected, before anything is allocated for the values.
 *
 * <p>Writing produces what numpy 1.24 writes, byte for byte: a version 1.0 header (2.0 only if it would not fit),
 * keys in sorted order, spare spaces for growing the first axis, padded with spaces and a final newline so the
 * data starts at a multiple of 64.
 *
 * <p>Thread safety: stateless; all methods are safe to call from any thread.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    /** numpy leaves room for the first axis to grow to this many digits without rewriting the file. */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;

    private Npy() {}

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Reads a {@code <f4} file of any rank; shape {@code ()} gives a tensor of rank 0 with one value.
     *
     * @throws ModelFormatException if the file is malformed, not {@code <f4}, Fortran-ordered, or over 2 GiB
     * @throws java.nio.file.FileSystemException if the path is missing or not a regular file (a pipe or device is
     *     refused without being opened: it could block or never end)
     * @throws org.rnnkit.tensor.MemoryBudgetException if reading it (about twice its size) exceeds the memory budget
     * @throws IOException if the file cannot be read
     */
    public static Tensor readFloat32(Path path) throws IOException {
        String src = path.toString();
        return readFloat32(SafeTensors.readFileBounded(path, src), src);
    }

    /**
     * Parses {@code <f4} npy bytes.
     *
     * @param sourceName names the input in error messages, or null
     * @throws ModelFormatException if the bytes are malformed, not {@code <f4}, or Fortran-ordered
     */
    public static Tensor readFloat32(byte[] bytes, String sourceName) throws ModelFormatException {
        String src = sourceName == null ? "<npy>" : sourceName;
        Header h = readHeader(bytes, src, "<f4", "little-endian float32");
        long size = checkedSize(h.shape, src);
        checkDataLength(bytes, h, size, Float.BYTES, src);
        float[] values = new float[(int) size];
        ByteBuffer.wrap(bytes, h.dataStart, (int) size * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer()
                .get(values); // bulk copy: keeps NaN payloads bit for bit
        return Tensor.wrap(values, h.shape);
    }

    /**
     * Reads a one-dimensional {@code <i8} file, such as {@code lengths.npy}.
     *
     * @throws ModelFormatException if the file is malformed, not {@code <i8}, or not 1-D
     * @throws java.nio.file.FileSystemException if the path is missing or not a regular file (a pipe or device is
     *     refused without being opened: it could block or never end)
     * @throws org.rnnkit.tensor.MemoryBudgetException if reading it (about twice its size) exceeds the memory budget
     * @throws IOException if the file cannot be read
     */
    public static long[] readInt64Vector(Path path) throws IOException {
        String src = path.toString();
        return readInt64Vector(SafeTensors.readFileBounded(path, src), src);
    }

    /** Parses one-dimensional {@code <i8} npy bytes; see {@link #readInt64Vector(Path)}. */
    public static long[] readInt64Vector(byte[] bytes, String sourceName) throws ModelFormatException {
        String src = sourceName == null ? "<npy>" : sourceName;
        Int64 a = readInt64(bytes, src);
        if (a.shape().length != 1) {
            throw SafeTensors.fail(src, "shape " + Tensor.shapeString(a.shape()) + " is not 1-D; expected a vector");
        }
        return a.values();
    }

    /** Values and shape of an {@code <i8} array (row-major). */
    public record Int64(long[] values, int[] shape) {}

    /**
     * Reads an {@code <i8} file of any shape, e.g. class targets.
     *
     * @throws ModelFormatException if the file is malformed or not {@code <i8}
     * @throws java.nio.file.FileSystemException if the path is missing or not a regular file (a pipe or device is
     *     refused without being opened: it could block or never end)
     * @throws org.rnnkit.tensor.MemoryBudgetException if reading it (about twice its size) exceeds the memory budget
     * @throws IOException if the file cannot be read
     */
    public static Int64 readInt64(Path path) throws IOException {
        String src = path.toString();
        return readInt64(SafeTensors.readFileBounded(path, src), src);
    }

    /** Parses {@code <i8} npy bytes of any shape; see {@link #readInt64(Path)}. */
    public static Int64 readInt64(byte[] bytes, String sourceName) throws ModelFormatException {
        String src = sourceName == null ? "<npy>" : sourceName;
        Header h = readHeader(bytes, src, "<i8", "little-endian int64");
        long size = checkedSize(h.shape, src);
        checkDataLength(bytes, h, size, Long.BYTES, src);
        long[] values = new long[(int) size];
        ByteBuffer.wrap(bytes, h.dataStart, (int) size * Long.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN)
                .asLongBuffer()
                .get(values);
        return new Int64(values, h.shape);
    }

    private record Header(int[] shape, int dataStart) {}

    private static long checkedSize(int[] shape, String src) throws ModelFormatException {
        try {
            return Tensor.checkedSize("shape", shape);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src + ": " + e.getMessage(), e);
        }
    }

    private static void checkDataLength(byte[] bytes, Header h, long size, int elementBytes, String src)
            throws ModelFormatException {
        long have = bytes.length - (long) h.dataStart;
        long need = size * elementBytes; // size < 2^31: no overflow
        if (have != need) {
            throw SafeTensors.fail(src, "data is " + have + " bytes, but shape " + Tensor.shapeString(h.shape)
                    + " needs " + need + " (" + (have < need ? "truncated" : "trailing bytes") + ")");
        }
    }

    private static Header readHeader(byte[] bytes, String src, String descr, String descrName)
            throws ModelFormatException {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length < 10) {
            throw SafeTensors.fail(src, "file is " + bytes.length + " bytes, too short for an NPY header");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) {
                throw SafeTensors.fail(src, "not an NPY file: the first 6 bytes are not \\x93NUMPY");
            }
        }
        int major = bytes[6] & 0xff;
        int minor = bytes[7] & 0xff;
        int prefix;
        long headerLength;
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1 && minor == 0) {
            prefix = 10;
            headerLength = le.getShort(8) & 0xffff;
        } else if ((major == 2 || major == 3) && minor == 0) {
            prefix = 12;
            if (bytes.length < prefix) {
                throw SafeTensors.fail(src, "file is " + bytes.length + " bytes, too short for an NPY "
                        + major + ".0 header");
            }
            headerLength = le.getInt(8) & 0xffffffffL;
        } else {
            throw SafeTensors.fail(src, "unsupported NPY format version " + major + "." + minor
                    + " (expected 1.0, 2.0 or 3.0)");
        }
        long available = bytes.length - (long) prefix;
        if (headerLength > available) {
            throw SafeTensors.fail(src, "header length " + headerLength + " exceeds the " + available
                    + " bytes that follow it");
        }
        int end = prefix + (int) headerLength;
        // Versions 1 and 2 are latin-1, 3 is UTF-8; the grammar accepted below is pure ASCII in all three.
        for (int i = prefix; i < end; i++) {
            if (bytes[i] < 0) {
                throw SafeTensors.fail(src, String.format("header has non-ASCII byte 0x%02x at file offset %d",
                        bytes[i] & 0xff, i));
            }
        }
        String text = new String(bytes, prefix, end - prefix, StandardCharsets.US_ASCII);
        Map<String, Object> dict = new HeaderParser(text, src).parse();

        for (String key : dict.keySet()) {
            if (!key.equals("descr") && !key.equals("fortran_order") && !key.equals("shape")) {
                throw SafeTensors.fail(src, "header has unexpected key " + Untrusted.quote(key)
                        + " (expected exactly descr, fortran_order and shape)");
            }
        }
        for (String key : List.of("descr", "fortran_order", "shape")) {
            if (!dict.containsKey(key)) {
                throw SafeTensors.fail(src, "header has no '" + key + "'");
            }
        }
        if (!(dict.get("descr") instanceof String d)) {
            throw SafeTensors.fail(src, "header 'descr' is not a string (structured dtypes are not supported)");
        }
        if (!d.equals(descr)) {
            throw SafeTensors.fail(src, "dtype " + Untrusted.quote(d) + " is not supported; expected '" + descr
                    + "' (" + descrName + ")");
        }
        if (!(dict.get("fortran_order") instanceof Boolean f)) {
            throw SafeTensors.fail(src, "header 'fortran_order' is not True or False");
        }
        if (f) {
            throw SafeTensors.fail(src, "fortran_order is True (column-major); only C order is supported");
        }
        if (!(dict.get("shape") instanceof int[] shape)) {
            throw SafeTensors.fail(src, "header 'shape' is not a tuple of integers");
        }
        return new Header(shape, end);
    }

    /**
     * Parses exactly the Python literal numpy writes as a header, followed by the padding: a dict whose keys are
     * quoted strings and whose values are quoted strings, {@code True}/{@code False}, or tuples of non-negative
     * integers ({@code int[]}); then spaces and one final newline. Strings hold no escapes (no valid descr needs
     * them). Integers may carry Python 2's {@code L} suffix, as numpy itself tolerates in old files.
     */
    private static final class HeaderParser {
        private final String s;
        private final String src;
        private int pos;

        HeaderParser(String s, String src) {
            this.s = s;
            this.src = src;
        }

        Map<String, Object> parse() throws ModelFormatException {
            expect('{');
            Map<String, Object> dict = new LinkedHashMap<>();
            skipWhitespace();
            while (peek() != '}') {
                int keyPos = pos;
                String key = string();
                skipWhitespace();
                expect(':');
                skipWhitespace();
                Object value = value();
                if (dict.containsKey(key)) {
                    throw error("duplicate key " + Untrusted.quote(key), keyPos);
                }
                dict.put(key, value);
                skipWhitespace();
                if (peek() == ',') {
                    pos++;
                    skipWhitespace();
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'", pos);
                }
            }
            pos++; // '}'
            while (pos < s.length() && s.charAt(pos) == ' ') {
                pos++;
            }
            if (pos != s.length() - 1 || s.charAt(pos) != '\n') {
                throw error("the header dict must be followed only by spaces and one final newline", pos);
            }
            return dict;
        }

        private Object value() throws ModelFormatException {
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            } else if (c == '(') {
                return tuple();
            } else if (s.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            } else if (s.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            throw error("unsupported value (expected a quoted string, True, False or a tuple)", pos);
        }

        /** A tuple of ints: {@code ()}, {@code (n,)}, {@code (a, b)}, {@code (a, b,)}; {@code (n)} is an int. */
        private int[] tuple() throws ModelFormatException {
            int start = pos;
            pos++; // '('
            List<Integer> dims = new ArrayList<>();
            boolean trailingComma = false;
            skipWhitespace();
            while (peek() != ')') {
                dims.add(integer());
                skipWhitespace();
                trailingComma = false;
                if (peek() == ',') {
                    pos++;
                    trailingComma = true;
                    skipWhitespace();
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape tuple", pos);
                }
            }
            pos++; // ')'
            if (dims.size() == 1 && !trailingComma) {
                throw error("'" + s.substring(start, pos) + "' is a parenthesized integer, not a tuple", start);
            }
            int[] shape = new int[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i);
            }
            return shape;
        }

        private int integer() throws ModelFormatException {
            int start = pos;
            if (peek() == '-') {
                throw error("negative dimension in the shape", start);
            }
            while (peek() >= '0' && peek() <= '9') {
                pos++;
            }
            if (pos == start) {
                throw error("expected a non-negative integer in the shape", start);
            }
            String digits = s.substring(start, pos);
            if (digits.length() > 1 && digits.charAt(0) == '0') {
                throw error("integer with a leading zero in the shape", start);
            }
            if (peek() == 'L' || peek() == 'l') {
                pos++;
            }
            if (digits.length() > 10 || Long.parseLong(digits) > Integer.MAX_VALUE) {
                throw error("dimension " + (digits.length() > 30 ? digits.substring(0, 30) + "..." : digits)
                        + " exceeds " + Integer.MAX_VALUE, start);
            }
            return Integer.parseInt(digits);
        }

        private String string() throws ModelFormatException {
            char quote = peek();
            if (quote != '\'' && quote != '"') {
                throw error("expected a quoted string", pos);
            }
            int start = ++pos;
            while (pos < s.length() && s.charAt(pos) != quote) {
                char c = s.charAt(pos);
                if (c == '\\' || c == '\n' || c == '\r') {
                    throw error("escape or line break in a string", pos);
                }
                pos++;
            }
            if (pos >= s.length()) {
                throw error("unterminated string", start - 1);
            }
            return s.substring(start, pos++);
        }

        private void expect(char c) throws ModelFormatException {
            if (peek() != c) {
                throw error("expected '" + c + "'", pos);
            }
            pos++;
        }

        private char peek() {
            return pos < s.length() ? s.charAt(pos) : '\0';
        }

        /** Whitespace inside the braces; Python allows line breaks there. */
        private void skipWhitespace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                    pos++;
                } else {
                    break;
                }
            }
        }

        private ModelFormatException error(String message, int at) {
            String context = s.substring(Math.max(0, at - 20), Math.min(s.length(), at + 20));
            StringBuilder printable = new StringBuilder();
            for (char c : context.toCharArray()) {
                printable.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
            }
            return SafeTensors.fail(src, "bad NPY header: " + message + " at header offset " + at + " (near \""
                    + printable + "\")");
        }
    }

    // ------------------------------------------------------------------------------------------------ writing

    /** Writes {@code tensor} as a {@code <f4} file, atomically ({@link AtomicFile}), replacing any existing file. */
    public static void writeFloat32(Path path, Tensor tensor) throws IOException {
        AtomicFile.write(path, toBytes(tensor));
    }

    /**
     * The bytes of {@code tensor} as a {@code <f4} npy file, identical to numpy's {@code np.save}.
     *
     * @throws IllegalArgumentException if the file would exceed 2 GiB
     */
    public static byte[] toBytes(Tensor tensor) {
        Objects.requireNonNull(tensor, "tensor");
        ByteBuffer buf = allocate(header("<f4", tensor.shape()), (long) tensor.size() * Float.BYTES);
        buf.asFloatBuffer().put(tensor.data()); // bulk copy: keeps NaN payloads bit for bit
        return buf.array();
    }

    /** Writes {@code values} as a one-dimensional {@code <i8} file (replacing any existing file). */
    public static void writeInt64Vector(Path path, long[] values) throws IOException {
        AtomicFile.write(path, toBytes(values));
    }

    /** The bytes of {@code values} as a one-dimensional {@code <i8} npy file, identical to numpy's. */
    public static byte[] toBytes(long[] values) {
        Objects.requireNonNull(values, "values");
        ByteBuffer buf = allocate(header("<i8", new int[] {values.length}), (long) values.length * Long.BYTES);
        buf.asLongBuffer().put(values);
        return buf.array();
    }

    private static ByteBuffer allocate(byte[] header, long dataBytes) {
        long total = header.length + dataBytes;
        if (total > SafeTensors.MAX_FILE_BYTES) {
            throw new IllegalArgumentException("npy file of " + total + " bytes exceeds the limit of "
                    + SafeTensors.MAX_FILE_BYTES);
        }
        ByteBuffer buf = ByteBuffer.wrap(new byte[(int) total]).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(header);
        return buf;
    }

    /** Magic, version, length and padded header dict, as numpy 1.24's {@code _write_array_header}. */
    private static byte[] header(String descr, int[] shape) {
        StringBuilder dict = new StringBuilder("{'descr': '").append(descr)
                .append("', 'fortran_order': False, 'shape': ").append(pythonTuple(shape)).append(", }");
        if (shape.length > 0) {
            dict.append(" ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - Integer.toString(shape[0]).length())));
        }
        int hlen = dict.length() + 1; // + the final newline
        int lengthBytes = 2;
        int major = 1;
        // numpy's rule: pad so that magic + version + length field + header is a multiple of 64, always adding
        // at least one space (a full 64 when already aligned).
        int padlen = ALIGN - ((MAGIC.length + 2 + lengthBytes + hlen) % ALIGN);
        if (hlen + padlen > 0xffff) {
            major = 2;
            lengthBytes = 4;
            padlen = ALIGN - ((MAGIC.length + 2 + lengthBytes + hlen) % ALIGN);
        }
        dict.append(" ".repeat(padlen)).append('\n');
        ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 2 + lengthBytes + dict.length())
                .order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).put((byte) major).put((byte) 0);
        if (lengthBytes == 2) {
            buf.putShort((short) dict.length());
        } else {
            buf.putInt(dict.length());
        }
        buf.put(dict.toString().getBytes(StandardCharsets.US_ASCII));
        return buf.array();
    }

    /** Python's repr of a tuple of ints: {@code ()}, {@code (5,)}, {@code (2, 3)}. */
    private static String pythonTuple(int[] shape) {
        return Tensor.shapeString(shape);
    }
}
