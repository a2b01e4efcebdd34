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
        SmallRowKernels fusions = new SmallRowKernels(false, true, true, true, true);
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
        // slower than the K-split kernels on an H100 (docs/cuda-notes.md v44): only "on" or a list naming "dense"
        assertTrue(!SmallRowKernels.DEFAULT.dense() && !SmallRowKernels.parse(null).dense());
        assertTrue(SmallRowKernels.parse("on").dense());
    }

    @Test
    void theFusedGroupingIsPartOfTheDefault() {
        // bit-identical in run check and 1.5x faster in small_bench on an H100 (docs/cuda-notes.md v42)
        assertTrue(SmallRowKernels.parse(null).routerGroup());
        assertTrue(SmallRowKernels.parse("on").routerGroup());
        assertFalse(SmallRowKernels.parse("combine-norm,router-norm,router-parts").routerGroup());
    }
}
