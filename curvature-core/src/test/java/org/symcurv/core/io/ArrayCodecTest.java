package org.symcurv.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Arrays come back bit for bit (type, shape, values, whatever the source's order); bad bytes are refused. */
class ArrayCodecTest {
    private static byte[] bytes(INDArray a) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(b)) {
            ArrayCodec.write(out, a);
        }
        return b.toByteArray();
    }

    private static INDArray back(byte[] b) throws IOException {
        return ArrayCodec.read(new DataInputStream(new ByteArrayInputStream(b)));
    }

    @Test
    void roundTripsFloatAndDoubleOfAnyShapeAndOrder() throws IOException {
        Nd4j.getRandom().setSeed(3);
        INDArray[] arrays = {Nd4j.randn(DataType.DOUBLE, 3, 5, 7), Nd4j.randn(DataType.FLOAT, 70_001), Nd4j.randn(DataType.DOUBLE, 4, 6).dup('f'),
                Nd4j.randn(DataType.FLOAT, 5, 4).transpose(), Nd4j.scalar(2.5), Nd4j.create(DataType.FLOAT, 0)};
        for (INDArray a : arrays) {
            INDArray b = back(bytes(a));
            assertEquals(a.dataType(), b.dataType());
            assertArrayEquals(a.shape(), b.shape());
            if (a.length() > 0) {
                assertArrayEquals(Nd4j.toFlattened('c', a).toDoubleVector(), Nd4j.toFlattened('c', b).toDoubleVector(), 0.0,
                        Arrays.toString(a.shape()));
            }
        }
        INDArray withSpecials = Nd4j.createFromArray(Double.NaN, Double.NEGATIVE_INFINITY, -0.0, Double.MIN_VALUE);
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(back(bytes(withSpecials)).getDouble(2)));
        assertTrue(Double.isNaN(back(bytes(withSpecials)).getDouble(0)));
    }

    @Test
    void refusesOtherTypesAndBadBytes() throws IOException {
        assertThrows(IllegalArgumentException.class, () -> bytes(Nd4j.createFromArray(1, 2, 3)));
        byte[] b = bytes(Nd4j.randn(DataType.FLOAT, 10));
        byte[] badType = b.clone();
        badType[0] = 7;
        IOException e = assertThrows(IOException.class, () -> back(badType));
        assertTrue(e.getMessage().contains("type code 7"), e.getMessage());
        assertThrows(EOFException.class, () -> back(Arrays.copyOf(b, b.length - 1)));
        byte[] negative = b.clone();
        negative[5] = (byte) 0xFF; // the first dimension's high byte: negative
        assertThrows(IOException.class, () -> back(negative));
    }
}
