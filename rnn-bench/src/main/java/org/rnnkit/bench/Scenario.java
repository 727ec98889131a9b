package org.rnnkit.bench;

import java.util.SplittableRandom;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.Tensor;

/**
 * The benchmark scenarios, the same everywhere in the project (input/hidden, seq T, batch B).
 *
 * <p>Thread safety: immutable.
 */
public enum Scenario {
    S0(CellType.LSTM, 16, 16, 1, 1, 1, false),
    S1(CellType.LSTM, 128, 128, 100, 1, 1, false),
    S2(CellType.LSTM, 256, 256, 100, 1, 1, false),
    S3(CellType.LSTM, 256, 256, 50, 64, 1, false),
    S4(CellType.GRU, 256, 256, 100, 1, 1, false),
    S5(CellType.GRU, 256, 256, 50, 64, 1, false),
    S6(CellType.RNN_TANH, 256, 256, 100, 1, 1, false),
    S7(CellType.LSTM, 1024, 1024, 20, 1, 1, false),
    S8(CellType.LSTM, 128, 128, 100, 16, 2, true);

    public final CellType type;
    public final int input, hidden, seqLen, batch, layers;
    public final boolean bidirectional;

    Scenario(CellType type, int input, int hidden, int seqLen, int batch, int layers, boolean bidirectional) {
        this.type = type;
        this.input = input;
        this.hidden = hidden;
        this.seqLen = seqLen;
        this.batch = batch;
        this.layers = layers;
        this.bidirectional = bidirectional;
    }

    /** The layer of this scenario with weights from a fixed seed (PyTorch's default initialisation). */
    /**
     * The backend a benchmark parameter names: {@code NAME} (one thread) or {@code NAME:N} (that backend
     * allowed {@code N} threads per call, {@link Backend#withThreads}).
     */
    public static Backend backend(String spec) {
        int colon = spec.indexOf(':');
        if (colon < 0) {
            return org.rnnkit.backend.Backends.named(spec);
        }
        int threads;
        try {
            threads = Integer.parseInt(spec.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("backend: expected NAME or NAME:THREADS, got '" + spec + "'");
        }
        return org.rnnkit.backend.Backends.named(spec.substring(0, colon)).withThreads(threads);
    }

    public RecurrentLayer layer(Backend backend) {
        return RecurrentLayer.builder(type).inputSize(input).hiddenSize(hidden).numLayers(layers)
                .bidirectional(bidirectional).seed(1234).backend(backend).build();
    }

    /** The input {@code (T, B, I)}, standard normal from a fixed seed. */
    public Tensor input() {
        SplittableRandom r = new SplittableRandom(5678);
        Tensor x = Tensor.zeros(seqLen, batch, input);
        for (int i = 0; i < x.size(); i++) {
            x.data()[i] = (float) r.nextGaussian();
        }
        return x;
    }

    /**
     * Floating-point operations of the matrix products of one forward call: per time step, batch row,
     * layer and direction {@code 2*in*G*H + 2*H*G*H}.
     */
    public double forwardFlops() {
        int d = bidirectional ? 2 : 1, g = type.gates();
        double sum = 0;
        for (int k = 0; k < layers; k++) {
            int in = k == 0 ? input : d * hidden;
            sum += d * (2.0 * in * g * hidden + 2.0 * hidden * g * hidden);
        }
        return sum * seqLen * batch;
    }

    /** One line describing it, e.g. {@code LSTM 256/256 T100 B64}. */
    public String describe() {
        return type + " " + input + "/" + hidden + " T" + seqLen + " B" + batch
                + (layers > 1 ? " " + layers + " layers" : "") + (bidirectional ? " bidirectional" : "");
    }
}
