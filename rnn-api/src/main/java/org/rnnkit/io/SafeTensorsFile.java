package org.rnnkit.io;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.tensor.Tensor;

/**
 * The contents of a safetensors file: named float32 tensors in header order, and the string metadata.
 *
 * <p>Thread safety: the maps are unmodifiable, so the structure is immutable and safe to share. The tensors are
 * views over arrays (see {@link Tensor}); {@link SafeTensors#read} allocates fresh arrays for every read, and
 * nobody else holds them, so sharing is safe as long as no one writes into {@code tensor.data()}.
 */
public final class SafeTensorsFile {
    private final String sourceName;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    /**
     * Copies both maps, keeping their iteration order.
     *
     * @param sourceName file name used in error messages, or null
     * @param metadata string metadata, or null for none
     */
    public SafeTensorsFile(String sourceName, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.sourceName = sourceName == null ? "<safetensors>" : sourceName;
        Map<String, Tensor> t = new LinkedHashMap<>();
        Objects.requireNonNull(tensors, "tensors").forEach((k, v) ->
                t.put(Objects.requireNonNull(k, "tensor name"), Objects.requireNonNull(v, "tensor " + k)));
        Map<String, String> m = new LinkedHashMap<>();
        if (metadata != null) {
            metadata.forEach((k, v) ->
                    m.put(Objects.requireNonNull(k, "metadata key"), Objects.requireNonNull(v, "metadata " + k)));
        }
        this.tensors = Collections.unmodifiableMap(t);
        this.metadata = Collections.unmodifiableMap(m);
    }

    /** The file name given when reading, for messages. */
    public String sourceName() {
        return sourceName;
    }

    /** Tensors by name, unmodifiable, in the order of the file's header. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The {@code __metadata__} entries, unmodifiable, in header order; empty when the file has none. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** The tensor called {@code name}, or null. */
    public Tensor get(String name) {
        return tensors.get(name);
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /**
     * The tensor called {@code name}.
     *
     * @throws ModelFormatException naming this file when there is no such tensor
     */
    public Tensor require(String name) throws ModelFormatException {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(sourceName + ": no tensor " + Untrusted.quote(name)
                    + " (the file has " + tensors.size() + " tensors: " + abbreviatedNames() + ")");
        }
        return t;
    }

    private String abbreviatedNames() {
        StringBuilder sb = new StringBuilder();
        int n = 0;
        for (String k : tensors.keySet()) {
            if (n > 0) {
                sb.append(", ");
            }
            if (n++ == 20) {
                return sb.append("...").toString();
            }
            sb.append(Untrusted.quote(k));
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return "SafeTensorsFile[" + sourceName + ", " + tensors.size() + " tensors, " + metadata.size() + " metadata]";
    }
}
