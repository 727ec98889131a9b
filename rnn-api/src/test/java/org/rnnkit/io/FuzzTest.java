package org.rnnkit.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.rnnkit.tensor.Tensor;

/**
 * Seeded mutation fuzzing of {@link SafeTensors#read(byte[], String)} and the {@link Npy} readers.
 *
 * <p>Every input must either parse into a consistent result (each tensor holds exactly as many values as its shape
 * says, and writing it back and reading that again gives the same tensors) or be rejected with a
 * {@link ModelFormatException}. Any other exception or error, {@link OutOfMemoryError} included, fails the test with
 * the seed and the iteration. Each iteration draws from its own generator seeded by (seed, iteration), so one
 * failing input is replayed with {@code -Drnnkit.tests.seed=S -Drnnkit.tests.fuzz.iteration=I}.
 *
 * <p>Knobs: {@code rnnkit.tests.fuzz} (inputs per run, default 100000, half per format), {@code rnnkit.tests.seed}.
 */
class FuzzTest {
    static final long DEFAULT_SEED = 0x5afe_7e45_0125L;

    private static final byte[] INTERESTING_BYTES = {
        0x00, (byte) 0xff, 0x7f, (byte) 0x80, '"', '[', ']', '{', '}', ',', ':', '-', '0', '1', '9', 'e', '.', ' ',
        '\\', '\n', '\'', '(', ')', 'L', 'T', 'F', (byte) 0xc3, (byte) 0xe2
    };
    private static final String[] INTERESTING_NUMBERS = {
        "0", "-0", "1", "-1", "3", "4", "7", "8", "12", "2147483647", "2147483648", "4294967295", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999", "1.5", "1e2",
        "4.0", "1e400", "-1e400", "01", "65536", "1L"
    };
    private static final String[] INTERESTING_STRINGS = {
        "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"\"", "\"__metadata__\"", "\"dtype\"", "\"shape\"",
        "\"data_offsets\"", "\"\\u0000\"", "\"\\ud800\"", "\"é\"", "\"a\\\"b\"", "1", "null", "[]", "{}", "true"
    };
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(\\.\\d+)?([eE][+-]?\\d+)?L?");
    private static final Pattern JSON_STRING = Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern PY_STRING = Pattern.compile("'[^']*'");

    private final Map<String, int[]> counts = new LinkedHashMap<>(); // format -> {accepted, rejected}

