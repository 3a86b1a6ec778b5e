package org.symcurv.continual;

import java.util.Locale;

/**
 * How a stream's tasks are evaluated (van de Ven and Tolias, 2019).
 * <ul>
 *   <li>{@link #DOMAIN_INCREMENTAL}: every task uses all classes and the prediction is the argmax over all of them
 *       (permuted streams);</li>
 *   <li>{@link #TASK_INCREMENTAL}: the task's identity is given at test time and the prediction is the argmax over that
 *       task's classes only (the per-task head mask on the shared output layer);</li>
 *   <li>{@link #CLASS_INCREMENTAL}: no task identity; the argmax over all classes seen in the stream.</li>
 * </ul>
 * Training is the same in all three: the softmax over all outputs, on the task's own labels.
 */
public enum Scenario {
    DOMAIN_INCREMENTAL, TASK_INCREMENTAL, CLASS_INCREMENTAL;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT).replace("_incremental", "-incremental");
    }

    /** Whether predictions are restricted to the task's classes. */
    public boolean masksHead() {
        return this == TASK_INCREMENTAL;
    }
}
