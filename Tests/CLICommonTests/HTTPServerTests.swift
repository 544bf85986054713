import CLICommon
import Foundation
import Synchronization
import XCTest

#if canImport(Glibc)
  import Glibc
#endif

/// The loopback server against malformed requests, slow and lying clients, and a crowd: it must
/// answer each correctly and stay up. Short limits keep the suite under a minute.
final class HTTPServerTests: XCTestCase {
  private static let server: HTTPServer = {
    var limits = HTTPServer.Limits()
    limits.readTimeout = 1
    limits.requestDeadline = 2
    limits.maxConnections = 64
    let s = try! HTTPServer(port: 0, limits: limits) { request in
      if request.path == "/slow" { usleep(300_000) }
      return HTTPServer.Response(status: 200, body: Data("\(request.method) \(request.path) \(request.body.count)".utf8))
    }
    Thread.detachNewThread { s.serve() }
    return s
  }()

  /// Sends `bytes` (optionally in pieces with pauses) and returns the status and body of the answer,
  /// or nil when the server closed without one.
  private func exchange(_ pieces: [String], pause: useconds_t = 0, port: UInt16? = nil) -> (status: Int, body: String)? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = (port ?? Self.server.port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return nil }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    for piece in pieces {
      _ = piece.utf8CString.withUnsafeBufferPointer { send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) }
      if pause > 0 { usleep(pause) }
    }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
      let n = recv(fd, &buffer, buffer.count, 0)
      if n <= 0 { break }
      data.append(contentsOf: buffer[0..<n])
    }
    let text = String(decoding: data, as: UTF8.self)
    guard let line = text.split(separator: "\r\n").first, let status = Int(line.split(separator: " ").dropFirst().first ?? "") else {
      return nil
    }
    return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
  }

  private func post(_ body: String, headers: String? = nil) -> [String] {
    ["POST /v1/x HTTP/1.1\r\nHost: x\r\n" + (headers ?? "Content-Length: \(body.utf8.count)\r\n") + "\r\n" + body]
  }

  func testWellFormedRequestIsAnswered() {
    let answer = exchange(post("hello"))
    XCTAssertEqual(answer?.status, 200)
    XCTAssertEqual(answer?.body, "POST /v1/x 5")
  }

  func testMalformedHeadsGetTheirStatus() {
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: -5\r\n"))?.status, 400)
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: 1e3\r\n"))?.status, 400)
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: 99999999999999999999\r\n"))?.status, 400)
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: 1\r\nContent-Length: 2\r\n"))?.status, 400)
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: 1000000000\r\n"))?.status, 413)
    XCTAssertEqual(exchange(post("x", headers: "Transfer-Encoding: chunked\r\n"))?.status, 501)
    XCTAssertEqual(exchange(["GARBAGE\r\n\r\n"])?.status, 400)
    XCTAssertEqual(exchange(["GET\r\n\r\n"])?.status, 400)
    XCTAssertEqual(exchange(["GET / HTTP/1.1\r\nno colon here\r\n\r\n"])?.status, 400)
    XCTAssertEqual(exchange(["GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 70_000) + "\r\n\r\n"])?.status, 431)
    XCTAssertEqual(exchange(["GET / HTTP/1.1\r\nX: \u{FF}\r\n\r\n"])?.status, 200, "UTF-8 header text is fine")
  }

  /// The Authorization header reaches the handler (trimmed); two of them are refused; an address
  /// that is not IPv4 is refused; 127.0.0.0/8 is loopback and nothing else is.
  func testAuthorizationHeaderAndHosts() throws {
    let head = { (text: String) -> HTTPHead? in
      if case .complete(let h) = HTTPHead.parse(Data(text.utf8)) { return h }
      return nil
    }
    XCTAssertEqual(head("GET / HTTP/1.1\r\nauthorization:   Bearer k  \r\n\r\n")?.authorization, "Bearer k")
    XCTAssertNil(head("GET / HTTP/1.1\r\nHost: x\r\n\r\n")?.authorization)
    XCTAssertEqual(exchange(post("x", headers: "Content-Length: 1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n"))?.status, 400)
    XCTAssertThrowsError(try HTTPServer(host: "localhost", port: 0) { _ in HTTPServer.Response(status: 200, body: Data()) }) {
      XCTAssertTrue("\($0)".contains("not an IPv4 address"), "\($0)")
    }
    XCTAssertTrue(HTTPServer.isLoopback("127.0.0.1") && HTTPServer.isLoopback("127.9.8.7"))
    XCTAssertFalse(HTTPServer.isLoopback("0.0.0.0") || HTTPServer.isLoopback("128.0.0.1") || HTTPServer.isLoopback("::1"))
  }

  func testLyingAndSlowClientsAreCutOffAndOthersServed() {
    let started = Date()
    // Announces 1000 bytes and sends 10, then waits: the read timeout ends it.
    let liar = exchange(post("0123456789", headers: "Content-Length: 1000\r\n"))
    XCTAssertEqual(liar?.status, 408)
    // Slowloris: one header byte every 0.5 s never finishes within the deadline.
    let slow = exchange(Array(Array("GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n").map(String.init).prefix(10)), pause: 500_000)
    XCTAssertTrue(slow == nil || slow?.status == 408, "\(String(describing: slow))")
    XCTAssertLessThan(Date().timeIntervalSince(started), 20)
    XCTAssertEqual(exchange(post("after"))?.status, 200, "the server is still up")
  }

  func testFiftyConcurrentClientsAreEachAnswered() {
    let results = LockedStatuses()
    let group = DispatchGroup()
    // The clients' threads only call the test's helpers, which read the server's port.
    nonisolated(unsafe) let test = self
    for i in 0..<50 {
      group.enter()
      Thread.detachNewThread {
        results.add(test.exchange(test.post(String(repeating: "x", count: i)))?.status ?? -1)
        group.leave()
      }
    }
    group.wait()
    XCTAssertEqual(results.all.count, 50)
    XCTAssertTrue(results.all.allSatisfy { $0 == 200 }, "\(results.all)")
  }

  func testBeyondTheConnectionCapClientsGet503() throws {
    var limits = HTTPServer.Limits()
    limits.maxConnections = 2
    let server = try HTTPServer(port: 0, limits: limits) { _ in
      usleep(800_000)
      return HTTPServer.Response(status: 200, body: Data())
    }
    Thread.detachNewThread { server.serve() }
    let results = LockedStatuses()
    let group = DispatchGroup()
    nonisolated(unsafe) let test = self  // as above: only the helpers, which read the port
    for _ in 0..<8 {
      group.enter()
      Thread.detachNewThread {
        results.add(test.exchange(test.post("x"), port: server.port)?.status ?? -1)
        group.leave()
      }
    }
    group.wait()
    let statuses = results.all
    XCTAssertEqual(statuses.count, 8)
    XCTAssertTrue(statuses.allSatisfy { $0 == 200 || $0 == 503 }, "\(statuses)")
    XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 503 }.count, 1)
    XCTAssertGreaterThanOrEqual(statuses.filter { $0 == 200 }.count, 2)
  }
}

final class LockedStatuses: Sendable {
  private let statuses = Mutex<[Int]>([])
  func add(_ s: Int) { statuses.withLock { $0.append(s) } }
  var all: [Int] { statuses.withLock { $0 } }
}
