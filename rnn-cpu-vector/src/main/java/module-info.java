/**
 * The Vector API backend of rnnkit, named {@code vector}. Exports only {@code VectorBackend} (for
 * {@link org.rnnkit.vector.VectorBackend#withExecutor}) and its provider; everything else is internal.
 */
module org.rnnkit.vector {
    requires org.rnnkit.api;
    requires jdk.incubator.vector;

    exports org.rnnkit.vector;

    provides org.rnnkit.spi.BackendProvider with org.rnnkit.vector.VectorBackendProvider;
}
