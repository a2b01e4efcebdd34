package io.routingreplay.operators.validation;

import io.routingreplay.runtime.cli.request.RequestFields;
import io.routingreplay.runtime.routing.RoutingDtype;
import io.routingreplay.runtime.routing.RoutingRecord;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A PromptEvent's {@code forced_routing} (ids packed {@code [m][moe_layer][k]} little-endian in the model's routing
 * dtype, as a RoutingResult's {@code routing_ids}) and {@code forced_routing_shape} ({@code [m, moe_layers, k]}, as
 * its {@code routing_shape}) as the nested ids a JSON request sends, so {@link
 * io.routingreplay.runtime.cli.request.RequestValidator} checks both forms with the same rules and words. Only what
 * the packing itself can get wrong is refused here: a missing shape, a shape that is not three counts, a byte count
 * the shape does not explain.
 */
final class AvroForcedRouting {

    private AvroForcedRouting() {
    }

    /** @return null when neither field is set */
    static RequestFields.NestedIds read(ByteBuffer packed, List<Integer> shape, RoutingDtype dtype) {
        if (packed == null && shape == null) {
            return null;
        }
        if (packed == null) {
            throw new IllegalArgumentException("\"forced_routing_shape\" given without \"forced_routing\"");
        }
        if (shape == null) {
            throw new IllegalArgumentException("\"forced_routing\" needs \"forced_routing_shape\" [m, num_moe_layers,"
                    + " top_k] (a result's routing_shape)");
        }
        if (shape.size() != 3 || shape.stream().anyMatch(n -> n < 0)) {
            throw new IllegalArgumentException("\"forced_routing_shape\" must be three counts [m, num_moe_layers, "
                    + "top_k], got " + shape);
        }
        long ids = (long) shape.get(0) * shape.get(1) * shape.get(2);
        byte[] bytes = new byte[packed.remaining()];
        packed.duplicate().get(bytes);
        if (bytes.length != ids * dtype.bytes) {
            throw new IllegalArgumentException("\"forced_routing\" holds " + bytes.length + " bytes; shape " + shape
                    + " in the model's routing dtype " + dtype.wire + " (" + dtype.bytes + (dtype.bytes == 1
                    ? " byte" : " bytes") + " per id) needs " + ids * dtype.bytes);
        }
        int[] dims = {shape.get(0), shape.get(1), shape.get(2)};
        return new RequestFields.NestedIds(dims, RoutingRecord.unpack(dtype, bytes));
    }
}
