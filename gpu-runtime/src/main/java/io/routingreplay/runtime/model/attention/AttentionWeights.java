package io.routingreplay.runtime.model.attention;

/** One layer's attention tensors, of the layer's {@link AttentionKind}. */
public sealed interface AttentionWeights permits GqaWeights, MlaWeights {
}
