package org.rnnkit.bench.peer;

import org.bytedeco.javacpp.Loader;
import org.bytedeco.pytorch.global.torch;

/** Loads LibTorch once, so JavaCPP extracts its libraries into its cache (see {@code BenchMain}). */
public final class LibTorchWarmUp {
    private LibTorchWarmUp() {}

    public static void main(String[] args) {
        Loader.load(torch.class);
    }
}
