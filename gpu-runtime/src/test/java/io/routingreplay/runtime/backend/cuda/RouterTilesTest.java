package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The tiled router's switch, and its grid against kernels/router_tiles.cuh (runs without a GPU). */
class RouterTilesTest {
    @Test
    void offUnlessSwitchedOn() {
        assertFalse(RouterTiles.enabled(null));
        assertFalse(RouterTiles.enabled(""));
        assertFalse(RouterTiles.enabled(" OFF "));
        assertTrue(RouterTiles.enabled("on"));
        assertTrue(RouterTiles.enabled(" On"));
    }

    @Test
    void aBadValueSaysWhatItTakes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RouterTiles.enabled("yes"));
        assertTrue(e.getMessage().contains(RouterTiles.PROPERTY) && e.getMessage().contains("on or off"),
                e.getMessage());
    }

    @Test
    void theGridCoversEveryTokenWithTheKernelsTileSize() throws IOException {
        // a block norms and routes RTT_TOKENS rows: a grid cut for another size would leave tokens unrouted (or
        // route rows past the step), which no CPU test would notice
        assertEquals(RouterTiles.TOKENS, KernelSources.define("kernels/router_tiles.cuh", "RTT_TOKENS"));
        for (int rows : new int[] {1, 3, 4, 5, 33, 127, 128, 129, 2048}) {
            int tiles = RouterTiles.tiles(rows);
            assertTrue(tiles * RouterTiles.TOKENS >= rows && (tiles - 1) * RouterTiles.TOKENS < rows, "rows " + rows);
        }
        // the softmax's order is blockSum's only while each of router_topk's threads holds one logit: the tiled
        // router takes the parts router's expert limit, which its grouping arrays hold
        assertEquals(ForwardPass.ROUTER_PARTS_MAX_EXPERTS,
                KernelSources.define("kernels/router_norm.cuh", "ROUTER_PARTS_MAXE"));
    }

    @Test
    void groupsInItsLaunchOnlyUpToOneBlocksShare() {
        assertTrue(RouterTiles.groupsInLaunch(33));
        assertTrue(RouterTiles.groupsInLaunch(RouterTiles.GROUP_MAX_ROWS));
        assertFalse(RouterTiles.groupsInLaunch(RouterTiles.GROUP_MAX_ROWS + 1));
    }
}
