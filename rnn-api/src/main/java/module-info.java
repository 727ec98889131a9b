/**
 * rnnkit's API: recurrent layers and cells with PyTorch semantics, tensors, model files, training, backend
 * selection; and the SPI ({@code org.rnnkit.spi}) through which backends plug in.
 */
module org.rnnkit.api {
    exports org.rnnkit.tensor;
    exports org.rnnkit.nn;
    exports org.rnnkit.io;
    exports org.rnnkit.backend;
    exports org.rnnkit.train;
    exports org.rnnkit.variant;
    // for backend authors only: what a user of layers never needs
    exports org.rnnkit.spi;

    // rnnkit's own JSON reader, for the golden cases' descriptions; not API
    exports org.rnnkit.internal.json to org.rnnkit.tck;

    uses org.rnnkit.spi.BackendProvider;
    uses org.rnnkit.io.ModelFormat;
}
