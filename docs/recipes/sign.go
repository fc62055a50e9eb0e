// Signs a yikatong terminal request (Go standard library). Run: go run sign.go SECRET METHOD PATH TIMESTAMP BODY
// X-Signature = hex(HMAC-SHA256(secret, METHOD \n PATH \n TIMESTAMP \n hex(SHA-256(body bytes))))
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

func sign(secret, method, path, timestamp string, body []byte) string {
	bodyHash := sha256.Sum256(body)
	message := strings.ToUpper(method) + "\n" + path + "\n" + timestamp + "\n" + hex.EncodeToString(bodyHash[:])
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: go run sign.go SECRET METHOD PATH TIMESTAMP BODY")
		if len(os.Args) == 2 && os.Args[1] == "--help" {
			os.Exit(0)
		}
		os.Exit(2)
	}
	body := []byte(os.Args[5])
	bodyHash := sha256.Sum256(body)
	fmt.Println("body-sha256: " + hex.EncodeToString(bodyHash[:]))
	fmt.Println("x-signature: " + sign(os.Args[1], os.Args[2], os.Args[3], os.Args[4], body))
}
