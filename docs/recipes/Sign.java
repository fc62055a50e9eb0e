// Signs a yikatong terminal request (JDK only). Run: java Sign.java SECRET METHOD PATH TIMESTAMP BODY
// X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n hex(SHA-256(body bytes))))
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Sign {
  static String hex(byte[] bytes) {
    StringBuilder out = new StringBuilder(bytes.length * 2);
    for (byte b : bytes) out.append(String.format("%02x", b));
    return out.toString();
  }

  static String sign(String secret, String method, String path, String timestamp, byte[] body) throws Exception {
    String bodyHash = hex(MessageDigest.getInstance("SHA-256").digest(body));
    String message = method.toUpperCase() + "\n" + path + "\n" + timestamp + "\n" + bodyHash;
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return hex(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: java Sign.java SECRET METHOD PATH TIMESTAMP BODY");
      System.exit(args.length == 1 && args[0].equals("--help") ? 0 : 2);
    }
    byte[] body = args[4].getBytes(StandardCharsets.UTF_8);
    System.out.println("body-sha256: " + hex(MessageDigest.getInstance("SHA-256").digest(body)));
    System.out.println("x-signature: " + sign(args[0], args[1], args[2], args[3], body));
  }
}
