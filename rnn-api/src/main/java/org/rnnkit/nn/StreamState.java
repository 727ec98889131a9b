package org.rnnkit.nn;

import java.util.Arrays;
import org.rnnkit.tensor.Tensor;

/**
 * The running state of {@code B} streams through one unidirectional layer: {@code h} (and {@code c}) of
 * every layer, plus the scratch memory to advance it. Feeding a sequence chunk by chunk, or step by step,
 * through {@link RecurrentLayer#stream} gives bit-identical results to running it whole with
 * {@link RecurrentLayer#forward} on the same backend.
 *
 * <p>The state holds values only, never a gradient history: a training pass started from it
 * ({@link RecurrentLayer#forwardTraining(StreamState, Tensor)}) is detached at the cut, as truncated BPTT needs.
 *
 * <p>Thread safety: not thread-safe; one state belongs to one thread at a time. Many states may stream
 * through one shared layer from many threads at once, without locks.
 */
public final class StreamState {
    final RecurrentLayer layer;
    final int batch;
    final float[] h, c; // (S, B, H_out), (S, B, H)
    final Workspace workspace = new Workspace();

    StreamState(RecurrentLayer layer, int batch) {
        RecurrentConfig cfg = layer.config();
        this.layer = layer;
        this.batch = batch;
        this.h = new float[cfg.stateCount() * batch * cfg.hOut()];
        this.c = cfg.type().hasCellState() ? new float[cfg.stateCount() * batch * cfg.hiddenSize()] : null;
    }

    /** Number of streams (batch rows). */
    public int batch() {
        return batch;
    }

    /** A copy of the hidden state, {@code (num_layers, B, H_out)}. */
    public Tensor h() {
        return Tensor.of(h, layer.config().stateCount(), batch, layer.config().hOut());
    }

    /** A copy of the LSTM cell state, {@code (num_layers, B, H)}; null for RNN and GRU. */
    public Tensor c() {
        return c == null ? null : Tensor.of(c, layer.config().stateCount(), batch, layer.config().hiddenSize());
    }

    /**
     * Sets the state, e.g. to a PyTorch {@code h0}/{@code c0}.
     *
     * @param h0 {@code (num_layers, B, H_out)}, or null for zeros
     * @param c0 LSTM only: {@code (num_layers, B, H)}, or null for zeros
     */
    public void set(Tensor h0, Tensor c0) {
        RecurrentConfig cfg = layer.config();
        if (h0 != null) {
            Checks.requireShape("h0", h0, cfg.stateCount(), batch, cfg.hOut());
        }
        if (c0 != null) {
            if (c == null) {
                throw new IllegalArgumentException("c0: only LSTM layers have a cell state; got c0 for " + cfg.type());
            }
            Checks.requireShape("c0", c0, cfg.stateCount(), batch, cfg.hiddenSize());
        }
        if (h0 == null) {
            Arrays.fill(h, 0f);
        } else {
            System.arraycopy(h0.data(), 0, h, 0, h.length);
        }
        if (c != null) {
            if (c0 == null) {
                Arrays.fill(c, 0f);
            } else {
                System.arraycopy(c0.data(), 0, c, 0, c.length);
            }
        }
    }

    /** Every stream starts afresh from zeros. */
    public void reset() {
        Arrays.fill(h, 0f);
        if (c != null) {
            Arrays.fill(c, 0f);
        }
    }

    /** The given streams (batch rows) start afresh from zeros; the others continue. */
    public void reset(int... rows) {
        RecurrentConfig cfg = layer.config();
        for (int r : rows) {
            if (r < 0 || r >= batch) {
                throw new IllegalArgumentException("rows: expected rows in 0.." + (batch - 1) + ", got " + r);
            }
        }
        for (int s = 0; s < cfg.stateCount(); s++) {
            for (int r : rows) {
                Arrays.fill(h, (s * batch + r) * cfg.hOut(), (s * batch + r + 1) * cfg.hOut(), 0f);
                if (c != null) {
                    Arrays.fill(c, (s * batch + r) * cfg.hiddenSize(), (s * batch + r + 1) * cfg.hiddenSize(), 0f);
                }
            }
        }
    }
}
