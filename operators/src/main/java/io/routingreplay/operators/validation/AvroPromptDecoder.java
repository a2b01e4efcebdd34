package io.routingreplay.operators.validation;

import io.routingreplay.schemas.PromptEvent;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificDatumReader;

import java.io.IOException;

/**
 * Reads a {@code PromptEvent} in Avro binary encoding (no container header, as the producers write it).
 *
 * <p>Bytes that are not a PromptEvent are refused without allocating what their length prefixes claim: a first
 * pass only skips through the record (strings and arrays are skipped, never allocated, and running past the end
 * fails), so a garbage length of two billion cannot exhaust the heap of the task manager.
 */
public final class AvroPromptDecoder {

    private static final DecoderFactory DECODERS = DecoderFactory.get();

    private AvroPromptDecoder() {
    }

    public static PromptEvent decode(byte[] bytes) throws PromptDecodeException {
        try {
            BinaryDecoder probe = DECODERS.binaryDecoder(bytes, null);
            GenericDatumReader.skip(PromptEvent.getClassSchema(), probe);
            if (!probe.isEnd()) {
                throw new PromptDecodeException(notAPromptEvent("bytes left over after the record"), null);
            }
            return new SpecificDatumReader<>(PromptEvent.class).read(null, DECODERS.binaryDecoder(bytes, null));
        } catch (IOException | AvroRuntimeException | IllegalArgumentException | IndexOutOfBoundsException e) {
            throw new PromptDecodeException(notAPromptEvent(e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : ": " + e.getMessage())), null);
        }
    }

    /** True when the bytes are exactly one PromptEvent (structure only; values are not checked). */
    public static boolean isPromptEvent(byte[] bytes) {
        try {
            BinaryDecoder probe = DECODERS.binaryDecoder(bytes, null);
            GenericDatumReader.skip(PromptEvent.getClassSchema(), probe);
            return probe.isEnd();
        } catch (IOException | AvroRuntimeException | IllegalArgumentException | IndexOutOfBoundsException e) {
            return false;
        }
    }

    private static String notAPromptEvent(String detail) {
        return "undecodable bytes: not a JSON object and not an Avro PromptEvent (" + detail + ")";
    }
}
