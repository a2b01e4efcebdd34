package io.routingreplay.schemas.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.routingreplay.schemas.DeadLetter;
import io.routingreplay.schemas.PromptEvent;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

class SingleObjectCodecTest {

    private static final SingleObjectCodec<PromptEvent> CODEC = SingleObjectCodec.of(PromptEvent.class);

    private static PromptEvent event() {
        return PromptEvent.newBuilder().setRid("x").setPrompt("hello").setMetadata(Map.of("k", "v")).build();
    }

    @Test
    void recordsRoundTripBehindTheHeaderAndTheCurrentFingerprint() throws Exception {
        byte[] bytes = CODEC.encode(event());
        assertEquals((byte) 0xC3, bytes[0]);
        assertEquals(0x01, bytes[1]);
        assertEquals(SchemaNormalization.parsingFingerprint64(PromptEvent.getClassSchema()),
                ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        // the body is plain Avro binary: what a reader in another language decodes after skipping 10 bytes
        assertArrayEquals(AvroCodec.of(PromptEvent.class).encode(event()),
                Arrays.copyOfRange(bytes, SingleObjectCodec.HEADER_BYTES, bytes.length));
        assertEquals(event(), CODEC.decode(bytes));
    }

    @Test
    void plainAvroWithoutTheHeaderIsRefusedSayingWhatWasExpected() {
        IOException e = assertThrows(IOException.class,
                () -> CODEC.decode(AvroCodec.of(PromptEvent.class).encode(event())));
        assertTrue(e.getMessage().startsWith("not an Avro single-object PromptEvent: expected the header C3 01 and "
                + "an 8-byte schema fingerprint, got 02 78"), e.getMessage());
    }

    @Test
    void anUnknownFingerprintIsRefusedNamingTheReleasedOnes() {
        byte[] bytes = CODEC.encode(event());
        bytes[5] ^= 0x55;
        IOException e = assertThrows(IOException.class, () -> CODEC.decode(bytes));
        assertTrue(e.getMessage().startsWith("unknown schema fingerprint "), e.getMessage());
        assertTrue(e.getMessage().contains("not a released PromptEvent schema (released: v1 "), e.getMessage());
    }

    @Test
    void anotherRecordsFingerprintIsUnknownToo() {
        byte[] deadLetter = SingleObjectCodec.of(DeadLetter.class).encode(DeadLetter.newBuilder().setReason("r")
                .build());
        IOException e = assertThrows(IOException.class, () -> CODEC.decode(deadLetter));
        assertTrue(e.getMessage().startsWith("unknown schema fingerprint"), e.getMessage());
    }

    @Test
    void truncatedAndOverlongRecordsAreRefused() {
        byte[] good = CODEC.encode(event());
        IOException cut = assertThrows(IOException.class, () -> CODEC.decode(Arrays.copyOf(good, good.length - 2)));
        assertTrue(cut.getMessage().startsWith("not a PromptEvent v4 record after its header"), cut.getMessage());
        IOException longer = assertThrows(IOException.class,
                () -> CODEC.decode(Arrays.copyOf(good, good.length + 3)));
        assertEquals("bytes left over after the PromptEvent v4 record", longer.getMessage());
        assertThrows(IOException.class, () -> CODEC.decode(Arrays.copyOf(good, SingleObjectCodec.HEADER_BYTES)));
        assertThrows(IOException.class, () -> CODEC.decode(new byte[0]));
        assertThrows(IOException.class, () -> CODEC.decode(null));
    }

    @Test
    void aGarbageLengthPrefixIsRefusedWithoutAllocatingIt() {
        // header of v4, rid "a", then prompt = union branch 1 (string) claiming ~1 billion bytes, then nothing
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(Arrays.copyOf(CODEC.encode(event()), SingleObjectCodec.HEADER_BYTES));
        b.writeBytes(new byte[] {0x02, 'a', 0x02, (byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x07});
        IOException e = assertThrows(IOException.class, () -> CODEC.decode(b.toByteArray()));
        assertTrue(e.getMessage().startsWith("not a PromptEvent v4 record after its header"), e.getMessage());
    }

    @Test
    void theHistoryOfTheCodecIsTheCommittedOne() {
        assertEquals(List.of(1, 2, 3, 4), CODEC.history().versions().stream().map(SchemaHistory.Version::number).toList());
    }
}
