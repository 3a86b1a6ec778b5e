package org.symcurv.apps.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The events the service publishes to its output topic, as version-1 JSON objects with an {@code "event"} field:
 * {@code task-consolidated}, {@code accuracy} (a row of the accuracy matrix), {@code throughput} and {@code resumed};
 * and its answers to predict records on the predictions topic, {@code prediction} and {@code prediction-error}. The
 * README ("Events", "Predictions") lists their fields.
 */
public final class StreamEvents {
    static final ObjectMapper JSON = new ObjectMapper();

    private StreamEvents() {
    }

    static ObjectNode base(String event, String model) {
        ObjectNode n = JSON.createObjectNode();
        n.put("v", StreamRecord.VERSION);
        n.put("event", event);
        if (model != null) {
            n.put("model", model);
        }
        n.put("emittedAtMs", System.currentTimeMillis());
        return n;
    }

    static ObjectNode consolidated(String model, ModelStream.TaskEnd end, int partition, long offset, long endTaskTimestampMs) {
        ObjectNode n = base("task-consolidated", model);
        n.put("task", end.task());
        n.put("tasks", end.tasks().size());
        n.put("trainedExamples", end.trainedExamples());
        n.put("duplicatesIgnored", end.duplicates());
        n.put("fisherExamples", end.consolidation().examples());
        n.put("consolidationSeconds", end.consolidation().seconds());
        n.put("fisherFloats", end.consolidation().fisherFloats());
        n.put("partition", partition);
        n.put("offset", offset);
        n.put("endTaskTimestampMs", endTaskTimestampMs);
        return n;
    }

    static ObjectNode accuracy(String model, ModelStream.TaskEnd end, long endTaskTimestampMs) {
        ObjectNode n = base("accuracy", model);
        n.put("afterTask", end.task());
        ArrayNode tasks = n.putArray("tasks");
        end.tasks().forEach(tasks::add);
        ArrayNode row = n.putArray("accuracy");
        for (double a : end.accuracy()) {
            if (Double.isNaN(a)) {
                row.addNull();
            } else {
                row.add(a);
            }
        }
        n.put("endTaskTimestampMs", endTaskTimestampMs);
        return n;
    }

    static ObjectNode throughput(long examples, double seconds, long totalExamples, long lagMs, long deadLetters) {
        ObjectNode n = base("throughput", null);
        n.put("examples", examples);
        n.put("seconds", seconds);
        n.put("examplesPerSecond", seconds > 0 ? examples / seconds : 0.0);
        n.put("totalExamples", totalExamples);
        n.put("lagMs", lagMs);
        n.put("deadLetters", deadLetters);
        return n;
    }

    static ObjectNode resumed(String topic, int partition, long checkpointOffset, long committedOffset, Map<String, List<String>> models) {
        ObjectNode n = base("resumed", null);
        n.put("topic", topic);
        n.put("partition", partition);
        n.put("checkpointOffset", checkpointOffset);
        n.put("committedOffset", committedOffset);
        ObjectNode m = n.putObject("consolidated");
        models.forEach((model, tasks) -> {
            ArrayNode a = m.putArray(model);
            tasks.forEach(a::add);
        });
        return n;
    }

    /** The answer to a predict record: the probabilities, the arg-max class and the model's version. */
    static ObjectNode prediction(StreamRecord.Predict request, ModelStream.Prediction p, long requestTimestampMs) {
        ObjectNode n = base("prediction", request.model());
        n.put("request", request.request());
        ArrayNode probabilities = n.putArray("probabilities");
        int best = 0;
        for (int k = 0; k < p.probabilities().length; k++) {
            probabilities.add(p.probabilities()[k]);
            if (p.probabilities()[k] > p.probabilities()[best]) {
                best = k;
            }
        }
        n.put("predicted", best);
        ObjectNode version = n.putObject("modelVersion");
        version.put("tasksConsolidated", p.tasksConsolidated());
        version.put("stepsTrained", p.stepsTrained());
        version.put("examplesTrained", p.examplesTrained());
        if (p.currentTask() != null) {
            version.put("currentTask", p.currentTask());
        } else {
            version.putNull("currentTask");
        }
        n.put("requestTimestampMs", requestTimestampMs);
        return n;
    }

    /** The answer to a predict record that cannot be answered (no such model yet, or a malformed request). */
    static ObjectNode predictionError(String model, String request, String error, long requestTimestampMs) {
        ObjectNode n = base("prediction-error", model);
        if (request != null) {
            n.put("request", request);
        } else {
            n.putNull("request");
        }
        n.put("error", error);
        n.put("requestTimestampMs", requestTimestampMs);
        return n;
    }
}
