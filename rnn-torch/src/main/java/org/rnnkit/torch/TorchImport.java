package org.rnnkit.torch;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.rnnkit.backend.Backend;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentConfig;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tensor.Tensor;

/**
 * A {@link RecurrentLayer} from a {@link TorchFile}. A pickled module gives its own configuration (options
 * that contradict it are refused); for a state_dict it is inferred from the tensors: the cell type from the gate
 * count of {@code weight_hh_l0} (4 LSTM, 3 GRU, 1 RNN), sizes from the shapes, layers from the
 * {@code weight_ih_l<k>} present, directions from {@code _reverse} keys, bias from {@code bias_ih_l0},
 * {@code proj_size} from {@code weight_hr_l0}. A plain RNN's nonlinearity and {@code batch_first} come from
 * {@link TorchLoadOptions} and are asked for by name when missing.
 *
 * <p>Stateless and thread-safe.
 */
public final class TorchImport {
    private TorchImport() {}

    /**
     * The layer, on {@code backend}.
     *
     * @throws IllegalArgumentException naming the option that is missing or contradicts the file, or the
     *     tensors that are missing, unexpected, mis-shaped or not float32
     */
    public static RecurrentLayer layer(TorchFile file, TorchLoadOptions options, Backend backend) {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(backend, "backend");
        return RecurrentLayer.of(config(file, options), stateDict(file, options), backend);
    }

    /** The configuration {@link #layer} builds. */
    public static RecurrentConfig config(TorchFile file, TorchLoadOptions options) {
        String src = file.source();
        if (file.module().isPresent()) {
            RecurrentConfig c = file.module().get();
            if (options.batchFirst() != null && options.batchFirst() != c.batchFirst()) {
                throw new IllegalArgumentException(src + ": batch_first: the pickled module says " + c.batchFirst()
                        + ", the options " + options.batchFirst());
            }
            if (options.nonlinearity() != null && options.nonlinearity() != c.type()) {
                throw new IllegalArgumentException(src + ": nonlinearity: the pickled module is " + c.type()
                        + ", the options say " + options.nonlinearity());
            }
            return c;
        }
        Map<String, Tensor> sd = stateDict(file, options);
        Tensor ih0 = sd.get("weight_ih_l0"), hh0 = sd.get("weight_hh_l0"), hr0 = sd.get("weight_hr_l0");
        if (ih0 == null || hh0 == null || ih0.rank() != 2 || hh0.rank() != 2) {
            throw new IllegalArgumentException(src + ": expected 2-D weight_ih_l0 and weight_hh_l0 under prefix '"
                    + options.prefix() + "', got keys " + TorchFile.names(sd).subList(0, Math.min(8, sd.size()))
                    + (sd.size() > 8 ? " ..." : ""));
        }
        int hidden = hr0 != null && hr0.rank() == 2 ? hr0.dim(1) : hh0.dim(1);
        int proj = hr0 != null && hr0.rank() == 2 ? hr0.dim(0) : 0;
        if (hidden <= 0 || hh0.dim(0) % hidden != 0) {
            throw new IllegalArgumentException(src + ": weight_hh_l0 " + hh0.shapeString() + ": expected rows a multiple"
                    + " of the hidden size " + hidden);
        }
        int gates = hh0.dim(0) / hidden;
        CellType type = switch (gates) {
            case 4 -> CellType.LSTM;
            case 3 -> CellType.GRU;
            case 1 -> {
                if (options.nonlinearity() == null) {
                    throw new IllegalArgumentException(src + ": nonlinearity: a plain RNN's state_dict cannot say"
                            + " whether it is tanh or relu; give it (TorchLoadOptions.withNonlinearity(\"tanh\"|\"relu\"))");
                }
                yield options.nonlinearity();
            }
            default -> throw new IllegalArgumentException(src + ": weight_hh_l0 " + hh0.shapeString() + ": expected 4, 3"
                    + " or 1 gates of " + hidden + " rows, got " + gates);
        };
        if (options.batchFirst() == null) {
            throw new IllegalArgumentException(src + ": batch_first: a state_dict cannot say whether the input is"
                    + " (batch, seq, feature) or (seq, batch, feature); give it (TorchLoadOptions.withBatchFirst)");
        }
        int layers = 0;
        while (sd.containsKey("weight_ih_l" + layers)) {
            layers++;
        }
        return new RecurrentConfig(type, ih0.dim(1), hidden, layers, sd.containsKey("bias_ih_l0"), options.batchFirst(),
                sd.containsKey("weight_ih_l0_reverse"), proj);
    }

    /** The state_dict {@link #layer} builds from: the tensors under the options' prefix, the prefix removed; a non-float32 one is refused by name. */
    public static Map<String, Tensor> stateDict(TorchFile file, TorchLoadOptions options) {
        String prefix = file.module().isPresent() ? "" : options.prefix();
        for (var e : file.otherTensors().entrySet()) {
            if (e.getKey().startsWith(prefix)) {
                throw new IllegalArgumentException(file.source() + ": " + e.getKey() + ": expected float32, got "
                        + e.getValue());
            }
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        file.tensors().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                out.put(k.substring(prefix.length()), v);
            }
        });
        return out;
    }
}
