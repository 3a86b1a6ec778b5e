package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The versioned task-record encodings: round trips, and every kind of malformed record named in the reason. */
class RecordCodecTest {
    private static final RecordCodec CODEC = new RecordCodec(4, 3);
    private static final StreamRecord.Example EXAMPLE = new StreamRecord.Example("m-1", "task-ä", 1L << 40, StreamRecord.Split.HOLDOUT,
            new float[] {0f, 0.25f, 1f, 1e-7f}, 2);
    private static final StreamRecord.EndTask END = new StreamRecord.EndTask("m-1", "task-ä", 6000);

    @Test
    void bothEncodingsRoundTripExamplesAndEndTaskRecords() throws Exception {
        for (byte[] bytes : new byte[][] {RecordCodec.encodeJson(EXAMPLE), RecordCodec.encodeBinary(EXAMPLE)}) {
            StreamRecord.Example back = assertInstanceOf(StreamRecord.Example.class, CODEC.decode(bytes));
            assertEquals(EXAMPLE.model(), back.model());
            assertEquals(EXAMPLE.task(), back.task());
            assertEquals(EXAMPLE.id(), back.id());
            assertEquals(EXAMPLE.split(), back.split());
            assertEquals(EXAMPLE.label(), back.label());
            assertArrayEquals(EXAMPLE.features(), back.features());
        }
        for (byte[] bytes : new byte[][] {RecordCodec.encodeJson(END), RecordCodec.encodeBinary(END)}) {
            assertEquals(END, CODEC.decode(bytes));
        }
    }

