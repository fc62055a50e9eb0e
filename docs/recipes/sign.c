/* Signs a yikatong terminal request with OpenSSL's libcrypto.
 * Build: cc -O2 -o sign sign.c -lcrypto      Run: ./sign SECRET METHOD PATH TIMESTAMP BODY
 * X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n hex(SHA-256(body bytes)))) */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_hex(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) { out[2 * i] = digits[in[i] >> 4]; out[2 * i + 1] = digits[in[i] & 15]; }
  out[2 * n] = '\0';
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s SECRET METHOD PATH TIMESTAMP BODY\n", argv[0]);
    return argc == 2 && strcmp(argv[1], "--help") == 0 ? 0 : 2;
  }
  const char *secret = argv[1], *method = argv[2], *path = argv[3], *timestamp = argv[4], *body = argv[5];
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  char body_hex[2 * 32 + 1], sig_hex[2 * EVP_MAX_MD_SIZE + 1];

  if (!EVP_Digest(body, strlen(body), digest, &digest_len, EVP_sha256(), NULL)) return 1;
  to_hex(digest, digest_len, body_hex);

  /* METHOD \n PATH \n TIMESTAMP \n BODYHASH: the method is uppercased as the service does. */
  size_t len = strlen(method) + strlen(path) + strlen(timestamp) + 64 + 4;
  char *message = malloc(len);
  if (message == NULL) return 1;
  int written = snprintf(message, len, "%s\n%s\n%s\n%s", method, path, timestamp, body_hex);
  for (char *c = message; *c != '\n'; c++) if (*c >= 'a' && *c <= 'z') *c -= 32;

  if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)message, (size_t)written, digest, &digest_len) == NULL) return 1;
  to_hex(digest, digest_len, sig_hex);
  printf("body-sha256: %s\nx-signature: %s\n", body_hex, sig_hex);
  free(message);
  return 0;
}
