package org.rnnkit.nn;

import org.rnnkit.spi.Scratch;
import org.rnnkit.spi.SequenceGeometry;
import org.rnnkit.spi.SequenceView;
import org.rnnkit.spi.StateView;

/**
 * Reusable scratch memory for {@link RecurrentLayer#forward} and {@link RecurrentCell#forward}: kernel
 * workspace and the buffers between stacked layers. It grows to the largest call it has served and is
 * then reused, so a caller that keeps one per thread allocates nothing but results.
 *
 * <p>Thread safety: not thread-safe. Use one workspace per thread; layers themselves are shareable.
 */
public final class Workspace {
    private static final float[] EMPTY = new float[0];
    private final float[][] slots = {EMPTY, EMPTY, EMPTY, EMPTY};

    static final int KERNEL = 0, LAYER_A = 1, LAYER_B = 2, MERGE = 3;

    // A kernel call's arguments, set afresh for every call: reused so that a call allocates nothing.
    final SequenceGeometry seq = new SequenceGeometry();
    final SequenceView in = new SequenceView(), out = new SequenceView(), dIn = new SequenceView();
    final StateView state = new StateView();
    final Scratch scratch = new Scratch();
    /** The classes of one-hot input rows, kept for the next call (see {@link OneHotRows}). */
    int[] classes;

    /** The slot's array, grown (contents discarded) to at least {@code size} floats. */
    float[] get(int slot, long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("workspace: " + size + " floats exceed the largest Java array;"
                    + " use a smaller batch or sequence length");
        }
        if (slots[slot].length < size) {
            slots[slot] = new float[(int) size];
        }
        return slots[slot];
    }

    /** Floats currently held, for diagnostics. */
    public long footprint() {
        long n = 0;
        for (float[] s : slots) {
            n += s.length;
        }
        return n;
    }
}
