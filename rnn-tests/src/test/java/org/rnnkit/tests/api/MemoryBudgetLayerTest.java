package org.rnnkit.tests.api;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.rnnkit.nn.ForwardOptions;
import org.rnnkit.nn.RecurrentLayer;
import org.rnnkit.nn.Workspace;
import org.rnnkit.backend.Backend;
import org.rnnkit.tensor.MemoryBudgetException;
import org.rnnkit.tensor.Tensor;
import org.rnnkit.tests.BackendSource;

/**
 * Sizes are checked against the memory budget before anything large is allocated, on every backend: a
 * model whose parameters would not fit, and a call whose workspace and results would not, each throw a
 * {@link MemoryBudgetException} (an {@code IllegalArgumentException}) that names what needed how much.
 * Both exceed any heap a test JVM has, so the default budget (half the heap) refuses them wherever this runs.
 */
class MemoryBudgetLayerTest {

    @TestFactory
    Stream<DynamicTest> tooLargeModelsAndCallsAreRefusedBeforeAllocation() {
        return BackendSource.all().map(named -> DynamicTest.dynamicTest(named.getName(), () -> {
            Backend b = BackendSource.require(named.getPayload());
            MemoryBudgetException model = assertThrows(MemoryBudgetException.class,
                    () -> RecurrentLayer.lstm(3, 20_000).numLayers(1000).seed(1).backend(b).build());
            assertTrue(model.getMessage().startsWith("the parameters of a LSTM layer with input_size=3, hidden_size=20000,"
                    + " num_layers=1000: ") && model.getMessage().contains(" TB needed, more than the memory budget of "),
                    model.getMessage());
            // a 6.4 MB input whose output alone would be 6.3 GB, and the gates' workspace three times that
            RecurrentLayer gru = RecurrentLayer.gru(1, 1024).seed(1).backend(b).build();
            MemoryBudgetException call = assertThrows(MemoryBudgetException.class,
                    () -> gru.forward(Tensor.zeros(200_000, 8, 1)));
            assertTrue(call.getMessage().startsWith("running 200000 steps x 8 rows through RecurrentLayer"),
                    call.getMessage());
            // a call that fits still runs
            Tensor y = gru.forward(Tensor.zeros(5, 2, 1), ForwardOptions.defaults()).output();
            assertTrue(y.sameShape(5, 2, 1024));
        }));
    }
}
