import Foundation
import LM

/// tokenizer.json (byte-level BPE and SentencePiece forms): the document, the vocabulary,
/// merges and added tokens, then encoding and decoding a text with special tokens in it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let tokenizer = try? loadTokenizer(tokenizerJSONBytes: bytes, name: "tokenizer.json", endOfSequence: 0) else { return 0 }
  for text in ["Hello, world! 12345", "<|im_start|>user\nça va? 🚀<|im_end|>", "  \t\n", "e\u{301}"] {
    let ids = tokenizer.encodeDocument(text, parseSpecial: true)
    _ = tokenizer.decodeBytes(ids, skipSpecial: true)
  }
  return 0
}
