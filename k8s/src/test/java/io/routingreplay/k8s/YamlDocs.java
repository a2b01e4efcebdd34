package io.routingreplay.k8s;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads YAML files that may hold several documents ("---") into JSON trees. */
final class YamlDocs {

    static final ObjectMapper YAML = new YAMLMapper();

    static List<ObjectNode> read(Path file) {
        try (JsonParser parser = new YAMLFactory().createParser(file.toFile());
             MappingIterator<JsonNode> docs = YAML.readValues(parser, JsonNode.class)) {
            List<ObjectNode> out = new ArrayList<>();
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc == null || doc.isNull() || doc.isMissingNode()) {
                    continue; // an empty document, e.g. a trailing "---"
                }
                if (!doc.isObject()) {
                    throw new IllegalArgumentException(file + ": a document is not a mapping: " + doc);
                }
                out.add((ObjectNode) doc);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(file + " is not valid YAML", e);
        }
    }

    static ObjectNode readOne(Path file) {
        List<ObjectNode> docs = read(file);
        if (docs.size() != 1) {
            throw new IllegalArgumentException(file + " should hold one document, holds " + docs.size());
        }
        return docs.get(0);
    }

    private YamlDocs() {
    }
}
