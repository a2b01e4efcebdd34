package io.routingreplay.runtime.parallel;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.config.ModelConfigLoader;
import io.routingreplay.runtime.model.LayerWeights;
import io.routingreplay.runtime.model.MlpWeights;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.MoeWeights;
import io.routingreplay.runtime.model.attention.GqaWeights;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.model.attention.MlaWeights;
import io.routingreplay.runtime.testing.Fixtures;
import io.routingreplay.runtime.weights.SliceReader;
import io.routingreplay.runtime.weights.TensorView;
import io.routingreplay.runtime.weights.WeightStore;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Sharded loading on every CPU fixture: each rank's tensors are exactly the corresponding rows / columns of the
 * checkpoint's, experts outside its group are not read, and the bytes the ranks read add up to the checkpoint once
 * plus the replicated tensors once per extra rank (and K/V projections once per extra rank holding the same K/V
 * head, where there are fewer K/V heads than ranks), so a rank reads about 1/R of the model.
 */
class RankWeightsTest {

    @ParameterizedTest
    @MethodSource("io.routingreplay.runtime.testing.Fixtures#cpu")
    void eachRankReadsExactlyItsSlicesAndAboutOneRthOfTheModel(String fixture) {
        ModelConfig c = ModelConfigLoader.load(Fixtures.model(fixture));
        WeightStore store = WeightStore.open(Fixtures.model(fixture));
        ModelWeights full = ModelWeights.load(c, store);
        long total = 0;
        for (String name : store.names()) {
            TensorView t = store.get(name);
            total += t.storedBytes(t.numel());
        }
        long replicated = replicatedBytes(full);
        int checkedLayouts = 0;
        for (ParallelLayout layout : List.of(new ParallelLayout(2, 1), new ParallelLayout(2, 2),
                new ParallelLayout(4, 2), new ParallelLayout(3, 3))) {
            try {
                layout.check(c);
            } catch (IllegalArgumentException refused) {
                continue;
            }
            checkedLayouts++;
            int n = layout.ranks();
            long sum = 0;
            List<String> shares = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                RankShard s = layout.shard(c, r);
                SliceReader reader = new SliceReader();
                ModelWeights w = RankWeights.read(full, s, reader);
                assertSlices(full, w, s, c);
                long bytes = reader.bytesRead();
                sum += bytes;
                shares.add(String.format("%.3f", (double) bytes / total));
                assertTrue(bytes <= (total - replicated) * 1.05 / n + replicated + kvProjectionBytes(full), fixture + " " + layout + " rank "
                        + r + " read " + bytes + " of " + total + " bytes");
            }
            int kv = c.attention.numKvHeads();
            long kvCopies = kv < n ? (long) (n / kv - 1) * kvProjectionBytes(full) : 0;
            assertEquals(total + (n - 1) * replicated + kvCopies, sum, fixture + " " + layout + ": the split tensors are read "
                    + "once in all, the replicated ones once per rank");
            System.out.println("[sharded load] " + fixture + " " + layout + ": per-rank share of " + total
                    + " checkpoint bytes " + shares + ", replicated " + String.format("%.3f", (double) replicated / total));
        }
        assertTrue(checkedLayouts >= 1, fixture + " accepts none of the checked layouts");
    }

    /** What every rank reads whole: norms, routers (and their bias), Qwen2-MoE's shared gate, MLA's a-projections. */
    private static long replicatedBytes(ModelWeights m) {
        List<TensorView> all = new ArrayList<>(List.of(m.finalNorm));
        for (LayerWeights l : m.layers) {
            all.add(l.attnNorm);
            all.add(l.ffnNorm);
            if (l.attention instanceof GqaWeights g) {
                all.add(g.qNorm);
                all.add(g.kNorm);
            } else if (l.attention instanceof MlaWeights a) {
                all.addAll(java.util.Arrays.asList(a.qA, a.qANorm, a.kvA, a.kvANorm));
            }
            if (l.moe != null) {
                all.addAll(java.util.Arrays.asList(l.moe.router, l.moe.routerBias, l.moe.sharedGate));
            }
        }
        long bytes = 0;
        for (TensorView t : all) {
            bytes += t == null ? 0 : t.storedBytes(t.numel());
        }
        return bytes;
    }

    /** k_proj and v_proj (with their bias) of every layer: one K/V head's share is read by every rank holding it. */
    private static long kvProjectionBytes(ModelWeights m) {
        long bytes = 0;
        for (LayerWeights l : m.layers) {
            if (l.attention instanceof GqaWeights g) {
                for (TensorView t : new TensorView[]{g.wk, g.wv, g.bk, g.bv}) {
                    bytes += t == null ? 0 : t.storedBytes(t.numel());
                }
            }
        }
        return bytes;
    }

    private static void assertSlices(ModelWeights full, ModelWeights w, RankShard s, ModelConfig c) {
        assertRows(full.embedding, w.embedding, s.vocab());
        assertRows(full.lmHead, w.lmHead, s.vocab());
        assertRows(full.finalNorm, w.finalNorm, new Slice(0, c.hiddenSize));
        for (int l = 0; l < c.numLayers; l++) {
            LayerWeights f = full.layers[l], r = w.layers[l];
            if (f.attention instanceof GqaWeights fg) {
                GqaWeights rg = (GqaWeights) r.attention;
                int hd = c.headDim;
                assertRows(fg.wq, rg.wq, s.heads().times(hd));
                assertRows(fg.wk, rg.wk, s.kvHeads().times(hd));
                assertRows(fg.wv, rg.wv, s.kvHeads().times(hd));
                assertColumns(fg.wo, rg.wo, s.heads().times(hd));
                if (fg.bq != null) {
                    assertRows(fg.bq, rg.bq, s.heads().times(hd));
                    assertRows(fg.bk, rg.bk, s.kvHeads().times(hd));
                }
            } else {
                MlaWeights fm = (MlaWeights) f.attention, rm = (MlaWeights) r.attention;
                MlaAttention a = (MlaAttention) c.attention;
                assertRows(fm.kvB, rm.kvB, s.heads().times(a.qkNopeHeadDim() + a.vHeadDim()));
                assertColumns(fm.wo, rm.wo, s.heads().times(a.vHeadDim()));
                assertRows(fm.kvA, rm.kvA, new Slice(0, (int) fm.kvA.shape[0]));
                if (fm.q != null) {
                    assertRows(fm.q, rm.q, s.heads().times(a.qkHeadDim()));
                } else {
                    assertRows(fm.qB, rm.qB, s.heads().times(a.qkHeadDim()));
                }
            }
            if (f.moe != null) {
                MoeWeights fm = f.moe, rm = r.moe;
                assertRows(fm.router, rm.router, new Slice(0, c.numExperts));
                for (int e = 0; e < c.numExperts; e++) {
                    if (s.experts().contains(e)) {
                        assertRows(fm.expertGate[e], rm.expertGate[e], s.expertColumns());
                        assertRows(fm.expertUp[e], rm.expertUp[e], s.expertColumns());
                        assertColumns(fm.expertDown[e], rm.expertDown[e], s.expertColumns());
                    } else {
                        assertNull(rm.expertGate[e], "expert " + e + " belongs to another rank's group");
                        assertNull(rm.expertDown[e]);
                    }
                }
                if (fm.shared != null) {
                    assertMlp(fm.shared, rm.shared, s.sharedColumns());
                }
            } else {
                assertMlp(f.dense, r.dense, s.denseColumns());
            }
        }
    }

    private static void assertMlp(MlpWeights full, MlpWeights rank, Slice cols) {
        assertRows(full.gate(), rank.gate(), cols);
        assertRows(full.up(), rank.up(), cols);
        assertColumns(full.down(), rank.down(), cols);
    }

    /** {@code slice} holds rows [rows.from, rows.to) of {@code full}, value for value. */
    private static void assertRows(TensorView full, TensorView slice, Slice rows) {
        assertNotNull(slice, full.name);
        int cols = (int) (full.numel() / full.shape[0]);
        assertEquals(rows.size(), slice.shape[0], full.name + " rows");
        float[] want = new float[rows.size() * cols];
        full.toFloat((long) rows.from() * cols, want, 0, want.length);
        assertArrayEquals(want, slice.toFloatArray(), full.name + " rows " + rows);
    }

    /** {@code slice} holds columns [cols.from, cols.to) of every row of 2-D {@code full}. */
    private static void assertColumns(TensorView full, TensorView slice, Slice cols) {
        int rows = (int) full.shape[0], width = (int) full.shape[1];
        assertArrayEquals(new long[]{rows, cols.size()}, slice.shape, full.name + " shape");
        float[] want = new float[rows * cols.size()];
        for (int i = 0; i < rows; i++) {
            full.toFloat((long) i * width + cols.from(), want, i * cols.size(), cols.size());
        }
        assertArrayEquals(want, slice.toFloatArray(), full.name + " columns " + cols);
    }
}
