package org.rnnkit.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;

/**
 * Seeded mutation fuzzing of {@link TorchFile#read(byte[], String)} from the real files of testdata/torch.
 *
 * <p>Every input must either be read into a consistent result or be refused with a {@link TorchFormatException}
 * whose message starts with the source name. Any other exception or error, {@link OutOfMemoryError} included,
 * fails the test with the seed, the iteration and the input's first bytes. A consistent result holds tensors
 * whose values match their shapes; one of every few is also built into a layer by {@link TorchImport}, which
 * may refuse only with {@link IllegalArgumentException}, and run on the scalar backend.
 *
 * <p>Mutations: of the whole file (bit flips, interesting bytes, truncation, insertion, deletion, splicing two
 * files), and of the pickle inside a zip, re-zipped so that they get past the container: the same byte
 * mutations, integers set to hostile values (-1, 0, 2^31, 2^32-1, ...), and inserted opcodes with huge lengths
 * or names outside the allow-list.
 *
 * <p>Each iteration draws from its own generator seeded by (seed, iteration): one failing input replays with
 * {@code -Drnnkit.tests.seed=S -Drnnkit.tests.fuzz.iteration=I}. Knobs: {@code rnnkit.tests.fuzz} (inputs per
 * run, default 100000), {@code rnnkit.tests.seed}.
 */
class TorchFuzzTest {
    static final long DEFAULT_SEED = 0x7_04c4_f11e_5eedL;

