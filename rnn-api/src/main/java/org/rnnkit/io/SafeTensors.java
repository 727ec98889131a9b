package org.rnnkit.io;

import org.rnnkit.internal.json.Json;
import org.rnnkit.internal.json.JsonException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * Reads and writes the safetensors format, float32 ({@code F32}) tensors only.
 *
 * <p>Layout: 8 bytes little-endian unsigned header length {@code N}; {@code N} bytes of UTF-8 JSON mapping tensor
 * names to {@code {"dtype", "shape", "data_offsets"}} plus an optional {@code "__metadata__"} string map; then the
 * data buffer, little-endian, row-major, with offsets relative to its start.
 *
 * <p>Reading is strict: the whole file is validated (header, every entry, and that the tensors tile the data buffer
 * exactly) before any value is decoded, and every allocation is bounded by the real size of the input, so hostile
 * length fields fail with a {@link ModelFormatException} instead of an {@link OutOfMemoryError}.
 *
 * <p>Thread safety: stateless; all methods are safe to call from any thread.
 */
public final class SafeTensors {
    /** Largest header accepted, as in the reference implementation (the Rust {@code safetensors} crate). */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Largest file accepted: the largest Java byte array. */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    static final String METADATA_KEY = "__metadata__";

    private SafeTensors() {}

    // ------------------------------------------------------------------------------------------------ reading

    /**
     * Reads a safetensors file. The path's string form names the file in error messages.
     *
     * @throws ModelFormatException if the file is malformed, uses a dtype other than F32, or exceeds 2 GiB
     * @throws java.nio.file.FileSystemException if the path is missing or not a regular file (a pipe or device is
     *     refused without being opened: it could block or never end)
     * @throws org.rnnkit.tensor.MemoryBudgetException if reading it (about twice its size) exceeds the memory budget
     * @throws IOException if the file cannot be read
     */
    public static SafeTensorsFile read(Path path) throws IOException {
        String source = path.toString();
        return read(readFileBounded(path, source), source);
    }

