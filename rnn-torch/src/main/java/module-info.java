/**
 * rnnkit's PyTorch file reader: {@code torch.save} files (the zip format of PyTorch 1.6+ and the legacy format
 * before it) holding a recurrent state_dict or a whole pickled {@code nn.LSTM}/{@code GRU}/{@code RNN}, read by a
 * restricted unpickler that executes nothing, as rnnkit layers.
 */
module org.rnnkit.torch {
    requires transitive org.rnnkit.api;

    exports org.rnnkit.torch;

    provides org.rnnkit.io.ModelFormat with org.rnnkit.torch.TorchModelFormat;
}
