package org.rnnkit.keras;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.backend.Backend;
import org.rnnkit.backend.Backends;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.MemoryBudgetException;

/**
 * Seeded mutation fuzzing of {@link KerasFile#read} and {@link KerasImport} from the real {@code .keras} files of
 * testdata/keras (and the legacy {@code .h5} ones). Every input must either become a layer (which then runs on the scalar backend on a small
 * input) or be refused with a {@link KerasFormatException} whose message starts with the file's name, or a
 * {@link MemoryBudgetException}; anything else, errors included, fails with the seed, iteration and kind.
 *
 * <p>Mutations: of {@code config.json} as JSON (values replaced by hostile numbers, other strings, null, nested
 * objects; keys removed; layers duplicated or removed), of its bytes, of {@code model.weights.h5}'s bytes (bit
 * flips, truncation, interesting bytes), all re-zipped; of the whole zip's bytes, and of a legacy {@code .h5} file's bytes. Each iteration draws from
 * its own generator seeded by (seed, iteration). Knobs: {@code rnnkit.tests.fuzz.keras} (inputs, default 3000),
 * {@code rnnkit.tests.seed}, {@code rnnkit.tests.fuzz.iteration}.
 */
class KerasFuzzTest {
    static final long DEFAULT_SEED = 0x6e_7a5f_f11e_5eedL;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNode[] HOSTILE = {
        JSON.getNodeFactory().numberNode(-1), JSON.getNodeFactory().numberNode(0),
        JSON.getNodeFactory().numberNode(Integer.MAX_VALUE), JSON.getNodeFactory().numberNode(1L << 40),
        JSON.getNodeFactory().numberNode(0.5), JSON.getNodeFactory().nullNode(),
        JSON.getNodeFactory().textNode("LSTM"), JSON.getNodeFactory().textNode("Dense"),
        JSON.getNodeFactory().textNode("../x"), JSON.getNodeFactory().textNode("hard_sigmoid"),
        JSON.getNodeFactory().booleanNode(true), JSON.getNodeFactory().booleanNode(false),
        JSON.getNodeFactory().arrayNode(), JSON.getNodeFactory().objectNode()};
    private static final byte[] INTERESTING = {0, (byte) 0xff, 0x7f, (byte) 0x80, 1, '{', '"', '[', ']', ','};

    @TempDir
    Path tmp;

