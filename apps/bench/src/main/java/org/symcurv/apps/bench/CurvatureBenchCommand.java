package org.symcurv.apps.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.Json;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.symmetry.GroupType;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench curvature}: the curvature benchmark of issue 3 ("Measure"). Part {@code fidelity} measures
 * the paper's fidelity/memory trade-off on small MLPs against exact float64 curvature ({@link FidelityBench}) and
 * checks the goal "the symmetry-averaged Fisher beats the diagonal Fisher on error to the exact GGN at comparable
 * memory"; part {@code cost} times the estimators at 784-256-256-10 (or on a LeNet-style CNN, {@code --cost-arch lenet})
 * against a DL4J gradient pass and counts stored floats against K-FAC ({@link CostBench}). Each part writes {@code <part>.json} and {@code <part>.md} (its tables) into the
 * output directory as soon as it finishes, fidelity also {@code fidelity-ggn.png} and {@code fidelity-hessian.png} (each
 * file written to a temporary sibling and renamed), and prints its tables.
 */
@Command(name = "curvature",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Curvature estimates: fidelity vs memory on small MLPs (exact float64 Hessian and GGN), and cost at",
                "784-256-256-10 (or a LeNet CNN, --cost-arch lenet) relative to a DL4J forward+backward pass. Prints tables; writes fidelity.json, fidelity.md,",
                "fidelity-ggn.png, fidelity-hessian.png, cost.json and cost.md into --out-dir."})
public final class CurvatureBenchCommand implements Callable<Integer> {
    /** The parts of the benchmark. */
    enum Part { FIDELITY, COST }

    /** Comparable memory for the fidelity goal: at most this many times the diagonal's floats (one decade on the plot). */
    static final double COMPARABLE_MEMORY_FACTOR = 10.0;

    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory with the Fashion-MNIST IDX files (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-curvature",
            description = "Where the JSON, Markdown tables and PNGs go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--parts", paramLabel = "PART", split = ",", defaultValue = "fidelity,cost",
            description = "Which parts to run: fidelity, cost (default: ${DEFAULT-VALUE}).")
    List<Part> parts;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of initialisation, minibatch order, data samples and Monte Carlo labels (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--nd4j-threads", paramLabel = "N", defaultValue = "0",
            description = {"ND4J's thread count for this run; 0 keeps ND4J's default (default: ${DEFAULT-VALUE}).",
                    "The fidelity part runs many tiny ops, which lose more to thread hand-offs on a busy machine than they gain: use 1 there."})
    int nd4jThreads;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "128", description = "Training minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "3e-3", description = "Adam step size for training (default: ${DEFAULT-VALUE}).")
    double learningRate;

    // ---------------------------------------------------------------- fidelity

    @Option(names = "--side", paramLabel = "PX", defaultValue = "7",
            description = "Fidelity: images average-pooled to PX x PX inputs (default: ${DEFAULT-VALUE}, i.e. 49 inputs).")
    int side;

    @Option(names = "--hidden", paramLabel = "W-W[,W-W...]", split = ",", defaultValue = "12-12,16-16",
            description = "Fidelity: hidden widths of each architecture, e.g. 12-12 (default: ${DEFAULT-VALUE}).")
    List<String> hidden;

    @Option(names = "--activations", paramLabel = "NAME", split = ",", defaultValue = "relu,tanh",
            converter = HiddenActivation.Converter.class,
            description = "Fidelity: hidden activations, each run with every width list (default: ${DEFAULT-VALUE}).")
    List<HiddenActivation> activations;

    @Option(names = "--train-steps", paramLabel = "N", defaultValue = "300",
            description = "Fidelity: Adam steps before measuring (default: ${DEFAULT-VALUE}).")
    int trainSteps;

    @Option(names = "--eval-examples", paramLabel = "N", defaultValue = "1000",
            description = "Fidelity: examples of the evaluation sample for the exact H, G and gradient (default: ${DEFAULT-VALUE}).")
    int evalExamples;

    @Option(names = "--fisher-examples", paramLabel = "N[,N...]", split = ",", defaultValue = "1000,10000",
            description = "Fidelity: training examples of each Monte Carlo Fisher estimate, nested (default: ${DEFAULT-VALUE}).")
    List<Integer> fisherExamples;

