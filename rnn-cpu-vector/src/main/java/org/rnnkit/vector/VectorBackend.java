package org.rnnkit.vector;

import org.rnnkit.nn.CellType;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.RecurrentKernel;

/**
 * The Vector API backend: matrix products with {@code FloatVector} FMAs, several weight rows sharing each
 * load of the input, gate arithmetic in plain Java with correctly rounded activations.
 *
 * <p>Thread safety: immutable; its kernels are stateless.
 */
public final class VectorBackend implements Backend {
    public static final String NAME = "vector";

    private final RecurrentKernel rnnTanh = new VectorKernel(CellType.RNN_TANH);
    private final RecurrentKernel rnnRelu = new VectorKernel(CellType.RNN_RELU);
    private final RecurrentKernel lstm = new VectorKernel(CellType.LSTM);
    private final RecurrentKernel gru = new VectorKernel(CellType.GRU);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return VectorMath.describe();
    }

    @Override
    public RecurrentKernel kernel(CellType type) {
        return switch (type) {
            case RNN_TANH -> rnnTanh;
            case RNN_RELU -> rnnRelu;
            case LSTM -> lstm;
            case GRU -> gru;
        };
    }
}