    private static final byte[] INTERESTING_BYTES = {0x00, (byte) 0xff, 0x7f, (byte) 0x80, 0x01, '.', '(', 't',
        'R', 'b', 'Q', 'h', 'q', 'X', 'K', 'M', 'J', 'c', (byte) 0x8a, (byte) 0x95, (byte) 0x93, '}', ']', ')'};
    private static final long[] INTERESTING_INTS = {-1, 0, 1, 2, 3, 255, 65535, 1L << 31, (1L << 31) - 1,
        (1L << 32) - 1, Integer.MIN_VALUE};
    private static final byte[][] INSERTS = {
        {'X', (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x7f}, // BINUNICODE of 2 GB
        {(byte) 0x8d, -1, -1, -1, -1, -1, -1, -1, 0x7f}, // BINUNICODE8 of 2^63
        {(byte) 0x95, -1, -1, -1, -1, 0, 0, 0, 0}, // FRAME
        {'j', -1, -1, -1, -1}, // LONG_BINGET
        {'r', -1, -1, -1, 0x7f}, // LONG_BINPUT
        {(byte) 0x8a, (byte) 0xff}, // LONG1 of 255 bytes
        "cposix\nsystem\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        "cbuiltins\neval\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        "ctorch\nLongStorage\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        {'(', '('}, {'.'}, {'t'}, {'R'}, {'b'}, {'u'}, {'e'}, {'s'}, {(byte) 0x81}, {'Q'}, {'N'}};

    private final Map<String, int[]> counts = new LinkedHashMap<>(); // kind -> {accepted, refused}
    private Backend scalar;

    private record Source(byte[] file, Map<String, byte[]> entries, String pklName) {}

    @Test
    void mutatedFilesAreReadConsistentlyOrRefused() throws IOException {
        long seed = Long.getLong("rnnkit.tests.seed", DEFAULT_SEED);
        int total = Integer.getInteger("rnnkit.tests.fuzz", 100_000);
        Integer only = Integer.getInteger("rnnkit.tests.fuzz.iteration");
        System.out.println("TorchFuzzTest: seed " + seed + ", " + total + " inputs (reproduce with -Drnnkit.tests.seed="
                + seed + ")");
        scalar = Backends.named("scalar");
        List<Source> sources = new ArrayList<>();
        for (Path c : TorchTestSupport.cases()) {
            Path f = c.resolve("model.pt");
            byte[] bytes = Files.readAllBytes(f);
            Map<String, byte[]> entries = null;
            String pkl = null;
            if (TorchZip.isZip(bytes)) {
                entries = new LinkedHashMap<>();
                try (ZipFile z = new ZipFile(f.toFile())) {
                    for (var e : java.util.Collections.list(z.entries())) {
                        entries.put(e.getName(), z.getInputStream(e).readAllBytes());
                        if (e.getName().endsWith("/data.pkl")) {
                            pkl = e.getName();
                        }
                    }
                }
            }
            sources.add(new Source(bytes, entries, pkl));
        }
        assertEquals(7, sources.size());

        long start = System.nanoTime();
        for (int i = only == null ? 0 : only; i < (only == null ? total : only + 1); i++) {
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + i);
            Source s = sources.get(r.nextInt(sources.size()));
            byte[] input = null;
            try {
                if (s.entries != null && r.nextInt(3) != 0) {
                    Map<String, byte[]> m = new LinkedHashMap<>(s.entries);
                    m.put(s.pklName, pickle(r, m.get(s.pklName)));
                    input = TorchRefusalTest.zip(m);
                } else {
                    input = bytes(r, s.file, sources);
                }
                check(input, i);
            } catch (Throwable t) {
                String hex = input == null ? "(not built)" : HexFormat.of().formatHex(input, 0, Math.min(input.length, 256));
                fail("TorchFuzzTest failed: seed " + seed + ", iteration " + i + " (" + (input == null ? "?" : input.length)
                        + " bytes, first 256 in hex: " + hex + "): " + t, t);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        StringBuilder sb = new StringBuilder("TorchFuzzTest: ");
        counts.forEach((k, v) -> sb.append(k).append(" accepted ").append(v[0]).append(", refused ").append(v[1])
                .append("; "));
        System.out.printf("%s%.1f s%n", sb, seconds);
        if (only == null && total >= 2000) {
            // a fuzzer whose inputs are all refused tests only the first check; one that refuses none mutates nothing
            int[] c = counts.getOrDefault("file", new int[2]);
            assertTrue(c[0] > total / 500 && c[1] > total / 500, "accepted/refused too lopsided: " + c[0] + "/" + c[1]);
        }
    }

    private void count(String kind, boolean accepted) {
        counts.computeIfAbsent(kind, k -> new int[2])[accepted ? 0 : 1]++;
    }

    private void check(byte[] input, int iteration) {
        TorchFile f;
        try {
            f = TorchFile.read(input, "fuzz");
        } catch (TorchFormatException e) {
            assertTrue(e.getMessage().startsWith("fuzz"), e.getMessage());
            count("file", false);
            return;
        }
        count("file", true);
        for (Tensor t : f.tensors().values()) {
            long n = 1;
            for (int d : t.shape()) {
                n *= d;
            }
            assertEquals(n, t.data().length);
        }
        if (iteration % 8 != 0) {
            return;
        }
        RecurrentLayer layer;
        try {
            layer = TorchImport.layer(f, TorchLoadOptions.defaults().withBatchFirst(false).withNonlinearity("tanh"),
                    scalar);
        } catch (IllegalArgumentException e) {
            count("layer", false);
            return;
        }
        count("layer", true);
        var c = layer.config();
        if ((long) c.inputSize() * c.hiddenSize() * c.numLayers() < 1_000_000) {
            Tensor x = Tensor.zeros(2, 1, c.inputSize());
            assertEquals(2 * c.outputSize(), layer.forward(x).output().size());
        }
    }

    // ------------------------------------------------------------------------------------------------ mutations

    private static byte[] bytes(SplittableRandom r, byte[] in, List<Source> all) {
        byte[] b = in.clone();
        int rounds = 1 + r.nextInt(3);
        for (int k = 0; k < rounds && b.length > 0; k++) {
            switch (r.nextInt(7)) {
                case 0 -> b[r.nextInt(b.length)] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[r.nextInt(b.length)] = INTERESTING_BYTES[r.nextInt(INTERESTING_BYTES.length)];
                case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length));
                case 3 -> {
                    int at = r.nextInt(b.length), n = 1 + r.nextInt(16);
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    o.write(b, 0, at);
                    for (int j = 0; j < n; j++) {
                        o.write(r.nextInt(256));
                    }
                    o.write(b, at, b.length - at);
                    b = o.toByteArray();
                }
                case 4 -> {
                    int at = r.nextInt(b.length), n = Math.min(b.length - at, 1 + r.nextInt(16));
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    o.write(b, 0, at);
                    o.write(b, at + n, b.length - at - n);
                    b = o.toByteArray();
                }
                case 5 -> {
                    byte[] other = all.get(r.nextInt(all.size())).file;
                    int cut = r.nextInt(b.length), from = r.nextInt(other.length);
                    ByteArrayOutputStream o = new ByteArrayOutputStream();
                    o.write(b, 0, cut);
                    o.write(other, from, other.length - from);
                    b = o.toByteArray();
                }
                default -> { // a little-endian integer set to a hostile value
                    if (b.length >= 4) {
                        int at = r.nextInt(b.length - 3);
                        long v = INTERESTING_INTS[r.nextInt(INTERESTING_INTS.length)];
                        for (int j = 0; j < 4; j++) {
                            b[at + j] = (byte) (v >> (8 * j));
                        }
                    }
                }
            }
        }
        return b;
    }

    private static byte[] pickle(SplittableRandom r, byte[] pkl) {
        if (r.nextInt(3) != 0) {
            return bytes(r, pkl, List.of(new Source(pkl, null, null)));
        }
        byte[] ins = INSERTS[r.nextInt(INSERTS.length)];
        int at = r.nextInt(pkl.length);
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(pkl, 0, at);
        o.writeBytes(ins);
        o.write(pkl, at, pkl.length - at);
        return o.toByteArray();
    }
}