    @Option(names = "--groups", paramLabel = "TYPE", split = ",", defaultValue = "perm,signed-perm,sign,orth",
            converter = GroupTypeConverter.class,
            description = "Fidelity: group types compared with dense and diagonal (default: ${DEFAULT-VALUE}).")
    List<GroupType> groups;

    @Option(names = "--step-dampings", paramLabel = "REL", split = ",", defaultValue = "1e-3,1e-2,1e-1,1",
            description = "Fidelity: damping of the compared steps, relative to the largest eigenvalue of G (default: ${DEFAULT-VALUE}).")
    List<Double> stepDampings;

    @Option(names = "--step-scale", paramLabel = "ALPHA", defaultValue = "1.0",
            description = "Fidelity: the loss decrease is measured at theta - ALPHA (S + lambda I)^-1 g (default: ${DEFAULT-VALUE}).")
    double stepScale;

    @Option(names = "--dense-check",
            description = "Fidelity: also compute the errors to G from dense P x P matrices and check idempotence of the projection (slow).")
    boolean denseCheck;

    // ---------------------------------------------------------------- cost

    @Option(names = "--cost-arch", paramLabel = "ARCH", defaultValue = "mlp",
            description = {"Cost: the benchmarked network, mlp or lenet (a LeNet-style CNN as train --arch lenet builds it: --cost-conv",
                    "stages of 5x5 convolutions with 2x2 max pooling, then the dense --cost-hidden layers) (default: ${DEFAULT-VALUE})."})
    String costArch;

    @Option(names = "--cost-conv", paramLabel = "C-C", defaultValue = "6-16",
            description = {"Cost, lenet: output channels of each convolution stage (default: ${DEFAULT-VALUE}, LeNet-5;",
                    "DL4J's LeNet example is 20-50 with --cost-hidden 500)."})
    String costConv;

    @Option(names = "--cost-hidden", paramLabel = "W-W",
            description = "Cost: hidden (dense) widths (default: 256-256 for mlp, 120-84 for lenet).")
    String costHidden;

    @Option(names = "--cost-side", paramLabel = "PX", defaultValue = "28",
            description = "Cost: images average-pooled to PX x PX inputs (default: ${DEFAULT-VALUE}, full resolution, 784 inputs).")
    int costSide;

    @Option(names = "--cost-activation", paramLabel = "NAME", defaultValue = "relu", converter = HiddenActivation.Converter.class,
            description = "Cost: hidden activation (default: ${DEFAULT-VALUE}).")
    HiddenActivation costActivation;

    @Option(names = "--cost-batch", paramLabel = "B", defaultValue = "128",
            description = "Cost: examples in the measured batch (default: ${DEFAULT-VALUE}).")
    int costBatch;

    @Option(names = "--cost-train-steps", paramLabel = "N", defaultValue = "50",
            description = "Cost: Adam steps before measuring (default: ${DEFAULT-VALUE}).")
    int costTrainSteps;

    @Option(names = "--cost-groups", paramLabel = "TYPE", split = ",", defaultValue = "perm,signed-perm,orth,sign",
            converter = GroupTypeConverter.class,
            description = "Cost: group types measured (default: ${DEFAULT-VALUE}).")
    List<GroupType> costGroups;

    @Option(names = "--damping", paramLabel = "REL", defaultValue = "1e-4",
            description = "Cost: relative damping of power(-1) and the Taylor inverse (default: ${DEFAULT-VALUE}).")
    double damping;

