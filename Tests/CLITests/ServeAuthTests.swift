import Foundation
import TestSupport
import XCTest

/// `psr serve` shared beyond loopback: with --api-key every request but /health needs
/// "Authorization: Bearer KEY" (401 in OpenAI's error shape otherwise: no key, a wrong key, the key
/// in another header or without "Bearer"); a non-loopback --host without a key refuses to start;
/// /v1/steering lists what is loaded.
final class ServeAuthTests: XCTestCase {
  private let key = "k3y-for-tests"

  private func errorCode(_ data: Data) -> String? {
    ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]).flatMap { ($0["error"] as? [String: Any])?["code"] as? String }
  }

  func testRequestsNeedTheBearerKeyExceptHealth() throws {
    let (server, url) = try ServeProcess.start(["--host", "0.0.0.0", "--api-key", key, "--max-tokens", "4", "--steer-dir", "experiments/prosv"])
    defer {
      server.terminate()
      server.waitUntilExit()
    }
    XCTAssertTrue(url.absoluteString.hasPrefix("http://0.0.0.0:"), url.absoluteString)
    // Bound to every interface; reached here through loopback.
    let base = URL(string: url.absoluteString.replacingOccurrences(of: "0.0.0.0", with: "127.0.0.1"))!
    let health = URL(string: base.absoluteString.replacingOccurrences(of: "/v1", with: ""))!
    XCTAssertEqual(try ServeProcess.call(health, "GET", "/health").status, 200, "/health stays open")
    let chat: [String: Any] = ["messages": [["role": "user", "content": "Hi"]], "max_tokens": 2, "seed": 1]
    for headers in [[:], ["Authorization": "Bearer wrong"], ["X-Api-Key": key], ["Authorization": key], ["Authorization": "bearer " + key],
      ["Authorization": "Bearer " + key + "x"]]
    {
      for (method, path, body) in [("GET", "/models", nil), ("POST", "/chat/completions", chat), ("GET", "/steering", nil)] as [(String, String, [String: Any]?)] {
        let r = try ServeProcess.call(base, method, path, body, headers: headers)
        XCTAssertEqual(r.status, 401, "\(method) \(path) with \(headers)")
        XCTAssertEqual(errorCode(r.data), "invalid_api_key")
      }
    }
    let auth = ["Authorization": "Bearer " + key]
    XCTAssertEqual(try ServeProcess.call(base, "GET", "/models", headers: auth).status, 200)
    XCTAssertEqual(try ServeProcess.call(base, "POST", "/chat/completions", chat, headers: auth).status, 200)
    let steering = try ServeProcess.call(base, "GET", "/steering", headers: auth)
    XCTAssertEqual(steering.status, 200)
    let list = try XCTUnwrap((try JSONSerialization.jsonObject(with: steering.data) as? [String: Any])?["data"] as? [[String: Any]])
    let rental = try XCTUnwrap(list.first { $0["name"] as? String == "rental.prosv" })
    XCTAssertEqual(rental["kind"] as? String, "prosv")
    XCTAssertEqual(rental["layers"] as? [Int], [10])
  }

  func testNonLoopbackHostWithoutKeyRefusesToStart() throws {
    for host in ["0.0.0.0", "10.1.2.3"] {
      let r = try CommandLineTool.run("psr", ["serve", "--host", host, "--port", "0"])
      XCTAssertNotEqual(r.status, 0)
      XCTAssertTrue(r.stderr.contains("give --api-key KEY (or PSR_API_KEY)"), r.stderr)
    }
    let bad = try CommandLineTool.run("psr", ["serve", "--host", "localhost:80"])
    XCTAssertTrue(bad.stderr.contains("is not an IPv4 address"), bad.stderr)
    let spaced = try CommandLineTool.run("psr", ["serve", "--api-key", "a b"])
    XCTAssertTrue(spaced.stderr.contains("--api-key must be"), spaced.stderr)
  }
}
