import CLICommon
import Foundation

/// The server's request parsing: the HTTP head (request line, headers, Content-Length) and a
/// chat-completions body.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Data(UnsafeBufferPointer(start: data, count: size))
  if case .complete(let head) = HTTPHead.parse(bytes) {
    _ = try? ChatCompletionRequest(body: bytes.dropFirst(head.bodyStart), maxTokens: 256)
  }
  _ = try? ChatCompletionRequest(body: bytes, maxTokens: 256)
  return 0
}