    @Option(names = "--fisher-route", paramLabel = "ROUTE", defaultValue = "factored",
            description = "Cost: how the Fisher gets per-example information, one of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    FisherSource.Route fisherRoute;

    @Option(names = "--no-per-example-reference",
            description = "Cost: do not time the per-example Fisher route (one backward pass per example) for the first group.")
    boolean noPerExampleReference;

    @Option(names = "--no-materialised-reference",
            description = "Cost, lenet: do not time the materialised Fisher route (every leaf's per-example gradients) for the first group.")
    boolean noMaterialisedReference;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2", description = "Cost: warm-up runs per measurement (default: ${DEFAULT-VALUE}).")
    int warmups;

    @Option(names = "--repeats", paramLabel = "N", defaultValue = "7",
            description = "Cost: measured runs per measurement, median reported (default: ${DEFAULT-VALUE}).")
    int repeats;

    @Option(names = "--time-budget", paramLabel = "SECONDS", defaultValue = "60",
            description = "Cost: stop repeating a measurement after this long (at least one run) (default: ${DEFAULT-VALUE}).")
    double timeBudget;

    /** Reads {@code perm}, {@code signed-perm}, {@code SIGNED_PERM}, … */
    static final class GroupTypeConverter implements CommandLine.ITypeConverter<GroupType> {
        @Override
        public GroupType convert(String value) {
            try {
                return GroupType.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }

    @Override
    public Integer call() throws IOException {
        validate();
        org.nd4j.linalg.factory.Environment environment = org.nd4j.linalg.factory.Nd4j.getEnvironment();
        int threads = environment.maxThreads();
        int masterThreads = environment.maxMasterThreads();
        if (nd4jThreads > 0) {
            environment.setMaxThreads(nd4jThreads);
            environment.setMaxMasterThreads(nd4jThreads);
        }
        try {
            return runBenchmarks();
        } finally {
            environment.setMaxThreads(threads);
            environment.setMaxMasterThreads(masterThreads);
        }
    }

    private int runBenchmarks() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Files.createDirectories(outDir);
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);

        String command = "symcurv bench curvature " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        List<String> written = new ArrayList<>();
        if (parts.contains(Part.FIDELITY)) {
            Map<String, Object> json = header(command, dir);
            FidelityBench.Settings settings = new FidelityBench.Settings(side, parseWidths(hidden), activations, trainSteps,
                    learningRate, batchSize, evalExamples, fisherExamples, groups, stepDampings, stepScale, denseCheck, seed);
            List<FidelityBench.ArchitectureResult> results = new FidelityBench(settings, err).run(train);
            json.put("loadAverageAtEnd", Machine.loadAverage());
            json.put("settings", settings.toJson());
            json.put("architectures", results.stream().map(FidelityBench.ArchitectureResult::toJson).toList());
            List<Map<String, Object>> goal = new ArrayList<>();
            List<Table> tables = fidelityTables(results, goal);
            json.put("goalSymmetryBeatsDiagonal", goal);
            json.put("finished", Instant.now().toString());
            writeAtomically(outDir.resolve("fidelity.json"), Json.write(json));
            writeAtomically(outDir.resolve("fidelity.md"), markdown(command, json, tables));
            int largest = fisherExamples.get(fisherExamples.size() - 1);
            writePng(results, largest, FidelityPlot.Target.GGN, outDir.resolve("fidelity-ggn.png"));
            writePng(results, largest, FidelityPlot.Target.HESSIAN, outDir.resolve("fidelity-hessian.png"));
            written.addAll(List.of("fidelity.json", "fidelity.md", "fidelity-ggn.png", "fidelity-hessian.png"));
            print(out, tables);
        }
        if (parts.contains(Part.COST)) {
            Map<String, Object> json = header(command, dir);
            CostBench.Settings settings = new CostBench.Settings(costConvWidths(), costHiddenWidths(), costActivation, costBatch,
                    costTrainSteps, learningRate, costGroups, damping, new Measurement.Plan(warmups, repeats, timeBudget),
                    fisherRoute, !noPerExampleReference, !noMaterialisedReference, seed);
            CostBench.Result result = new CostBench(settings, err).run(costSide == 28 ? train : train.downsample(costSide));
            json.put("loadAverageAtEnd", Machine.loadAverage());
            json.put("settings", settings.toJson());
            json.putAll(result.toJson());
            json.put("finished", Instant.now().toString());
            List<Table> tables = costTables(result);
            writeAtomically(outDir.resolve("cost.json"), Json.write(json));
            writeAtomically(outDir.resolve("cost.md"), markdown(command, json, tables));
            written.addAll(List.of("cost.json", "cost.md"));
            print(out, tables);
        }
        out.printf(Locale.ROOT, "%nwrote %s into %s%n", String.join(", ", written), outDir);
        out.flush();
        return 0;
    }

    private static Map<String, Object> header(String command, Path data) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", "curvature");
        json.put("command", command);
        json.put("started", Instant.now().toString());
        json.put("machine", Machine.describe());
        json.put("loadAverageAtStart", Machine.loadAverage());
        json.put("data", data.toString());
        return json;
    }

    private static String markdown(String command, Map<String, Object> json, List<Table> tables) {
        StringBuilder md = new StringBuilder("`").append(command).append("`\n\n");
        md.append("Load average (1/5/15 min) at start ").append(json.get("loadAverageAtStart")).append(", at end ")
                .append(json.get("loadAverageAtEnd")).append("; ").append(json.get("started")).append(" to ").append(json.get("finished"))
                .append(".\n\n");
        for (Table t : tables) {
            md.append(t.markdown()).append('\n');
        }
        return md.toString();
    }

