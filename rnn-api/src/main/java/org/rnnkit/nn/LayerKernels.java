package org.rnnkit.nn;

import java.util.Locale;
import java.util.Map;
import org.rnnkit.backend.Backend;
import org.rnnkit.internal.KernelAccess;
import org.rnnkit.spi.DirectionWeights;
import org.rnnkit.spi.KernelShape;
import org.rnnkit.spi.PreparedWeights;
import org.rnnkit.spi.RecurrentKernel;
import org.rnnkit.tensor.MemoryBudget;
import org.rnnkit.tensor.Tensor;

/**
 * A layer's weights bound to a backend: the kernel of its recurrence, every direction's prepared weights,
 * each layer's kernel shape, and what the memory of a call comes to.
 *
 * <p>Thread safety: immutable once built, except a workspace-size memo that holds immutable records and
 * is safe to race, and {@link #update}, which only the single owner of a {@link TrainableLayer}'s kernels calls.
 */
final class LayerKernels {
    final RecurrentConfig config;
    final RecurrentKernel<?> kernel;
    final PreparedWeights[] prepared; // index layer * D + direction
    final KernelShape[] shapes; // index layer * D + direction (directions differ in their activations only)

    LayerKernels(RecurrentConfig config, Map<String, Tensor> parameters, Backend backend) {
        this.config = config;
        this.kernel = KernelAccess.kernels(backend).kernel(config.type().recurrence());
        int d = config.directions();
        this.prepared = new PreparedWeights[config.numLayers() * d];
        this.shapes = new KernelShape[config.numLayers() * d];
        int slots = config.type().activationSlots();
        for (int k = 0; k < config.numLayers(); k++) {
            for (int dir = 0; dir < d; dir++) {
                shapes[k * d + dir] = new KernelShape(config.type().recurrence(), config.layerInputSize(k),
                        config.hiddenSize(), config.projSize(), config.bias(), config.variant().forDirection(dir, slots));
                prepared[k * d + dir] = kernel.prepare(shapes[k * d + dir], directionWeights(parameters, k, dir));
            }
        }
    }

    /**
     * Re-packs every direction's prepared weights from {@code parameters}' current values (in place where
     * the backend can). Only for kernels one {@link TrainableLayer} owns.
     */
    void update(Map<String, Tensor> parameters) {
        int d = config.directions();
        for (int k = 0; k < config.numLayers(); k++) {
            for (int dir = 0; dir < d; dir++) {
                prepared[k * d + dir] = kernel.update(prepared[k * d + dir], directionWeights(parameters, k, dir));
            }
        }
    }

    /** One direction's arrays of a {@code state_dict} (or of gradients with the same names). */
    static DirectionWeights directionWeights(Map<String, Tensor> tensors, int layer, int dir) {
        String s = ParameterLayout.suffix(layer, dir);
        return new DirectionWeights(data(tensors, "weight_ih" + s), data(tensors, "weight_hh" + s),
                data(tensors, "bias_ih" + s), data(tensors, "bias_hh" + s), data(tensors, "weight_hr" + s),
                data(tensors, "weight_peephole" + s));
    }

    private static float[] data(Map<String, Tensor> map, String name) {
        Tensor t = map.get(name);
        return t == null ? null : t.data();
    }

    /** The kernel workspace of the last call's size: see {@link #maxWorkspace}. */
    private record WorkspaceNeed(int seqLen, int batch, long floats) {}

    private WorkspaceNeed lastNeed = new WorkspaceNeed(-1, -1, 0);

    /**
     * Floats of kernel workspace that one direction of any layer needs. Remembered for the last
     * {@code (seqLen, batch)}: a streamed step must allocate nothing, and kernels may build objects to
     * size a shape (escape analysis removes them only where C2 inlines the call, which it sometimes does
     * not). The record is immutable, so a racy read between threads sees an old or a new need, each complete.
     */
    long maxWorkspace(int seqLen, int batch) {
        WorkspaceNeed need = lastNeed;
        if (need.seqLen != seqLen || need.batch != batch) {
            long kws = 0;
            for (KernelShape shape : shapes) {
                kws = Math.max(kws, kernel.workspaceSize(shape, seqLen, batch));
            }
            lastNeed = need = new WorkspaceNeed(seqLen, batch, kws);
        }
        return need.floats;
    }

    /** Floats of tape direction {@code dir} of layer {@code k} records. */
    long tapeSize(int k, int dir, int seqLen, int batch) {
        return kernel.tapeSize(shapes[k * config.directions() + dir], seqLen, batch);
    }

    /**
     * Checks a call's memory against the {@link MemoryBudget} before any of it is allocated: the workspace
     * and the buffers between layers, the results (unless the caller provides them) and, when training, the
     * tapes and every layer's kept output and dropout mask (the backward pass needs about as much: input
     * and layer gradients). Counted in double: the products of user-given sizes may overflow a long, and a
     * threshold needs no exact count. Allocates nothing unless it throws, so streaming steps may call it.
     *
     * @param owner what runs the call, for the message
     */
    void requireMemory(int seqLen, int batch, boolean training, boolean results, Object owner) {
        final RecurrentConfig cfg = config;
        final int d = cfg.directions(), layers = cfg.numLayers();
        double rowSteps = (double) seqLen * batch, between = rowSteps * cfg.outputSize();
        double merged = d == 2 && cfg.mergeMode() != MergeMode.CONCAT ? 2 * rowSteps * cfg.hOut() : 0;
        double floats = (double) maxWorkspace(seqLen, batch) * d + Math.min(layers - 1, 2) * between + merged;
        if (results) {
            floats += between + (double) cfg.stateCount() * batch * (cfg.hOut() + cfg.hiddenSize());
        }
        if (training) {
            for (int k = 0; k < layers; k++) {
                floats += (double) tapeSize(k, 0, seqLen, batch) * d + 2 * between + merged;
            }
        }
        double bytes = floats * Float.BYTES;
        if (MemoryBudget.exceeds(bytes)) {
            throw MemoryBudget.exceeded(bytes, String.format(Locale.ROOT, "%s %d steps x %d rows through %s",
                    training ? "training on" : "running", seqLen, batch, owner));
        }
    }
}
