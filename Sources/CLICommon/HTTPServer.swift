import Foundation
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP/1.1 server on a loopback TCP port: one request per connection
/// (`Connection: close`), each connection on its own thread.
///
/// Hostile clients are bounded: the request head may be 64 KiB and the body 16 MiB;
/// `Content-Length` must be one plain decimal number; every read waits at most `readTimeout`
/// and the whole request must arrive within `requestDeadline` (a client that trickles bytes is
/// cut off); beyond `maxConnections` open connections a new one gets 503 at once.
public final class HTTPServer: Sendable {
  public struct Request: Sendable {
    public var method: String
    public var path: String
    public var body: Data
    /// The `Authorization` header's value, if the request had one.
    public var authorization: String? = nil
  }

  public struct Response: Sendable {
    public var status: Int
    public var body: Data
    public var contentType = "application/json"
    /// A body written piece by piece (server-sent events): called with a function that sends
    /// one piece and returns false once the client has gone.
    public var stream: (@Sendable (_ send: (Data) -> Bool) -> Void)?

    public init(status: Int, body: Data, contentType: String = "application/json") {
      self.status = status
      self.body = body
      self.contentType = contentType
    }

    /// A `text/event-stream` answer whose events `produce` writes.
    public static func events(_ produce: @escaping @Sendable (_ send: (Data) -> Bool) -> Void) -> Response {
      var r = Response(status: 200, body: Data(), contentType: "text/event-stream")
      r.stream = produce
      return r
    }

    /// An OpenAI-style error body: `{"error": {"message", "type", "param", "code"}}`.
    public static func error(_ status: Int, _ message: String, param: String? = nil, code: String? = nil) -> Response {
      Response(status: status, body: OpenAIAnswer.encode(OpenAIAnswer.Failure(status: status, message: message, param: param, code: code)))
    }
  }

  /// Limits on what one client may do.
  public struct Limits: Sendable {
    public var maxHeadBytes = 64 << 10
    public var maxBodyBytes = 16 << 20
    public var readTimeout: TimeInterval = 10
    public var requestDeadline: TimeInterval = 30
    public var maxConnections = 32

    public init() {}
  }

  private let socketDescriptor: Int32
  public let port: UInt16
  public let limits: Limits
  private let handler: @Sendable (Request) -> Response
  /// Connections being answered.
  private let open = Mutex(0)

  /// The IPv4 address it listens on.
  public let host: String

  /// Whether `host` is an IPv4 loopback address (127.0.0.0/8): reachable from this machine only.
  public static func isLoopback(_ host: String) -> Bool {
    var a = in_addr()
    return inet_pton(AF_INET, host, &a) == 1 && UInt32(bigEndian: a.s_addr) >> 24 == 127
  }

  /// Binds `host`:`port` (an IPv4 address; port 0 picks a free port).
  public init(host: String = "127.0.0.1", port: UInt16, limits: Limits = Limits(), handler: @escaping @Sendable (Request) -> Response) throws {
    var parsed = in_addr()
    guard inet_pton(AF_INET, host, &parsed) == 1 else { throw ServerError("'\(host)' is not an IPv4 address such as 127.0.0.1 or 0.0.0.0") }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ServerError("socket() failed: \(String(cString: strerror(errno)))") }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr = parsed
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 128) == 0 else {
      close(fd)
      throw ServerError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    socketDescriptor = fd
    self.port = UInt16(bigEndian: actual.sin_port)
    self.host = host
    self.limits = limits
    self.handler = handler
  }

  /// Accepts connections until the process ends.
  public func serve() -> Never {
    // A client that hangs up mid-answer must not end the server.
    signal(SIGPIPE, SIG_IGN)
    while true {
      let client = accept(socketDescriptor, nil, nil)
      if client < 0 { continue }
      setTimeouts(client)
      let admitted = open.withLock { open in
        guard open < limits.maxConnections else { return false }
        open += 1
        return true
      }
      guard admitted else {
        respond(client, .error(503, "the server is busy: \(limits.maxConnections) connections are open", code: "server_busy"))
        close(client)
        continue
      }
      Thread.detachNewThread { [self] in
        if let response = receive(client) { respond(client, response) }
        close(client)
        open.withLock { $0 -= 1 }
      }
    }
  }

  private func setTimeouts(_ fd: Int32) {
    var t = timeval(tv_sec: Int(limits.readTimeout), tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
  }

  /// Reads one request and answers it, or returns an error response; nil when the client left
  /// or stalled (nothing is worth sending then).
  private func receive(_ fd: Int32) -> Response? {
    let deadline = Date().addingTimeInterval(limits.requestDeadline)
    var buffer = [UInt8](repeating: 0, count: 65536)
    var data = Data()
    var head: HTTPHead?
    while head == nil {
      guard Date() < deadline else { return .error(408, "the request took longer than \(Int(limits.requestDeadline)) s") }
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { return n == 0 ? nil : .error(408, "the client stopped sending") }
      data.append(contentsOf: buffer[0..<n])
      switch HTTPHead.parse(data, limits: limits) {
      case .incomplete: continue
      case .failure(let response): return response
      case .complete(let h): head = h
      }
    }
    guard let head else { return nil }
    var body = Data(data[head.bodyStart...])
    while body.count < head.contentLength {
      guard Date() < deadline else { return .error(408, "the request took longer than \(Int(limits.requestDeadline)) s") }
      let n = read(fd, &buffer, min(buffer.count, head.contentLength - body.count))
      if n <= 0 { return n == 0 ? nil : .error(408, "the body stopped arriving") }
      body.append(contentsOf: buffer[0..<n])
    }
    return handler(
      Request(method: head.method, path: head.path, body: body.prefix(head.contentLength), authorization: head.authorization))
  }

  private func respond(_ fd: Int32, _ response: Response) {
    let reasons = [
      200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
      411: "Length Required", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
      501: "Not Implemented", 503: "Service Unavailable",
    ]
    let length = response.stream == nil ? "Content-Length: \(response.body.count)\r\n" : "Cache-Control: no-cache\r\n"
    var out = Data(
      ("HTTP/1.1 \(response.status) \(reasons[response.status] ?? "Status")\r\nContent-Type: \(response.contentType)\r\n"
        + length + "Connection: close\r\n\r\n").utf8)
    out.append(response.body)
    guard send(fd, out) else { return }
    response.stream? { send(fd, $0) }
  }

  /// Writes all of `data`; false when the client is gone.
  private func send(_ fd: Int32, _ data: Data) -> Bool {
    data.withUnsafeBytes { p in
      var sent = 0
      while sent < p.count {
        let n = write(fd, p.baseAddress! + sent, p.count - sent)
        if n <= 0 { return false }
        sent += n
      }
      return true
    }
  }
}

