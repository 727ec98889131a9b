package org.rnnkit.keras;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * A Keras model file read into memory: its model configuration (JSON) and its float32 weights, by HDF5 path.
 *
 * <ul>
 *   <li>{@link Format#KERAS}: Keras 3's {@code .keras}, a zip of exactly {@code config.json},
 *       {@code metadata.json} and {@code model.weights.h5}; any other entry (a folder, {@code assets/...}, a name
 *       with {@code ..}, a duplicate) is refused before anything is read, and every entry's size is checked
 *       against {@link MemoryBudget} before it is read. The HDF5 part is read from memory: no temporary file.
 *   <li>{@link Format#LEGACY_H5}: {@code model.save("x.h5")}, HDF5 with the JSON {@code model_config} attribute
 *       and the weights under {@code model_weights/}.
 * </ul>
 * The format is found from the content (the zip or HDF5 signature), not the file name. Weights that are not
 * float32 are refused when read. Nothing in the file is executed; the JSON is parsed by Jackson with duplicate
 * keys refused.
 *
 * <p>Thread safety: immutable once read; share it freely. {@link #read} itself is thread-safe.
 */
public final class KerasFile {
    /** The file's container. */
    public enum Format {
        /** Keras 3 {@code .keras} zip. */
        KERAS,
        /** Legacy HDF5 {@code .h5} ({@code model.save("x.h5")}). */
        LEGACY_H5
    }

    static final String CONFIG = "config.json", METADATA = "metadata.json", WEIGHTS = "model.weights.h5";
    private static final Set<String> ENTRIES = Set.of(CONFIG, METADATA, WEIGHTS);
    private static final int MAX_DATASETS = 100_000;

    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS) // Keras writes NaN/Infinity in configs
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    static {
        JSON.getFactory().setStreamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(200).build());
    }

    private final String source;
    private final Format format;
    private final String kerasVersion;
    private final JsonNode config;
    private final String configJson;
    private final Map<String, Tensor> weights;

    private KerasFile(String source, Format format, String kerasVersion, JsonNode config, String configJson,
            Map<String, Tensor> weights) {
        this.source = source;
        this.format = format;
        this.kerasVersion = kerasVersion;
        this.config = config;
        this.configJson = configJson;
        this.weights = Collections.unmodifiableMap(weights);
    }

    /**
     * Reads a {@code .keras} or legacy {@code .h5} file.
     *
     * @throws KerasFormatException naming the file, what was expected and what was found, when it is neither
     *     format, is malformed, or holds an unexpected zip entry
     * @throws org.rnnkit.tensor.MemoryBudgetException when an entry or a weight would exceed the memory budget
     * @throws IOException when the file cannot be read
     */
    public static KerasFile read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        String src = String.valueOf(file.getFileName());
        byte[] magic = new byte[8];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(magic, 0, 8);
        }
        if (n >= 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4) {
            return readZip(file, src);
        }
        if (n == 8 && (magic[0] & 0xff) == 0x89 && magic[1] == 'H' && magic[2] == 'D' && magic[3] == 'F') {
            long size = Files.size(file);
            MemoryBudget.require(size, src + " (HDF5 file)");
            return readH5(src, Files.readAllBytes(file));
        }
        throw new KerasFormatException(src, "expected a Keras 3 .keras zip (starting PK\\3\\4) or a legacy HDF5 .h5"
                + " file (starting \\x89HDF), found " + n + " leading bytes " + hex(magic, n));
    }

    private static String hex(byte[] b, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append(String.format("%02x", b[i] & 0xff));
        }
        return s.toString();
    }

    private static KerasFile readZip(Path file, String src) throws IOException {
        Map<String, byte[]> parts = new HashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            // first pass: names and declared sizes only (the central directory), nothing is decompressed
            Map<String, ZipEntry> found = new LinkedHashMap<>();
            var it = zip.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                String name = e.getName();
                if (!ENTRIES.contains(name)) {
                    throw new KerasFormatException(src, "zip entry '" + name + "': expected only " + CONFIG + ", "
                            + METADATA + " and " + WEIGHTS);
                }
                if (found.put(name, e) != null) {
                    throw new KerasFormatException(src, "zip entry '" + name + "' appears twice");
                }
                long size = e.getSize();
                if (size < 0) {
                    throw new KerasFormatException(src, "zip entry '" + name + "': expected a declared size, found none");
                }
                MemoryBudget.require(size, src + " zip entry " + name);
                if (size > Integer.MAX_VALUE - 8) {
                    throw new KerasFormatException(src, "zip entry '" + name + "': " + size + " bytes, expected < 2 GiB");
                }
            }
            for (ZipEntry e : found.values()) {
                String name = e.getName();
                long size = e.getSize();
                byte[] data;
                try (InputStream in = zip.getInputStream(e)) {
                    data = in.readNBytes((int) size);
                    if (data.length != size || in.read() != -1) {
                        throw new KerasFormatException(src, "zip entry '" + name + "': declared " + size
                                + " bytes, found " + (data.length != size ? data.length : "more"));
                    }
                }
                parts.put(name, data);
            }
        } catch (KerasFormatException e) {
            throw e;
        } catch (IOException e) { // ZipException, EOFException of a truncated or corrupt entry
            throw new KerasFormatException(src, "malformed zip: " + e, e);
        }
        for (String need : new String[] {CONFIG, WEIGHTS}) {
            if (!parts.containsKey(need)) {
                throw new KerasFormatException(src, "expected a zip entry " + need + ", found " + parts.keySet());
            }
        }
        String version = null;
        if (parts.containsKey(METADATA)) {
            JsonNode meta = parse(src, METADATA, new String(parts.get(METADATA), StandardCharsets.UTF_8));
            JsonNode v = meta.get("keras_version");
            version = v != null && v.isTextual() ? v.asText() : null;
        }
        String configJson = new String(parts.get(CONFIG), StandardCharsets.UTF_8);
        JsonNode config = parse(src, CONFIG, configJson);
        Map<String, Tensor> weights = new LinkedHashMap<>();
        byte[] h5 = parts.remove(WEIGHTS);
        try (HdfFile hdf = HdfFile.fromBytes(h5)) {
            collect(src, hdf, weights);
        } catch (KerasFormatException | org.rnnkit.tensor.MemoryBudgetException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new KerasFormatException(src, WEIGHTS + ": malformed HDF5: " + e, e);
        }
        return new KerasFile(src, Format.KERAS, version, config, configJson, weights);
    }

    private static KerasFile readH5(String src, byte[] bytes) throws IOException {
        Map<String, Tensor> weights = new LinkedHashMap<>();
        String configJson, version;
        try (HdfFile hdf = HdfFile.fromBytes(bytes)) {
            configJson = stringAttribute(src, hdf, "model_config");
            if (configJson == null) {
                throw new KerasFormatException(src, "expected the HDF5 attribute model_config (a Keras model saved"
                        + " with model.save), found attributes " + hdf.getAttributes().keySet());
            }
            version = stringAttribute(src, hdf, "keras_version");
            Node mw = hdf.getChild("model_weights");
            if (!(mw instanceof Group g)) {
                throw new KerasFormatException(src, "expected the HDF5 group model_weights, found "
                        + hdf.getChildren().keySet());
            }
            collect(src, g, weights);
        } catch (KerasFormatException | org.rnnkit.tensor.MemoryBudgetException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new KerasFormatException(src, "malformed HDF5: " + e, e);
        }
        return new KerasFile(src, Format.LEGACY_H5, version, parse(src, "model_config", configJson), configJson,
                weights);
    }

    private static String stringAttribute(String src, Node node, String name) throws KerasFormatException {
        Attribute a = node.getAttribute(name);
        if (a == null) {
            return null;
        }
        Object v = a.getData();
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof String[] arr && arr.length == 1) {
            return arr[0];
        }
        throw new KerasFormatException(src, "attribute " + name + ": expected a string, found "
                + (v == null ? "null" : v.getClass().getSimpleName()));
    }

    private static final int MAX_DEPTH = 32;

    private static void collect(String src, Group group, Map<String, Tensor> out) throws KerasFormatException {
        collect(src, group, out, 0, new int[1]);
    }

    /** Depth and visited nodes bounded: HDF5 links can form cycles. */
    private static void collect(String src, Group group, Map<String, Tensor> out, int depth, int[] visited)
            throws KerasFormatException {
        if (depth > MAX_DEPTH) {
            throw new KerasFormatException(src, group.getPath() + ": groups nested deeper than " + MAX_DEPTH
                    + " (a cycle of links?)");
        }
        for (Node child : group) {
            if (++visited[0] > MAX_DATASETS) {
                throw new KerasFormatException(src, "more than " + MAX_DATASETS + " HDF5 nodes");
            }
            if (out.size() >= MAX_DATASETS) {
                throw new KerasFormatException(src, "more than " + MAX_DATASETS + " datasets");
            }
            if (child instanceof Group g) {
                collect(src, g, out, depth + 1, visited);
            } else if (child instanceof Dataset d) {
                String path = d.getPath();
                path = path.startsWith("/") ? path.substring(1) : path;
                out.put(path, toTensor(src, path, d));
            }
        }
    }

    private static Tensor toTensor(String src, String path, Dataset d) throws KerasFormatException {
        int[] dims = d.getDimensions();
        if (d.isScalar() || dims.length == 0) {
            dims = new int[] {1};
        }
        long count = 1;
        for (int x : dims) {
            if (x < 0) {
                throw new KerasFormatException(src, path + ": negative dimension in " + java.util.Arrays.toString(dims));
            }
            count = Math.multiplyExact(count, (long) x);
        }
        if (d.getJavaType() != float.class) {
            throw new KerasFormatException(src, path + ": expected float32 weights, found " + d.getJavaType()
                    + " " + java.util.Arrays.toString(dims));
        }
        MemoryBudget.require(MemoryBudget.bytesOf(count, Float.BYTES), src + " weight " + path);
        if (count > Integer.MAX_VALUE - 8) {
            throw new KerasFormatException(src, path + ": " + count + " elements, expected fewer than 2^31");
        }
        Object flat = d.isScalar() ? new float[] {(Float) d.getData()} : d.getDataFlat();
        if (!(flat instanceof float[] f) || f.length != count) {
            throw new KerasFormatException(src, path + ": expected " + count + " float32 values, found "
                    + (flat instanceof float[] f2 ? f2.length + " values" : String.valueOf(flat)));
        }
        return Tensor.wrap(f, dims);
    }

    static JsonNode parse(String src, String what, String json) throws KerasFormatException {
        try {
            JsonNode n = JSON.readTree(json);
            if (n == null || !n.isObject()) {
                throw new KerasFormatException(src, what + ": expected a JSON object, found "
                        + (n == null ? "nothing" : n.getNodeType()));
            }
            return n;
        } catch (JsonProcessingException e) {
            throw new KerasFormatException(src, what + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** The file's name, as it starts every error message. */
    public String source() {
        return source;
    }

    /** The container format, found from the content. */
    public Format format() {
        return format;
    }

    /** The Keras version that wrote the file ({@code metadata.json} or the {@code keras_version} attribute), or null. */
    public String kerasVersion() {
        return kerasVersion;
    }

    /** The model configuration, the JSON text exactly as stored. */
    public String configJson() {
        return configJson;
    }

    JsonNode config() {
        return config;
    }

    /** Every float32 dataset of the weights, by HDF5 path (without the leading '/'), in file order; unmodifiable. */
    public Map<String, Tensor> weights() {
        return weights;
    }

    @Override
    public String toString() {
        return "KerasFile[" + source + ", " + format + ", keras " + kerasVersion + ", " + weights.size() + " weights]";
    }
}
