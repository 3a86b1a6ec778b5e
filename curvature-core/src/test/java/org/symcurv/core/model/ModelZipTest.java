package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.DataMismatchException;
import org.symcurv.core.data.DataSources;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.MalformedDataException;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.testing.TinyNetworks;

/** A model zip carries its normaliser through a write and a read, and {@code prepare} applies it. */
class ModelZipTest {
    @TempDir
    Path dir;

    @Test
    void normalizerTravelsWithTheModelAndIsApplied() throws IOException {
        MultiLayerNetwork net = TinyNetworks.mlp(1).inputs(3).dense(4, Activation.TANH).softmaxCrossEntropy(2);
        INDArray x = Nd4j.create(new float[][] {{1, 10, -2}, {3, 30, -2}, {5, 20, 4}});
        LabelledData train = LabelledData.classification(x, new int[] {0, 1, 1}, 2, "t");
        NormalizerStandardize standardizer = DataSources.standardizer(train);
        Path file = dir.resolve("m.zip");
        ModelZip.write(file, net, standardizer, false);
        assertThrows(FileAlreadyExistsException.class, () -> ModelZip.write(file, net, standardizer, false));

        ModelZip.Contents read = ModelZip.read(file);
        assertEquals(PredictionTask.CLASSIFICATION, read.task());
        assertEquals(net.params(), read.network().params());
        NormalizerStandardize stored = (NormalizerStandardize) read.normalizer();
        assertEquals(standardizer.getMean(), stored.getMean());
        assertEquals(standardizer.getStd(), stored.getStd());

        INDArray prepared = read.prepare(train).features();
        for (int c = 0; c < 3; c++) {
            double mean = x.getColumn(c).meanNumber().doubleValue();
            double std = x.getColumn(c).stdNumber(false).doubleValue();
            for (int i = 0; i < 3; i++) {
                assertEquals((x.getDouble(i, c) - mean) / std, prepared.getDouble(i, c), 1e-5);
            }
        }

        Path plain = dir.resolve("plain.zip");
        ModelZip.write(plain, net, null, false);
        assertNull(ModelZip.read(plain).normalizer());
        assertEquals(train.features(), ModelZip.read(plain).prepare(train).features());
    }

    @Test
    void refusesFilesThatAreNotModelsAndDataThatDoesNotFit() throws IOException {
        Path text = Files.writeString(dir.resolve("x.zip"), "not a zip");
        String m = assertThrows(MalformedDataException.class, () -> ModelZip.read(text)).getMessage();
        assertTrue(m.contains(text.toString()) && m.contains("not a DL4J model zip"), m);

        MultiLayerNetwork regressor = TinyNetworks.mlp(2).inputs(2).dense(3, Activation.RELU).identityMeanSquaredError(1);
        Path file = dir.resolve("r.zip");
        ModelZip.write(file, regressor, null, false);
        ModelZip.Contents read = ModelZip.read(file);
        assertEquals(PredictionTask.REGRESSION, read.task());
        LabelledData three = LabelledData.regression(Nd4j.zeros(DataType.FLOAT, 4, 3), Nd4j.zeros(DataType.FLOAT, 4, 1), "d.csv");
        m = assertThrows(DataMismatchException.class, () -> read.prepare(three)).getMessage();
        assertTrue(m.contains("d.csv has 3 features") && m.contains(file + " takes 2 inputs"), m);
        LabelledData twoTargets = LabelledData.regression(Nd4j.zeros(DataType.FLOAT, 4, 2), Nd4j.zeros(DataType.FLOAT, 4, 2), "d.csv");
        m = assertThrows(DataMismatchException.class, () -> read.prepare(twoTargets)).getMessage();
        assertTrue(m.contains("2 target columns") && m.contains("1 outputs"), m);
    }
}