    private void validate() {
        CommandLine cl = spec.commandLine();
        if (parts.isEmpty()) {
            throw new ParameterException(cl, "--parts needs at least one of fidelity, cost");
        }
        if (side < 1 || 28 % side != 0 || costSide < 1 || 28 % costSide != 0) {
            throw new ParameterException(cl, "--side and --cost-side must divide 28 (e.g. 7, 14 or 28), got " + side + " and " + costSide);
        }
        if (trainSteps < 0 || costTrainSteps < 0) {
            throw new ParameterException(cl, "--train-steps and --cost-train-steps must be ≥ 0");
        }
        if (batchSize < 1 || costBatch < 1 || evalExamples < 1) {
            throw new ParameterException(cl, "--batch, --cost-batch and --eval-examples must be ≥ 1");
        }
        if (fisherExamples.isEmpty() || fisherExamples.stream().anyMatch(n -> n == null || n < 1)) {
            throw new ParameterException(cl, "--fisher-examples needs positive sizes, got " + fisherExamples);
        }
        for (int i = 1; i < fisherExamples.size(); i++) {
            if (fisherExamples.get(i) <= fisherExamples.get(i - 1)) {
                throw new ParameterException(cl, "--fisher-examples must be strictly increasing (they are nested), got " + fisherExamples);
            }
        }
        if (stepDampings.isEmpty() || stepDampings.stream().anyMatch(d -> d == null || !(d > 0) || Double.isInfinite(d))) {
            throw new ParameterException(cl, "--step-dampings must be positive numbers, got " + stepDampings);
        }
        if (!(damping >= 0) || Double.isInfinite(damping)) {
            throw new ParameterException(cl, "--damping must be ≥ 0, got " + damping);
        }
        if (!(learningRate > 0) || !(stepScale > 0) || Double.isInfinite(stepScale)) {
            throw new ParameterException(cl, "--lr and --step-scale must be positive");
        }
        if (nd4jThreads < 0) {
            throw new ParameterException(cl, "--nd4j-threads must be ≥ 0 (0 = ND4J's default), got " + nd4jThreads);
        }
        if (warmups < 0 || repeats < 1 || !(timeBudget > 0)) {
            throw new ParameterException(cl, "need --warmup ≥ 0, --repeats ≥ 1 and a positive --time-budget");
        }
        if (groups.isEmpty() || costGroups.isEmpty()) {
            throw new ParameterException(cl, "--groups and --cost-groups need at least one group type");
        }
        parseWidths(hidden);
        if (!costArch.equals("mlp") && !costArch.equals("lenet")) {
            throw new ParameterException(cl, "--cost-arch must be mlp or lenet, got '" + costArch + "'");
        }
        List<Integer> dense = costHiddenWidths();
        if (costArch.equals("lenet")) {
            try {
                new org.symcurv.apps.common.CnnArchitecture(costSide, costSide, costConvWidths(), CostBench.CNN_KERNEL, true, dense, costActivation, 10);
            } catch (org.symcurv.core.InvalidSettingException e) {
                throw new ParameterException(cl, "--cost-arch lenet: " + e.getMessage());
            }
        }
    }

    private List<List<Integer>> parseWidths(List<String> specs) {
        List<List<Integer>> out = new ArrayList<>();
        for (String s : specs) {
            List<Integer> widths = new ArrayList<>();
            for (String w : s.trim().split("-")) {
                try {
                    int width = Integer.parseInt(w.trim());
                    if (width < 1) {
                        throw new NumberFormatException();
                    }
                    widths.add(width);
                } catch (NumberFormatException e) {
                    throw new ParameterException(spec.commandLine(), "hidden widths look like 12-12 (positive integers joined by '-'), got '" + s + "'");
                }
            }
            out.add(widths);
        }
        return out;
    }

    // ---------------------------------------------------------------- tables

