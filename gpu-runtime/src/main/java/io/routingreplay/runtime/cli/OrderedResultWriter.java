package io.routingreplay.runtime.cli;

import io.routingreplay.runtime.engine.GenerationRequest;
import io.routingreplay.runtime.engine.ResultBuilder;
import io.routingreplay.runtime.engine.StepEvent;
import io.routingreplay.runtime.routing.RoutingLayout;
import io.routingreplay.runtime.tokenizer.TextTokenizer;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Collects engine events per request and writes finished results in input order: a result is written as soon as
 * every request before it is written, so finished work reaches the file during a long run and memory holds only
 * the requests still waiting for an earlier one.
 */
final class OrderedResultWriter implements Closeable {
    private final RoutingLayout layout;
    private final ResultSink out;
    private final List<ResultBuilder> inOrder = new ArrayList<>();
    private final Map<String, ResultBuilder> byRid = new HashMap<>();
    private int nextToWrite;
    private int finished;

    /**
     * @param tokenizer null: output_text is null
     * @param npyDir    null: no .npy files
     */
    OrderedResultWriter(RoutingLayout layout, TextTokenizer tokenizer, Path output, Path npyDir) throws IOException {
        this.layout = layout;
        this.out = new ResultSink(tokenizer, output, npyDir);
    }

    /** Registers an admitted request; results are written in the order of these calls. */
    void expect(GenerationRequest request) {
        ResultBuilder b = new ResultBuilder(request, layout);
        inOrder.add(b);
        byRid.put(request.rid(), b);
    }

    void accept(StepEvent e) throws IOException {
        ResultBuilder b = byRid.get(e.rid());
        if (b == null) {
            throw new IllegalStateException("engine event for unknown rid '" + e.rid() + "'");
        }
        b.accept(e);
        if (e.isFinal()) {
            finished++;
            byRid.remove(e.rid());
            writeReady();
        }
    }

    private void writeReady() throws IOException {
        while (nextToWrite < inOrder.size() && inOrder.get(nextToWrite).isComplete()) {
            out.write(inOrder.get(nextToWrite).build());
            inOrder.set(nextToWrite, null);
            nextToWrite++;
        }
        out.flush();
    }

    /** Waits until every result handed to the sink is written (the run's wall time includes writing them). */
    void drain() throws IOException {
        out.drain();
    }

    int numExpected() {
        return inOrder.size();
    }

    int numFinished() {
        return finished;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
