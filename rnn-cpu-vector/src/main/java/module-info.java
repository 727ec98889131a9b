/** The Vector API backend of rnnkit, named {@code vector}. */
module org.rnnkit.vector {
    requires org.rnnkit.api;
    requires jdk.incubator.vector;

    provides org.rnnkit.spi.BackendProvider with org.rnnkit.vector.VectorBackendProvider;
}
