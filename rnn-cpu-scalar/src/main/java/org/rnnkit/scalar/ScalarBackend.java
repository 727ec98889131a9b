package org.rnnkit.scalar;

import org.rnnkit.spi.Kernels;

/**
 * The reference backend: straightforward loops over PyTorch's equations in float32, with activations
 * evaluated in double and rounded once (so within half an ulp). Other backends are tested against it.
 *
 * <p>Thread safety: immutable; its kernels are stateless.
 */
public final class ScalarBackend extends Kernels {
    public static final String NAME = "scalar";
    static final String DESCRIPTION = "plain Java reference kernels (float32 dot products, correctly rounded activations)";

    public ScalarBackend() {
        super(r -> switch (r) {
            case RNN_TANH -> new ScalarRnnKernel(false);
            case RNN_RELU -> new ScalarRnnKernel(true);
            case LSTM -> new ScalarLstmKernel();
            case GRU -> new ScalarGruKernel();
        }, new ScalarDense());
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return DESCRIPTION;
    }
}
