// Raw argon2id hashes per second with the implementation Keycloak's argon2 provider uses
// (BouncyCastle's Argon2BytesGenerator), one thread: the Java side of `hash_per_s` in
// bench/keycloak.py. Run with the source launcher and Keycloak's bcprov jar on the class path:
//   java -cp bcprov.jar Argon2Rate.java <seconds> <memory KiB> <iterations> <parallelism>
// Prints one JSON line: hashes per second of wall time and CPU milliseconds per hash, after
// a warm-up of a second (the JIT), as a server that has been up for a while would run it.

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

public class Argon2Rate {
    public static void main(String[] args) {
        double seconds = Double.parseDouble(args[0]);
        int memory = Integer.parseInt(args[1]);
        int iterations = Integer.parseInt(args[2]);
        int parallelism = Integer.parseInt(args[3]);
        byte[] password = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);
        SecureRandom random = new SecureRandom();
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long warmUntil = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < warmUntil) {
            hash(password, random, memory, iterations, parallelism);
        }
        long count = 0;
        long start = System.nanoTime();
        long cpuStart = threads.getCurrentThreadCpuTime();
        long end = start + (long) (seconds * 1e9);
        while (System.nanoTime() < end) {
            hash(password, random, memory, iterations, parallelism);
            count++;
        }
        double wall = (System.nanoTime() - start) / 1e9;
        double cpuMs = (threads.getCurrentThreadCpuTime() - cpuStart) / 1e6 / count;
        System.out.printf("{\"per_s\": %.2f, \"cpu_ms\": %.3f, \"count\": %d}%n",
                count / wall, cpuMs, count);
    }

    static byte[] hash(byte[] password, SecureRandom random, int memory, int iterations,
            int parallelism) {
        byte[] salt = new byte[16];
        random.nextBytes(salt);
        Argon2Parameters parameters = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt)
                .withMemoryAsKB(memory)
                .withIterations(iterations)
                .withParallelism(parallelism)
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(parameters);
        byte[] out = new byte[32];
        generator.generateBytes(password, out);
        return out;
    }
}
