package io.routingreplay.runtime.backend.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmallRowKernelsTest {
    @Test
    void unsetAndOnUseAllFusionsOffNone() {
        SmallRowKernels all = new SmallRowKernels(true, true, true, true);
        assertEquals(all, SmallRowKernels.parse(null));
        assertEquals(all, SmallRowKernels.parse(""));
        assertEquals(all, SmallRowKernels.parse("on"));
        assertEquals(new SmallRowKernels(false, false, false, false), SmallRowKernels.parse("off"));
        assertEquals(new SmallRowKernels(false, false, false, false), SmallRowKernels.parse(" OFF "));
    }

    @Test
    void aListUsesExactlyItsParts() {
        assertEquals(new SmallRowKernels(true, false, false, false), SmallRowKernels.parse("combine-norm"));
        assertEquals(new SmallRowKernels(false, true, false, false), SmallRowKernels.parse("router-norm"));
        assertEquals(new SmallRowKernels(true, true, false, false),
                SmallRowKernels.parse("router-norm, combine-norm"));
        assertEquals(new SmallRowKernels(false, true, true, false),
                SmallRowKernels.parse("router-norm,router-parts"));
        assertEquals(new SmallRowKernels(false, false, false, true), SmallRowKernels.parse("router-group"));
        assertEquals(new SmallRowKernels(true, true, true, true),
                SmallRowKernels.parse("combine-norm,router-norm,router-parts,router-group"));
    }

    @Test
    void anUnknownPartIsRefusedWithTheNames() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SmallRowKernels.parse("combine-norm,routernorm"));
        assertTrue(e.getMessage().contains("'routernorm'") && e.getMessage().contains("router-norm"), e.getMessage());
        IllegalArgumentException g = assertThrows(IllegalArgumentException.class,
                () -> SmallRowKernels.parse("router-grouping"));
        assertTrue(g.getMessage().contains("router-group"), g.getMessage());
    }

    @Test
    void theRemovedDenseGemmsAreNoLongerParts() {
        // v38's streamed and v44's chain-major dense GEMMs are gone (docs/cuda-notes.md): naming either part is an
        // error that lists the valid parts, not a silent no-op
        for (String removed : new String[] {"stream", "dense", "dense,combine-norm"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> SmallRowKernels.parse(removed), removed);
            String m = e.getMessage();
            assertTrue(m.contains("'" + removed.split(",")[0] + "'"), m);
            assertTrue(m.contains("combine-norm, router-norm, router-parts, router-group"), m);
        }
    }

    @Test
    void theFusedGroupingIsPartOfTheDefault() {
        // bit-identical in run check and 1.5x faster in small_bench on an H100 (docs/cuda-notes.md v42)
        assertTrue(SmallRowKernels.parse(null).routerGroup());
        assertTrue(SmallRowKernels.parse("on").routerGroup());
        assertFalse(SmallRowKernels.parse("combine-norm,router-norm,router-parts").routerGroup());
    }
}