    private List<Table> fidelityTables(List<FidelityBench.ArchitectureResult> results, List<Map<String, Object>> goal) {
        List<Table> tables = new ArrayList<>();
        int largest = fisherExamples.get(fisherExamples.size() - 1);
        List<String> errorHeaders = new ArrayList<>(List.of("architecture", "method", "exact symmetry", "stored floats", "x diagonal",
                "structure err H", "structure err G", "estimation err G (N=" + largest + ")"));
        for (int n : fisherExamples) {
            errorHeaders.add("total err G (N=" + n + ")");
        }
        errorHeaders.add("total err H (N=" + largest + ")");
        Table errors = new Table("Fidelity vs memory: relative Frobenius errors (structure = ‖X − proj(X)‖/‖X‖, estimation = "
                + "‖proj(X) − F̂‖/‖X‖, total = ‖X − F̂‖/‖X‖; F̂ = symmetry-averaged Monte Carlo Fisher from N training examples)",
                errorHeaders.toArray(String[]::new));
        List<String> stepHeaders = new ArrayList<>(List.of("architecture", "method"));
        for (double d : stepDampings) {
            stepHeaders.add("λ=" + Table.sig(d));
        }
        Table cosines = new Table("Damped steps, cosine to the exact GGN step (G + λI)⁻¹g: best in structure proj(G) / Fisher estimate F̂ "
                + "(N=" + largest + "); λ relative to λ_max(G), g the evaluation mean gradient", stepHeaders.toArray(String[]::new));
        Table decreases = new Table("Damped steps, loss decrease L(θ) − L(θ − " + Table.sig(stepScale) + "·(S + λI)⁻¹g) on the evaluation "
                + "sample for S = F̂ (N=" + largest + "); negative = the loss went up", stepHeaders.toArray(String[]::new));
        Table goalTable = new Table("Goal check: does a symmetry-averaged Fisher beat the diagonal Fisher on total error to the "
                + "exact GGN (N=" + largest + ") at comparable memory (≤ " + Table.sig(COMPARABLE_MEMORY_FACTOR) + "× the diagonal's floats)?",
                "architecture", "diagonal err G", "best group within memory", "its err G", "its floats / diagonal", "groups beating diagonal (floats ×)",
                "goal met");
        for (FidelityBench.ArchitectureResult a : results) {
            FidelityBench.MethodResult diagonal = a.method(FidelityBench.DIAGONAL);
            for (FidelityBench.MethodResult m : a.methods()) {
                List<Object> row = new ArrayList<>(List.of(a.name(), m.method(), m.exactSymmetry() == null ? "—" : (m.exactSymmetry() ? "yes" : "no"),
                        Table.count(m.storedFloats()), Table.sig((double) m.storedFloats() / diagonal.storedFloats()),
                        orDash(m.structureErrorHessian()), orDash(m.structureErrorGgn()),
                        orDash(m.fisherAt(largest).estimationErrorGgn())));
                for (int n : fisherExamples) {
                    row.add(Table.sig(m.fisherAt(n).totalErrorGgn()));
                }
                row.add(Table.sig(m.fisherAt(largest).totalErrorHessian()));
                errors.row(row.toArray());
                List<Object> cosineRow = new ArrayList<>(List.of(a.name(), m.method()));
                List<Object> decreaseRow = new ArrayList<>(List.of(a.name(), m.method()));
                for (int d = 0; d < stepDampings.size(); d++) {
                    FidelityBench.Step s = m.fisherAt(largest).steps().get(d);
                    cosineRow.add((m.method().equals(FidelityBench.KFAC) ? "—" : m.projectionSteps().isEmpty() ? "1"
                            : Table.sig(m.projectionSteps().get(d).cosine())) + " / "
                            + Table.sig(s.cosine()));
                    decreaseRow.add(Table.sig(s.lossDecrease()));
                }
                cosines.row(cosineRow.toArray());
                decreases.row(decreaseRow.toArray());
            }
            List<Object> exactRow = new ArrayList<>(List.of(a.name(), "exact G (reference)"));
            for (FidelityBench.ExactStep s : a.exactSteps()) {
                exactRow.add(Table.sig(s.lossDecrease()));
            }
            decreases.row(exactRow.toArray());
            goal.add(goalRow(a, diagonal, largest, goalTable));
        }
        tables.add(errors);
        tables.add(cosines);
        tables.add(decreases);
        tables.add(goalTable);
        return tables;
    }

    /** A number, or "—" where it is not defined (K-FAC has no structure/estimation split). */
    private static String orDash(double x) {
        return Double.isNaN(x) ? "—" : Table.sig(x);
    }

