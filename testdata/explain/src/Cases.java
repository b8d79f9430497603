// Java workloads with a known dominant cause, for the interpreter's
// evaluation set (recorded with JFR; see ../make.sh).
//
//   java Cases MODE SECONDS
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

public class Cases {
  static long sink;

  static long crunch() {
    long s = 0;
    for (int y = 0; y < 64; y++) {
      for (int x = 0; x < 64; x++) {
        double cr = x / 32.0 - 1.5, ci = y / 32.0 - 1, zr = 0, zi = 0;
        int k = 0;
        while (k < 500 && zr * zr + zi * zi < 4) {
          double t = zr * zr - zi * zi + cr;
          zi = 2 * zr * zi + ci;
          zr = t;
          k++;
        }
        s += k;
      }
    }
    return s;
  }

  static boolean validate(String s) {
    return Pattern.compile("^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$").matcher(s).matches();  // compiled on every call
  }

  static int buildRecords() {
    List<int[]> rs = new ArrayList<>();
    for (int i = 0; i < 2000; i++) rs.add(new int[16 + i % 32]);
    return rs.size();
  }

  static int formatLines() {
    int n = 0;
    for (int i = 0; i < 200; i++) {
      n += String.format("%s request=%d latency=%.3fms user=%s status=%d", "INFO", i, i * 0.37, "alice", 200 + i % 3).length();
    }
    return n;
  }

  static final byte[] block = new byte[1 << 16];

  static int digestBlocks() throws Exception {
    java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
    int n = 0;
    for (int i = 0; i < 16; i++) n += md.digest(block)[0];
    return n;
  }

  static final Object lock = new Object();
  static long counter;

  static void update(long deadline) {
    while (System.nanoTime() < deadline) {
      synchronized (lock) {
        for (int i = 0; i < 20000; i++) counter += i;
      }
    }
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    long deadline = System.nanoTime() + (long) (Double.parseDouble(args[1]) * 1e9);
    switch (mode) {
      case "compute": while (System.nanoTime() < deadline) sink += crunch(); break;
      case "regex": while (System.nanoTime() < deadline) sink += validate("someone@example.com") ? 1 : 0; break;
      case "alloc": while (System.nanoTime() < deadline) sink += buildRecords(); break;
      case "format": while (System.nanoTime() < deadline) sink += formatLines(); break;
      case "hashing": while (System.nanoTime() < deadline) sink += digestBlocks(); break;
      case "lock": {
        Thread[] ts = new Thread[4];
        for (int i = 0; i < 4; i++) { ts[i] = new Thread(() -> update(deadline)); ts[i].start(); }
        for (Thread t : ts) t.join();
        break;
      }
      default: throw new IllegalArgumentException(mode);
    }
    System.out.println(sink + counter);
  }
}
