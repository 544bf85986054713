import Foundation
import LM

/// GGUF: header, metadata and tensor table; then what a model load reads from them (the
/// configuration, the tokenizer) and the dequantization of every small tensor.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  guard let file = try? GGUFFile(bytes: Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
  _ = try? DecoderConfiguration(metadata: file.metadata)
  if let tokenizer = try? loadTokenizer(gguf: file) {
    _ = tokenizer.decodeBytes(tokenizer.encode("Hello <s> wörld 123 🚀", parseSpecial: true), skipSpecial: false)
  }
  for name in file.tensorOrder {
    if let info = file.tensors[name], info.elementCount <= 1 << 16 { _ = file.dequantize(info) }
  }
  return 0
}
