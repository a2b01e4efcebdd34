package io.routingreplay.operators.window;

import io.routingreplay.schemas.InferenceRequest;
import org.apache.flink.api.java.functions.KeySelector;

/**
 * The micro-batch window's key: {@code model#shard}, the shard being a stable hash of the rid. More shards than
 * inference subtasks spread one model's prompts over all of them; one shard per model batches everything together.
 */
public final class ShardKey implements KeySelector<InferenceRequest, String> {

    private static final long serialVersionUID = 1L;

    private final int numShards;

    public ShardKey(int numShards) {
        if (numShards < 1) {
            throw new IllegalArgumentException("number of shards must be >= 1, got " + numShards);
        }
        this.numShards = numShards;
    }

    @Override
    public String getKey(InferenceRequest r) {
        return r.getModel() + "#" + Math.floorMod(r.getRid().hashCode(), numShards);
    }
}
