import Foundation

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// `psr serve` on the default model, started on a free loopback port.
public enum ServeProcess {
  /// Starts the server with `arguments` after the model and port, waits for its "listening on" line
  /// and returns the process and its base URL (…/v1). The caller terminates the process.
  public static func start(_ arguments: [String]) throws -> (process: Process, url: URL) {
    let executable = Fixtures.packageRoot.appendingPathComponent(".build/release/psr").path
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = ["serve", "--model", Fixtures.modelPath, "--port", "0"] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    var line = Data()
    let deadline = Date().addingTimeInterval(60)
    while !line.contains(UInt8(ascii: "\n")) && Date() < deadline {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      line.append(chunk)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard let urlText = text.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines), let url = URL(string: urlText)
    else {
      p.terminate()
      throw FixtureError("psr serve did not start: \(text)")
    }
    return (p, url)
  }

  /// One blocking HTTP request to `base` + `path`, with a JSON body when given.
  public static func call(
    _ base: URL, _ method: String, _ path: String, _ body: [String: Any]? = nil, headers: [String: String] = [:]
  ) throws -> (status: Int, data: Data) {
    var request = URLRequest(url: URL(string: base.absoluteString + path)!)
    request.httpMethod = method
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    if let body { request.httpBody = try JSONSerialization.data(withJSONObject: body) }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var result: (Data?, URLResponse?) = (nil, nil)
    URLSession.shared.dataTask(with: request) { data, response, _ in
      result = (data, response)
      done.signal()
    }.resume()
    done.wait()
    return ((result.1 as? HTTPURLResponse)?.statusCode ?? -1, result.0 ?? Data())
  }
}
