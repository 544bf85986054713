import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal HTTP/1.1 server on a loopback TCP port: one request per connection
/// (`Connection: close`), each connection on its own thread.
final class HTTPServer: @unchecked Sendable {
  struct Request {
    var method: String
    var path: String
    var body: Data
  }

  struct Response {
    var status: Int
    var body: Data
    var contentType = "application/json"
  }

  private let socketDescriptor: Int32
  let port: UInt16
  private let handler: @Sendable (Request) -> Response

  /// Binds 127.0.0.1:`port` (0 picks a free port).
  init(port: UInt16, handler: @escaping @Sendable (Request) -> Response) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ServerError("socket() failed: \(String(cString: strerror(errno)))") }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, 64) == 0 else {
      close(fd)
      throw ServerError("cannot listen on 127.0.0.1:\(port): \(String(cString: strerror(errno)))")
    }
    var actual = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &actual) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    socketDescriptor = fd
    self.port = UInt16(bigEndian: actual.sin_port)
    self.handler = handler
  }

  /// Accepts connections until the process ends.
  func serve() -> Never {
    while true {
      let client = accept(socketDescriptor, nil, nil)
      if client < 0 { continue }
      Thread.detachNewThread { [self] in
        handle(client)
        close(client)
      }
    }
  }

  private func handle(_ fd: Int32) {
    var buffer = [UInt8](repeating: 0, count: 65536)
    var data = Data()
    var headerEnd: Range<Data.Index>?
    while headerEnd == nil {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { return }
      data.append(contentsOf: buffer[0..<n])
      headerEnd = data.range(of: Data("\r\n\r\n".utf8))
      if data.count > 1 << 20 && headerEnd == nil { return }
    }
    let head = String(decoding: data[..<headerEnd!.lowerBound], as: UTF8.self)
    let lines = head.components(separatedBy: "\r\n")
    let parts = lines.first?.split(separator: " ") ?? []
    guard parts.count >= 2 else { return respond(fd, Response(status: 400, body: Data("{\"error\":\"bad request line\"}".utf8))) }
    var contentLength = 0
    for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
      contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
    }
    guard contentLength <= 16 << 20 else { return respond(fd, Response(status: 413, body: Data())) }
    var body = Data(data[headerEnd!.upperBound...])
    while body.count < contentLength {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { return }
      body.append(contentsOf: buffer[0..<n])
    }
    respond(fd, handler(Request(method: String(parts[0]), path: String(parts[1]), body: body.prefix(contentLength))))
  }

  private func respond(_ fd: Int32, _ response: Response) {
    let reason =
      [
        200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable",
      ][response.status] ?? "Status"
    var out = Data(
      "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        .utf8)
    out.append(response.body)
    out.withUnsafeBytes { p in
      var sent = 0
      while sent < p.count {
        let n = write(fd, p.baseAddress! + sent, p.count - sent)
        if n <= 0 { return }
        sent += n
      }
    }
  }
}

struct ServerError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