    @Test
    void mutatedFilesAreParsedConsistentlyOrRejected() {
        long seed = Long.getLong("rnnkit.tests.seed", DEFAULT_SEED);
        int total = Integer.getInteger("rnnkit.tests.fuzz", 100_000);
        Integer only = Integer.getInteger("rnnkit.tests.fuzz.iteration");
        System.out.println("FuzzTest: seed " + seed + ", " + total + " inputs"
                + " (reproduce with -Drnnkit.tests.seed=" + seed + ")");

        SplittableRandom corpusRandom = new SplittableRandom(seed);
        List<byte[]> stCorpus = safetensorsCorpus(corpusRandom);
        List<byte[]> npyCorpus = npyCorpus(corpusRandom);

        long start = System.nanoTime();
        for (int i = only == null ? 0 : only; i < (only == null ? total : only + 1); i++) {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            boolean safetensors = (i & 1) == 0;
            byte[] input = null;
            try {
                if (safetensors) {
                    input = mutateSafetensors(r, stCorpus);
                    checkSafetensors(input);
                } else {
                    input = mutateNpy(r, npyCorpus);
                    checkNpy(input);
                }
            } catch (Throwable t) {
                String hex = input == null ? "(not built)" : HexFormat.of().formatHex(input, 0, Math.min(input.length, 512));
                fail("FuzzTest failed: seed " + seed + ", iteration " + i + " ("
                        + (safetensors ? "safetensors" : "npy") + ", " + (input == null ? "?" : input.length)
                        + " bytes, first 512 in hex: " + hex + "): " + t, t);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        StringBuilder sb = new StringBuilder("FuzzTest: ");
        counts.forEach((k, v) -> sb.append(k).append(" accepted ").append(v[0]).append(", rejected ").append(v[1])
                .append("; "));
        System.out.printf("%s%.1f s%n", sb, seconds);
        if (only == null && total >= 2000) {
            // a fuzzer whose inputs are all rejected at the first check tests nothing
            for (String k : List.of("safetensors", "npy <f4")) {
                int[] c = counts.get(k);
                assertTrue(c[0] > total / 200 && c[1] > total / 200, k + " accepted/rejected too lopsided: "
                        + c[0] + "/" + c[1]);
            }
        }
    }

    private void count(String format, boolean accepted) {
        counts.computeIfAbsent(format, k -> new int[2])[accepted ? 0 : 1]++;
    }

    // ------------------------------------------------------------------------------------------------ oracles

    private void checkSafetensors(byte[] input) throws ModelFormatException {
        SafeTensorsFile f;
        try {
            f = SafeTensors.read(input, "fuzz");
        } catch (ModelFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            count("safetensors", false);
            return;
        }
        long dataBytes = 0;
        for (Map.Entry<String, Tensor> e : f.tensors().entrySet()) {
            assertEquals(Tensor.checkedSize("shape", e.getValue().shape()), e.getValue().data().length, e.getKey());
            dataBytes += 4L * e.getValue().size();
        }
        // Strictness, not just consistency: an accepted file is exactly length field + header + the tensors' bytes
        // (no holes, no trailing bytes).
        long headerLength = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(input.length, 8 + headerLength + dataBytes, "file length vs header + tensors");
        SafeTensorsFile again = SafeTensors.read(SafeTensors.toBytes(f.tensors(), f.metadata()), "again");
        assertEquals(new ArrayList<>(f.tensors().keySet()), new ArrayList<>(again.tensors().keySet()));
        f.tensors().forEach((k, v) -> assertTrue(v.bitEquals(again.get(k)), k));
        assertEquals(f.metadata(), again.metadata());
        count("safetensors", true);
    }

    private void checkNpy(byte[] input) throws ModelFormatException {
        try {
            Tensor t = Npy.readFloat32(input, "fuzz");
            assertEquals(Tensor.checkedSize("shape", t.shape()), t.data().length);
            ByteBuffer values = ByteBuffer.allocate(4 * t.size()).order(ByteOrder.LITTLE_ENDIAN);
            values.asFloatBuffer().put(t.data());
            assertExactTail(input, values.array());
            assertTrue(Npy.readFloat32(Npy.toBytes(t), "again").bitEquals(t));
            count("npy <f4", true);
        } catch (ModelFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            count("npy <f4", false);
        }
        try {
            long[] v = Npy.readInt64Vector(input, "fuzz");
            ByteBuffer values = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            values.asLongBuffer().put(v);
            assertExactTail(input, values.array());
            assertArrayEquals(v, Npy.readInt64Vector(Npy.toBytes(v), "again"));
            count("npy <i8", true);
        } catch (ModelFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz: "), e.getMessage());
            count("npy <i8", false);
        }
    }

    /**
     * Strictness, not just consistency: an accepted npy file is exactly preamble + header + the values' bytes, read
     * here independently of {@link Npy}: no truncation, no trailing bytes.
     */
    private static void assertExactTail(byte[] input, byte[] values) {
        ByteBuffer b = ByteBuffer.wrap(input).order(ByteOrder.LITTLE_ENDIAN);
        long dataStart = input[6] == 1 ? 10 + (b.getShort(8) & 0xffff) : 12 + (b.getInt(8) & 0xffffffffL);
        assertEquals(input.length, dataStart + values.length, "file length vs header + values");
        assertArrayEquals(values, Arrays.copyOfRange(input, (int) dataStart, input.length), "values");
    }

    // ------------------------------------------------------------------------------------------------ corpora

    private static float[] randomFloats(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextInt(8) == 0 ? Float.intBitsToFloat(r.nextInt()) : (float) r.nextGaussian();
        }
        return v;
    }

    private static final int[][] SHAPES = {{3}, {2, 3}, {0}, {}, {4, 1}, {1, 2, 2}, {0, 5}, {12}, {3, 4}, {2, 2, 2, 2}};

    private static List<byte[]> safetensorsCorpus(SplittableRandom r) {
        List<byte[]> corpus = new ArrayList<>();
        for (int k = 0; k < 12; k++) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            int n = 1 + r.nextInt(4);
            for (int j = 0; j < n; j++) {
                int[] shape = SHAPES[r.nextInt(SHAPES.length)];
                String name = List.of("weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l", "x").get(r.nextInt(5)) + j;
                tensors.put(name, Tensor.wrap(randomFloats(r, (int) Tensor.checkedSize("s", shape)), shape));
            }
            Map<String, String> meta = new LinkedHashMap<>();
            if (r.nextBoolean()) {
                meta.put("mode", "LSTM");
                meta.put("hidden_size", Integer.toString(r.nextInt(100)));
                meta.put("bias", "true");
            }
            corpus.add(SafeTensors.toBytes(tensors, meta));
        }
        corpus.add(SafeTensors.toBytes(Map.of(), Map.of()));
        // A valid file whose header is pretty-printed and whose entries are not in offset order.
        String header = "{\n \"b\": {\"shape\": [2], \"dtype\": \"F32\", \"data_offsets\": [4, 12]},\n"
                + " \"a\": {\"data_offsets\": [0, 4], \"dtype\": \"F32\", \"shape\": [1, 1]}\n}";
        corpus.add(withHeader(header.getBytes(StandardCharsets.UTF_8), new byte[12]));
        return corpus;
    }

