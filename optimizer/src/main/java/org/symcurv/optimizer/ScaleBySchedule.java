package org.symcurv.optimizer;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The last link of a recipe: {@code Δθ_t = −η_t u_t}, with {@code t} the number of updates taken (its state).
 */
public final class ScaleBySchedule implements Preconditioner<ScaleBySchedule.State> {
    /** @param schedule {@code η_t} */
    public record Settings(LearningRateSchedule schedule) implements TransformSettings {
        public Settings {
            java.util.Objects.requireNonNull(schedule, "schedule");
        }

        @Override
        public ScaleBySchedule build(Target target) {
            return new ScaleBySchedule(schedule);
        }
    }

    /** @param step {@code t}, the number of updates taken */
    public record State(long step) {
    }

    private final LearningRateSchedule schedule;

    public ScaleBySchedule(LearningRateSchedule schedule) {
        this.schedule = java.util.Objects.requireNonNull(schedule, "schedule");
    }

    public LearningRateSchedule schedule() {
        return schedule;
    }

    /** {@code η_t} of the next update. */
    public double rate(State state) {
        return schedule.at(state.step());
    }

    @Override
    public State init(INDArray params) {
        return new State(0);
    }

    @Override
    public Update<State> update(INDArray direction, State state, INDArray params) {
        return new Update<>(direction.mul(-schedule.at(state.step())), new State(state.step() + 1));
    }

    @Override
    public StateTree encode(State state) {
        return StateTree.builder().put("step", state.step()).build();
    }

    @Override
    public State decode(StateTree tree) {
        return new State(tree.longValue("step"));
    }

    @Override
    public String describe() {
        return "lr " + schedule.describe();
    }
}
