package io.routingreplay.runtime.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Qwen3 tokenizer against the 12 encodings and decodings Hugging Face {@code tokenizers} produced. */
class TextTokenizerTest {
    private static final Path QWEN = RepoFixtures.dir("qwen3-moe-tiny");
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = TextTokenizer.load(QWEN).orElseThrow();
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @TestFactory
    Stream<DynamicTest> matchesReferenceEncodingAndDecoding() throws IOException {
        JsonNode cases = new ObjectMapper().readTree(QWEN.resolve("tokenizer-reference.json").toFile()).get("cases");
        assertEquals(12, cases.size());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : cases) {
            String text = c.get("text").asText();
            int[] ids = toInts(c.get("ids"));
            String decoded = c.get("decoded").asText();
            String name = text.length() > 30 ? text.substring(0, 30) + "…" : text;
            tests.add(DynamicTest.dynamicTest(name, () -> {
                assertArrayEquals(ids, tokenizer.encode(text), "encode");
                assertEquals(decoded, tokenizer.decode(ids), "decode");
            }));
        }
        return tests.stream();
    }

    @Test
    void longTextIsNeverTruncated() {
        String text = "routing replay ".repeat(3000);
        int[] ids = tokenizer.encode(text);
        assertTrue(ids.length >= 6000, "got only " + ids.length + " ids");
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void folderWithoutTokenizerIsEmpty(@TempDir Path dir) {
        assertTrue(TextTokenizer.load(dir).isEmpty());
    }

    @Test
    void brokenTokenizerFileFailsNamingTheFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), "{not json", StandardCharsets.UTF_8);
        TokenizerLoadException e = assertThrows(TokenizerLoadException.class, () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains(dir.resolve("tokenizer.json").toString()), e.getMessage());
    }

    @Test
    void notGzipFailsNamingTheFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json.gz"), "{}", StandardCharsets.UTF_8);
        TokenizerLoadException e = assertThrows(TokenizerLoadException.class, () -> TextTokenizer.load(dir));
        assertTrue(e.getMessage().contains("tokenizer.json.gz"), e.getMessage());
    }

    private static int[] toInts(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