    private static List<byte[]> npyCorpus(SplittableRandom r) {
        List<byte[]> corpus = new ArrayList<>();
        for (int[] shape : SHAPES) {
            corpus.add(Npy.toBytes(Tensor.wrap(randomFloats(r, (int) Tensor.checkedSize("s", shape)), shape)));
        }
        corpus.add(Npy.toBytes(new long[] {5, 1, 3, 3}));
        corpus.add(Npy.toBytes(new long[0]));
        corpus.add(NpyTest.npy(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }\n", 8));
        corpus.add(NpyTest.npy(3, "{\"shape\": (3L,), \"descr\": \"<i8\", \"fortran_order\": False}\n", 24));
        return corpus;
    }

    // ------------------------------------------------------------------------------------------------ mutations

    private static byte[] withHeader(byte[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        return b.putLong(header.length).put(header).put(data).array();
    }

    private byte[] mutateSafetensors(SplittableRandom r, List<byte[]> corpus) {
        byte[] f = corpus.get(r.nextInt(corpus.size())).clone();
        int rounds = 1 + r.nextInt(3);
        for (int k = 0; k < rounds; k++) {
            long n = f.length >= 8 ? ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getLong() : -1;
            boolean headerIntact = n >= 2 && n <= f.length - 8;
            int op = r.nextInt(13);
            if (op >= 8 && !headerIntact) {
                op = r.nextInt(8);
            }
            f = switch (op) {
                case 0 -> bitFlips(r, f);
                case 1 -> overwrite(r, f, headerIntact ? 8 + (int) n : f.length);
                case 12 -> dataNoise(r, f, 8 + (int) n);
                case 2 -> truncate(r, f);
                case 3 -> insert(r, f);
                case 4 -> delete(r, f);
                case 5 -> safetensorsLength(r, f, n);
                case 6 -> splice(r, f, corpus.get(r.nextInt(corpus.size())));
                case 7 -> withHeader(randomJson(r, 0).getBytes(StandardCharsets.UTF_8), new byte[r.nextInt(4) * 4]);
                default -> {
                    // structured: edit the header text, then usually fix up the length field
                    String header = new String(f, 8, (int) n, StandardCharsets.UTF_8);
                    byte[] data = Arrays.copyOfRange(f, 8 + (int) n, f.length);
                    String edited = editJsonHeader(r, header);
                    if (r.nextInt(8) == 0) {
                        data = resize(r, data);
                    }
                    byte[] out = withHeader(edited.getBytes(StandardCharsets.UTF_8), data);
                    if (r.nextInt(10) == 0) {
                        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
                    }
                    yield out;
                }
            };
        }
        return f;
    }

    private String editJsonHeader(SplittableRandom r, String h) {
        switch (r.nextInt(9)) {
            case 0: // replace a number
                return replaceMatch(r, h, NUMBER, INTERESTING_NUMBERS[r.nextInt(INTERESTING_NUMBERS.length)]);
            case 1: // replace a string
                return replaceMatch(r, h, JSON_STRING, INTERESTING_STRINGS[r.nextInt(INTERESTING_STRINGS.length)]);
            case 2: { // swap the two numbers of a data_offsets pair, or of two tensors' pairs
                Matcher m = Pattern.compile("\"data_offsets\":\\s*\\[(\\d+),\\s*(\\d+)\\]").matcher(h);
                List<String[]> pairs = new ArrayList<>();
                List<int[]> where = new ArrayList<>();
                while (m.find()) {
                    pairs.add(new String[] {m.group(1), m.group(2)});
                    where.add(new int[] {m.start(), m.end()});
                }
                if (pairs.isEmpty()) {
                    return h;
                }
                int a = r.nextInt(pairs.size());
                int b = r.nextInt(pairs.size());
                String[] pa = pairs.get(a);
                String[] pb = pairs.get(b);
                String replacement = a == b ? "[" + pa[1] + "," + pa[0] + "]" : "[" + pb[0] + "," + pb[1] + "]";
                return h.substring(0, where.get(a)[0]) + "\"data_offsets\":" + replacement + h.substring(where.get(a)[1]);
            }
            case 3: { // duplicate a key: copy the first member to the end
                int close = h.lastIndexOf('}');
                Matcher m = Pattern.compile("\\{(\"[^\"]*\":\\{[^}]*\\})").matcher(h);
                if (close < 0 || !m.find()) {
                    return h;
                }
                return h.substring(0, close) + "," + m.group(1) + h.substring(close);
            }
            case 4: { // add an extra member to a tensor entry or the top level
                int at = h.indexOf('{', r.nextInt(Math.max(1, h.length())));
                if (at < 0) {
                    at = 0;
                }
                String extra = List.of("\"extra\":1,", "\"dtype\":\"F32\",", "\"__metadata__\":{},", "\"x\":[],").get(r.nextInt(4));
                return h.substring(0, at + 1) + extra + h.substring(at + 1);
            }
            case 5: { // delete a span
                if (h.isEmpty()) {
                    return h;
                }
                int a = r.nextInt(h.length());
                int b = Math.min(h.length(), a + 1 + r.nextInt(12));
                return h.substring(0, a) + h.substring(b);
            }
            case 6: { // insert a token
                int a = r.nextInt(h.length() + 1);
                String tok = List.of(",", "]", "[", "{", "}", ":", "\"", "0", "-", " ", "\\", "\u0001", "é",
                        "[0,4]", "[2]", "null").get(r.nextInt(16));
                return h.substring(0, a) + tok + h.substring(a);
            }
            case 7: // change the metadata to non-strings or drop it
                return h.replaceFirst("\"(mode|hidden_size|bias)\":\"[^\"]*\"",
                        List.of("\"$1\":1", "\"$1\":null", "\"$1\":[]", "\"$1\":\"\"").get(r.nextInt(4)));
            default: // grow a shape so the sizes disagree
                return replaceMatch(r, h, Pattern.compile("\\[\\d+(,\\d+)*\\]"),
                        List.of("[]", "[0]", "[1,3]", "[3,4]", "[-1]", "[65536,65536]", "[2147483647]").get(r.nextInt(7)));
        }
    }

    private static String replaceMatch(SplittableRandom r, String s, Pattern p, String replacement) {
        Matcher m = p.matcher(s);
        List<int[]> spans = new ArrayList<>();
        while (m.find()) {
            spans.add(new int[] {m.start(), m.end()});
        }
        if (spans.isEmpty()) {
            return s;
        }
        int[] span = spans.get(r.nextInt(spans.size()));
        return s.substring(0, span[0]) + replacement + s.substring(span[1]);
    }

    /** Random JSON-like text: usually valid JSON, sometimes shaped like a safetensors header. */
    private static String randomJson(SplittableRandom r, int depth) {
        int kind = depth > 4 ? 3 + r.nextInt(4) : r.nextInt(8);
        switch (kind) {
            case 0:
            case 1: {
                StringBuilder sb = new StringBuilder("{");
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    if (i > 0) {
                        sb.append(',');
                    }
                    sb.append(List.of("\"dtype\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\"w\"",
                            "\"a\"").get(r.nextInt(6))).append(':').append(randomJson(r, depth + 1));
                }
                return sb.append('}').toString();
            }
            case 2: {
                StringBuilder sb = new StringBuilder("[");
                int n = r.nextInt(4);
                for (int i = 0; i < n; i++) {
                    sb.append(i > 0 ? "," : "").append(randomJson(r, depth + 1));
                }
                return sb.append(']').toString();
            }
            case 3:
                return INTERESTING_NUMBERS[r.nextInt(INTERESTING_NUMBERS.length)];
            case 4:
                return INTERESTING_STRINGS[r.nextInt(INTERESTING_STRINGS.length)];
            case 5:
                return "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + r.nextInt(3) + "],\"data_offsets\":[0,"
                        + 4 * r.nextInt(3) + "]}}";
            case 6:
                return "[".repeat(r.nextInt(80)) + "]".repeat(r.nextInt(80));
            default:
                return List.of("true", "null", "{}", "[]", "\"", "{\"a\":", "1e", "-").get(r.nextInt(8));
        }
    }

