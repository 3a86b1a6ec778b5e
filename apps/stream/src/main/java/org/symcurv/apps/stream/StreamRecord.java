package org.symcurv.apps.stream;

import java.util.Objects;

/**
 * One record of a task stream, as decoded by {@link RecordCodec}: an example of a task, the control record that ends a
 * task, or a request for a prediction. Each carries the model it belongs to (the Kafka record key, and the partition key).
 */
public sealed interface StreamRecord permits StreamRecord.Example, StreamRecord.EndTask, StreamRecord.Predict {
    /** The format version this build reads and writes (JSON {@code "v"}, binary version byte). */
    int VERSION = 1;

    String model();

    /** Whether an example is trained on or held back for the task's evaluation. */
    enum Split {
        TRAIN("train"), HOLDOUT("holdout");

        private final String wireName;

        Split(String wireName) {
            this.wireName = wireName;
        }

        public String wireName() {
            return wireName;
        }
    }

    /**
     * An example: its id (unique within the task; a repeated id within a task is a duplicate and ignored), the
     * features ({@code featureCount} finite floats, the toolkit's convention {@code pixel / 255} for images) and
     * the class label.
     *
     * @param features not copied; callers do not modify it afterwards
     */
    record Example(String model, String task, long id, Split split, float[] features, int label) implements StreamRecord {
        public Example {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(task, "task");
            Objects.requireNonNull(split, "split");
            Objects.requireNonNull(features, "features");
        }
    }

    /**
     * The control record that ends a task: the learner consolidates the task and evaluates every task so far.
     *
     * @param examples how many distinct training examples the producer sent for the task (informational; {@code -1}
     *                 when not given)
     */
    record EndTask(String model, String task, long examples) implements StreamRecord {
        public EndTask {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(task, "task");
        }
    }

    /**
     * A request for the model's prediction on one input: answered on the predictions topic with the class probabilities
     * {@code softmax(f(x))} of the model as it stands after every record before this one in its partition, the model's
     * version and the request id.
     *
     * @param request  the client's request id, echoed in the answer
     * @param features {@code featureCount} finite floats, as for an example; not copied
     */
    record Predict(String model, String request, float[] features) implements StreamRecord {
        public Predict {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(request, "request");
            Objects.requireNonNull(features, "features");
        }
    }
}
