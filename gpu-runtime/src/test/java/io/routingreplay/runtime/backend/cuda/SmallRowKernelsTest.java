package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmallRowKernelsTest {
    @Test
    void unsetUsesTheFusionsOnAllOffNone() {
        SmallRowKernels all = new SmallRowKernels(true, true, true, true, true);
        SmallRowKernels fusions = new SmallRowKernels(false, true, true, true,
                SmallRowKernels.ROUTER_GROUP_BY_DEFAULT);
        assertEquals(fusions, SmallRowKernels.parse(null));
        assertEquals(fusions, SmallRowKernels.parse(""));
        assertEquals(all, SmallRowKernels.parse("on"));
        assertEquals(new SmallRowKernels(false, false, false, false, false), SmallRowKernels.parse("off"));
        assertEquals(new SmallRowKernels(false, false, false, false, false), SmallRowKernels.parse(" OFF "));
    }

    @Test
    void aListUsesExactlyItsParts() {
        assertEquals(new SmallRowKernels(true, false, false, false, false), SmallRowKernels.parse("dense"));
        assertEquals(new SmallRowKernels(false, true, false, false, false), SmallRowKernels.parse("combine-norm"));
        assertEquals(new SmallRowKernels(false, false, true, false, false), SmallRowKernels.parse("router-norm"));
        assertEquals(new SmallRowKernels(false, true, true, false, false),
                SmallRowKernels.parse("router-norm, combine-norm"));
        assertEquals(new SmallRowKernels(true, true, true, false, false),
                SmallRowKernels.parse("dense,combine-norm,router-norm"));
        assertEquals(new SmallRowKernels(false, false, true, true, false),
                SmallRowKernels.parse("router-norm,router-parts"));
        assertEquals(new SmallRowKernels(false, false, false, false, true), SmallRowKernels.parse("router-group"));
        assertEquals(new SmallRowKernels(false, true, true, true, true),
                SmallRowKernels.parse("combine-norm,router-norm,router-parts,router-group"));
    }

    @Test
    void anUnknownPartIsRefusedWithTheNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SmallRowKernels.parse("dense,routernorm"));
        assertTrue(e.getMessage().contains("'routernorm'") && e.getMessage().contains("router-norm"), e.getMessage());
        IllegalArgumentException g = assertThrows(IllegalArgumentException.class,
                () -> SmallRowKernels.parse("router-grouping"));
        assertTrue(g.getMessage().contains("router-group"), g.getMessage());
    }

    @Test
    void theRemovedStreamedGemmsAreNoLongerAPart() {
        // v38's streamed GEMMs (kernels/gemm_stream.cuh) are gone: naming them is an error, not a silent no-op
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SmallRowKernels.parse("stream"));
        assertTrue(e.getMessage().contains("'stream'") && e.getMessage().contains("dense"), e.getMessage());
    }

    @Test
    void theDenseGemmsAreOffUnlessAskedFor() {
        // not yet measured on a GPU: only "on" or a list naming "dense" runs them
        assertTrue(!SmallRowKernels.DEFAULT.dense() && !SmallRowKernels.parse(null).dense());
        assertTrue(SmallRowKernels.parse("on").dense());
    }

    @Test
    void theFusedGroupingStaysOutOfTheDefaultUntilMeasuredOnAGpu() {
        // docs/cuda-notes.md v42: written without a GPU; the lead flips ROUTER_GROUP_BY_DEFAULT after small_bench
        // and the engine A/B (and then this test with it)
        assertFalse(SmallRowKernels.ROUTER_GROUP_BY_DEFAULT);
        assertFalse(SmallRowKernels.parse(null).routerGroup());
        assertTrue(SmallRowKernels.parse("on").routerGroup());
    }
}