    @Test
    void predictRecordsRoundTripAndTheBinaryLayoutIsTheDocumentedOne() throws Exception {
        StreamRecord.Predict predict = new StreamRecord.Predict("m-1", "req-ü-7", new float[] {0.5f, 0f, 1f, -2f});
        for (byte[] bytes : new byte[][] {RecordCodec.encodeJson(predict), RecordCodec.encodeBinary(predict)}) {
            StreamRecord.Predict back = assertInstanceOf(StreamRecord.Predict.class, CODEC.decode(bytes));
            assertEquals(predict.model(), back.model());
            assertEquals(predict.request(), back.request());
            assertArrayEquals(predict.features(), back.features());
        }
        // the README's layout, written by hand: magic, version, type 3, model, request, n, float32 features
        byte[] model = "m".getBytes(StandardCharsets.UTF_8);
        byte[] request = "r1".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + 2 + model.length + 2 + request.length + 4 + 16);
        b.put((byte) 'S').put((byte) 'C').put((byte) 1).put((byte) 3).putShort((short) 1).put(model).putShort((short) 2).put(request);
        b.putInt(4).putFloat(1f).putFloat(2f).putFloat(3f).putFloat(4f);
        assertArrayEquals(b.array(), RecordCodec.encodeBinary(new StreamRecord.Predict("m", "r1", new float[] {1f, 2f, 3f, 4f})));
        String json = "{\"v\":1,\"type\":\"predict\",\"model\":\"fmnist\",\"request\":\"r-17\",\"features\":[0,0.5,1,0.25]}";
        StreamRecord.Predict read = assertInstanceOf(StreamRecord.Predict.class, CODEC.decode(json.getBytes(StandardCharsets.UTF_8)));
        assertEquals("r-17", read.request());
        assertReason("missing field \"request\"", "{\"v\":1,\"type\":\"predict\",\"model\":\"m\",\"features\":[0,0,1,1]}");
        assertReason("wrong feature count", "{\"v\":1,\"type\":\"predict\",\"model\":\"m\",\"request\":\"r\",\"features\":[0,1]}");
        assertReason("non-finite feature", RecordCodec.encodeBinary(new StreamRecord.Predict("m", "r", new float[] {0f, Float.NaN, 0f, 0f})));
    }

    @Test
    void jsonAsDocumentedInTheReadmeIsRead() throws Exception {
        String example = "{\"v\":1,\"type\":\"example\",\"model\":\"fmnist\",\"task\":\"task-0\",\"id\":17,\"label\":1,"
                + "\"features\":[0,0.5,1,0.25]}";
        StreamRecord.Example e = assertInstanceOf(StreamRecord.Example.class, CODEC.decode(example.getBytes(StandardCharsets.UTF_8)));
        assertEquals(StreamRecord.Split.TRAIN, e.split(), "split defaults to train");
        assertArrayEquals(new float[] {0f, 0.5f, 1f, 0.25f}, e.features());
        String end = "{\"v\":1,\"type\":\"end-task\",\"model\":\"fmnist\",\"task\":\"task-0\"}";
        assertEquals(new StreamRecord.EndTask("fmnist", "task-0", -1), CODEC.decode(end.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void malformedRecordsAreRejectedWithTheirReason() {
        assertReason("bad JSON", "{\"v\":1,\"type\":\"example\",");
        assertReason("bad JSON", "not json at all");
        assertReason("unknown version 2", "{\"v\":2,\"type\":\"end-task\",\"model\":\"m\",\"task\":\"t\"}");
        assertReason("missing version", "{\"type\":\"end-task\",\"model\":\"m\",\"task\":\"t\"}");
        assertReason("unknown record type 'start'", "{\"v\":1,\"type\":\"start\",\"model\":\"m\",\"task\":\"t\"}");
        assertReason("wrong feature count", "{\"v\":1,\"type\":\"example\",\"model\":\"m\",\"task\":\"t\",\"id\":1,\"label\":0,\"features\":[0,1]}");
        assertReason("non-finite feature", "{\"v\":1,\"type\":\"example\",\"model\":\"m\",\"task\":\"t\",\"id\":1,\"label\":0,\"features\":[0,NaN,1,1]}");
        assertReason("label 3", "{\"v\":1,\"type\":\"example\",\"model\":\"m\",\"task\":\"t\",\"id\":1,\"label\":3,\"features\":[0,0,1,1]}");
        assertReason("missing field \"id\"", "{\"v\":1,\"type\":\"example\",\"model\":\"m\",\"task\":\"t\",\"label\":0,\"features\":[0,0,1,1]}");
        assertReason("feature 1 is not a number", "{\"v\":1,\"type\":\"example\",\"model\":\"m\",\"task\":\"t\",\"id\":1,\"label\":0,\"features\":[0,\"x\",1,1]}");
        assertReason("empty record value", "");

        float[] withNaN = {0f, Float.NaN, 0f, 0f};
        assertReason("non-finite feature", RecordCodec.encodeBinary(new StreamRecord.Example("m", "t", 1, StreamRecord.Split.TRAIN, withNaN, 0)));
        byte[] future = RecordCodec.encodeBinary(END);
        future[2] = 9;
        assertReason("unknown version 9", future);
        byte[] full = RecordCodec.encodeBinary(EXAMPLE);
        assertReason("truncated", Arrays.copyOf(full, 12));
        assertReason("bytes follow", Arrays.copyOf(full, full.length - 2));
        byte[] five = RecordCodec.encodeBinary(new StreamRecord.Example("m", "t", 1, StreamRecord.Split.TRAIN, new float[5], 0));
        assertReason("wrong feature count", five);
        ByteBuffer badSplit = ByteBuffer.wrap(RecordCodec.encodeBinary(new StreamRecord.Example("m", "t", 1, StreamRecord.Split.TRAIN, new float[4], 0)));
        badSplit.put(4 + 2 + 1 + 2 + 1 + 8, (byte) 7);
        assertReason("unknown split code 7", badSplit.array());
    }

    private static void assertReason(String expected, String json) {
        assertReason(expected, json.getBytes(StandardCharsets.UTF_8));
    }

    private static void assertReason(String expected, byte[] value) {
        MalformedRecordException e = assertThrows(MalformedRecordException.class, () -> CODEC.decode(value));
        assertTrue(e.getMessage().contains(expected), () -> "expected a reason with '" + expected + "', got: " + e.getMessage());
    }
}
