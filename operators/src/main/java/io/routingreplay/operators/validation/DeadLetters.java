package io.routingreplay.operators.validation;

import io.routingreplay.schemas.DeadLetter;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

import java.nio.ByteBuffer;
import java.util.Arrays;

/** The dead-letter side output of validation and how its records are made. */
public final class DeadLetters {

    /** Side output carrying every request validation refused. */
    public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters", new AvroTypeInfo<>(DeadLetter.class));

    public static final String STAGE_DECODE = "decode";
    public static final String STAGE_VALIDATE = "validate";

    private DeadLetters() {
    }

    /**
     * A dead letter for {@code raw}; at most {@code maxRawBytes} of its bytes are kept (the reason says when they
     * were cut) so an oversized request cannot make the dead-letter producer fail in turn.
     */
    public static DeadLetter of(RawPrompt raw, String rid, String reason, String stage, int maxRawBytes, long now) {
        byte[] value = raw.value;
        String why = reason;
        ByteBuffer kept = null;
        if (value != null) {
            if (value.length > maxRawBytes) {
                kept = ByteBuffer.wrap(Arrays.copyOf(value, maxRawBytes));
                why = reason + " [raw record cut to its first " + maxRawBytes + " of " + value.length + " bytes]";
            } else {
                kept = ByteBuffer.wrap(value.clone());
            }
        }
        return DeadLetter.newBuilder()
                .setRid(rid)
                .setReason(why)
                .setStage(stage)
                .setSourceTopic(raw.topic)
                .setSourcePartition(raw.partition)
                .setSourceOffset(raw.offset)
                .setRaw(kept)
                .setFailedAt(now)
                .build();
    }
}
