/**
 * The native backend of rnnkit, named {@code native}: fused C kernels behind one JNI call per
 * layer-sequence, with OpenBLAS for the backward pass's large products. Exports nothing but its provider.
 */
module org.rnnkit.nativebackend {
    requires org.rnnkit.api;

    exports org.rnnkit.nativebackend;

    provides org.rnnkit.spi.BackendProvider with org.rnnkit.nativebackend.NativeBackendProvider;
}
