package org.rnnkit.bench.peer;

import java.util.Map;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.bytedeco.pytorch.GRUImpl;
import org.bytedeco.pytorch.GRUOptions;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.LSTMImpl;
import org.bytedeco.pytorch.LSTMOptions;
import org.bytedeco.pytorch.Module;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.RNNImpl;
import org.bytedeco.pytorch.RNNOptions;
import org.bytedeco.pytorch.StringTensorDict;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.CellType;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.tck.Tolerance;

/**
 * LibTorch (PyTorch 2.10's C++ core, through JavaCPP) modules for the scenarios, with rnnkit's weights
 * copied in so both run the same function.
 *
 * <p>Thread safety: not thread-safe (LibTorch's thread settings are global); one contender per benchmark
 * trial.
 */
public final class LibTorch {
    private LibTorch() {}

    /**
     * Sets LibTorch's intra-op threads and OpenBLAS's own pool, which {@code at::set_num_threads} does not
     * reach. GRU and RNN run through OpenBLAS per step; with 2 threads there, OpenMP spin-waiting starves
     * OpenBLAS on 2 vCPUs (PEERS.md), so they get one OpenBLAS thread. Below hidden size 32 it also turns
     * oneDNN off (below).
     */
    static void threads(Scenario s, int threads) {
        torch.set_num_threads(threads);
        openblas_nolapack.blas_set_num_threads(s.type == CellType.LSTM ? threads : 1);
        // LibTorch 2.10's oneDNN inference kernel for LSTM (brgemm, weights in blocks of 32 hidden units)
        // computes wrong outputs when the hidden size is padded to the block: S0 (hidden 16) was off by up
        // to 0.26 against a double-precision hand computation, with grad off only; hidden 32 and up, and
        // the same module with oneDNN disabled, agree to 3e-7 (2026-12-05). Below 32 the peer therefore
        // runs without oneDNN, so that what is timed computes the right function.
        torch.globalContext().setUserEnabledMkldnn(s.hidden >= 32);
    }

    /**
     * The scenario's module in eval mode with rnnkit's weights, run under {@code InferenceMode}; set-up
     * checks its output against rnnkit's (scalar) within the golden tolerance. A {@link PointerScope} per
     * call frees the outputs.
     */
    public static Contender forward(String scenario, int threads) {
        Scenario s = Scenario.valueOf(scenario);
        threads(s, threads);
        RecurrentLayer layer = s.layer(Backends.named("scalar"));
        org.rnnkit.tensor.Tensor input = s.input();
        Module module = module(s, layer.stateDict());
        module.eval();
        Tensor x = tensor(input.data(), s.seqLen, s.batch, s.input);
        float[] got;
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            got = values(forward(module, x));
        }
        Tolerance.Check c = Tolerance.FORWARD.compare("output", got, layer.forward(input).output().data());
        if (!c.passed()) {
            throw new IllegalStateException("LibTorch's " + scenario + " differs from rnnkit's: " + c);
        }
        return () -> {
            try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
                return forward(module, x).numel();
            }
        };
    }

    /**
     * The scenario's output as the benchmark times it (one thread, the module in eval mode under
     * {@code InferenceMode}), for {@code bench --accuracy}.
     */
    public static float[] output(String scenario) {
        Scenario s = Scenario.valueOf(scenario);
        threads(s, 1);
        Module module = module(s, s.layer(Backends.named("scalar")).stateDict());
        module.eval();
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            return values(forward(module, tensor(s.input().data(), s.seqLen, s.batch, s.input)));
        }
    }

    /**
     * The same module, weights and input converted to double (exactly) and run in double precision: a
     * reference for the float results that shares none of rnnkit's code and none of the float kernels
     * (oneDNN takes no double; ATen's own loop evaluates the activations to double accuracy).
     */
    public static double[] referenceOutput(String scenario) {
        Scenario s = Scenario.valueOf(scenario);
        threads(s, 1);
        Module module = module(s, s.layer(Backends.named("scalar")).stateDict());
        module.eval();
        module.to(torch.ScalarType.Double, false);
        try (PointerScope scope = new PointerScope(); InferenceMode mode = new InferenceMode()) {
            Tensor x = tensor(s.input().data(), s.seqLen, s.batch, s.input).toType(torch.ScalarType.Double);
            Tensor y = forward(module, x).contiguous();
            if (!String.valueOf(y.scalar_type()).equals(String.valueOf(torch.ScalarType.Double))) {
                throw new IllegalStateException("LibTorch's double module returned " + y.scalar_type());
            }
            double[] out = new double[(int) y.numel()];
            new DoublePointer(y.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }

    /** The scenario's training step: {@code zero_grad}, forward, {@code sum().backward()}. */
    public static Contender training(String scenario, int threads) {
        Scenario s = Scenario.valueOf(scenario);
        threads(s, threads);
        Module module = module(s, s.layer(Backends.named("scalar")).stateDict());
        module.train(true);
        Tensor x = tensor(s.input().data(), s.seqLen, s.batch, s.input);
        return () -> {
            try (PointerScope scope = new PointerScope()) {
                module.zero_grad(true);
                Tensor loss = forward(module, x).sum();
                loss.backward();
                return loss.numel();
            }
        };
    }

    /** The scenario's module with the given parameters (PyTorch names). */
    static Module module(Scenario s, Map<String, org.rnnkit.tensor.Tensor> stateDict) {
        Module m = switch (s.type) {
            case LSTM -> {
                LSTMOptions o = new LSTMOptions(s.input, s.hidden);
                o.num_layers().put(s.layers);
                o.bidirectional().put(s.bidirectional);
                yield new LSTMImpl(o);
            }
            case GRU -> {
                GRUOptions o = new GRUOptions(s.input, s.hidden);
                o.num_layers().put(s.layers);
                o.bidirectional().put(s.bidirectional);
                yield new GRUImpl(o);
            }
            case RNN_TANH -> {
                RNNOptions o = new RNNOptions(s.input, s.hidden); // tanh is the default nonlinearity
                o.num_layers().put(s.layers);
                o.bidirectional().put(s.bidirectional);
                yield new RNNImpl(o);
            }
            case RNN_RELU -> throw new IllegalArgumentException("no ReLU scenario");
        };
        StringTensorDict params = m.named_parameters();
        if (params.size() != stateDict.size()) {
            throw new IllegalStateException("LibTorch module has " + params.size() + " parameters, rnnkit "
                    + stateDict.size());
        }
        try (NoGradGuard g = new NoGradGuard()) {
            for (var e : stateDict.entrySet()) {
                if (!params.contains(e.getKey())) {
                    throw new IllegalStateException("LibTorch module has no parameter " + e.getKey());
                }
                long[] shape = java.util.Arrays.stream(e.getValue().shape()).asLongStream().toArray();
                params.get(e.getKey()).copy_(tensor(e.getValue().data(), shape));
            }
        }
        return m;
    }

    static Tensor tensor(float[] data, long... shape) {
        return Tensor.create(data, shape);
    }

    /** Reads a float tensor's values. */
    static float[] values(Tensor t) {
        Tensor c = t.contiguous();
        float[] out = new float[(int) c.numel()];
        FloatPointer p = c.data_ptr_float();
        p.get(out);
        return out;
    }

    /** The output sequence of a forward call. */
    static Tensor forward(Module m, Tensor x) {
        if (m instanceof LSTMImpl l) {
            return l.forward(x).get0();
        } else if (m instanceof GRUImpl g) {
            return g.forward(x).get0();
        }
        return ((RNNImpl) m).forward(x).get0();
    }
}
