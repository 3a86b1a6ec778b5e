package org.symcurv.apps.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/** Helpers of the streaming tests: write and read topics of a real broker, read committed offsets (the CLI runs through {@link org.symcurv.apps.CliRun}). */
final class StreamTesting {
    static final ObjectMapper JSON = new ObjectMapper();

    private StreamTesting() {
    }



    /**
     * Starts {@code symcurv stream} in a child JVM (this JVM's class path; 1 GiB heap, 2 GiB off-heap) on the brokers, with a
     * checkpoint every second and a report every 2 s, then the arguments; its output is appended to {@code log}.
     */
    static Process startService(String bootstrap, java.nio.file.Path log, String[] where, String... extra) throws Exception {
        List<String> command = new ArrayList<>(List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-Dorg.bytedeco.javacpp.maxbytes=2g", "-Dorg.bytedeco.javacpp.maxphysicalbytes=4g",
                "-cp", System.getProperty("java.class.path"), "org.symcurv.apps.SymcurvCli",
                "stream", "--bootstrap", bootstrap, "--checkpoint-interval", "1", "--report-interval", "2"));
        command.addAll(List.of(where));
        command.addAll(List.of(extra));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    static void createTopic(String bootstrap, String topic) throws Exception {
        createTopic(bootstrap, topic, 1);
    }

    static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get(30, TimeUnit.SECONDS);
        }
    }

    /** Sends the values to partition 0 of the topic, keyed by the model, and waits for all acknowledgements. */
    static void send(String bootstrap, String topic, String model, List<byte[]> values) throws Exception {
        send(bootstrap, topic, 0, model, values);
    }

    /** Sends the values to one partition of the topic, keyed by the model, and waits for all acknowledgements. */
    static void send(String bootstrap, String topic, int partition, String model, List<byte[]> values) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("value.serializer", "org.apache.kafka.common.serialization.ByteArraySerializer");
        p.put("acks", "all");
        p.put("linger.ms", "5");
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            byte[] key = model.getBytes(StandardCharsets.UTF_8);
            for (byte[] v : values) {
                producer.send(new ProducerRecord<>(topic, partition, key, v)).get(30, TimeUnit.SECONDS);
            }
        }
    }

    static List<byte[]> json(List<StreamRecord> records) {
        return records.stream().map(RecordCodec::encodeJson).toList();
    }

    /** Every record of partition 0 of the topic, up to its current end. */
    static List<ConsumerRecord<byte[], byte[]>> readAll(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put("bootstrap.servers", bootstrap);
        p.put("key.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        p.put("value.deserializer", "org.apache.kafka.common.serialization.ByteArrayDeserializer");
        List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            long end = consumer.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (consumer.position(tp) < end && System.nanoTime() < deadline) {
                consumer.poll(Duration.ofMillis(200)).forEach(all::add);
            }
        }
        return all;
    }

    /** The events of the topic whose "event" field is {@code kind}, in order. */
    static List<JsonNode> events(String bootstrap, String topic, String kind) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : readAll(bootstrap, topic)) {
            JsonNode n = JSON.readTree(r.value());
            if (kind.equals(n.path("event").asText())) {
                out.add(n);
            }
        }
        return out;
    }

    /** The group's committed offset of partition 0, or -1. */
    static long committed(String bootstrap, String group, String topic) throws Exception {
        return committed(bootstrap, group, topic, 0);
    }

    /** The group's committed offset of one partition, or -1. */
    static long committed(String bootstrap, String group, String topic, int partition) throws Exception {
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
            Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            OffsetAndMetadata m = offsets.get(new TopicPartition(topic, partition));
            return m == null ? -1 : m.offset();
        }
    }

    static String header(ConsumerRecord<byte[], byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }
}
