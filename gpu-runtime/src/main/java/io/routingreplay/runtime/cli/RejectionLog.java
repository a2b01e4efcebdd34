package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.cli.output.RejectedLineJson;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reports every rejected input line on stderr, and, when asked, as JSONL in a file. */
final class RejectionLog implements Closeable {
    private final PrintStream err;
    private final BufferedWriter file;
    private int count;

    /** @param file where rejected lines go as JSONL, or null for stderr only */
    RejectionLog(PrintStream err, Path file) throws IOException {
        this.err = err;
        this.file = file == null ? null : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    }

    void reject(long line, String rid, String reason) {
        count++;
        err.println("line " + line + (rid != null ? " (rid '" + rid + "')" : "") + ": rejected: " + reason);
        if (file != null) {
            try {
                file.write(RejectedLineJson.toLine(line, rid, reason));
                file.write('\n');
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write the rejected-lines file: " + e.getMessage(), e);
            }
        }
    }

    int count() {
        return count;
    }

    @Override
    public void close() throws IOException {
        if (file != null) {
            file.close();
        }
    }
}
