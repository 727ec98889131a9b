package org.rnnkit.scalar;

import org.rnnkit.nn.CellType;
import org.rnnkit.spi.Backend;
import org.rnnkit.spi.RecurrentKernel;

/**
 * The reference backend: straightforward loops over PyTorch's equations in float32, with activations
 * evaluated in double and rounded once (so within half an ulp). Other backends are tested against it.
 *
 * <p>Thread safety: immutable; its kernels are stateless.
 */
public final class ScalarBackend implements Backend {
    public static final String NAME = "scalar";
    static final String DESCRIPTION = "plain Java reference kernels (float32 dot products, correctly rounded activations)";

    private final RecurrentKernel rnnTanh = new ScalarRnnKernel(false);
    private final RecurrentKernel rnnRelu = new ScalarRnnKernel(true);
    private final RecurrentKernel lstm = new ScalarLstmKernel();
    private final RecurrentKernel gru = new ScalarGruKernel();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return DESCRIPTION;
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
