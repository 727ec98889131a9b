package org.rnnkit.vector;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The vector width does not change a bit: this JVM's results on {@link WidthRun#cases()} against those of a
 * fresh JVM at another, hardware-backed width. Where this JVM's species is emulated (wider than its vector
 * registers), the other JVM runs the widest width the registers hold, so the emulated run is checked
 * against hardware; where it is hardware-backed, the other JVM runs a different hardware-backed width
 * (the JVM's widest, or 128 bits when this JVM already runs that), so every run of the suite compares
 * two lane counts.
 *
 * <p>Thread safety: not applicable (a test).
 */
class VectorWidthTest {

    @Test
    void anotherWidthGivesTheSameBits() throws Exception {
        int mine = VectorMath.bitSize(), max = VectorProbe.jvmMaxBits();
        int other = mine != max ? max : max > 128 ? 128 : mine; // (a 128-bit-only JVM: the same width, fresh JIT)
        WidthRun.ChildRun child = WidthRun.inChild(other);
        // the reference must be hardware-backed (when this JVM is capped, the child may see more, not less)
        assertTrue(child.probe().startsWith("available: "), "the " + other + "-bit child: " + child.probe());
        List<WidthRun.Named> here = WidthRun.results(new VectorBackendProvider().create());
        System.out.println("[vector width] " + mine + "-bit " + (VectorProbe.hardwareBacked() ? "hardware-backed" : "emulated")
                + " run against a child JVM's " + other + "-bit run: " + here.size() + " result arrays of "
                + WidthRun.cases().size() + " kernel cases compared bit for bit");
        WidthRun.assertSameBits(child.results(), other + "-bit child", here, mine + "-bit here");
    }

    /**
     * The register blocking for 16 vector registers (AVX2: six or four rows by two vectors) and the one for 32
     * (AVX-512: four by four) sum every output in the same order: a child JVM with the other one, at this
     * JVM's width, gives the same bits.
     */
    @Test
    void theOtherRegisterBlockingGivesTheSameBits() throws Exception {
        int mine = VectorMath.bitSize();
        WidthRun.ChildRun child = WidthRun.inChild(mine, !VectorMath.FEW_REGISTERS);
        List<WidthRun.Named> here = WidthRun.results(new VectorBackendProvider().create());
        System.out.println("[vector blocking] " + (VectorMath.FEW_REGISTERS ? "6x2/4x2" : "4x4") + " register blocks here"
                + " against a child JVM's " + (VectorMath.FEW_REGISTERS ? "4x4" : "6x2/4x2") + " at " + mine + " bits: "
                + here.size() + " result arrays compared bit for bit");
        WidthRun.assertSameBits(child.results(), "the other blocking", here, "this blocking");
    }
}
