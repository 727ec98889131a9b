/**
 * rnnkit's compatibility kit: the golden cases made by PyTorch, their tolerance, and the verifier that
 * runs them on a backend. For backend authors (is my backend PyTorch's function?) and for CI users (does
 * this machine compute what PyTorch computes?); {@code rnnkit verify} is its command-line face.
 */
module org.rnnkit.tck {
    requires transitive org.rnnkit.api;

    exports org.rnnkit.tck;
}
