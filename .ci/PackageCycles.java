import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * Fails when an org.symcurv package imports a package that imports it back (directly or through others): runs jdeps
 * over the modules' built jars (target/*.jar, run 'mvn -B -o -DskipTests package' first) and prints every strongly
 * connected component of more than one package. Usage, from the repository root: {@code java .ci/PackageCycles.java}.
 */
public final class PackageCycles {
    public static void main(String[] args) throws Exception {
        List<String> jars = new ArrayList<>();
        try (Stream<Path> files = Files.walk(Path.of("."), 4)) {
            files.filter(p -> p.getParent() != null && p.getParent().getFileName().toString().equals("target"))
                    .map(Path::toString)
                    .filter(s -> s.endsWith("-SNAPSHOT.jar") && !s.contains("/fresh"))
                    .sorted().forEach(jars::add);
        }
        if (jars.isEmpty()) {
            System.err.println("PackageCycles: no module jars under */target or apps/*/target; run 'mvn -B -o -DskipTests package' first");
            System.exit(2);
        }
        ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
        List<String> command = new ArrayList<>(List.of("-verbose:package", "-e", "org\\.symcurv\\..*"));
        command.addAll(jars);
        StringWriter out = new StringWriter();
        int status = jdeps.run(new PrintWriter(out), new PrintWriter(new StringWriter()), command.toArray(String[]::new));
        if (status != 0) {
            System.err.println("PackageCycles: jdeps exited with " + status);
            System.exit(2);
        }
        Map<String, Set<String>> imports = new TreeMap<>();
        Pattern edge = Pattern.compile("^\\s+(org\\.symcurv\\.[\\w.]+)\\s+->\\s+(org\\.symcurv\\.[\\w.]+)\\s");
        for (String line : out.toString().split("\n")) {
            Matcher m = edge.matcher(line);
            if (m.find() && !m.group(1).equals(m.group(2))) {
                imports.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
                imports.computeIfAbsent(m.group(2), k -> new TreeSet<>());
            }
        }
        List<List<String>> cycles = new Tarjan(imports).components().stream().filter(c -> c.size() > 1).toList();
        System.out.println("PackageCycles: " + imports.size() + " org.symcurv packages in " + jars.size() + " jars, "
                + cycles.size() + " cycle(s)");
        for (List<String> cycle : cycles) {
            System.out.println("  cycle: " + cycle);
            for (String p : cycle) {
                for (String q : imports.get(p)) {
                    if (cycle.contains(q)) {
                        System.out.println("    " + p + " -> " + q);
                    }
                }
            }
        }
        System.exit(cycles.isEmpty() ? 0 : 1);
    }

    /** Tarjan's strongly connected components of the import graph. */
    private static final class Tarjan {
        private final Map<String, Set<String>> graph;
        private final Map<String, Integer> index = new TreeMap<>();
        private final Map<String, Integer> low = new TreeMap<>();
        private final List<String> stack = new ArrayList<>();
        private final Set<String> onStack = new TreeSet<>();
        private final List<List<String>> components = new ArrayList<>();

        Tarjan(Map<String, Set<String>> graph) {
            this.graph = graph;
        }

        List<List<String>> components() {
            for (String v : graph.keySet()) {
                if (!index.containsKey(v)) {
                    visit(v);
                }
            }
            return components;
        }

        private void visit(String v) {
            index.put(v, index.size());
            low.put(v, index.get(v));
            stack.add(v);
            onStack.add(v);
            for (String w : graph.get(v)) {
                if (!index.containsKey(w)) {
                    visit(w);
                    low.put(v, Math.min(low.get(v), low.get(w)));
                } else if (onStack.contains(w)) {
                    low.put(v, Math.min(low.get(v), index.get(w)));
                }
            }
            if (low.get(v).equals(index.get(v))) {
                List<String> component = new ArrayList<>();
                String w;
                do {
                    w = stack.remove(stack.size() - 1);
                    onStack.remove(w);
                    component.add(w);
                } while (!w.equals(v));
                components.add(component);
            }
        }
    }
}
