package io.routingreplay.operators.recordsize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.operators.validation.DeadLetters;
import io.routingreplay.operators.validation.RawPrompt;
import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.codec.SingleObjectCodec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Dead letters as validation makes them, at a record limit below what they keep of the record they answer. */
class DeadLetterFitterTest {

    static final int LIMIT = 20_000;
    final DeadLetterFitter fitter = new DeadLetterFitter(LIMIT);
    final SingleObjectCodec<DeadLetter> codec = SingleObjectCodec.of(DeadLetter.class);

    @Test
    void aDeadLetterThatFitsIsUnchanged() {
        DeadLetter d = deadLetter("r-1", 1000);
        assertSame(d, fitter.map(d));
    }

    @Test
    void rawBytesAreCutToTheLongestPrefixThatFitsAndTheReasonSaysSo() {
        DeadLetter d = deadLetter("r-2", 64 * 1024);
        byte[] raw = bytes(d.getRaw());
        DeadLetter fitted = fitter.map(d);
        byte[] kept = bytes(fitted.getRaw());
        assertTrue(recordBytes(fitted) <= LIMIT, "fits: " + recordBytes(fitted));
        assertArrayEquals(Arrays.copyOf(raw, kept.length), kept, "a prefix of the record");
        DeadLetter oneMore = DeadLetter.newBuilder(fitted).setRaw(ByteBuffer.wrap(Arrays.copyOf(raw, kept.length + 1)))
                .build();
        assertTrue(recordBytes(oneMore) > LIMIT, "the longest prefix: one more byte would not fit");
        assertEquals(d.getReason() + " [raw record cut to its first " + kept.length + " of 65536 bytes so the dead "
                + "letter fits kafka.max-record-bytes = 20000]", fitted.getReason());
        assertEquals("r-2", fitted.getRid());
        assertEquals(d.getSourceOffset(), fitted.getSourceOffset());
    }

    @Test
    void aRidTooLongForTheRecordIsCutAndTheRawBytesDropped() {
        String rid = "x".repeat(30_000);
        DeadLetter d = deadLetter(rid, 1000);
        DeadLetter fitted = fitter.map(d);
        assertTrue(recordBytes(fitted) <= LIMIT, "fits: " + recordBytes(fitted));
        assertNull(fitted.getRaw());
        assertEquals("x".repeat(LIMIT / 32), fitted.getRid());
        assertTrue(fitted.getReason().startsWith("a reason"), fitted.getReason());
        assertTrue(fitted.getReason().endsWith("… [raw record dropped, rid cut to its first 625 characters so the "
                + "dead letter fits kafka.max-record-bytes = 20000]"), fitted.getReason());
    }

    private DeadLetter deadLetter(String rid, int rawBytes) {
        byte[] raw = new byte[rawBytes];
        new Random(rawBytes).nextBytes(raw);
        return DeadLetters.of(new RawPrompt(raw, "prompts", 0, 42L), rid, "a reason naming rid '" + rid + "'",
                DeadLetters.STAGE_DECODE, 1 << 20, 7L);
    }

    private long recordBytes(DeadLetter d) {
        return KafkaRecordFraming.recordBytes(d.getRid().toString().getBytes(StandardCharsets.UTF_8).length,
                codec.encode(d).length);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