    /**
     * Parses safetensors bytes.
     *
     * @param sourceName names the input in error messages (a file name), or null
     * @throws ModelFormatException if the bytes are malformed or use a dtype other than F32
     */
    public static SafeTensorsFile read(byte[] bytes, String sourceName) throws ModelFormatException {
        Objects.requireNonNull(bytes, "bytes");
        String src = sourceName == null ? "<safetensors>" : sourceName;
        if (bytes.length < 8) {
            throw fail(src, "file is " + bytes.length + " bytes, shorter than the 8-byte header length field");
        }
        long headerLength = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        long available = bytes.length - 8L;
        // Unsigned comparison: a length with the top bit set is huge, not negative.
        if (Long.compareUnsigned(headerLength, available) > 0) {
            throw fail(src, "header length " + Long.toUnsignedString(headerLength) + " exceeds the " + available
                    + " bytes that follow the length field");
        }
        if (headerLength > MAX_HEADER_BYTES) {
            throw fail(src, "header length " + headerLength + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        int n = (int) headerLength;
        String headerText = decodeUtf8(bytes, 8, n, src);
        Object parsed;
        try {
            parsed = Json.parse(headerText);
        } catch (JsonException e) {
            throw new ModelFormatException(src + ": header is not valid JSON: " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?>)) {
            throw fail(src, "header is a JSON " + Json.typeName(parsed) + ", expected an object");
        }
        Map<String, Object> header = Json.asObject(parsed, "header");

        int bufferStart = 8 + n;
        long bufferLength = bytes.length - (long) bufferStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<String, Object> e : header.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                readMetadata(e.getValue(), metadata, src);
            } else {
                entries.add(readEntry(e.getKey(), e.getValue(), bufferLength, src));
            }
        }
        checkCoverage(entries, bufferLength, src);

        // Everything is validated: each tensor's size is bounded by the buffer, so these allocations are safe.
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry en : entries) {
            float[] values = new float[Math.toIntExact((en.end - en.begin) / Float.BYTES)];
            ByteBuffer.wrap(bytes, bufferStart + (int) en.begin, (int) (en.end - en.begin))
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(values); // bulk copy: keeps NaN payloads bit for bit
            tensors.put(en.name, Tensor.wrap(values, en.shape));
        }
        return new SafeTensorsFile(src, tensors, metadata);
    }

    private record Entry(String name, int[] shape, long begin, long end) {}

    private static void readMetadata(Object value, Map<String, String> metadata, String src)
            throws ModelFormatException {
        if (!(value instanceof Map<?, ?> m)) {
            throw fail(src, "'" + METADATA_KEY + "' is a JSON " + Json.typeName(value)
                    + ", expected an object of strings");
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getValue() instanceof String s)) {
                throw fail(src, "metadata " + Untrusted.quote((String) e.getKey()) + " is a JSON "
                        + Json.typeName(e.getValue()) + ", expected a string");
            }
            metadata.put((String) e.getKey(), s);
        }
    }

    private static Entry readEntry(String name, Object value, long bufferLength, String src)
            throws ModelFormatException {
        String t = "tensor " + Untrusted.quote(name);
        if (!(value instanceof Map<?, ?> m)) {
            throw fail(src, t + " is a JSON " + Json.typeName(value)
                    + ", expected an object with dtype, shape and data_offsets");
        }
        for (Object key : m.keySet()) {
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw fail(src, t + " has unexpected key " + Untrusted.quote((String) key)
                        + " (expected exactly dtype, shape and data_offsets)");
            }
        }
        for (String key : List.of("dtype", "shape", "data_offsets")) {
            if (!m.containsKey(key)) {
                throw fail(src, t + " has no '" + key + "'");
            }
        }

        Object dtype = m.get("dtype");
        if (!(dtype instanceof String d)) {
            throw fail(src, t + " dtype is a JSON " + Json.typeName(dtype) + ", expected a string");
        }
        if (!d.equals("F32")) {
            throw fail(src, t + " has dtype " + Untrusted.quote(d) + "; only F32 is supported");
        }

        int[] shape = intList(m.get("shape"), t + " shape", src);
        long size;
        try {
            size = Tensor.checkedSize(t + " shape", shape);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src + ": " + e.getMessage(), e);
        }

        Object offsets = m.get("data_offsets");
        if (!(offsets instanceof List<?> list) || list.size() != 2
                || !(list.get(0) instanceof Long begin) || !(list.get(1) instanceof Long end)) {
            throw fail(src, t + " data_offsets must be [begin, end] with two integers, got "
                    + abbreviate(Json.write(offsets)));
        }
        String range = "[" + begin + ", " + end + "]";
        if (begin < 0 || end < begin) {
            throw fail(src, t + " data_offsets " + range + " are not 0 <= begin <= end");
        }
        if (end > bufferLength) {
            throw fail(src, t + " data_offsets " + range + " end beyond the data buffer of "
                    + bufferLength + " bytes");
        }
        long have = end - begin;
        long need = size * Float.BYTES; // size <= 2^31, no overflow
        if (have != need) {
            String shapeText = Tensor.shapeString(shape);
            if (have % Float.BYTES == 0) {
                throw fail(src, t + " data_offsets " + range + " hold " + have / Float.BYTES
                        + " floats, but shape " + shapeText + " needs " + size);
            }
            throw fail(src, t + " data_offsets " + range + " hold " + have
                    + " bytes (not a whole number of floats), but shape " + shapeText + " needs " + need + " bytes");
        }
        return new Entry(name, shape, begin, end);
    }

    private static int[] intList(Object value, String what, String src) throws ModelFormatException {
        if (!(value instanceof List<?> list)) {
            throw fail(src, what + " is a JSON " + Json.typeName(value) + ", expected a list of integers");
        }
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (!(v instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
                throw fail(src, what + " " + abbreviate(Json.write(list)) + ": dimension " + i + " is "
                        + abbreviate(Json.write(v)) + ", expected an integer in [0, " + Integer.MAX_VALUE + "]");
            }
            out[i] = (int) (long) l;
        }
        return out;
    }

    /**
     * The format says the tensors lie back to back, without gaps, and the buffer ends with the last one. We reject
     * overlaps (two tensors aliasing bytes) and also holes and trailing bytes: bytes that belong to no tensor are a
     * sign of a corrupt or hand-edited file, could hide data no reader checks, and the reference implementation
     * (the Rust crate's validation) rejects them too, so accepting them would make us accept files others refuse.
     */
    private static void checkCoverage(List<Entry> entries, long bufferLength, String src) throws ModelFormatException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long covered = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin < covered) {
                throw fail(src, "tensor " + Untrusted.quote(e.name) + " data_offsets [" + e.begin + ", " + e.end
                        + "] overlap tensor " + Untrusted.quote(previous.name) + " [" + previous.begin + ", " + previous.end + "]");
            }
            if (e.begin > covered) {
                throw fail(src, "bytes [" + covered + ", " + e.begin + ") of the data buffer belong to no tensor"
                        + " (gap before tensor " + Untrusted.quote(e.name) + "); tensors must be stored back to back");
            }
            covered = e.end;
            if (e.end > e.begin || previous == null) {
                previous = e;
            }
        }
        if (covered != bufferLength) {
            throw fail(src, "the data buffer has " + bufferLength + " bytes, but the tensors cover only the first "
                    + covered + " (trailing bytes belong to no tensor)");
        }
    }

    static String decodeUtf8(byte[] bytes, int offset, int length, String src) throws ModelFormatException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        CharBuffer out = CharBuffer.allocate(length); // UTF-8 never decodes to more chars than bytes
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            // on an error the decoder stops at the offending bytes
            throw fail(src, "header is not valid UTF-8 (bad byte sequence at header byte " + (in.position() - offset)
                    + ")");
        }
        return out.flip().toString();
    }

    // ------------------------------------------------------------------------------------------------ writing

    /**
     * Writes a safetensors file atomically ({@link AtomicFile}: replacing any existing file, never leaving
     * a part of one): the header JSON padded with spaces to a multiple of
     * 8 bytes, {@code __metadata__} first (omitted when empty), tensors in map iteration order, back to back.
     *
     * @param metadata string metadata, or null for none
     * @throws IllegalArgumentException if a tensor is called {@code __metadata__}, a name cannot be encoded, or the
     *     file would exceed {@link #MAX_FILE_BYTES}
     */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        AtomicFile.write(path, toBytes(tensors, metadata));
    }

    /** The bytes {@link #write(Path, Map, Map)} writes. */
    public static byte[] toBytes(Map<String, Tensor> tensors, Map<String, String> metadata) {
        Objects.requireNonNull(tensors, "tensors");
        Map<String, Object> header = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            Map<String, String> meta = new LinkedHashMap<>();
            metadata.forEach((k, v) ->
                    meta.put(Objects.requireNonNull(k, "metadata key"), Objects.requireNonNull(v, "metadata " + k)));
            header.put(METADATA_KEY, meta);
        }
        long offset = 0;
        List<Tensor> ordered = new ArrayList<>(tensors.size());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = Objects.requireNonNull(e.getKey(), "tensor name");
            Tensor t = Objects.requireNonNull(e.getValue(), "tensor " + name);
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("a tensor cannot be called " + METADATA_KEY);
            }
            long end = offset + (long) t.size() * Float.BYTES;
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", "F32");
            entry.put("shape", t.shape());
            entry.put("data_offsets", new long[] {offset, end});
            header.put(name, entry);
            ordered.add(t);
            offset = end;
        }
        byte[] json = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) & ~7;
        if (padded > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("safetensors header of " + padded + " bytes exceeds the limit of "
                    + MAX_HEADER_BYTES);
        }
        long total = 8L + padded + offset;
        if (total > MAX_FILE_BYTES) {
            throw new IllegalArgumentException("safetensors file of " + total + " bytes exceeds the limit of "
                    + MAX_FILE_BYTES);
        }
        byte[] out = new byte[(int) total];
        ByteBuffer buf = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(padded);
        buf.put(json);
        Arrays.fill(out, 8 + json.length, 8 + padded, (byte) ' ');
        buf.position(8 + padded);
        for (Tensor t : ordered) {
            buf.asFloatBuffer().put(t.data()); // bulk copy: keeps NaN payloads bit for bit
            buf.position(buf.position() + t.size() * Float.BYTES);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ shared helpers

    /**
     * Reads a whole file with one bounded read: the array is sized by the file's real size, never by a length field
     * inside it, and files over {@link #MAX_FILE_BYTES} are refused.
     */
    static byte[] readFileBounded(Path path, String src) throws IOException {
        requireRegularFile(path, src);
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > MAX_FILE_BYTES) {
                throw fail(src, "file is " + size + " bytes; at most " + MAX_FILE_BYTES + " (2 GiB) are supported");
            }
            // the file's bytes, then its values as floats: about twice its size
            MemoryBudget.require(2 * size, "reading " + src + " (" + MemoryBudget.size(size) + ")");
            byte[] bytes = new byte[(int) size];
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            while (buf.hasRemaining()) {
                if (ch.read(buf) < 0) {
                    throw new IOException(src + ": file shrank while being read (expected " + size + " bytes)");
                }
            }
            if (ch.read(ByteBuffer.allocate(1)) > 0) {
                throw new IOException(src + ": file grew while being read (expected " + size + " bytes)");
            }
            return bytes;
        }
    }

    /**
     * Refuses what is not a regular file before opening it: a FIFO or a device would block or never end
     * (a symbolic link to a regular file is fine).
     */
    static void requireRegularFile(Path path, String src) throws IOException {
        if (!Files.isRegularFile(path)) {
            if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new java.nio.file.NoSuchFileException(src);
            }
            String kind = Files.isDirectory(path) ? "a directory" : Files.isSymbolicLink(path) && !Files.exists(path)
                    ? "a broken symbolic link" : "not a regular file (a pipe, socket or device?)";
            throw new java.nio.file.FileSystemException(src, null, kind + "; expected a regular file");
        }
    }

    static ModelFormatException fail(String src, String detail) {
        return new ModelFormatException(src + ": " + detail);
    }

    private static String abbreviate(String s) {
        return s.length() <= 100 ? s : s.substring(0, 100) + "...";
    }
}
