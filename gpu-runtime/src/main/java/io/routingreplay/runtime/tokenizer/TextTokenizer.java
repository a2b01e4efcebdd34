package io.routingreplay.runtime.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPInputStream;

/**
 * Text ↔ token ids for one checkpoint, from its Hugging Face {@code tokenizer.json} through the Rust
 * {@code tokenizers} library (DJL binding), so encodings match what the model was trained with.
 *
 * <p>Encoding adds no special tokens (no BOS/EOS is inserted): the text is the prompt exactly, and chat markers such
 * as {@code <|im_start|>} written in the text are still recognised as their added tokens. Decoding keeps special
 * tokens, so {@code decode(encode(text))} gives the text back. Safe to share between threads (the
 * native tokenizer is read-only after loading; a test encodes from four threads at once).
 */
public final class TextTokenizer implements AutoCloseable {
    /** The file names looked for in a model folder, in order of preference. */
    public static final String PLAIN_FILE = "tokenizer.json";
    public static final String GZIP_FILE = "tokenizer.json.gz";

    private final HuggingFaceTokenizer tokenizer;

    private TextTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Loads the tokenizer of a model folder.
     *
     * @return empty when the folder has neither {@code tokenizer.json} nor {@code tokenizer.json.gz} (callers then
     *         accept only token ids)
     * @throws TokenizerLoadException when a tokenizer file is there but cannot be read or parsed
     */
    public static Optional<TextTokenizer> load(Path modelDir) {
        Path plain = modelDir.resolve(PLAIN_FILE);
        Path gzip = modelDir.resolve(GZIP_FILE);
        if (Files.isRegularFile(plain)) {
            return Optional.of(open(plain, false));
        }
        if (Files.isRegularFile(gzip)) {
            return Optional.of(open(gzip, true));
        }
        return Optional.empty();
    }

    private static TextTokenizer open(Path file, boolean gzipped) {
        // Options as the DJL factory reads them: no special tokens added, no truncation or padding, so a prompt of
        // any length encodes completely.
        Map<String, String> options = Map.of("addSpecialTokens", "false", "truncation", "false",
                "padding", "false", "modelMaxLength", String.valueOf(Integer.MAX_VALUE));
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = gzipped ? new GZIPInputStream(raw, 1 << 16) : raw) {
            return new TextTokenizer(HuggingFaceTokenizer.newInstance(in, options));
        } catch (IOException e) {
            throw new TokenizerLoadException("cannot read tokenizer " + file + ": " + e.getMessage()
                    + (gzipped ? " (is it really gzip? re-create it with `gzip -k tokenizer.json`)" : ""), e);
        } catch (RuntimeException | LinkageError e) {
            throw loadFailure(file, e);
        }
    }

    /** The JVM's words when a native library is loaded by a second classloader. */
    static final String ALREADY_LOADED = "already loaded in another classloader";

    /**
     * Says what is at fault. A native library already loaded by another classloader is no fault of the file nor
     * of the platform: a JVM binds a native library to one classloader, and on a Flink session cluster every job
     * submission or restart loads the job jar in a new classloader, so the second load of the tokenizers library
     * in that task manager fails (and then each restart does the same).
     */
    static TokenizerLoadException loadFailure(Path file, Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof UnsatisfiedLinkError && c.getMessage() != null && c.getMessage().contains(ALREADY_LOADED)) {
                return new TokenizerLoadException("cannot load tokenizer " + file + ": the native library of "
                        + "ai.djl.huggingface:tokenizers is already loaded by another classloader in this JVM ("
                        + c.getMessage() + "). The tokenizer file is fine: on a Flink session cluster each job "
                        + "submission or restart loads the job jar in a new classloader, and a native library can "
                        + "belong to one only. Put the DJL jars (ai.djl.huggingface:tokenizers, ai.djl:api) in "
                        + "Flink's lib/ instead of the job jar, or keep them in lib/ and add 'ai.djl.' to "
                        + "classloader.parent-first-patterns.additional; a per-job (application mode) cluster "
                        + "avoids it too", e);
            }
        }
        return new TokenizerLoadException("cannot load tokenizer " + file + ": " + e
                + " (it must be a Hugging Face tokenizers `tokenizer.json`; the native library of"
                + " ai.djl.huggingface:tokenizers must match this OS/CPU)", e);
    }

    /** Token ids of {@code text}, exactly as Hugging Face {@code tokenizer.encode(text, add_special_tokens=False)}. */
    public int[] encode(String text) {
        Encoding enc = tokenizer.encode(text, false, false);
        long[] ids = enc.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = Math.toIntExact(ids[i]);
        }
        return out;
    }

    /** Text of {@code ids}, special tokens kept, as Hugging Face {@code tokenizer.decode(ids)}. */
    public String decode(int[] ids) {
        long[] wide = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            wide[i] = ids[i];
        }
        return tokenizer.decode(wide, false);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
