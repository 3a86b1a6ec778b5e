package org.symcurv.apps.stream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The two encodings of a {@link StreamRecord}, both versioned (this build reads and writes version
 * {@value StreamRecord#VERSION}), and the checks that make a record learnable. The format is documented in the
 * README ("Record format").
 *
 * <p><b>JSON</b> (UTF-8, one object per Kafka record value):
 * <pre>
 * {"v":1,"type":"example","model":"fmnist","task":"task-0","id":17,"split":"train","label":3,"features":[0.0,0.5,…]}
 * {"v":1,"type":"end-task","model":"fmnist","task":"task-0","examples":6000}
 * {"v":1,"type":"predict","model":"fmnist","request":"r-17","features":[0.0,0.5,…]}
 * </pre>
 * {@code split} is {@code train} (the default) or {@code holdout}; {@code examples} is optional.
 *
 * <p><b>Binary</b> (big-endian): magic {@code 0x53 0x43} ("SC"), version byte, type byte (1 example, 2 end-task),
 * model and task as an unsigned 16-bit byte count and UTF-8; then for an example {@code int64 id},
 * {@code uint8 split} (0 train, 1 holdout), {@code int32 label}, {@code int32 n} and {@code n} IEEE-754
 * {@code float32} features; for an end-task {@code int64 examples}. A predict record (type 3) has the request id where
 * the others have the task id, then {@code int32 n} and the {@code n} features. A value is binary when it starts with the
 * magic, JSON otherwise.
 */
public final class RecordCodec {
    static final byte MAGIC_0 = 0x53;
    static final byte MAGIC_1 = 0x43;
    static final byte TYPE_EXAMPLE = 1;
    static final byte TYPE_END_TASK = 2;
    static final byte TYPE_PREDICT = 3;
    private static final int MAX_ID_BYTES = 256;

    private static final JsonFactory JSON = JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

    private final int featureCount;
    private final int numClasses;

    /**
     * @param featureCount the number of features every example must have (784 for Fashion-MNIST)
     * @param numClasses   labels must lie in {@code [0, numClasses)}
     */
    public RecordCodec(int featureCount, int numClasses) {
        if (featureCount < 1 || numClasses < 2) {
            throw new IllegalArgumentException("a stream needs at least 1 feature and 2 classes, got " + featureCount + " and " + numClasses);
        }
        this.featureCount = featureCount;
        this.numClasses = numClasses;
    }

    public int featureCount() {
        return featureCount;
    }

    public int numClasses() {
        return numClasses;
    }

    /**
     * Decodes and checks one record value.
     *
     * @param value the Kafka record value; not modified
     * @throws MalformedRecordException with the reason (bad JSON or binary layout, unknown version or type, wrong
     *                                  feature count, a non-finite feature, a label outside the classes, missing
     *                                  fields)
     */
    public StreamRecord decode(byte[] value) throws MalformedRecordException {
        if (value == null || value.length == 0) {
            throw new MalformedRecordException("empty record value (a tombstone or an empty message); expected a JSON or binary task record");
        }
        StreamRecord record = value.length >= 2 && value[0] == MAGIC_0 && value[1] == MAGIC_1 ? decodeBinary(value) : decodeJson(value);
        if (record instanceof StreamRecord.Example e) {
            check(e);
        } else if (record instanceof StreamRecord.Predict p) {
            if (p.model().isEmpty()) {
                throw new MalformedRecordException("empty model id in a predict record; it must be a non-empty string");
            }
            checkFeatures(p.features(), "predict request '" + p.request() + "'");
        }
        return record;
    }

    private void check(StreamRecord.Example e) throws MalformedRecordException {
        if (e.model().isEmpty() || e.task().isEmpty()) {
            throw new MalformedRecordException("empty model or task id; both must be non-empty strings");
        }
        checkFeatures(e.features(), "example " + e.id() + " of task '" + e.task() + "'");
        if (e.label() < 0 || e.label() >= numClasses) {
            throw new MalformedRecordException("label " + e.label() + " of example " + e.id() + " is outside the classes 0.." + (numClasses - 1));
        }
    }

    private void checkFeatures(float[] features, String what) throws MalformedRecordException {
        if (features.length != featureCount) {
            throw new MalformedRecordException("wrong feature count: " + what + " has " + features.length + " features, this stream expects "
                    + featureCount);
        }
        for (int i = 0; i < features.length; i++) {
            if (!Float.isFinite(features[i])) {
                throw new MalformedRecordException("non-finite feature: feature " + i + " of " + what + " is " + features[i]);
            }
        }
    }

    // ---------------------------------------------------------------- JSON

    private static StreamRecord decodeJson(byte[] value) throws MalformedRecordException {
        Integer version = null;
        String type = null;
        String model = null;
        String task = null;
        String request = null;
        Long id = null;
        String split = null;
        Integer label = null;
        float[] features = null;
        long examples = -1;
        try (JsonParser p = JSON.createParser(value)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new MalformedRecordException("bad JSON: a task record is a JSON object, got " + describe(p.currentToken()));
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                switch (field) {
                    case "v" -> version = intField(p, t, "v");
                    case "type" -> type = stringField(p, t, "type");
                    case "model" -> model = stringField(p, t, "model");
                    case "task" -> task = stringField(p, t, "task");
                    case "request" -> request = stringField(p, t, "request");
                    case "id" -> id = longField(p, t, "id");
                    case "split" -> split = stringField(p, t, "split");
                    case "label" -> label = intField(p, t, "label");
                    case "examples" -> examples = longField(p, t, "examples");
                    case "features" -> features = floatArray(p, t);
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                throw new MalformedRecordException("bad JSON: text after the record's closing brace");
            }
        } catch (JsonParseException e) {
            throw new MalformedRecordException("bad JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new MalformedRecordException("bad JSON: " + e.getMessage());
        }
        if (version == null) {
            throw new MalformedRecordException("missing version: a task record needs \"v\":" + StreamRecord.VERSION);
        }
        if (version != StreamRecord.VERSION) {
            throw new MalformedRecordException("unknown version " + version + ": this build reads version " + StreamRecord.VERSION);
        }
        if (type == null) {
            throw new MalformedRecordException("missing \"type\": expected \"example\", \"end-task\" or \"predict\"");
        }
        require(model, "model");
        if (type.equals("predict")) {
            require(request, "request");
            require(features, "features");
            return new StreamRecord.Predict(model, request, features);
        }
        require(task, "task");
        switch (type) {
            case "example" -> {
                require(id, "id");
                require(label, "label");
                require(features, "features");
                return new StreamRecord.Example(model, task, id, parseSplit(split), features, label);
            }
            case "end-task" -> {
                return new StreamRecord.EndTask(model, task, examples);
            }
            default -> throw new MalformedRecordException("unknown record type '" + type + "': expected \"example\", \"end-task\" or \"predict\"");
        }
    }

    private static StreamRecord.Split parseSplit(String split) throws MalformedRecordException {
        if (split == null || split.equals("train")) {
            return StreamRecord.Split.TRAIN;
        }
        if (split.equals("holdout")) {
            return StreamRecord.Split.HOLDOUT;
        }
        throw new MalformedRecordException("unknown split '" + split + "': expected \"train\" or \"holdout\"");
    }

    private static void require(Object value, String field) throws MalformedRecordException {
        if (value == null) {
            throw new MalformedRecordException("missing field \"" + field + "\"");
        }
    }

    private static String stringField(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        if (t != JsonToken.VALUE_STRING) {
            throw new MalformedRecordException("field \"" + field + "\" must be a string, got " + describe(t));
        }
        return p.getText();
    }

    private static long longField(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new MalformedRecordException("field \"" + field + "\" must be an integer, got " + describe(t));
        }
        try {
            return p.getLongValue();
        } catch (IOException e) {
            throw new MalformedRecordException("field \"" + field + "\" is out of range: " + p.getText());
        }
    }

    private static int intField(JsonParser p, JsonToken t, String field) throws IOException, MalformedRecordException {
        long v = longField(p, t, field);
        if (v != (int) v) {
            throw new MalformedRecordException("field \"" + field + "\" is out of range: " + v);
        }
        return (int) v;
    }

    private static float[] floatArray(JsonParser p, JsonToken t) throws IOException, MalformedRecordException {
        if (t != JsonToken.START_ARRAY) {
            throw new MalformedRecordException("field \"features\" must be an array of numbers, got " + describe(t));
        }
        float[] values = new float[1024];
        int n = 0;
        JsonToken next;
        while ((next = p.nextToken()) != JsonToken.END_ARRAY) {
            if (next != JsonToken.VALUE_NUMBER_FLOAT && next != JsonToken.VALUE_NUMBER_INT) {
                throw new MalformedRecordException("feature " + n + " is not a number: " + describe(next));
            }
            if (n == values.length) {
                values = Arrays.copyOf(values, 2 * n);
            }
            values[n++] = p.getFloatValue();
        }
        return Arrays.copyOf(values, n);
    }

    private static String describe(JsonToken t) {
        if (t == null) {
            return "nothing";
        }
        return switch (t) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "a number";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /** The record as version-1 JSON (UTF-8). */
    public static byte[] encodeJson(StreamRecord record) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(record instanceof StreamRecord.Example e ? 16 + 9 * e.features().length : 96);
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            g.writeNumberField("v", StreamRecord.VERSION);
            if (record instanceof StreamRecord.Example e) {
                g.writeStringField("type", "example");
                g.writeStringField("model", e.model());
                g.writeStringField("task", e.task());
                g.writeNumberField("id", e.id());
                g.writeStringField("split", e.split().wireName());
                g.writeNumberField("label", e.label());
                g.writeArrayFieldStart("features");
                for (float f : e.features()) {
                    g.writeNumber(f);
                }
                g.writeEndArray();
            } else if (record instanceof StreamRecord.EndTask end) {
                g.writeStringField("type", "end-task");
                g.writeStringField("model", end.model());
                g.writeStringField("task", end.task());
                if (end.examples() >= 0) {
                    g.writeNumberField("examples", end.examples());
                }
            } else if (record instanceof StreamRecord.Predict p) {
                g.writeStringField("type", "predict");
                g.writeStringField("model", p.model());
                g.writeStringField("request", p.request());
                g.writeArrayFieldStart("features");
                for (float f : p.features()) {
                    g.writeNumber(f);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    // ---------------------------------------------------------------- binary

    /** The record in the version-1 binary encoding. */
    public static byte[] encodeBinary(StreamRecord record) {
        byte[] model = record.model().getBytes(StandardCharsets.UTF_8);
        String second = record instanceof StreamRecord.Example e ? e.task()
                : record instanceof StreamRecord.EndTask end ? end.task() : ((StreamRecord.Predict) record).request();
        byte[] task = second.getBytes(StandardCharsets.UTF_8);
        if (model.length > MAX_ID_BYTES || task.length > MAX_ID_BYTES) {
            throw new IllegalArgumentException("model, task and request ids are limited to " + MAX_ID_BYTES + " UTF-8 bytes");
        }
        int size = 4 + 2 + model.length + 2 + task.length;
        if (record instanceof StreamRecord.Example e) {
            size += 8 + 1 + 4 + 4 + 4 * e.features().length;
        } else if (record instanceof StreamRecord.Predict p) {
            size += 4 + 4 * p.features().length;
        } else {
            size += 8;
        }
        ByteBuffer b = ByteBuffer.allocate(size);
        b.put(MAGIC_0).put(MAGIC_1).put((byte) StreamRecord.VERSION);
        b.put(record instanceof StreamRecord.Example ? TYPE_EXAMPLE : record instanceof StreamRecord.Predict ? TYPE_PREDICT : TYPE_END_TASK);
        b.putShort((short) model.length).put(model).putShort((short) task.length).put(task);
        if (record instanceof StreamRecord.Example e) {
            b.putLong(e.id()).put((byte) e.split().ordinal()).putInt(e.label()).putInt(e.features().length);
            b.asFloatBuffer().put(e.features());
            b.position(b.position() + 4 * e.features().length);
        } else if (record instanceof StreamRecord.Predict p) {
            b.putInt(p.features().length);
            b.asFloatBuffer().put(p.features());
            b.position(b.position() + 4 * p.features().length);
        } else {
            b.putLong(((StreamRecord.EndTask) record).examples());
        }
        return b.array();
    }

    private static StreamRecord decodeBinary(byte[] value) throws MalformedRecordException {
        ByteBuffer b = ByteBuffer.wrap(value);
        try {
            b.position(2);
            int version = b.get() & 0xFF;
            if (version != StreamRecord.VERSION) {
                throw new MalformedRecordException("unknown version " + version + " (binary): this build reads version " + StreamRecord.VERSION);
            }
            byte type = b.get();
            if (type != TYPE_EXAMPLE && type != TYPE_END_TASK && type != TYPE_PREDICT) {
                throw new MalformedRecordException("unknown record type " + type + " (binary): expected 1 (example), 2 (end-task) or 3 (predict)");
            }
            String model = utf8(b, "model");
            String task = utf8(b, type == TYPE_PREDICT ? "request" : "task");
            StreamRecord record;
            if (type == TYPE_PREDICT) {
                record = new StreamRecord.Predict(model, task, binaryFeatures(b));
            } else if (type == TYPE_EXAMPLE) {
                long id = b.getLong();
                int splitCode = b.get() & 0xFF;
                if (splitCode > 1) {
                    throw new MalformedRecordException("unknown split code " + splitCode + " (binary): expected 0 (train) or 1 (holdout)");
                }
                int label = b.getInt();
                record = new StreamRecord.Example(model, task, id, StreamRecord.Split.values()[splitCode], binaryFeatures(b), label);
            } else {
                record = new StreamRecord.EndTask(model, task, b.getLong());
            }
            if (b.hasRemaining()) {
                throw new MalformedRecordException("bad binary record: " + b.remaining() + " bytes after its end");
            }
            return record;
        } catch (BufferUnderflowException e) {
            throw new MalformedRecordException("bad binary record: truncated after " + b.position() + " of " + value.length + " bytes");
        }
    }

    /** {@code int32 n} and {@code n} float32 features, which must end the record. */
    private static float[] binaryFeatures(ByteBuffer b) throws MalformedRecordException {
        int n = b.getInt();
        if (n < 0 || (long) n * 4 != b.remaining()) {
            throw new MalformedRecordException("bad binary record: it declares " + n + " features but " + b.remaining()
                    + " bytes follow (4 per feature)");
        }
        float[] features = new float[n];
        b.asFloatBuffer().get(features);
        b.position(b.limit());
        return features;
    }

    private static String utf8(ByteBuffer b, String field) throws MalformedRecordException {
        int length = b.getShort() & 0xFFFF;
        if (length > b.remaining()) {
            throw new BufferUnderflowException();
        }
        ByteBuffer slice = b.slice();
        slice.limit(length);
        b.position(b.position() + length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw new MalformedRecordException("bad binary record: the " + field + " id is not valid UTF-8");
        }
    }
}
