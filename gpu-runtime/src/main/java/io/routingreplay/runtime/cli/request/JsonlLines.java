package io.routingreplay.runtime.cli.request;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Reads a JSONL stream one line at a time, decoding each line as strict UTF-8 on its own, so one line with bad
 * bytes is reported as that line instead of failing (or silently altering) the whole file. Accepts "\n" and
 * "\r\n" endings and a UTF-8 byte-order mark on the first line.
 */
public final class JsonlLines implements Closeable {
    private final InputStream in;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private final ByteArrayOutputStream buf = new ByteArrayOutputStream(4096);
    private long lineNumber;
    private boolean eof;

    /** One line: its 1-based number, and its text, or null with {@code error} when it is not UTF-8. */
    public record Line(long number, String text, String error) {
    }

    public JsonlLines(InputStream in) {
        this.in = new BufferedInputStream(in, 1 << 16);
    }

    /** The next line, or null at the end of the stream. */
    public Line next() throws IOException {
        if (eof) {
            return null;
        }
        buf.reset();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            buf.write(b);
        }
        if (b == -1) {
            eof = true;
            if (buf.size() == 0) {
                return null;
            }
        }
        lineNumber++;
        byte[] bytes = buf.toByteArray();
        int len = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        int start = lineNumber == 1 && len >= 3 && (bytes[0] & 0xff) == 0xEF && (bytes[1] & 0xff) == 0xBB
                && (bytes[2] & 0xff) == 0xBF ? 3 : 0;
        try {
            return new Line(lineNumber, utf8.decode(ByteBuffer.wrap(bytes, start, len - start)).toString(), null);
        } catch (CharacterCodingException e) {
            return new Line(lineNumber, null, "not valid UTF-8 text");
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