    private static byte[] mutateNpy(SplittableRandom r, List<byte[]> corpus) {
        byte[] f = corpus.get(r.nextInt(corpus.size())).clone();
        int rounds = 1 + r.nextInt(3);
        for (int k = 0; k < rounds; k++) {
            boolean v1 = f.length >= 10 && f[6] == 1;
            int prefix = v1 ? 10 : 12;
            long hlen = f.length < prefix ? -1 : v1
                    ? ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xffff
                    : ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).getInt(8) & 0xffffffffL;
            boolean headerIntact = hlen >= 0 && hlen <= f.length - prefix && (f[6] >= 1 && f[6] <= 3);
            int op = r.nextInt(13);
            if (op >= 8 && !headerIntact) {
                op = r.nextInt(8);
            }
            f = switch (op) {
                case 0 -> bitFlips(r, f);
                case 1 -> overwrite(r, f, headerIntact ? prefix + (int) hlen : f.length);
                case 12 -> dataNoise(r, f, prefix + (int) hlen);
                case 2 -> truncate(r, f);
                case 3 -> insert(r, f);
                case 4 -> delete(r, f);
                case 5 -> npyLengthOrVersion(r, f);
                case 6 -> splice(r, f, corpus.get(r.nextInt(corpus.size())));
                case 7 -> NpyTest.npy(1 + r.nextInt(3), randomPyDict(r), r.nextInt(4) * 4);
                default -> {
                    String header = new String(f, prefix, (int) hlen, StandardCharsets.ISO_8859_1);
                    byte[] data = Arrays.copyOfRange(f, prefix + (int) hlen, f.length);
                    String edited = editPyHeader(r, header);
                    if (r.nextInt(6) == 0) {
                        data = resize(r, data);
                    }
                    byte[] out = NpyTest.npy(v1 ? 1 : f[6], edited, 0);
                    byte[] joined = Arrays.copyOf(out, out.length + data.length);
                    System.arraycopy(data, 0, joined, out.length, data.length);
                    if (r.nextInt(10) == 0) {
                        joined[8] = (byte) hlen; // stale length field
                    }
                    yield joined;
                }
            };
        }
        return f;
    }

    private static String editPyHeader(SplittableRandom r, String h) {
        switch (r.nextInt(7)) {
            case 0:
                return replaceMatch(r, h, NUMBER, INTERESTING_NUMBERS[r.nextInt(INTERESTING_NUMBERS.length)]);
            case 1:
                return replaceMatch(r, h, PY_STRING, List.of("'<f4'", "'<i8'", "'>f4'", "'<f8'", "'|u1'", "''",
                        "'descr'", "'shape'", "\"<f4\"", "'x'").get(r.nextInt(10)));
            case 2:
                return r.nextBoolean() ? h.replace("False", "True") : h.replace("False", "0");
            case 3:
                return replaceMatch(r, h, Pattern.compile("\\([^)]*\\)"), List.of("()", "(3)", "(3,)", "(0,)",
                        "(2, 3)", "(1, 1, 1, 1)", "(-1,)", "(,)", "(2,,)", "(1, 2", "[2, 3]").get(r.nextInt(11)));
            case 4: {
                int a = r.nextInt(h.length() + 1);
                String tok = List.of(",", ")", "(", "{", "}", ":", "'", "\"", "0", " ", "\n", "\\", "L", "é")
                        .get(r.nextInt(14));
                return h.substring(0, a) + tok + h.substring(a);
            }
            case 5: {
                if (h.isEmpty()) {
                    return h;
                }
                int a = r.nextInt(h.length());
                int b = Math.min(h.length(), a + 1 + r.nextInt(8));
                return h.substring(0, a) + h.substring(b);
            }
            default:
                return h.strip() + (r.nextBoolean() ? "" : " ".repeat(r.nextInt(70)) + "\n");
        }
    }

    private static String randomPyDict(SplittableRandom r) {
        StringBuilder sb = new StringBuilder("{");
        List<String> keys = new ArrayList<>(List.of("'descr'", "'fortran_order'", "'shape'", "'x'", "'descr'"));
        int n = r.nextInt(5);
        for (int i = 0; i < n; i++) {
            String key = keys.get(r.nextInt(keys.size()));
            String value = switch (key) {
                case "'descr'" -> List.of("'<f4'", "'<i8'", "'>f4'").get(r.nextInt(3));
                case "'fortran_order'" -> r.nextInt(4) == 0 ? "True" : "False";
                case "'shape'" -> List.of("()", "(3,)", "(2, 2)", "(1, 0, 4)", "(1)").get(r.nextInt(5));
                default -> "1";
            };
            sb.append(key).append(": ").append(value).append(", ");
        }
        return sb.append("}").append(" ".repeat(r.nextInt(5))).append(r.nextInt(5) == 0 ? "" : "\n").toString();
    }

    // generic byte-level mutations

    private static byte[] bitFlips(SplittableRandom r, byte[] f) {
        if (f.length == 0) {
            return f;
        }
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            f[r.nextInt(f.length)] ^= (byte) (1 << r.nextInt(8));
        }
        return f;
    }

    /** Random bytes in the data after the header: the file stays valid, its values (NaN payloads too) change. */
    private static byte[] dataNoise(SplittableRandom r, byte[] f, int dataStart) {
        for (int i = dataStart; i < f.length; i++) {
            if (r.nextInt(3) == 0) {
                f[i] = (byte) r.nextInt();
            }
        }
        return f;
    }

    /** Overwrites 1-4 bytes with interesting values, mostly inside the first {@code hot} bytes (length and header). */
    private static byte[] overwrite(SplittableRandom r, byte[] f, int hot) {
        if (f.length == 0) {
            return f;
        }
        int n = 1 + r.nextInt(4);
        for (int i = 0; i < n; i++) {
            int bound = r.nextInt(4) == 0 ? f.length : Math.max(1, Math.min(hot, f.length));
            f[r.nextInt(bound)] = INTERESTING_BYTES[r.nextInt(INTERESTING_BYTES.length)];
        }
        return f;
    }

    private static byte[] truncate(SplittableRandom r, byte[] f) {
        return Arrays.copyOf(f, f.length == 0 ? 0 : r.nextInt(f.length));
    }

    private static byte[] insert(SplittableRandom r, byte[] f) {
        int at = r.nextInt(f.length + 1);
        byte[] ins = new byte[1 + r.nextInt(16)];
        for (int i = 0; i < ins.length; i++) {
            ins[i] = r.nextBoolean() ? (byte) r.nextInt() : INTERESTING_BYTES[r.nextInt(INTERESTING_BYTES.length)];
        }
        byte[] out = new byte[f.length + ins.length];
        System.arraycopy(f, 0, out, 0, at);
        System.arraycopy(ins, 0, out, at, ins.length);
        System.arraycopy(f, at, out, at + ins.length, f.length - at);
        return out;
    }

    private static byte[] delete(SplittableRandom r, byte[] f) {
        if (f.length == 0) {
            return f;
        }
        int a = r.nextInt(f.length);
        int b = Math.min(f.length, a + 1 + r.nextInt(16));
        byte[] out = new byte[f.length - (b - a)];
        System.arraycopy(f, 0, out, 0, a);
        System.arraycopy(f, b, out, a, f.length - b);
        return out;
    }

    private static byte[] splice(SplittableRandom r, byte[] f, byte[] g) {
        int a = r.nextInt(f.length + 1);
        int b = r.nextInt(g.length + 1);
        byte[] out = Arrays.copyOf(f, a + g.length - b);
        System.arraycopy(g, b, out, a, g.length - b);
        return out;
    }

    private static byte[] resize(SplittableRandom r, byte[] data) {
        int delta = r.nextInt(9) - 4;
        return Arrays.copyOf(data, Math.max(0, data.length + delta));
    }

    private static byte[] safetensorsLength(SplittableRandom r, byte[] f, long n) {
        if (f.length < 8) {
            return f;
        }
        long[] values = {-1L, Long.MIN_VALUE, Long.MAX_VALUE, 0xffffffffL, 0x100000000L, f.length, f.length - 7L,
            f.length - 8L, n + 1, n - 1, n + 8, 0, 100_000_001L, 100_000_000L, r.nextLong(), r.nextInt(1 << 20)};
        ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN).putLong(0, values[r.nextInt(values.length)]);
        return f;
    }

    private static byte[] npyLengthOrVersion(SplittableRandom r, byte[] f) {
        if (f.length < 12) {
            return f;
        }
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        switch (r.nextInt(4)) {
            case 0 -> f[6] = (byte) List.of(0, 1, 2, 3, 4, 255).get(r.nextInt(6)).intValue();
            case 1 -> f[7] = (byte) r.nextInt(3);
            case 2 -> b.putShort(8, (short) List.of(0, 1, 0xffff, 0x8000, f.length - 10, f.length - 9, r.nextInt(1 << 16))
                    .get(r.nextInt(7)).intValue());
            default -> b.putInt(8, List.of(0, -1, Integer.MAX_VALUE, f.length - 12, f.length - 11, r.nextInt())
                    .get(r.nextInt(6)));
        }
        return f;
    }
}
