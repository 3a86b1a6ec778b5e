package org.symcurv.apps.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.operator.SymmetricEigen;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.SymmetryPreconditioner;
import org.symcurv.optimizer.Update;

/**
 * Where a symmetry step's time goes, for {@code symcurv bench optimizer --profile}: medians of repeated calls of the
 * whole step and of its parts (forward/backward, the orbit average, the copy matrix and scatter of the largest kind,
 * the Gram product, one eigendecomposition of the largest block, a dense product of that size), next to Adam's update.
 */
final class OptimizerProfile {
    private OptimizerProfile() {
    }

    private interface Body {
        void run();
    }

    private static double median(int repetitions, Body body) {
        body.run();
        double[] t = new double[repetitions];
        for (int i = 0; i < repetitions; i++) {
            long s = System.nanoTime();
            body.run();
            t[i] = (System.nanoTime() - s) / 1e6;
        }
        return OptimizerBenchRun.median(t);
    }

    private static OptimizerSettings symmetry(LearningRateSchedule lr, int refresh) {
        return OptimizerSettings.defaults(Recipe.SYMMETRY).withSchedule(lr)
                .with(SymmetryPreconditioner.Settings.class, x -> x.withOptions(x.options().withRefreshInterval(refresh)));
    }

    static void run(PrintWriter out, OptimizerBenchTask problem, long seed, int repetitions) {
        MultiLayerNetwork net = problem.network().apply(seed);
        int[] order = org.symcurv.optimizer.train.Trainer.epochOrder(problem.data().size(), seed, 0);
        DataSet batch = problem.data().batch(java.util.Arrays.copyOf(order, problem.batch()));
        INDArray w = ParameterLayout.ofAnyLayers(net).read(net);
        INDArray g = Gradients.meanGradient(net, batch);
        LearningRateSchedule lr = LearningRateSchedule.constant(1e-3);
        Optimizer adam = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(lr).build(net);
        Optimizer.State adamState = adam.init(w);
        Optimizer plain = symmetry(lr, Integer.MAX_VALUE).build(net);
        Optimizer.State started = plain.update(g, plain.init(w), w).state();
        Optimizer refreshing = symmetry(lr, 1).build(net);
        SymmetryPreconditioner symmetry = plain.link(SymmetryPreconditioner.class).orElseThrow();
        KindDecomposition kinds = symmetry.decomposition();
        int largest = 0;
        for (int k = 0; k < kinds.kinds().size(); k++) {
            if (!kinds.isInvariant(k) && kinds.copies(k) > kinds.copies(largest) || kinds.isInvariant(largest)) {
                largest = k;
            }
        }
        int k = largest;
        int copies = kinds.copies(k);
        INDArray z = kinds.copyMatrix(k, g);
        // a block conditioned like the damped weight moment: S_w + 1e-2·s_max·I (condition number about 100)
        INDArray zw = kinds.copyMatrix(k, w.sub(OrbitAverage.firstOrder(kinds, w)));
        INDArray sw = Nd4j.matmul(zw, zw, true, false, false).reshape(copies, copies).divi(kinds.dimension(k));
        INDArray block = sw.add(Nd4j.eye(copies).castTo(sw.dataType()).muli(1e-2 * SymmetricEigen.of(sw).max()));
        INDArray row = Nd4j.zeros(g.dataType(), 1, g.length());

        List<String[]> rows = new ArrayList<>();
        rows.add(row("forward + backward (Gradients.meanLossAndGradient)", median(repetitions, () -> Gradients.meanLossAndGradient(net, batch))));
        rows.add(row("Adam update (our Optimizer)", median(repetitions, () -> adam.update(g, adamState, w))));
        double plainMillis = median(repetitions, () -> plain.update(g, started, w));
        rows.add(row("symmetry update, no refresh", plainMillis));
        double refreshMillis = median(Math.max(3, repetitions / 5), () -> refreshing.update(g, started, w));
        rows.add(row("symmetry update with refresh (H⁻¹ recomputed)", refreshMillis));
        rows.add(row("  of which the refresh", refreshMillis - plainMillis));
        rows.add(row("  orbit average R1(g) (OrbitAverage.firstOrder)", median(repetitions, () -> OrbitAverage.firstOrder(kinds, g))));
        rows.add(row("  copy matrix Z of " + kinds.describe(k) + " [" + kinds.representationSize(k) + "×" + copies + "]",
                median(repetitions, () -> kinds.copyMatrix(k, g))));
        rows.add(row("  Gram ZᵀZ of that kind", median(repetitions, () -> Nd4j.matmul(z, z, true, false, false))));
        rows.add(row("  apply Z·B (B " + copies + "×" + copies + ")", median(repetitions, () -> Nd4j.matmul(z,
                block.reshape(1, copies, copies)))));
        rows.add(row("  scatter back (scatterAddRows)", median(repetitions, () -> kinds.scatterAddRows(k, z, row))));
        rows.add(row("  one eigendecomposition " + copies + "×" + copies + " (" + SymmetricEigen.backend(block.dataType()) + ")",
                median(Math.max(3, repetitions / 5), () -> SymmetricEigen.of(block))));
        rows.add(row("  one dense product " + copies + "³", median(Math.max(3, repetitions / 5), () -> block.mmul(block))));
        int iterations = 10;
        double[] residual = new double[1];
        rows.add(row("  eigen-free: coupled Newton–Schulz A^{-1/2}, " + iterations + " iterations (" + 3 * iterations + " products)",
                median(3, () -> residual[0] = coupledNewtonSchulz(block, iterations))));
        rows.add(new String[] {"    its residual ‖X A X − I‖_F/√m after " + iterations + " iterations (the eigen route: round-off)",
                String.format(Locale.ROOT, "%.1e", residual[0])});
        rows.add(row("  one P-sized vector op (θ·0.9 + g·0.1)", median(repetitions, () -> w.mul(0.9).addi(g.mul(0.1)))));

        out.printf(Locale.ROOT, "## Profile of one step (%s, batch %d, medians of %d calls, load %.1f)%n%n", problem.name(), problem.batch(),
                repetitions, OptimizerBenchmark.load());
        out.printf("symmetry: %s%n%n", plain.describe());
        out.println("| part | ms |");
        out.println("|---|---|");
        for (String[] r : rows) {
            out.printf("| %s | %s |%n", r[0], r[1]);
        }
        out.flush();
    }

    /**
     * The coupled Newton–Schulz iteration for the inverse square root (Higham, Functions of Matrices, 6.3):
     * {@code Y_0 = A/c, Z_0 = I, T = (3I − Z_k Y_k)/2, Y_{k+1} = Y_k T, Z_{k+1} = T Z_k}, {@code Z_k → (A/c)^{-1/2}} for
     * {@code c ≥ ‖A‖}; three products per iteration. Returns the residual {@code ‖Z A Z / c − I‖_F / √m}.
     */
    static double coupledNewtonSchulz(INDArray a, int iterations) {
        long m = a.rows();
        double c = a.norm2Number().doubleValue();
        INDArray eye = Nd4j.eye(m).castTo(a.dataType());
        INDArray y = a.div(c);
        INDArray z = eye.dup();
        for (int i = 0; i < iterations; i++) {
            INDArray t = eye.mul(3).subi(z.mmul(y)).muli(0.5);
            y = y.mmul(t);
            z = t.mmul(z);
        }
        return z.mmul(a.div(c)).mmul(z).subi(eye).norm2Number().doubleValue() / Math.sqrt(m);
    }

    private static String[] row(String what, double millis) {
        return new String[] {what, String.format(Locale.ROOT, "%.1f", millis)};
    }
}
