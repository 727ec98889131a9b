package org.rnnkit.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.rnnkit.nn.ParameterLayout;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.tensor.Tensor;

/**
 * How the composite models name and check their parameters: PyTorch's {@code state_dict} of a module with
 * submodules ({@code encoder.*}, {@code decoder.*}, {@code generator.*}, {@code head.*}).
 *
 * <p>Thread safety: stateless.
 */
final class ModelParts {
    private ModelParts() {}

    /** The tensors under {@code prefix + "."}, without it, in order. */
    static Map<String, Tensor> part(Map<String, Tensor> all, String prefix) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        all.forEach((k, v) -> {
            if (k.startsWith(prefix + ".")) {
                m.put(k.substring(prefix.length() + 1), v);
            }
        });
        return m;
    }

    /**
     * Copies of the parameters of recurrent parts and a head, checked, in {@code state_dict} order.
     *
     * @param recurrent part names and their configurations, in order
     * @throws IllegalArgumentException naming a tensor that is missing, unexpected or mis-shaped
     */
    static Map<String, Tensor> checked(Map<String, Tensor> parameters, Map<String, RecurrentConfig> recurrent,
            int headIn, int classes) {
        for (String k : parameters.keySet()) {
            int dot = k.indexOf('.');
            String prefix = dot < 0 ? "" : k.substring(0, dot);
            if (!prefix.equals("head") && !recurrent.containsKey(prefix)) {
                throw new IllegalArgumentException("unexpected tensor '" + k + "': expected names "
                        + String.join(".*, ", recurrent.keySet()) + ".* and head.*");
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        recurrent.forEach((name, cfg) -> {
            try {
                ParameterLayout.checked(cfg, part(parameters, name)).forEach((k, v) -> out.put(name + "." + k, v.copy()));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(name + ": " + e.getMessage(), e);
            }
        });
        Tensor w = parameters.get("head.weight"), b = parameters.get("head.bias");
        if (w == null || !w.sameShape(classes, headIn) || b == null || !b.sameShape(classes)) {
            throw new IllegalArgumentException("head.weight, head.bias: expected shapes " + Tensor.shapeString(classes, headIn)
                    + " and " + Tensor.shapeString(classes) + ", got " + (w == null ? "none" : w.shapeString()) + " and "
                    + (b == null ? "none" : b.shapeString()));
        }
        out.put("head.weight", w.copy());
        out.put("head.bias", b.copy());
        return out;
    }

    /** A required metadata value as an integer, or a clear message naming the key. */
    static int intMeta(Map<String, String> meta, String key) {
        String v = meta.get(key);
        if (v == null) {
            throw new IllegalArgumentException("metadata: missing key '" + key + "'");
        }
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("metadata '" + key + "': expected an integer, got '" + v + "'");
        }
    }

    /**
     * The metadata every structure model writes ({@code structure}, {@code mode}, {@code num_layers},
     * {@code hidden_size}, {@code input_size}, {@code vocab}), as PyTorch's side of the structure cases does.
     */
    static Map<String, String> metadata(String structure, RecurrentConfig cfg, int inputSize, int vocab) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("structure", structure);
        meta.put("mode", cfg.type().name());
        meta.put("num_layers", Integer.toString(cfg.numLayers()));
        meta.put("hidden_size", Integer.toString(cfg.hiddenSize()));
        meta.put("input_size", Integer.toString(inputSize));
        meta.put("vocab", Integer.toString(vocab));
        return meta;
    }
}
