import CCurl
import Foundation

/// One blocking HTTP(S) POST through libcurl's easy interface.
///
/// The judge's worker threads each wait in `curl_easy_perform`, which sleeps in poll(2) until the
/// server answers. URLSession on Linux was replaced because its libcurl multi handle, driven by
/// dispatch sources, kept re-arming the socket while a slow server thought: 0.85 of a core spent on
/// waiting (measured in experiments/serve/README.md).
enum HTTPPost {
  struct Response {
    var status: Int
    var body: Data
  }

  /// curl_global_init must run once before any thread uses libcurl.
  private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

  /// POSTs `body` to `url` with `headers`; throws a transport failure (connection refused, timeout,
  /// TLS) as one line, and returns any HTTP status with its body, which is capped at `maxBytes`.
  static func send(
    _ url: URL, body: Data, headers: [String: String], timeout: TimeInterval, maxBytes: Int = 64 << 20
  ) throws -> Response {
    guard initialized, let handle = curl_easy_init() else { throw JudgeError.server("libcurl could not start") }
    defer { curl_easy_cleanup(handle) }
    var list: UnsafeMutablePointer<curl_slist>? = nil
    for (name, value) in headers.sorted(by: { $0.key < $1.key }) { list = curl_slist_append(list, "\(name): \(value)") }
    // Without it libcurl sends "Expect: 100-continue" for large bodies and waits a second.
    list = curl_slist_append(list, "Expect:")
    defer { curl_slist_free_all(list) }
    let sink = ResponseSink(limit: maxBytes)
    let unmanaged = Unmanaged.passRetained(sink)
    defer { unmanaged.release() }
    var errorText = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    let code: CURLcode = url.absoluteString.withCString { urlText in
      body.withUnsafeBytes { bytes in
        errorText.withUnsafeMutableBufferPointer { errorBuffer in
          _ = psr_curl_setopt_pointer(handle, CURLOPT_URL, urlText)
          _ = psr_curl_setopt_long(handle, CURLOPT_POST, 1)
          _ = psr_curl_setopt_long(handle, CURLOPT_POSTFIELDSIZE, body.count)
          _ = psr_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, bytes.baseAddress ?? UnsafeRawPointer(urlText))
          _ = psr_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, list)
          // Clamped to a day before Int(_:), which traps on ∞ or NaN; the option is range-checked too.
          let seconds = timeout.isFinite ? min(max(timeout, 0.001), 86_400) : 86_400
          _ = psr_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(seconds * 1000))
          _ = psr_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(min(seconds, 30) * 1000))
          // Signals are process-wide; threads must not use them for timeouts.
          _ = psr_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)
          _ = psr_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer.baseAddress)
          _ = psr_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, unmanaged.toOpaque())
          _ = psr_curl_setopt_write(handle) { data, size, count, context in
            let sink = Unmanaged<ResponseSink>.fromOpaque(context!).takeUnretainedValue()
            let n = size * count
            guard sink.body.count + n <= sink.limit else { return 0 }  // aborts the transfer
            sink.body.append(UnsafeRawPointer(data!).assumingMemoryBound(to: UInt8.self), count: n)
            return n
          }
          return curl_easy_perform(handle)
        }
      }
    }
    guard code == CURLE_OK else {
      let detail = String(decoding: errorText.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
      let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
      throw JudgeError.server(
        code == CURLE_WRITE_ERROR ? "the answer from \(url.absoluteString) exceeds \(maxBytes) bytes" : reason)
    }
    var status = 0
    _ = psr_curl_status(handle, &status)
    return Response(status: status, body: sink.body)
  }
}

/// The bytes libcurl hands to the write callback of one transfer (one thread).
private final class ResponseSink {
  let limit: Int
  var body = Data()
  init(limit: Int) { self.limit = limit }
}
