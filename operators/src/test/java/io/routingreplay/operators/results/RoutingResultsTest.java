package io.routingreplay.operators.results;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.routingreplay.runtime.engine.FinishReason;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.routing.RoutingDtype;
import io.routingreplay.schemas.RoutingLayoutInfo;
import io.routingreplay.schemas.RoutingResult;
import io.routingreplay.schemas.Timings;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RoutingResultsTest {

    @Test
    void uint16RoutingSurvivesTheConversion() {
        // 2 tokens × 1 layer × top-2, uint16 little-endian: ids 300, 7, 65535, 0
        byte[] ids = {(byte) 0x2c, 0x01, 7, 0, (byte) 0xff, (byte) 0xff, 0, 0};
        RoutingResult r = RoutingResult.newBuilder()
                .setRid("x").setModel("m").setPromptTokenIds(List.of(1, 2)).setOutputTokenIds(List.of(9))
                .setOutputLogprobs(List.of(-0.5f)).setFinishReason("stop").setNumTokens(2)
                .setRoutingIds(ByteBuffer.wrap(ids)).setRoutingShape(List.of(2, 1, 2)).setRoutingDtype("uint16")
                .setLayout(RoutingLayoutInfo.newBuilder().setMoeLayerIndices(List.of(3)).setTopK(2)
                        .setNumExperts(65536).setDtype("uint16").build())
                .setTimings(Timings.newBuilder().build()).setMetadata(Map.of()).build();
        GenerationResult g = RoutingResults.toGenerationResult(r);
        assertEquals(FinishReason.STOP, g.finishReason());
        assertArrayEquals(new int[] {9}, g.outputTokenIds());
        assertEquals(RoutingDtype.UINT16, g.routing().layout().dtype());
        assertEquals(300, g.routing().id(0, 0, 0));
        assertEquals(7, g.routing().id(0, 0, 1));
        assertEquals(65535, g.routing().id(1, 0, 0));
        assertArrayEquals(new int[] {3}, g.routing().layout().moeLayerIndices());
    }
}
