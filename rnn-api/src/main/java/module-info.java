/**
 * rnnkit's API: recurrent layers and cells with PyTorch semantics, tensors, model files, and the SPI
 * through which backends plug in.
 */
module org.rnnkit.api {
    exports org.rnnkit.tensor;
    exports org.rnnkit.nn;
    exports org.rnnkit.io;
    exports org.rnnkit.spi;
    exports org.rnnkit.backend;
    exports org.rnnkit.verify;
    exports org.rnnkit.train;

    uses org.rnnkit.spi.BackendProvider;
}
