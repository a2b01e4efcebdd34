package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.cli.output.NpyFileNames;
import io.routingreplay.runtime.cli.output.NpyWriter;
import io.routingreplay.runtime.cli.output.ResultJson;
import io.routingreplay.runtime.engine.GenerationResult;
import io.routingreplay.runtime.tokenizer.TextTokenizer;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where finished results go, in generate's format: one JSON line each and, with an npy folder, the routing ids as
 * {@code <rid>.npy} (none for a result with routing null). Shared by {@code generate} and {@code multi-turn}.
 */
final class ResultSink implements Closeable {
    private final TextTokenizer tokenizer;
    private final BufferedWriter out;
    private final Path npyDir;

    /**
     * @param tokenizer null: output_text is null
     * @param output    null: no JSON lines (only .npy files, when {@code npyDir} is given)
     * @param npyDir    null: no .npy files
     */
    ResultSink(TextTokenizer tokenizer, Path output, Path npyDir) throws IOException {
        this.tokenizer = tokenizer;
        this.npyDir = npyDir;
        this.out = output == null ? null : Files.newBufferedWriter(output, StandardCharsets.UTF_8);
    }

    void write(GenerationResult r) throws IOException {
        if (out != null) {
            String text = tokenizer == null ? null : tokenizer.decode(r.outputTokenIds());
            out.write(ResultJson.toLine(r, text));
            out.write('\n');
        }
        if (npyDir != null && r.routing() != null) { // return_routing false: no file (the JSON line says null)
            NpyWriter.write(npyDir.resolve(NpyFileNames.forRecord(r.rid(), r.routing().firstPosition())),
                    r.routing());
        }
    }

    void flush() throws IOException {
        if (out != null) {
            out.flush();
        }
    }

    @Override
    public void close() throws IOException {
        if (out != null) {
            out.close();
        }
    }
}
