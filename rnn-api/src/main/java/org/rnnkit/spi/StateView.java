package org.rnnkit.spi;

/**
 * The recurrent state of a kernel call's rows, or its gradient: {@code h} row {@code b} at
 * {@code h[hOffset + b*hOut]} ({@code hOut} floats) and, for an LSTM, {@code c} row {@code b} at
 * {@code c[cOffset + b*H]} ({@code H} floats; other recurrences have no {@code c} and pass null). A forward
 * call reads it as the initial state and overwrites it with the final one; a backward call reads the
 * gradient of the final state and overwrites it with the gradient of the initial one.
 *
 * <p>Mutable so that a caller can reuse it for every call: the hot path allocates nothing. Kernels read it
 * during the call only.
 *
 * <p>Thread safety: not thread-safe; one instance per calling thread.
 */
public final class StateView {
    private float[] h, c;
    private int hOffset, cOffset;

    /** Sets every field; returns this ({@code c} null except for an LSTM). */
    public StateView set(float[] h, int hOffset, float[] c, int cOffset) {
        this.h = h;
        this.hOffset = hOffset;
        this.c = c;
        this.cOffset = cOffset;
        return this;
    }

    public float[] h() {
        return h;
    }

    public int hOffset() {
        return hOffset;
    }

    /** The cell state (LSTM), or null. */
    public float[] c() {
        return c;
    }

    public int cOffset() {
        return cOffset;
    }
}