    private Map<String, Object> goalRow(FidelityBench.ArchitectureResult a, FidelityBench.MethodResult diagonal, int largest, Table table) {
        double diagonalError = diagonal.fisherAt(largest).totalErrorGgn();
        FidelityBench.MethodResult best = null;
        List<String> beating = new ArrayList<>();
        Set<String> groupNames = new java.util.HashSet<>();
        groups.forEach(g -> groupNames.add(BenchNames.group(g)));
        for (FidelityBench.MethodResult m : a.methods()) {
            if (!groupNames.contains(m.method())) {
                continue;
            }
            double ratio = (double) m.storedFloats() / diagonal.storedFloats();
            double error = m.fisherAt(largest).totalErrorGgn();
            if (error < diagonalError) {
                beating.add(m.method() + " (" + Table.sig(ratio) + "×)");
            }
            if (ratio <= COMPARABLE_MEMORY_FACTOR && (best == null || error < best.fisherAt(largest).totalErrorGgn())) {
                best = m;
            }
        }
        boolean met = best != null && best.fisherAt(largest).totalErrorGgn() < diagonalError;
        table.row(a.name(), Table.sig(diagonalError), best == null ? "none" : best.method(),
                best == null ? null : Table.sig(best.fisherAt(largest).totalErrorGgn()),
                best == null ? null : Table.sig((double) best.storedFloats() / diagonal.storedFloats()),
                beating.isEmpty() ? "none" : String.join(", ", beating), met ? "yes" : "no");
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architecture", a.name());
        m.put("examples", largest);
        m.put("diagonalTotalErrorGgn", diagonalError);
        m.put("comparableMemoryFactor", COMPARABLE_MEMORY_FACTOR);
        m.put("bestGroupWithinMemory", best == null ? null : best.method());
        m.put("bestGroupTotalErrorGgn", best == null ? null : best.fisherAt(largest).totalErrorGgn());
        m.put("groupsBeatingDiagonal", beating);
        m.put("met", met);
        return m;
    }

    /** The cost part's dense widths: --cost-hidden, or the architecture's default. */
    private List<Integer> costHiddenWidths() {
        return parseWidths(List.of(costHidden != null ? costHidden : costArch.equals("lenet") ? "120-84" : "256-256")).get(0);
    }

    /** The cost part's convolution channels (lenet), empty for the MLP. */
    private List<Integer> costConvWidths() {
        return costArch.equals("lenet") ? parseWidths(List.of(costConv)).get(0) : List.of();
    }

    private List<Table> costTables(CostBench.Result r) {
        CostBench.Headline h = r.headline();
        double headlineBase = h.measurements().get(0).medianMillis();
        Table headline = new Table("Fisher cost per batch of " + costBatch + " at " + r.architecture() + " (" + Table.count(r.parameters())
                + " parameters), interleaved rounds: median seconds; × forward+backward is the median of the per-round ratios; goal: symmetric "
                + "Fisher ≤ " + Table.sig(CostBench.GOAL_RATIO) + "× — " + (h.goalMet() ? "met" : "MISSED") + " (" + Table.sig(h.ratios()[h.symmetric()])
                + "×)", "what", "median s", "× forward+backward", "ratio of medians", "runs", "peak extra MiB");
        for (int i = 0; i < h.measurements().size(); i++) {
            Measurement m = h.measurements().get(i);
            headline.row(m.what(), String.format(Locale.ROOT, "%.3f", m.medianMillis() / 1000), i == 0 ? "1" : Table.sig(h.ratios()[i]),
                    i == 0 ? "1" : Table.sig(m.medianMillis() / headlineBase), m.runs(), mib(m));
        }
        List<Table> tables = new ArrayList<>(List.of(headline));
        tables.addAll(groupCostTables(r));
        return tables;
    }

