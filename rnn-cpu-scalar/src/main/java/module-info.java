/** The plain-Java reference backend of rnnkit, named {@code scalar}. */
module org.rnnkit.scalar {
    requires org.rnnkit.api;

    provides org.rnnkit.spi.BackendProvider with org.rnnkit.scalar.ScalarBackendProvider;
}
