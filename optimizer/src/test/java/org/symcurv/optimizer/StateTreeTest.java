package org.symcurv.optimizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Optimizer states round-trip bit for bit (float, double and other array types, nested trees); version 1 is still read. */
class StateTreeTest {
    private static StateTree sample() {
        Nd4j.getRandom().setSeed(5);
        StateTree inner = StateTree.builder().put("v", Nd4j.randn(DataType.DOUBLE, 4, 3)).put("count", 7L).build();
        return StateTree.builder().put("m", Nd4j.randn(DataType.FLOAT, 10)).put("ints", Nd4j.createFromArray(1L, 2L, 3L))
                .put("rate", 0.125).put("inner", inner).build();
    }

    private static StateTree back(byte[] bytes) throws IOException {
        return StateTree.read(new DataInputStream(new ByteArrayInputStream(bytes)));
    }

    @Test
    void roundTripsBitForBit() throws IOException {
        StateTree tree = sample();
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        tree.write(new DataOutputStream(b));
        assertEquals(tree, back(b.toByteArray()));
    }

    @Test
    void versionOneIsReadAndOthersRefused() throws IOException {
        // version 1 as the previous build wrote it: every array in ND4J's binary form
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(b);
        out.writeInt(0x53435354);
        out.writeInt(1);
        out.writeInt(1);
        out.writeUTF("m");
        Nd4j.write(Nd4j.createFromArray(1f, 2f, 3f), out);
        out.writeInt(1);
        out.writeUTF("count");
        out.writeLong(3);
        out.writeInt(0);
        out.writeInt(0);
        out.flush();
        StateTree v1 = back(b.toByteArray());
        assertEquals(StateTree.builder().put("m", Nd4j.createFromArray(1f, 2f, 3f)).put("count", 3L).build(), v1);
        byte[] v9 = b.toByteArray();
        v9[7] = 9;
        IOException e = assertThrows(IOException.class, () -> back(v9));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
    }
}