    private List<Table> groupCostTables(CostBench.Result r) {
        double base = r.forwardBackward().medianMillis();
        Table cost = new Table("Cost at " + r.architecture() + " (" + Table.count(r.parameters()) + " parameters), batch " + costBatch
                + ": median ms (× one DL4J forward+backward = " + Table.millis(base) + " ms, " + r.forwardBackward().runs() + " runs); "
                + "Fisher route " + fisherRoute.name().toLowerCase(Locale.ROOT),
                "group", "stored floats", "/ K-FAC", "Fisher estimate", "power(-1)", "apply inverse", "Taylor observe", "Taylor inverseHessian",
                "observe + inverse", "peak extra MiB (Fisher / power / Taylor inv)", "runs (F/p/T)");
        for (CostBench.GroupCost g : r.groups()) {
            cost.row(g.group(), Table.count(g.storedFloats()), Table.sig((double) g.storedFloats() / r.kfacFloats()),
                    timed(g.fisher(), base), timed(g.power(), base), timed(g.apply(), base), timed(g.taylorObserve(), base),
                    timed(g.taylorInverse(), base),
                    g.taylorObserve() == null || g.taylorInverse() == null ? null
                            : timedMillis(g.taylorObserve().medianMillis() + g.taylorInverse().medianMillis(), base),
                    mib(g.fisher()) + " / " + mib(g.power()) + " / " + mib(g.taylorInverse()),
                    runs(g.fisher()) + "/" + runs(g.power()) + "/" + runs(g.taylorInverse()));
        }
        Table parts = new Table("Fisher estimate at " + r.architecture() + ", batch " + costBatch + ": where the time goes",
                "what", "median ms", "× forward+backward", "runs", "peak extra MiB");
        parts.row("DL4J forward+backward (the baseline)", Table.millis(base), "1", r.forwardBackward().runs(), mib(r.forwardBackward()));
        if (r.factorsOnly() != null) {
            parts.row("factors only: activations, errors, label draws (any group)", Table.millis(r.factorsOnly().medianMillis()),
                    Table.sig(r.factorsOnly().medianMillis() / base), r.factorsOnly().runs(), mib(r.factorsOnly()));
        }
        for (CostBench.GroupCost g : r.groups()) {
            if (g.fisher() != null) {
                parts.row("whole estimate, " + g.group() + " (" + fisherRoute.name().toLowerCase(Locale.ROOT) + " route)",
                        Table.millis(g.fisher().medianMillis()), Table.sig(g.fisher().medianMillis() / base), g.fisher().runs(), mib(g.fisher()));
            }
        }
        if (r.perExampleRoute() != null) {
            parts.row("whole estimate, " + r.perExampleRouteGroup() + " (per-example route: " + costBatch + " backward passes + secondMoment)",
                    Table.millis(r.perExampleRoute().medianMillis()), Table.sig(r.perExampleRoute().medianMillis() / base),
                    r.perExampleRoute().runs(), mib(r.perExampleRoute()));
        }
        Table memory = new Table("Stored floats at " + r.architecture() + " (blocks as full squares; K-FAC: Σ (nIn+1)² + nOut², convolutions "
                + "(in·kH·kW+1)² + out², bias folded into the input factor)", "method", "stored floats", "/ K-FAC", "blocks");
        memory.row("K-FAC", Table.count(r.kfacFloats()), "1", "per layer (nIn+1)² and nOut²; per convolution (in·kH·kW+1)² and out²");
        memory.row("diagonal", Table.count(r.diagonalFloats()), Table.sig((double) r.diagonalFloats() / r.kfacFloats()), "P");
        memory.row("dense", Table.sig((double) r.parameters() * r.parameters()), Table.sig((double) r.parameters() * r.parameters() / r.kfacFloats()), "P²");
        for (CostBench.GroupCost g : r.groups()) {
            memory.row(g.group(), Table.count(g.storedFloats()), Table.sig((double) g.storedFloats() / r.kfacFloats()),
                    String.join("; ", g.blocks()) + (g.failure() == null ? "" : " — FAILED: " + g.failure()));
        }
        return List.of(cost, parts, memory);
    }

    private static String timed(Measurement m, double base) {
        return m == null ? null : timedMillis(m.medianMillis(), base);
    }

    private static String timedMillis(double ms, double base) {
        return Table.millis(ms) + " (" + Table.sig(ms / base) + "×)";
    }

    private static String mib(Measurement m) {
        return m == null ? "—" : Table.mebibytes(m.peakExtraBytes());
    }

    private static String runs(Measurement m) {
        return m == null ? "—" : Integer.toString(m.runs());
    }

    private static void print(PrintWriter out, List<Table> tables) {
        for (Table t : tables) {
            out.println();
            out.print(t.plain());
        }
        out.flush();
    }

    private static void writeAtomically(Path target, String text) throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writePng(List<FidelityBench.ArchitectureResult> results, int examples, FidelityPlot.Target target, Path png)
            throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(png);
        try {
            FidelityPlot.write(results, examples, target, tmp);
            AtomicFiles.moveIntoPlace(tmp, png, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
