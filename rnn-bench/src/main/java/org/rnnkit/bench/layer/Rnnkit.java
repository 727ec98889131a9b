package org.rnnkit.bench.layer;

import java.util.Arrays;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.backend.Backends;
import org.rnnkit.bench.Contender;
import org.rnnkit.bench.Scenario;
import org.rnnkit.nn.LayerOutput;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tck.Tolerance;

/**
 * rnnkit backends as contenders, resolved by name through the registry (an unusable backend fails with
 * its probe's reason).
 *
 * <p>Thread safety: stateless; the contenders it makes are not thread-safe.
 */
public final class Rnnkit {
    private Rnnkit() {}

    /**
     * The scenario's forward pass on {@code backend} ({@code NAME} or {@code NAME:THREADS}), after one
     * check against the scalar reference within the golden tolerance. Results go into a workspace and an
     * output made at set-up: a call allocates nothing.
     */
    public static Contender forward(String scenario, String backend) {
        Scenario s = Scenario.valueOf(scenario);
        RecurrentLayer layer = s.layer(Scenario.backend(backend));
        Tensor x = s.input();
        Workspace ws = new Workspace();
        LayerOutput into = layer.forward(x);
        if (!backend.startsWith("scalar")) {
            LayerOutput ref = layer.withBackend(Backends.named("scalar")).forward(x);
            Tolerance.Check c = Tolerance.FORWARD.compare("output", layer.forward(x).output().data(), ref.output().data());
            if (!c.passed()) {
                throw new IllegalStateException(backend + " differs from scalar on " + scenario + ": " + c);
            }
        }
        ForwardOptions reused = ForwardOptions.defaults().withWorkspace(ws);
        return () -> layer.forward(x, reused, into);
    }

    /** The scenario's training step: forward with a tape plus the backward pass of {@code sum(output)}. */
    public static Contender training(String scenario, String backend) {
        Scenario s = Scenario.valueOf(scenario);
        RecurrentLayer layer = s.layer(Scenario.backend(backend));
        Tensor x = s.input();
        int[] shape = layer.forward(x).output().shape();
        float[] one = new float[x.dim(0) * x.dim(1) * layer.config().outputSize()];
        Arrays.fill(one, 1f);
        Tensor ones = Tensor.wrap(one, shape);
        return () -> layer.backward(layer.forwardTraining(x), ones, null, null);
    }
}
