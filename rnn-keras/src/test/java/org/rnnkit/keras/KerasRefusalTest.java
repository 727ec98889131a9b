package org.rnnkit.keras;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rnnkit.backend.Backends;
import org.rnnkit.io.Npy;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.MemoryBudgetException;
import org.rnnkit.tensor.Tensor;

/**
 * What the Keras reader refuses, each with a {@link KerasFormatException} (or, for sizes, a
 * {@link MemoryBudgetException}) naming the file and what it found: zips with other entries than Keras 3's three
 * (a traversing name, an {@code assets/} entry), layers rnnkit does not model, options it cannot honour. The
 * models are the real case 000 ({@code LSTM(8)} on 3 features) with its {@code config.json} rewritten; one
 * accepted rewrite ({@code Sequential} with a {@code Dropout} layer and {@code dropout=0.5}) must still give the
 * case's expected values.
 */
class KerasRefusalTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static Path case000() throws IOException {
        return KerasTestSupport.data().resolve("000_keras_lstm_i3_h8_s18_b1");
    }

    private static Map<String, byte[]> entries(Path keras) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(keras.toFile())) {
            for (var it = z.entries(); it.hasMoreElements(); ) {
                ZipEntry e = it.nextElement();
                out.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return out;
    }

    private Path zip(String name, Map<String, byte[]> entries) throws IOException {
        Path p = tmp.resolve(name);
        try (OutputStream os = Files.newOutputStream(p); ZipOutputStream z = new ZipOutputStream(os)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return p;
    }

    /** Case 000 as a Sequential model of its input layer, its LSTM (edited by {@code edit}) and {@code extra} layers. */
    private Path sequential(String name, java.util.function.Consumer<ObjectNode> edit, ObjectNode... extra)
            throws IOException {
        Map<String, byte[]> e = entries(case000().resolve("model.keras"));
        ObjectNode functional = (ObjectNode) JSON.readTree(e.get("config.json"));
        ArrayNode layers = (ArrayNode) functional.get("config").get("layers");
        ObjectNode seq = JSON.createObjectNode();
        seq.put("class_name", "Sequential");
        ObjectNode cfg = seq.putObject("config");
        cfg.put("name", "sequential");
        ArrayNode out = cfg.putArray("layers");
        for (int i = 0; i < layers.size(); i++) {
            ObjectNode l = ((ObjectNode) layers.get(i)).deepCopy();
            l.remove("inbound_nodes");
            if (l.get("class_name").asText().equals("LSTM")) {
                edit.accept((ObjectNode) l.get("config"));
            }
            out.add(l);
        }
        for (ObjectNode x : extra) {
            out.add(x);
        }
        e.put("config.json", JSON.writeValueAsBytes(seq));
        return zip(name, e);
    }

    private static ObjectNode layer(String cls, String name) {
        ObjectNode l = JSON.createObjectNode();
        l.put("class_name", cls);
        l.putObject("config").put("name", name);
        return l;
    }

    private static KerasFormatException refused(Path p) {
        return assertThrows(KerasFormatException.class, () -> KerasImport.plan(KerasFile.read(p)));
    }

    private static void assertMentions(Exception e, String... parts) {
        for (String s : parts) {
            assertTrue(e.getMessage().contains(s), "expected '" + s + "' in: " + e.getMessage());
        }
    }

    @Test
    void theRealFileReads() throws IOException {
        KerasFile f = KerasFile.read(case000().resolve("model.keras"));
        assertEquals(KerasFile.Format.KERAS, f.format());
        assertEquals("3.15.1", f.kerasVersion());
        assertEquals(3, f.weights().size(), f.toString());
    }

    @Test
    void aTraversingZipEntryIsRefused() throws IOException {
        Map<String, byte[]> e = entries(case000().resolve("model.keras"));
        e.put("../evil.txt", "x".getBytes(StandardCharsets.UTF_8));
        Path p = zip("traversal.keras", e);
        KerasFormatException ex = assertThrows(KerasFormatException.class, () -> KerasFile.read(p));
        assertMentions(ex, "traversal.keras", "../evil.txt");
    }

    @Test
    void anExtraZipEntryIsRefused() throws IOException {
        Map<String, byte[]> e = new LinkedHashMap<>();
        e.put("assets/vocab.txt", new byte[1]);
        e.putAll(entries(case000().resolve("model.keras")));
        Path p = zip("extra.keras", e);
        KerasFormatException ex = assertThrows(KerasFormatException.class, () -> KerasFile.read(p));
        assertMentions(ex, "extra.keras", "assets/vocab.txt");
    }

    @Test
    void aMissingWeightsEntryIsRefused() throws IOException {
        Map<String, byte[]> e = entries(case000().resolve("model.keras"));
        e.remove("model.weights.h5");
        Path p = zip("noweights.keras", e);
        KerasFormatException ex = assertThrows(KerasFormatException.class, () -> KerasFile.read(p));
        assertMentions(ex, "noweights.keras", "model.weights.h5");
    }

    @Test
    void anEntryOverTheMemoryBudgetIsRefusedBeforeReading() throws IOException {
        Path p = case000().resolve("model.keras");
        String old = System.getProperty(MemoryBudget.PROPERTY);
        System.setProperty(MemoryBudget.PROPERTY, "1000");
        try {
            MemoryBudgetException ex = assertThrows(MemoryBudgetException.class, () -> KerasFile.read(p));
            assertMentions(ex, "model.keras");
        } finally {
            if (old == null) {
                System.clearProperty(MemoryBudget.PROPERTY);
            } else {
                System.setProperty(MemoryBudget.PROPERTY, old);
            }
        }
    }

    @Test
    void neitherZipNorHdf5IsRefused() throws IOException {
        Path p = tmp.resolve("model.keras");
        Files.writeString(p, "{\"not\": \"a model\"}");
        assertMentions(assertThrows(KerasFormatException.class, () -> KerasFile.read(p)), "model.keras", "HDF5");
    }

    @Test
    void aDenseLayerIsRefusedByName() throws IOException {
        ObjectNode dense = layer("Dense", "dense");
        ((ObjectNode) dense.get("config")).put("units", 1);
        assertMentions(refused(sequential("dense.keras", c -> { }, dense)), "dense.keras", "Dense", "'dense'");
    }

    @Test
    void aMaskingLayerIsRefusedByName() throws IOException {
        assertMentions(refused(sequential("masking.keras", c -> { }, layer("Masking", "masking"))), "Masking");
    }

    @Test
    void statefulIsRefused() throws IOException {
        assertMentions(refused(sequential("stateful.keras", c -> c.put("stateful", true))), "stateful");
    }

    @Test
    void anUnknownActivationIsRefused() throws IOException {
        assertMentions(refused(sequential("swish.keras", c -> c.put("activation", "swish"))), "activation", "swish");
    }

    @Test
    void returnSequencesFalseGivesKerasLastStep() throws IOException {
        Path p = sequential("last.keras", c -> c.put("return_sequences", false));
        KerasImport.Plan plan = KerasImport.plan(KerasFile.read(p));
        assertTrue(plan.lastStepOnly());
        RecurrentLayer layer = KerasImport.layer(KerasFile.read(p), Backends.named("scalar"));
        Tensor x = Npy.readFloat32(case000().resolve("input.npy"));
        LayerOutput y = layer.forward(x);
        Tensor last = plan.kerasOutput(y.output());
        Tensor hN = Npy.readFloat32(case000().resolve("h_n.npy")); // Keras's last output is h_n
        assertArrayEquals(new int[] {hN.dim(1), hN.dim(2)}, last.shape());
        assertTrue(Tolerance.FORWARD.compare("last step", last.data(), hN.data()).passed());
    }

    @Test
    void dropoutIsTheIdentityAtInferenceAndNoted() throws IOException {
        ObjectNode drop = layer("Dropout", "dropout");
        ((ObjectNode) drop.get("config")).put("rate", 0.5);
        Path p = sequential("dropout.keras", c -> c.put("dropout", 0.5), drop);
        KerasImport.Plan plan = KerasImport.plan(KerasFile.read(p));
        assertEquals(2, plan.notes().size(), plan.notes().toString());
        RecurrentLayer layer = KerasImport.layer(KerasFile.read(p), Backends.named("scalar"));
        LayerOutput y = layer.forward(Npy.readFloat32(case000().resolve("input.npy")));
        Tolerance.Check c = Tolerance.FORWARD.compare("output", plan.kerasOutput(y.output()).data(),
                Npy.readFloat32(case000().resolve("output.npy")).data());
        assertTrue(c.passed(), c.toString());
    }
}
