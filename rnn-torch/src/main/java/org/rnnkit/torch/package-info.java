/**
 * Reading PyTorch {@code torch.save} files: {@link org.rnnkit.torch.TorchFile} (the tensors and, for a pickled
 * module, its configuration) and {@link org.rnnkit.torch.TorchImport} (a {@code RecurrentLayer} from them, with
 * {@link org.rnnkit.torch.TorchLoadOptions} for what a state_dict cannot say).
 *
 * <p>Security: a pickle is a program. The unpickler here runs none of it: every global a file names must be on
 * a short allow-list of names modelled as data (see {@link org.rnnkit.torch.TorchFile}); any other is refused
 * with its name before anything else is read.
 */
package org.rnnkit.torch;
