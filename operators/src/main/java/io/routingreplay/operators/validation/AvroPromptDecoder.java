package io.routingreplay.operators.validation;

import io.routingreplay.schemas.PromptEvent;
import io.routingreplay.schemas.codec.SchemaHistory;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;

import java.io.IOException;

/**
 * Reads a {@code PromptEvent} from the prompts topic: Avro single-object encoding ({@code C3 01}, the writer schema's
 * fingerprint, the record), written with any released PromptEvent version and resolved into the current one
 * ({@link SingleObjectCodec}, {@code avro-history/PromptEvent-v<N>.avsc}). A record of an unknown version, plain
 * Avro binary without the header, truncated or with bytes left over is refused with a reason saying what was
 * expected; no garbage length prefix is ever allocated.
 *
 * <p>Plain (un-framed) Avro binary is not accepted: without a fingerprint the job cannot know which version wrote
 * the bytes, and reading them with the wrong one silently gives wrong fields. A record that would have been one is
 * told so in its dead letter, so its producer knows what to change.
 */
public final class AvroPromptDecoder {

    private static final SingleObjectCodec<PromptEvent> CODEC = SingleObjectCodec.of(PromptEvent.class);

    private AvroPromptDecoder() {
    }

    public static PromptEvent decode(byte[] bytes) throws PromptDecodeException {
        try {
            return CODEC.decode(bytes);
        } catch (IOException e) {
            String hint = !SingleObjectCodec.isFramed(bytes) && isPlainPromptEvent(bytes)
                    ? "; these bytes are a plain Avro binary PromptEvent: publish it in single-object encoding "
                    + "(see docs/streaming.md, wire format)" : "";
            throw new PromptDecodeException(notAPromptEvent(e.getMessage() + hint), null);
        }
    }

    /** True when the bytes carry the single-object header: they are meant as an Avro PromptEvent, never as JSON. */
    public static boolean isFramed(byte[] bytes) {
        return SingleObjectCodec.isFramed(bytes);
    }

    /**
     * Exactly one PromptEvent of some released version in plain Avro binary (structure only): only for the hint.
     * Every version is tried, since a producer may write any of them.
     */
    private static boolean isPlainPromptEvent(byte[] bytes) {
        for (SchemaHistory.Version v : CODEC.history().versions()) {
            try {
                BinaryDecoder probe = DecoderFactory.get().binaryDecoder(bytes, null);
                GenericDatumReader.skip(v.schema(), probe);
                if (probe.isEnd()) {
                    return true;
                }
            } catch (IOException | RuntimeException e) {
                // not this version
            }
        }
        return false;
    }

    private static String notAPromptEvent(String detail) {
        return "undecodable bytes: not a JSON object and not an Avro PromptEvent (" + detail + ")";
    }
}
