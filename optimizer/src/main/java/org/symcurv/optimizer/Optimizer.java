package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A complete optimizer: a chain of transforms applied in order (Optax's {@code chain}),
 * <pre>
 *   u⁰_t = g_t,   (u^i_t, s^i_t) = T_i(u^{i-1}_t, s^i_{t-1}, θ_t)  for i = 1 … n,   Δθ_t = uⁿ_t,   θ_{t+1} = θ_t + Δθ_t,
 * </pre>
 * e.g. clip → precondition → decoupled decay → schedule for AdamW with clipping ({@link OptimizerSettings} builds the
 * named recipes). The chain knows nothing about its links beyond the {@link Preconditioner} contract.
 *
 * <p><b>Checkpoint layout</b> (unchanged since the first format, whose files still load): the schedule's step count is
 * the number {@code "step"}; the stateful links other than the schedule are the children {@code "direction"},
 * {@code "direction1"}, {@code "direction2"}, … in chain order; stateless links store nothing.
 */
public final class Optimizer implements Preconditioner<Optimizer.State> {
    /** @param links each link's state, in chain order */
    public record State(List<Object> links) {
        public State {
            links = List.copyOf(links);
        }
    }

    private final String name;
    private final SymmetrySpec layout;
    private final List<Preconditioner<?>> links;

    /**
     * @param name   the recipe's name, e.g. {@code "adamw"}
     * @param layout the parameter leaves ({@code P} parameters)
     * @param links  the transforms, applied first to last
     * @throws IllegalArgumentException if the chain is empty or has more than one schedule
     */
    public Optimizer(String name, SymmetrySpec layout, List<? extends Preconditioner<?>> links) {
        this.name = Objects.requireNonNull(name, "name");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.links = new ArrayList<>();
        for (Preconditioner<?> t : links) {
            this.links.add(Objects.requireNonNull(t, "link"));
        }
        if (this.links.isEmpty()) {
            throw new IllegalArgumentException("an optimizer needs at least one transform");
        }
        if (this.links.stream().filter(t -> t instanceof ScaleBySchedule).count() > 1) {
            throw new IllegalArgumentException("an optimizer takes at most one learning-rate schedule, got " + describe());
        }
    }

    public String name() {
        return name;
    }

    public SymmetrySpec layout() {
        return layout;
    }

    /** The links, first applied first. */
    public List<Preconditioner<?>> links() {
        return List.copyOf(links);
    }

    /** The link with its state type erased: the chain hands each link back the state it produced. */
    @SuppressWarnings("unchecked")
    private static Preconditioner<Object> raw(Preconditioner<?> link) {
        return (Preconditioner<Object>) link;
    }

    /** The first link of this type, if any (e.g. the {@link SymmetryPreconditioner} of a symmetry recipe). */
    public <T> Optional<T> link(Class<T> type) {
        return links.stream().filter(type::isInstance).map(type::cast).findFirst();
    }

    /** {@code η_t} of the next update ({@code NaN} without a schedule). */
    public double learningRate(State state) {
        for (int i = 0; i < links.size(); i++) {
            if (links.get(i) instanceof ScaleBySchedule s) {
                return s.rate((ScaleBySchedule.State) state.links().get(i));
            }
        }
        return Double.NaN;
    }

    @Override
    public State init(INDArray params) {
        INDArray w = Vectors.flat(params, layout.parameterCount(), "params");
        List<Object> states = new ArrayList<>();
        for (Preconditioner<?> t : links) {
            states.add(t.init(w));
        }
        return new State(states);
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        INDArray u = Vectors.flat(gradient, layout.parameterCount(), "gradient");
        INDArray w = Vectors.flat(params, layout.parameterCount(), "params");
        List<Object> next = new ArrayList<>();
        for (int i = 0; i < links.size(); i++) {
            Update<Object> r = raw(links.get(i)).update(u, state.links().get(i), w);
            u = r.step();
            next.add(r.state());
        }
        return new Update<>(u, new State(next));
    }

    /** The key of link {@code i} in the encoded tree, or null for a stateless link (see the class comment). */
    private String key(int i) {
        if (links.get(i).stateless() || links.get(i) instanceof ScaleBySchedule) {
            return null;
        }
        int before = 0;
        for (int j = 0; j < i; j++) {
            if (!links.get(j).stateless() && !(links.get(j) instanceof ScaleBySchedule)) {
                before++;
            }
        }
        return before == 0 ? "direction" : "direction" + before;
    }

    @Override
    public StateTree encode(State state) {
        StateTree.Builder b = StateTree.builder();
        for (int i = 0; i < links.size(); i++) {
            if (links.get(i) instanceof ScaleBySchedule) {
                b.put("step", ((ScaleBySchedule.State) state.links().get(i)).step());
            } else if (key(i) != null) {
                b.put(key(i), raw(links.get(i)).encode(state.links().get(i)));
            }
        }
        return b.build();
    }

    @Override
    public State decode(StateTree tree) {
        List<Object> states = new ArrayList<>();
        for (int i = 0; i < links.size(); i++) {
            Preconditioner<?> t = links.get(i);
            if (t instanceof ScaleBySchedule) {
                states.add(new ScaleBySchedule.State(tree.longValue("step")));
            } else if (key(i) == null) {
                states.add(t.decode(StateTree.empty()));
            } else {
                states.add(t.decode(tree.child(key(i))));
            }
        }
        return new State(states);
    }

    /**
     * {@code name: } and the links' descriptions: the first link that is not clipping, decay or a schedule (the
     * preconditioner), then the others from the last applied to the first, e.g.
     * {@code adamw: adam(β1=0.9, β2=0.999, ε=1e-8), lr constant 0.001, decoupled weight decay 0.01 on matrices}.
     */
    @Override
    public String describe() {
        int head = -1;
        for (int i = 0; i < links.size() && head < 0; i++) {
            Preconditioner<?> t = links.get(i);
            if (!(t instanceof ClipByGlobalNorm || t instanceof DecoupledWeightDecay || t instanceof ScaleBySchedule)) {
                head = i;
            }
        }
        StringBuilder sb = new StringBuilder(name).append(": ");
        if (head >= 0) {
            sb.append(links.get(head).describe());
        }
        for (int i = links.size() - 1; i >= 0; i--) {
            if (i != head) {
                sb.append(sb.charAt(sb.length() - 1) == ' ' ? "" : ", ").append(links.get(i).describe());
            }
        }
        return sb.toString();
    }
}
