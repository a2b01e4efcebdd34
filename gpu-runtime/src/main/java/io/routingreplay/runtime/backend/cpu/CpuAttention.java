package io.routingreplay.runtime.backend.cpu;

import io.routingreplay.runtime.config.ModelConfig;
import io.routingreplay.runtime.model.ModelWeights;
import io.routingreplay.runtime.model.attention.GqaAttention;
import io.routingreplay.runtime.model.attention.MlaAttention;
import io.routingreplay.runtime.parallel.Collectives;
import io.routingreplay.runtime.parallel.RankShard;

/** The CPU implementation of one {@link io.routingreplay.runtime.model.attention.AttentionKind}. */
interface CpuAttention {
    /**
     * Layer l's self-attention of the step's normalised hidden states {@code xn} [T, hidden]: projections, RoPE,
     * cache write, causal attention, output projection [T, hidden] — over this rank's heads only, so on a sharded
     * model a partial sum the caller adds up over ranks before the residual add.
     */
    float[] forward(int l, CpuBatch b, RopeTable rope, float[] xn);

    /** The attention of rank {@code shard} (its heads; its tensors are {@code w}'s, already sliced). */
    static CpuAttention of(ModelConfig c, RankShard shard, Collectives coll, ModelWeights w,
                           CpuProducts products, CpuKvCache cache) {
        if (shard.attention() instanceof GqaAttention g) {
            return new CpuGqaAttention(c, g, w, products, cache, shard, coll);
        }
        if (shard.attention() instanceof MlaAttention m) {
            return new CpuMlaAttention(c, m, w, products, cache);
        }
        throw new IllegalArgumentException("the CPU backend has no " + c.attention + " attention");
    }
}
