/**
 * rnnkit's Keras file reader: Keras 3 {@code .keras} zips and legacy HDF5 {@code .h5} files holding recurrent
 * layers ({@code LSTM}, {@code GRU}, {@code SimpleRNN}, {@code Bidirectional}), read as rnnkit layers.
 */
module org.rnnkit.keras {
    requires transitive org.rnnkit.api;
    requires io.jhdf;
    requires com.fasterxml.jackson.databind;

    exports org.rnnkit.keras;

    provides org.rnnkit.io.ModelFormat with org.rnnkit.keras.KerasModelFormat;
}