    @Test
    void mutatedFilesBuildOrAreRefused() throws IOException {
        long seed = Long.getLong("rnnkit.tests.seed", DEFAULT_SEED);
        int total = Integer.getInteger("rnnkit.tests.fuzz.keras", 3000);
        Integer only = Integer.getInteger("rnnkit.tests.fuzz.iteration");
        System.out.println("KerasFuzzTest: seed " + seed + ", " + total + " inputs");
        Backend scalar = Backends.named("scalar");
        List<Map<String, byte[]>> sources = new ArrayList<>();
        for (Path c : KerasTestSupport.cases()) {
            Path f = c.resolve("model.keras");
            if (Files.exists(f)) {
                Map<String, byte[]> e = new LinkedHashMap<>();
                try (ZipFile z = new ZipFile(f.toFile())) {
                    for (var it = z.entries(); it.hasMoreElements(); ) {
                        ZipEntry ze = it.nextElement();
                        e.put(ze.getName(), z.getInputStream(ze).readAllBytes());
                    }
                }
                sources.add(e);
            }
        }
        List<byte[]> h5 = new ArrayList<>();
        for (Path c : KerasTestSupport.cases()) {
            if (Files.exists(c.resolve("model.h5"))) {
                h5.add(Files.readAllBytes(c.resolve("model.h5")));
            }
        }
        int accepted = 0, refused = 0;
        Path file = tmp.resolve("fuzz.keras");
        for (int i = 0; i < total; i++) {
            if (only != null && i != only) {
                continue;
            }
            SplittableRandom r = new SplittableRandom(seed * 1_000_003L + i);
            Map<String, byte[]> e = new LinkedHashMap<>(sources.get(r.nextInt(sources.size())));
            int kind = r.nextInt(5);
            byte[] bytes;
            switch (kind) {
                case 0 -> e.put("config.json", mutateJson(r, e.get("config.json")));
                case 1 -> e.put("config.json", mutateBytes(r, e.get("config.json")));
                case 2 -> e.put("model.weights.h5", mutateBytes(r, e.get("model.weights.h5")));
                default -> { }
            }
            bytes = zip(e);
            if (kind == 3) {
                bytes = mutateBytes(r, bytes);
            }
            if (kind == 4) { // the legacy HDF5 format
                bytes = mutateBytes(r, h5.get(r.nextInt(h5.size())));
            }
            file = tmp.resolve(kind == 4 ? "fuzz.h5" : "fuzz.keras");
            Files.write(file, bytes);
            try {
                RecurrentLayer layer = KerasImport.layer(KerasFile.read(file), scalar);
                var c = layer.config();
                layer.forward(org.rnnkit.tensor.Tensor.zeros(1, 2, c.inputSize()));
                accepted++;
            } catch (KerasFormatException ex) {
                if (!ex.getMessage().startsWith(file.getFileName() + ": ")) {
                    fail("seed " + seed + " iteration " + i + " kind " + kind + ": message without the file name: "
                            + ex.getMessage());
                }
                refused++;
            } catch (MemoryBudgetException ex) {
                refused++;
            } catch (Throwable t) {
                throw new AssertionError("seed " + seed + " iteration " + i + " kind " + kind + ": undocumented "
                        + t + " (replay with -Drnnkit.tests.seed=" + seed + " -Drnnkit.tests.fuzz.iteration=" + i
                        + "); first bytes " + HexFormat.of().formatHex(bytes, 0, Math.min(32, bytes.length)), t);
            }
        }
        System.out.println("KerasFuzzTest: " + accepted + " built, " + refused + " refused");
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bo)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bo.toByteArray();
    }

    private static byte[] mutateBytes(SplittableRandom r, byte[] in) {
        byte[] b = in.clone();
        int n = 1 + r.nextInt(8);
        for (int k = 0; k < n && b.length > 0; k++) {
            int pos = r.nextInt(b.length);
            switch (r.nextInt(4)) {
                case 0 -> b[pos] ^= (byte) (1 << r.nextInt(8));
                case 1 -> b[pos] = INTERESTING[r.nextInt(INTERESTING.length)];
                case 2 -> b = java.util.Arrays.copyOf(b, pos);
                default -> b[pos] = (byte) r.nextInt(256);
            }
        }
        return b;
    }

    private static byte[] mutateJson(SplittableRandom r, byte[] json) throws IOException {
        JsonNode root = JSON.readTree(json);
        List<JsonNode> containers = new ArrayList<>();
        collect(root, containers);
        int n = 1 + r.nextInt(3);
        for (int k = 0; k < n; k++) {
            JsonNode c = containers.get(r.nextInt(containers.size()));
            if (c instanceof ObjectNode o && !o.isEmpty()) {
                List<String> keys = new ArrayList<>();
                o.fieldNames().forEachRemaining(keys::add);
                String key = keys.get(r.nextInt(keys.size()));
                if (r.nextInt(4) == 0) {
                    o.remove(key);
                } else {
                    o.set(key, HOSTILE[r.nextInt(HOSTILE.length)]);
                }
            } else if (c instanceof ArrayNode a && !a.isEmpty()) {
                int idx = r.nextInt(a.size());
                switch (r.nextInt(3)) {
                    case 0 -> a.remove(idx);
                    case 1 -> a.add(a.get(idx).deepCopy());
                    default -> a.set(idx, HOSTILE[r.nextInt(HOSTILE.length)]);
                }
            }
        }
        return JSON.writeValueAsBytes(root);
    }

    private static void collect(JsonNode n, List<JsonNode> out) {
        if (n.isContainerNode()) {
            out.add(n);
            n.forEach(c -> collect(c, out));
        }
    }
}