/// The request line and headers of an HTTP/1.1 request, validated.
public struct HTTPHead: Equatable, Sendable {
  public var method: String
  public var path: String
  public var contentLength: Int
  /// Where the body begins in the bytes read so far.
  public var bodyStart: Int
  /// The `Authorization` header's value (one at most).
  public var authorization: String? = nil

  public enum Outcome {
    case incomplete
    case complete(HTTPHead)
    case failure(HTTPServer.Response)
  }

  /// Parses `data` (everything read so far); `.incomplete` until the blank line arrives.
  public static func parse(_ data: Data, limits: HTTPServer.Limits = HTTPServer.Limits()) -> Outcome {
    guard let end = data.range(of: Data("\r\n\r\n".utf8)) else {
      return data.count > limits.maxHeadBytes ? .failure(.error(431, "the request head exceeds \(limits.maxHeadBytes) bytes")) : .incomplete
    }
    guard end.lowerBound <= limits.maxHeadBytes else {
      return .failure(.error(431, "the request head exceeds \(limits.maxHeadBytes) bytes"))
    }
    guard let text = String(data: data[data.startIndex..<end.lowerBound], encoding: .utf8) else {
      return .failure(.error(400, "the request head is not UTF-8"))
    }
    let lines = text.components(separatedBy: "\r\n")
    let parts = lines[0].split(separator: " ", omittingEmptySubsequences: false)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy({ $0.isASCII && $0.isUppercase }), parts[1].hasPrefix("/"),
      parts[2].hasPrefix("HTTP/1.")
    else { return .failure(.error(400, "malformed request line")) }
    var length: Int?
    var authorization: String?
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { return .failure(.error(400, "malformed header line")) }
      let name = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      if name == "transfer-encoding" { return .failure(.error(501, "Transfer-Encoding is not supported; send Content-Length")) }
      if name == "authorization" {
        guard authorization == nil else { return .failure(.error(400, "more than one Authorization header")) }
        authorization = value
        continue
      }
      guard name == "content-length" else { continue }
      guard !value.isEmpty, value.count <= 12, value.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(value) else {
        return .failure(.error(400, "Content-Length '\(value.prefix(40))' is not a non-negative number"))
      }
      if let length, length != n { return .failure(.error(400, "conflicting Content-Length headers")) }
      length = n
    }
    let contentLength = length ?? 0
    guard contentLength <= limits.maxBodyBytes else {
      return .failure(.error(413, "the body exceeds \(limits.maxBodyBytes) bytes"))
    }
    return .complete(
      HTTPHead(
        method: String(parts[0]), path: String(parts[1]), contentLength: contentLength,
        bodyStart: end.upperBound - data.startIndex, authorization: authorization))
  }
}

public struct ServerError: Error, CustomStringConvertible {
  public let description: String
  public init(_ description: String) { self.description = description }
}
