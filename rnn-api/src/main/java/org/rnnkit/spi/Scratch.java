package org.rnnkit.spi;

/**
 * A kernel call's memory besides its inputs and outputs: the workspace (at least
 * {@link RecurrentKernel#workspaceSize} floats from {@code wsOffset}, contents undefined before and after
 * the call) and the tape (at least {@link RecurrentKernel#tapeSize} floats from {@code tapeOffset}): null
 * for inference, written by a training forward and read by the backward that follows it. The layout of
 * both is the kernel's own.
 *
 * <p>Mutable so that a caller can reuse it for every call: the hot path allocates nothing. Kernels use it
 * during the call only.
 *
 * <p>Thread safety: not thread-safe; one instance per calling thread.
 */
public final class Scratch {
    private float[] tape, ws;
    private int tapeOffset, wsOffset;

    /** Sets every field; returns this. */
    public Scratch set(float[] tape, int tapeOffset, float[] ws, int wsOffset) {
        this.tape = tape;
        this.tapeOffset = tapeOffset;
        this.ws = ws;
        this.wsOffset = wsOffset;
        return this;
    }

    /** The tape, or null for inference. */
    public float[] tape() {
        return tape;
    }

    public int tapeOffset() {
        return tapeOffset;
    }

    public float[] ws() {
        return ws;
    }

    public int wsOffset() {
        return wsOffset;
    }
}
