package io.routingreplay.operators.inference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.routingreplay.schemas.InferenceRequest;
import java.util.List;
import org.apache.flink.core.io.SimpleVersionedSerialization;
import org.junit.jupiter.api.Test;

/**
 * The checkpointed in-flight request keeps what its result must return: a second turn's routing_start and an
 * evaluation request's return_routing false survive a checkpoint, so a restored request is not answered with routing
 * it did not ask for (older states, without the fields, restore with the defaults: InFlightStateRestoreTest).
 */
class InFlightRequestSerializerTest {

    @Test
    void routingStartAndReturnRoutingSurviveTheCheckpoint() throws Exception {
        InferenceRequest r = InferenceRequest.newBuilder().setRid("turn-2").setModel("m")
                .setPromptTokenIds(List.of(1, 2, 3, 4, 5)).setMaxNewTokens(8).setTemperature(0f).setTopP(1f)
                .setTopK(0).setRoutingStart(4).setReturnRouting(false).build();
        InFlightRequest f = new InFlightRequest(r, 42L, 7L, 1, 3, 6, new int[] {9, 10, 0, 0, 0, 0, 0, 0},
                new float[] {-1f, -2f, 0, 0, 0, 0, 0, 0}, 2, 8L);
        InFlightRequestSerializer s = new InFlightRequestSerializer();
        InFlightRequest back = SimpleVersionedSerialization.readVersionAndDeSerialize(s,
                SimpleVersionedSerialization.writeVersionAndSerialize(s, f));
        assertEquals(4, back.request.getRoutingStart());
        assertFalse(back.request.getReturnRouting());
        assertEquals(r, back.request);
        assertEquals(6, back.nextPosition());
        assertArrayEquals(new int[] {9, 10}, back.outputsSoFar());
    }
}
